"""Sources of observed truth.  Each returns ``bitlayout.results.Observation`` objects.

- ``host``: the C shim through cffi, in this process (host word variants 8/16/32/64 bits).
- ``exec``: the same shim cross-compiled with a driver, run natively or under qemu-user.
- ``compiled``: layout facts read back from objects a real compiler built (DWARF/probes).
"""
