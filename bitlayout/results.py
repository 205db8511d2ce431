"""Result objects and their vocabulary, shared by every backend, check and renderer.

A backend returns ``Observation`` objects; a check compares them with the
model's prediction and yields ``MatrixRow`` objects, whose JSON form is the
``bitlayout.matrix/1`` contract (``docs/internals.md``; keep it stable).

The closed vocabulary lives here, once: ``Status`` (with the one ranking a
grid cell uses when several backends filled it), ``Backend`` (the names of
the backends that ship with bitlayout; ``bitlayout.backends`` says what each
observes) and ``Evidence`` (how an observation was made, with fixed keys).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MATRIX_SCHEMA = "bitlayout.matrix/1"
LAYOUT_SCHEMA = "bitlayout.layout/1"


class Status(StrEnum):
    """A row's verdict (``docs/internals.md``, "Spec, checks, matrix")."""

    PASS = "pass"  # the model and the observation agree and there is no hazard
    FAIL = "fail"  # a real hazard, confirmed by the backend when one observed it
    SKIP = "skip"  # this backend cannot observe this check here; the detail says why
    ERROR = "error"  # model and observation disagree, or the check or backend broke

    @property
    def rank(self) -> int:
        return STATUS_RANK[self]


# Worst first: an error (model and backend disagree) outranks a hazard, a skip
# shows only when nothing else ran.  The grid, the matrix cells and the report
# all rank with this one table.
STATUS_RANK = {Status.ERROR: 3, Status.FAIL: 2, Status.PASS: 1, Status.SKIP: 0}
STATUSES = tuple(Status)
SHOWN = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP)  # the order summaries list them in
FAILED = (Status.FAIL, Status.ERROR)  # the statuses that make a run exit 1
RAN = (Status.PASS, Status.FAIL)  # the statuses of a row whose backend observed something


def worst_status(statuses: Iterable[str]) -> Status | None:
    """The worst of ``statuses`` by ``STATUS_RANK``; None for none."""
    found = [Status(s) for s in statuses]
    return max(found, key=STATUS_RANK.__getitem__) if found else None


class Backend(StrEnum):
    """The backends that ship with bitlayout (``bitlayout.backends`` registers one module each;
    a new backend may use any other name)."""

    MODEL = "model"  # the pure Python predictions: its rows are the prediction, not evidence
    HOST = "host"  # the C shim in this process through cffi
    COMPILED = "compiled"  # layout facts read back from a real compiler's DWARF
    EXEC = "exec"  # the C shim cross-compiled and run on the arch's CPU (qemu-user or native)
    # The same two with the arch's other installed compiler (clang where the model follows GCC):
    # their rows are judged against the model's prediction for that compiler.
    COMPILED_ALTERNATE = "compiled-alternate"
    EXEC_ALTERNATE = "exec-alternate"


