"""The probe protocol: requests as plain data, one text line each way.

A probe request is what a check asks the C shim to do; the host backend
(cffi, in process) and the exec backend (``csrc/driver.c`` cross-compiled
and run under qemu-user) answer the same request with the same JSON line, and
:func:`parse_response_line` turns that line into an
:class:`~bitlayout.results.Observation`, so a check cannot tell them apart.
The C side of this protocol is documented at the top of ``csrc/driver.c``;
keep the two in step.

Request line: ``<probe> key=value ...`` with characters ``[a-z0-9_=,: ]``
only; numbers decimal, lists comma-separated, ops ``name:number``::

    info
    image    w=32 n=2 bits=36,41          zeroed bitmap, __set_bit each nr
    ops      w=32 n=2 ops=set:3,test:3    bitops sequence, return values
    oob_read w=32 n=1 bits=1 reads=43     test_bit against all-ones guards
    arr64    w=32 n=2 nbits=64 bits=0,36  bitmap_to/from_arr64/arr32 + naive views
    find     w=8 n=3 nbits=20 bits=3 starts=0,4
    tear     w=32 n=2 mode=words readers=1 ms=200 max=1000000
    tear     w=64 mode=whole ms=200 max=1000000   one READ_ONCE of a w-bit word
    lost_update w=64 threads=2 mode=nonatomic ms=200 max=1000000
    lost_tag threads=2 align=8 mode=atomic ms=200 max=1000000
    lost_update w=32 threads=2 mode=nonatomic ms=200 max=1000000 events=1   ends at the first lost update
    alloc    size=24 align=8 slab_minalign=8 kmalloc_minalign=8 count=1000 page=4096

``w`` is the word width (8, 16, 32, 64; absent: the target's unsigned long),
``n`` the bitmap length in words (1..64).  Every bitmap sits between
:data:`GUARD_WORDS` guard words on each side; single-bit operations may reach
into the guards after the bitmap (that is how ``__set_bit(41, &one_long)``
on 32-bit is observed) but never past them.  :func:`make_request` refuses
anything the C side would refuse, with a :class:`ShimError` naming the value,
so no undefined behaviour is reachable from Python.

Every request line bitlayout sends carries ``id=N`` right after the probe name
(:func:`format_request`); the response echoes it as ``id`` with the whole request
line, and :func:`parse_response_line` refuses an answer that does not echo the
line it was asked (a reordered, duplicated, foreign or stale answer is an error,
never an observation).

Response line: one JSON object with ``probe``, ``ok``, ``id`` (when the request
had one), ``request`` (the request echoed); on success ``word_bits``, ``values`` (the observation: what
checks compare) and ``evidence`` (timings, thread counts, sizeof(long),
lock-free-ness: never compared); on failure ``error``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import ShimError
from .results import Evidence, Observation

# The shim's evidence keys (csrc/probes.c) that results.Evidence names differently: the
# C compiler's __VERSION__ is not the toolchain identity nor the compiler kind.
SHIM_EVIDENCE_KEYS = {"compiler": "compiler_version"}

WORD_BITS = (8, 16, 32, 64)
GUARD_WORDS = 8  # csrc/bitops.h BL_GUARD_WORDS
MAX_STRESS_MS = 60000  # ceiling of a stress probe's ms= (csrc/probes.c checks it too)
MAX_WORDS = 64  # csrc/bitops.h BL_MAX_WORDS
MAX_LIST = 256  # csrc/probes.c BL_MAX_LIST
MAX_LINE = 16384  # csrc/probes.h BL_MAX_LINE
MAX_OUT = 65536  # csrc/probes.h BL_MAX_OUT
MAX_U32 = 0xFFFFFFFF
ALLOC_MAX_TOTAL = 1 << 28  # csrc/alloc_probe.c BL_ALLOC_MAX_TOTAL

# Op names in csrc/probes.c order.  Atomic (include/asm-generic/bitops/atomic.h),
# non-atomic "n" variants (generic-non-atomic.h, the kernel's __set_bit & co),
# test_bit, bulk bitmap ops on A (with B as the second operand), and B setters.
ATOMIC_OPS = ("set", "clear", "change", "test_and_set", "test_and_clear", "test_and_change")
NONATOMIC_OPS = ("nset", "nclear", "nchange", "ntest_and_set", "ntest_and_clear", "ntest_and_change")
BIT_OPS = ATOMIC_OPS + NONATOMIC_OPS + ("test",)
BULK_OPS = ("zero", "fill", "copy", "and", "or", "andnot", "intersects", "subset", "weight")
B_OPS = ("bset", "bclear")
OP_NAMES = BIT_OPS + BULK_OPS + B_OPS
VOID_OPS = frozenset(("set", "clear", "change", "nset", "nclear", "nchange",
                      "zero", "fill", "copy", "or", "bset", "bclear"))

PROBES = ("info", "image", "ops", "oob_read", "arr64", "find", "tear", "lost_update",
          "lost_tag", "alloc")

# Keys each probe accepts, and the ones it requires.
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "info": ((), ()),
    "image": (("w", "n", "bits"), ("n",)),
    "ops": (("w", "n", "ops"), ("n",)),
    "oob_read": (("w", "n", "bits", "reads"), ("n",)),
    "arr64": (("w", "n", "nbits", "bits"), ("n", "nbits")),
    "find": (("w", "n", "nbits", "bits", "starts"), ("n", "nbits")),
    "tear": (("w", "n", "mode", "readers", "ms", "max", "events"), ("ms", "max")),
    "lost_update": (("w", "threads", "mode", "ms", "max", "events"), ("ms", "max")),
    "lost_tag": (("threads", "align", "mode", "ms", "max", "events"), ("align", "ms", "max")),
    "alloc": (("size", "align", "slab_minalign", "kmalloc_minalign", "count", "page"),
              ("size", "align", "slab_minalign", "kmalloc_minalign")),
}
_LIST_KEYS = ("bits", "reads", "starts")
_MODES = {"tear": ("words", "whole"), "lost_update": ("atomic", "nonatomic"),
          "lost_tag": ("atomic", "nonatomic")}


@dataclass(frozen=True)
class ProbeRequest:
    """One validated probe request.  ``params`` holds plain data only:
    ints, lists of ints, ``ops`` as a list of ``[name, number]`` pairs and
    ``mode`` as a string, exactly as given (defaults are the C side's)."""

    probe: str
    params: Mapping[str, Any]

    def to_line(self) -> str:
        parts = [self.probe]
        for key, value in self.params.items():
            if key == "ops":
                text = ",".join(f"{name}:{nr}" for name, nr in value)
            elif isinstance(value, (list, tuple)):
                text = ",".join(str(v) for v in value)
            else:
                text = str(value)
            parts.append(f"{key}={text}")
        return " ".join(parts)

    def plain_params(self) -> dict[str, Any]:
        return {k: ([list(x) for x in v] if k == "ops" else list(v) if isinstance(v, (list, tuple)) else v)
                for k, v in self.params.items()}


def _where(probe: str, key: str) -> str:
    return f"probe {probe}: {key}"


def _int(probe: str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShimError(f"{_where(probe, key)} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ShimError(f"{_where(probe, key)} = {value} out of range {lo}..{hi}")
    return value


def _pow2(probe: str, key: str, value: Any, lo: int, hi: int) -> int:
    value = _int(probe, key, value, lo, hi)
    if value & (value - 1):
        raise ShimError(f"{_where(probe, key)} = {value} is not a power of two")
    return value


def _ints(probe: str, key: str, values: Any, lo: int, hi: int) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ShimError(f"{_where(probe, key)} must be a list of integers, got {values!r}")
    out = [_int(probe, key, v, lo, hi) for v in values]
    if len(out) > MAX_LIST:
        raise ShimError(f"{_where(probe, key)} has {len(out)} values, at most {MAX_LIST}")
    return out


def make_request(probe: str, **params: Any) -> ProbeRequest:
    """Validate a request the way csrc/probes.c will, raising ShimError naming
    the bad value; return it in canonical plain-data form."""
    if probe not in _KEYS:
        raise ShimError(f"unknown probe {probe!r} (known: {', '.join(PROBES)})")
    allowed, required = _KEYS[probe]
    for key in params:
        if key not in allowed:
            raise ShimError(f"probe {probe}: unknown parameter {key!r} (allowed: {', '.join(allowed) or 'none'})")
    for key in required:
        if key not in params:
            raise ShimError(f"probe {probe}: missing parameter {key!r}")
    out: dict[str, Any] = {}
    w = params.get("w", 0)
    if w not in (0,) + WORD_BITS or isinstance(w, bool):
        raise ShimError(f"probe {probe}: w = {w!r} is not one of 8, 16, 32, 64 (or 0 for unsigned long)")
    if "w" in params:
        out["w"] = w
    # Bit-number limits need the word width; with w absent (the target's
    # unsigned long, not known here) take the narrowest a Linux arch has.
    wbits = w or 32
    if "n" in params:
        out["n"] = _int(probe, "n", params["n"], 1, MAX_WORDS)
    n = out.get("n", 1)
    in_bitmap = n * wbits
    in_guards = (n + GUARD_WORDS) * wbits

    if "nbits" in params:
        out["nbits"] = _int(probe, "nbits", params["nbits"], 0, in_bitmap)
    if "bits" in params:
        limit = in_guards if probe == "image" else in_bitmap
        bits = _ints(probe, "bits", params["bits"], 0, MAX_U32)
        for nr in bits:
            if nr >= limit:
                what = "the guard words" if probe == "image" else "the bitmap"
                raise ShimError(f"probe {probe}: bit {nr} is past {what} "
                                f"({n} words of {wbits} bits, {GUARD_WORDS} guard words)")
        out["bits"] = bits
    if "reads" in params:
        reads = _ints(probe, "reads", params["reads"], 0, MAX_U32)
        for nr in reads:
            if nr >= in_guards:
                raise ShimError(f"probe {probe}: read of bit {nr} is past the guard words "
                                f"({n} words of {wbits} bits, {GUARD_WORDS} guard words)")
        out["reads"] = reads
    if "starts" in params:
        out["starts"] = _ints(probe, "starts", params["starts"], 0, MAX_U32)
    if "ops" in params:
        ops = params["ops"]
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable):
            raise ShimError(f"probe ops: ops must be a list of (name, number), got {ops!r}")
        canon = []
        for item in ops:
            try:
                name, nr = item
            except (TypeError, ValueError):
                raise ShimError(f"probe ops: op must be (name, number), got {item!r}") from None
            if name not in OP_NAMES:
                raise ShimError(f"probe ops: unknown op {name!r} (known: {', '.join(OP_NAMES)})")
            if name in BULK_OPS:
                _int(probe, f"{name} nbits", nr, 0, in_bitmap)
            elif name in B_OPS:
                _int(probe, f"{name} bit", nr, 0, in_bitmap - 1)
            else:
                _int(probe, f"{name} bit", nr, 0, MAX_U32)
                if nr >= in_guards:
                    raise ShimError(f"probe ops: {name}:{nr} reaches past the guard words "
                                    f"({n} words of {wbits} bits, {GUARD_WORDS} guard words)")
            canon.append([name, nr])
        if len(canon) > MAX_LIST:
            raise ShimError(f"probe ops: {len(canon)} ops, at most {MAX_LIST}")
        out["ops"] = canon
    if "mode" in params:
        modes = _MODES[probe]
        if params["mode"] not in modes:
            raise ShimError(f"probe {probe}: mode = {params['mode']!r}, want one of {', '.join(modes)}")
        out["mode"] = params["mode"]
    if probe == "tear" and out.get("mode", "words") == "words" and "n" not in out:
        raise ShimError("probe tear: mode words needs n (words per read)")
    if "readers" in params:
        out["readers"] = _int(probe, "readers", params["readers"], 1, 8)
    if "threads" in params:
        hi = 16 if probe == "lost_tag" else min(16, wbits)
        out["threads"] = _int(probe, "threads", params["threads"], 1, hi)
    if "ms" in params:
        out["ms"] = _int(probe, "ms", params["ms"], 1, MAX_STRESS_MS)
    if "max" in params:
        out["max"] = _int(probe, "max", params["max"], 1, MAX_U32)
    if "events" in params:
        out["events"] = _int(probe, "events", params["events"], 0, MAX_U32)
    if probe == "lost_tag":
        threads = out.get("threads", 2)
        align = _pow2(probe, "align", params["align"], 2, 4096)
        if (1 << threads) > align:
            raise ShimError(f"probe lost_tag: align = {align} leaves no room for {threads} tag bits")
        out["align"] = align
    if probe == "alloc":
        out["size"] = _int(probe, "size", params["size"], 1, 1 << 20)
        out["align"] = _pow2(probe, "align", params["align"], 1, 65536)
        out["slab_minalign"] = _pow2(probe, "slab_minalign", params["slab_minalign"], 1, 4096)
        out["kmalloc_minalign"] = _pow2(probe, "kmalloc_minalign", params["kmalloc_minalign"], 1, 4096)
        if "count" in params:
            out["count"] = _int(probe, "count", params["count"], 1, 100000)
        if "page" in params:
            out["page"] = _pow2(probe, "page", params["page"], 1024, 65536)
        total = out.get("count", 1000) * -(-out["size"] // out["align"]) * out["align"]
        if total > ALLOC_MAX_TOTAL:
            raise ShimError(f"probe alloc: count x size = {total} bytes live at once, at most {ALLOC_MAX_TOTAL}")
    # Keep the caller's key order stable for the line (C does not care).
    ordered = {k: out[k] for k in params if k in out}
    req = ProbeRequest(probe, ordered)
    if len(req.to_line()) > MAX_LINE:
        raise ShimError(f"probe {probe}: request line longer than {MAX_LINE} characters")
    return req


def format_request(request: ProbeRequest, request_id: int | None = None) -> str:
    """The request line for a validated request (what the driver reads), with ``id=N`` first
    when ``request_id`` is given (the driver echoes it)."""
    if not isinstance(request, ProbeRequest):
        raise ShimError(f"not a probe request: {request!r}")
    line = request.to_line()
    return line if request_id is None else with_id(line, request_id)


def with_id(line: str, request_id: int) -> str:
    """``line`` with ``id=N`` right after the probe name: parsed before any other key, so even
    a request the shim refuses is answered with its id."""
    _int("request", "id", request_id, 0, MAX_U32)
    probe, sep, rest = line.partition(" ")
    return f"{probe} id={request_id}{sep}{rest}"


def _id_of(line: str) -> int | None:
    for tok in line.split()[1:]:
        key, _, value = tok.partition("=")
        if key == "id":
            return int(value) if value.isdigit() else None
    return None


def parse_request_line(line: str) -> ProbeRequest:
    """The inverse of ProbeRequest.to_line (validated)."""
    tokens = line.split()
    if not tokens:
        raise ShimError("empty probe request line")
    probe, params = tokens[0], {}
    for tok in tokens[1:]:
        key, eq, text = tok.partition("=")
        if not eq:
            raise ShimError(f"bad probe request token {tok!r} in {line!r}")
        if key == "id":  # the transport's, not a parameter of the probe
            continue
        try:
            if key == "ops":
                params[key] = [[name, int(nr)] for name, _, nr in
                               (item.partition(":") for item in text.split(",") if item)]
            elif key in _LIST_KEYS:
                params[key] = [int(v) for v in text.split(",") if v]
            elif key == "mode":
                params[key] = text
            else:
                params[key] = int(text)
        except ValueError:
            raise ShimError(f"bad value in probe request token {tok!r}") from None
    return make_request(probe, **params)


# What each probe's ``values`` must hold (csrc/probes.c, csrc/probes_impl.h): an answer that
# lacks one is partial, never read as a zero.
VALUE_KEYS = {
    "info": ("sizeof_long", "sizeof_pointer", "sizeof_long_long", "little_endian", "default_word_bits",
             "lockfree"),
    "image": ("bytes", "guards"),
    "ops": ("bytes", "guards", "returns", "returns_guard_ones"),
    "oob_read": ("reads", "guard_reads"),
    "arr64": ("to_arr64", "naive_u64", "to_arr32", "naive_u32", "from_arr64_bytes", "from_arr64_guards",
              "from_arr32_bytes", "from_arr32_guards"),
    "find": ("first", "first_zero", "next", "next_zero"),
    "tear": ("reads", "torn", "first_us", "writes"),
    "lost_update": ("ops", "lost", "first_us"),
    "lost_tag": ("ops", "lost", "corrupt", "first_us"),
    "alloc": ("malloc", "aligned_alloc", "slab", "kmalloc", "slab_align", "slab_object_size", "kmalloc_size",
              "kmalloc_align"),
}
# Counters of the stress probes: whole numbers of events, never negative.
COUNT_KEYS = ("reads", "torn", "writes", "ops", "lost", "corrupt")
STRESS_PROBES = ("tear", "lost_update", "lost_tag")


def parse_response_line(line: str, evidence: Mapping[str, Any] | None = None, *,
                        sent: str | None = None) -> Observation:
    """One response line from the shim -> Observation.

    ``sent``: the request line it must answer; an answer that does not echo that line and its
    id (another request's, a duplicate, a stale one) raises ShimError.

    ``params`` is the echoed request (parsed back, so host and exec give
    equal params for equal requests); ``values`` the observation; ``evidence``
    the shim's evidence plus ``word_bits`` and anything the caller adds
    (backend, toolchain, ...), as a ``results.Evidence``.  A response with ``ok: false`` or a line that
    is not a response raises ShimError with the shim's message.
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise ShimError(f"not a probe response line: {line[:200]!r}") from None
    if not isinstance(data, dict) or "probe" not in data or "ok" not in data:
        raise ShimError(f"probe response without 'probe' and 'ok': {line[:200]!r}")
    if sent is not None and "id" in data and (data.get("id") != _id_of(sent) or data.get("request") != sent):
        raise ShimError(f"answer to another request: sent {sent[:120]!r}, the answer is for "
                        f"{str(data.get('request'))[:120]!r} (id {data.get('id')})")
    if data["ok"] is not True:
        raise ShimError(f"probe {data['probe']} failed in the shim: {data.get('error', '?')} "
                        f"(request: {data.get('request', '')!r})")
    if sent is not None and (data.get("id") != _id_of(sent) or data.get("request") != sent):
        raise ShimError(f"answer without the request's id: sent {sent[:120]!r}, got {line[:120]!r}")
    req = parse_request_line(data.get("request", data["probe"]))
    _check_values(data["probe"], data.get("values"), line)
    shim = {SHIM_EVIDENCE_KEYS.get(k, k): v for k, v in dict(data.get("evidence", {})).items()}
    try:
        ev = Evidence.of(shim).merged({"word_bits": data.get("word_bits")}, evidence)
    except TypeError as exc:  # an evidence key the shim added without telling results.Evidence
        raise ShimError(f"probe {data['probe']}: unknown evidence in {line[:200]!r} ({exc})") from None
    return Observation(probe=data["probe"], params=req.plain_params(), values=data["values"], evidence=ev)


def _check_values(probe: str, values: Any, line: str) -> None:
    if not isinstance(values, dict):
        raise ShimError(f"probe {probe}: answer without values: {line[:200]!r}")
    missing = [k for k in VALUE_KEYS.get(probe, ()) if k not in values]
    if missing:
        raise ShimError(f"probe {probe}: partial answer, no {', '.join(missing)} in {line[:200]!r}")
    for key in COUNT_KEYS:
        v = values.get(key)
        if probe in STRESS_PROBES and key in values and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ShimError(f"probe {probe}: {key} = {v!r} is not a count")
