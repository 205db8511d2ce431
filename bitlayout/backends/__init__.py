"""Sources of observed truth: one module per backend, each registering itself (``base.register``).

- ``model``: the pure Python predictions (observes nothing: its rows are the prediction).
- ``host``: the C shim through cffi, in this process (host word variants 8/16/32/64 bits).
- ``compiled``: layout facts read back from objects a real compiler built (DWARF).
- ``exec``: the same shim cross-compiled with a driver, run natively or under qemu-user.

``registered()`` imports every module of this package once and returns the
backends in their ``order``; a new backend is one new module here
(``docs/internals.md``, "Adding a backend").
"""

from .base import (LayoutObserver, ObserveFailed, Observer, Observes, ProbeObserver, backend_class, backend_names,
                   observe_distinct, open_backends, register, registered, unregister)

__all__ = ["LayoutObserver", "ObserveFailed", "Observer", "Observes", "ProbeObserver", "backend_class",
           "backend_names", "observe_distinct", "open_backends", "register", "registered", "unregister"]