@dataclass(frozen=True, eq=False)
class Evidence(Mapping[str, Any]):
    """How an observation was made: a record with fixed keys, read like a mapping.

    A key that was not recorded (None) is not in the mapping, so the JSON of a
    row lists what its backend recorded and nothing else.  The shim's own
    evidence keys are documented in ``csrc/driver.c``.
    """

    backend: str | None = None  # the backend that observed
    toolchain: str | None = None  # compiler identity: "zig 0.13.0 -target mips-linux-musleabi", "m68k-...-gcc 12.2.0"
    compiler: str | None = None  # compiler kind: "zig" or "gcc"
    compiler_abi: str | None = None  # whose ABI that compiler follows: "gcc" or "clang" (zig)
    compiler_version: str | None = None  # the C compiler's __VERSION__, as the shim reports it
    target: str | None = None  # the compiler's target triple
    emulator: str | None = None  # "native" or the qemu-user command line
    machine: str | None = None  # host: platform.machine()
    byteorder: str | None = None  # host: sys.byteorder
    built: str | None = None  # host: where the shim module came from, "install" or "cache"
    cache_key: str | None = None  # exec: the build cache key
    binary: str | None = None  # exec: the cached driver binary
    runtime: str | None = None  # exec/shim: the driver's runtime, "libc" or "freestanding"
    build: str | None = None  # exec: "workaround" for a profile's [toolchain.workaround] build
    cflags: tuple[str, ...] | None = None  # exec: the workaround build's extra flags
    malloc: str | None = None  # shim: why malloc/aligned_alloc could not be observed (freestanding)
    cache_hit: bool | None = None  # exec: the binary came from the cache; compiled: the facts did
    compiled_at: str | None = None  # compiled: when the compile behind the facts ran (UTC)
    cache_rebuilt: str | None = None  # exec: why the cached binary was rebuilt (truncated, foreign, ...)
    compile_argv: tuple[str, ...] | None = None  # exec: the compile command (recorded on a cache miss)
    # exec, split route (clang objects, gcc link; recorded on a cache miss): one compile
    # command per C file, then the link command
    compile_argvs: tuple[tuple[str, ...], ...] | None = None
    link_argv: tuple[str, ...] | None = None
    compile_seconds: float | None = None
    startup_seconds: float | None = None  # exec: the driver run with no requests (emulator start-up)
    run_seconds: float | None = None
    seconds: float | None = None  # compiled: compile + DWARF read
    returncode: int | None = None
    signal: int | None = None  # the signal the guest program died of
    stderr_tail: str | None = None
    requests: int | None = None  # exec: probe requests in the run
    word_bits: int | None = None  # shim: the word width a probe ran with
    sizeof_long: int | None = None  # shim
    lockfree: bool | None = None  # shim: atomics of word_bits are lock-free
    guard_words: int | None = None  # shim: guard words around a bitmap
    elapsed_us: int | None = None  # shim: a stress probe's running time
    threads: int | None = None  # shim: threads a stress probe ran
    count: int | None = None  # shim: allocations an alloc probe made
    page: int | None = None  # shim: the page size an alloc probe assumed
    known_issues: tuple[str, ...] | None = None  # the profile's known toolchain defects behind an error row

    def __post_init__(self) -> None:
        for name in ("compile_argv", "known_issues", "cflags", "link_argv"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if self.compile_argvs is not None:
            object.__setattr__(self, "compile_argvs", tuple(tuple(argv) for argv in self.compile_argvs))

    @classmethod
    def of(cls, values: Mapping[str, Any] | None) -> Evidence:
        """A record from a mapping (an Evidence, or keys a backend collected); TypeError names an
        unknown key."""
        if isinstance(values, Evidence):
            return values
        return cls(**dict(values or {}))

    def merged(self, *others: Mapping[str, Any] | None) -> Evidence:
        """This record with the recorded keys of ``others`` on top (later ones win); TypeError
        names a key no record has.  (Called for every probe answer: plain dicts, no Mapping
        protocol on the way.)"""
        out = self.recorded()
        for other in others:
            if isinstance(other, Evidence):
                out.update(other.recorded())
            elif other:
                unknown = [k for k in other if k not in _EVIDENCE_FIELDS]
                if unknown:
                    raise TypeError(f"Evidence has no key {unknown[0]!r}")
                out.update((k, v) for k, v in other.items() if v is not None)
        return Evidence(**out)

    def recorded(self) -> dict[str, Any]:
        """The recorded keys and their values, as a plain dict."""
        return {k: v for k in _EVIDENCE_KEYS if (v := getattr(self, k)) is not None}

    def items(self):
        return self.recorded().items()

    def scalars(self) -> Evidence:
        """Only the single values (no argv or lists): what a matrix row keeps of an observation's evidence."""
        return Evidence(**{k: v for k, v in self.items() if not isinstance(v, (tuple, list, dict))})

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, None) if key in _EVIDENCE_FIELDS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (k for k in _EVIDENCE_KEYS if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Evidence({self.recorded()!r})"


_EVIDENCE_KEYS = tuple(f.name for f in dataclasses.fields(Evidence))
_EVIDENCE_FIELDS = frozenset(_EVIDENCE_KEYS)


@dataclass(frozen=True)
class Observation:
    """What one backend saw for one probe on one arch.

    ``values`` is plain data (ints, strings, lists, dicts) so that the host
    backend (cffi) and the exec backend (a foreign binary printing JSON lines)
    produce equal objects for equal behaviour.  ``evidence`` says how it was
    seen: toolchain, emulator, counts and timings; it never enters equality.
    """

    probe: str
    params: dict[str, Any]
    values: dict[str, Any]
    evidence: Evidence = field(default_factory=Evidence, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", Evidence.of(self.evidence))


@dataclass(frozen=True)
class MatrixRow:
    arch: str
    check: str
    backend: str  # a registered backend's name (``Backend`` for the built-in ones)
    status: Status
    detail: str
    predicted: Any = None
    observed: Any = None
    evidence: Evidence = field(default_factory=Evidence, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "evidence", Evidence.of(self.evidence))

    def to_json(self) -> dict[str, Any]:
        """The contract row: exactly these keys (extra evidence goes in its own key)."""
        row = {
            "arch": self.arch, "check": self.check, "backend": self.backend,
            "status": self.status, "detail": self.detail,
            "predicted": self.predicted, "observed": self.observed,
        }
        if self.evidence:
            row["evidence"] = plain(self.evidence)
        return row


_LEAVES = frozenset((str, int, float, bool, type(None)))


def plain(value: Any) -> Any:
    """Dataclasses, named tuples, mappings, sequences and sets -> JSON-able plain data.

    Sets come out sorted (by repr) so equal inputs give equal JSON; bytes as hex.
    """
    # The leaves and plain containers first: most of a row's values are (a matrix converts
    # hundreds of thousands per run, and the ABC and dataclass tests below cost ten times more).
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return value.hex()
    return value
