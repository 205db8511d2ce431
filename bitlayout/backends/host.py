"""The host backend: the C shim in process, through cffi.

The only module that touches the cffi ``lib``.  Every request is validated by
:func:`bitlayout.probes.make_request` before any C runs, then executed by the
same C probe executor (``bl_probe_run`` in csrc/probes.c) that driver.c runs
on foreign arches, and its JSON line parsed by
:func:`bitlayout.probes.parse_response_line`: host and exec observations are
equal for equal behaviour by construction.

The host offers every word width (8, 16, 32, 64 bits) as its own compiled
variant of the bitops, so it behaves like an arch with that BITS_PER_LONG
(endianness and atomicity stay the host's).
"""

from __future__ import annotations

import functools
import platform
import sys
from typing import Any, Iterable

from .. import probes
from ..errors import ShimError
from ..profiles import Profile
from ..results import Backend, Evidence, Observation
from .base import ProbeObserver, encode_requests, register

NAME = Backend.HOST


@functools.cache
def _loaded():
    """The shim module: the one pip compiled into the package if it was built
    from the C shipped now ("install"), else the user-cache build ("cache")."""
    from .. import _ffi_build

    return _ffi_build.load_module()


def _lib():
    loaded = _loaded()
    return loaded.ffi, loaded.lib


def _run_line(line: str) -> str:
    ffi, lib = _lib()
    out = ffi.new("char[]", probes.MAX_OUT)
    rc = lib.bl_probe_run(line.encode("ascii"), out, probes.MAX_OUT)
    text = ffi.string(out).decode("ascii", "replace")
    if rc < 0:
        raise ShimError(f"probe response too long for request {line[:120]!r}")
    return text


def host_info() -> dict[str, Any]:
    """sizeof(long), endianness, lock-free widths, as the shim sees them, and
    where the shim module came from (``built``: "install" | "cache")."""
    values = run(probes.make_request("info")).values
    return {**values, "built": _loaded().built}


def shim_origin() -> dict[str, Any]:
    """Where the shim module came from: ``built`` ("install" | "cache"), its path, and
    why the install-time build was not used (pip hides the optional build's warnings)."""
    loaded = _loaded()
    return {"built": loaded.built, "path": str(loaded.path), "reason": loaded.reason or ""}


def evidence() -> Evidence:
    return Evidence(backend=NAME, machine=platform.machine(), byteorder=sys.byteorder, built=_loaded().built)


def run(request: probes.ProbeRequest | str, **params: Any) -> Observation:
    """Run one probe: ``run(make_request(...))``, ``run("image", w=32, n=2, bits=[36])``
    or ``run(probes.parse_request_line(line))``."""
    if isinstance(request, str):
        request = probes.make_request(request, **params)
    elif params:
        raise ShimError("run(): parameters given twice (a ProbeRequest and keywords)")
    return probes.parse_response_line(_run_line(request.to_line()), evidence())


def run_many(requests: Iterable[probes.ProbeRequest]) -> list[Observation]:
    return [run(r) for r in requests]


def run_raw_line(line: str) -> str:
    """Feed a raw request line straight to the C executor (no Python checks)
    and return its JSON line: for testing that C refuses bad input too."""
    if not isinstance(line, str) or len(line) > probes.MAX_LINE:
        raise ShimError(f"raw request must be a str of at most {probes.MAX_LINE} characters")
    if not line.isascii() or "\0" in line:
        raise ShimError(f"raw request must be ASCII without NUL: {line[:80]!r}")
    return _run_line(line)


@register
class HostObserver(ProbeObserver):
    """The host backend in the matrix: any word width, but this machine's byte order and ABI."""

    name = NAME
    order = 10

    def start(self) -> None:
        host_info()  # builds/loads the cffi module once

    def available(self, profile: Profile) -> tuple[bool, str]:
        if profile.little_endian != (sys.byteorder == "little"):
            return False, (f"the host is {sys.byteorder}-endian and {profile.name} is {profile.endianness}-endian "
                           "(use --backend exec)")
        return True, ""

    def observe(self, profile: Profile, requests) -> list[Observation]:
        return run_many(encode_requests(requests))
