"""Architecture profiles: load, validate, select.

One TOML file per architecture in ``arch_profiles/`` drives everything else.
Profiles are frozen dataclasses, loaded once (cached per directory) and
validated as they load; every error names the file and the key, in one line
(the cibuildwheel ``build-platforms.toml`` habit).

The file format is documented field by field in ``docs/profiles.md``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ProfileError, UsageError
from .textfile import read_utf8

# C scalar types every profile must describe, by the key used in the TOML.
# ``int128`` (``__int128``) is optional: 32-bit targets do not have it.
SCALAR_KEYS = (
    "_Bool", "char", "short", "int", "long", "long_long",
    "pointer", "float", "double", "long_double",
)
# The others exist where the profile's compiler has them (GCC 12 has no __bf16 on x86, clang no
# _Decimal*): ``__int128``, ``_Float16``, ``__fp16``, ``__bf16``, ``_Float128``, ``__float128``,
# ``_Float64x``, ``__float80``, ``__ibm128``, ``_Decimal32/64/128``, ``__builtin_va_list``.
OPTIONAL_SCALAR_KEYS = ("int128", "float16", "fp16", "bf16", "float128", "gnu_float128", "float64x", "float80",
                        "ibm128", "decimal32", "decimal64", "decimal128", "va_list")

# Spelling of each scalar key in C, for probes and reports.
C_SPELLING = {
    "_Bool": "_Bool", "char": "char", "short": "short", "int": "int",
    "long": "long", "long_long": "long long", "pointer": "void *",
    "float": "float", "double": "double", "long_double": "long double",
    "int128": "__int128", "float16": "_Float16", "fp16": "__fp16", "bf16": "__bf16", "float128": "_Float128",
    "gnu_float128": "__float128", "float64x": "_Float64x", "float80": "__float80", "ibm128": "__ibm128",
    "decimal32": "_Decimal32", "decimal64": "_Decimal64", "decimal128": "_Decimal128",
    "va_list": "__builtin_va_list",
}

ATOMIC64_KINDS = (
    "native",        # 64-bit CPU: plain aligned 64-bit load/store is single-copy atomic
    "cmpxchg8b",     # i386: lock cmpxchg8b; plain 64-bit accesses are two loads
    "ldrexd",        # arm v7: ldrexd/strexd pair; plain ldrd is atomic only with LPAE
    "ll-sc-pair",    # other 32-bit LL/SC CPUs with a doubleword pair
    "spinlock",      # lib/atomic64.c: GENERIC_ATOMIC64, hashed spinlocks
    "none",
)


@dataclass(frozen=True)
class Scalar:
    """Size and alignment of one C scalar on one architecture."""

    size_bytes: int
    align_bytes: int  # C11 ``_Alignof``: the alignment inside a struct
    gnu_align_bytes: int  # GCC ``__alignof__``: the preferred alignment (differs on i386)
    source: str


@dataclass(frozen=True)
class LayoutRules:
    """Struct/bitfield ABI axes on which the layout engine branches.

    The defaults are the common System V behaviour (GCC with
    PCC_BITFIELD_TYPE_MATTERS).  Each deviation is a named field so the layout
    engine has one branch per quirk, not one per architecture.
    """

    # A named bitfield's declared type raises the struct's alignment (true almost everywhere).
    bitfield_type_affects_alignment: bool = True
    # A zero-width bitfield pads to its type's alignment boundary.
    zero_width_bitfield_aligns: bool = True
    # An unnamed (padding or zero-width) bitfield raises the struct's alignment: GCC hook
    # TARGET_ALIGN_ANON_BITFIELD, true for AAPCS (arm_align_anon_bitfield) and AAPCS64.
    unnamed_bitfield_affects_alignment: bool = False
    # Big-endian arches allocate bitfields from the most significant bit.
    bitfields_msb_first: bool = False
    # Minimum alignment of any struct or union (old ARM APCS: 4; EABI and everyone else: 1).
    struct_min_align_bytes: int = 1
    # Cap on member alignment (m68k: int/long/pointer are 2-aligned; expressed in the scalars,
    # so this stays 0 = no cap unless an ABI caps it for all members).
    max_member_align_bytes: int = 0
    # Smallest size an enum takes (4 on Linux ABIs; -fshort-enums would make it 1).
    enum_min_size_bytes: int = 4
    # GCC PCC_BITFIELD_TYPE_MATTERS: a bitfield's declared type sets its storage unit (no
    # straddling past it) and raises the struct's alignment.  m68k (gcc/config/m68k/m68k.h)
    # defines it 0: bitfields are packed bit after bit and only whole integer modes at aligned
    # positions raise the alignment.
    pcc_bitfield_type_matters: bool = True
    # GCC EMPTY_FIELD_BOUNDARY, used only without PCC_BITFIELD_TYPE_MATTERS: where a zero-width
    # bitfield moves the next field, and the struct alignment it implies (m68k: 16 bits).
    empty_field_boundary_bytes: int = 1
    # GCC __BIGGEST_ALIGNMENT__: what a bare __attribute__((aligned)) means (GCC manual, "Common
    # Type Attributes"); measured per arch with the compiler's -dM -E.
    biggest_alignment_bytes: int = 16
    # The compiler whose ABI decisions the model follows where GCC and clang differ ("gcc" or
    # "clang"): _Atomic rounding, the _Alignof cap, vector member alignment.
    compiler: str = "gcc"
    # GCC __BIGGEST_ALIGNMENT__ where it differs from what a bare `aligned` means above (clang
    # profiles); 0: the same.  It caps GCC's _Alignof and its _Atomic alignment.
    gcc_biggest_alignment_bytes: int = 0
    # Largest alignment a vector type gets (GCC/clang TARGET_VECTOR_ALIGNMENT: AAPCS 8, AAPCS64
    # 16, s390x 8; elsewhere the vector's size).
    vector_align_max_bytes: int = 1 << 28
    # i386 x86_field_alignment: members whose mode is an integer mode (and double) are aligned to
    # at most this inside a struct (0: no such cap).  Applies here to small vectors and to records
    # (layout.gccmode); scalars carry it in their [types] numbers.
    int_mode_field_align_cap_bytes: int = 0
    # GCC STRICT_ALIGNMENT: an array or record whose machine mode is aligned at least as much as
    # the type is no longer user-aligned (stor-layout.cc finalize_type_size), which lifts the
    # __BIGGEST_ALIGNMENT__ cap off the _Alignof of a record holding it (layout.gccmode).
    strict_alignment: bool = False
    # GCC word_mode size for mode(word)/mode(unwind_word) (0: sizeof(long); x32: 8).
    word_mode_bytes: int = 0
    # clang: _Atomic types up to this size are rounded to a power of two and aligned to it
    # (TargetInfo::MaxAtomicPromoteWidth / 8).
    max_atomic_promote_bytes: int = 0
    # _BitInt: the compiler's BITINT_MAXWIDTH (0: no _BitInt, as in GCC 12), and the alignment of
    # a wider-than-64-bit _BitInt's limbs (0: long long's).
    bitint_max_width: int = 0
    bitint_limb_align_bytes: int = 0
    # __builtin_va_list as C (a type name, an array suffix allowed): its members are laid out like
    # any struct's ("struct __va_list { void *__ap; }" on arm, "void *" on mips).
    va_list: str = ""
    source: str = ""

    @property
    def gcc_biggest_alignment(self) -> int:
        return self.gcc_biggest_alignment_bytes or self.biggest_alignment_bytes


@dataclass(frozen=True)
class Atomicity:
    """What memory accesses the CPU performs as one indivisible access."""

    # Largest naturally aligned plain load/store that is single-copy atomic, in bytes.
    single_copy_atomic_bytes: int
    # How the kernel implements atomic64_t on this arch (one of ATOMIC64_KINDS).
    atomic64: str
    # Whether READ_ONCE() of a u64 is one access (only 64-bit CPUs, and Armv7+LPAE).
    read_once_u64_single_access: bool
    source: str


@dataclass(frozen=True)
class Allocators:
    """Alignment guarantees of the allocators a tagged pointer may come from."""

    arch_slab_minalign: int  # ARCH_SLAB_MINALIGN (include/linux/slab.h default: __alignof__(u64))
    arch_kmalloc_minalign: int  # ARCH_KMALLOC_MINALIGN (default: ARCH_DMA_MINALIGN or 8)
    libc_malloc_align: int  # glibc/musl malloc: 2 * sizeof(size_t), 16 on most 64-bit
    source: str


@dataclass(frozen=True)
class Toolchain:
    """How to compile for this arch and how to run what was built.

    Empty strings mean "not available by this route".  Discovery of what is
    actually installed lives in ``bitlayout.toolchains``.
    """

    zig_target: str = ""  # e.g. "mips-linux-musleabi" for ``python -m ziglang cc -target``
    zig_cflags: tuple[str, ...] = ()  # e.g. ("-mcpu=...",)
    # The exec-alternate driver's objects: zig's clang compiles them for this glibc target against
    # gcc_triple's glibc headers and that gcc links them (no musl build); "" keeps the musl route.
    zig_glibc_target: str = ""  # e.g. "mips-linux-gnueabihf" (hard float, as Debian's mips glibc)
    zig_glibc_cflags: tuple[str, ...] = ()  # after zig_cflags, e.g. ("-msecure-plt",)
    # ppc64: zig 0.17.1 marks the ELFv1 objects it writes with -mabi=elfv1 as ELFv2 (e_flags 2);
    # true: relabel them ELFv1 before gcc links them (toolchains.relabel_elfv1 checks they are).
    zig_glibc_relabel_elfv1: bool = False
    # sparc64: zig 0.17.1's objects point into merged string sections through a plain local symbol
    # plus an addend, which GNU ld resolves wrongly once it merges the strings; true clears the
    # merge flag of those sections before gcc links them (toolchains.unmerge_sections).
    zig_glibc_unmerge_sections: bool = False
    gcc_triple: str = ""  # Debian cross gcc prefix without the dash, e.g. "m68k-linux-gnu"
    gcc_cflags: tuple[str, ...] = ()
    gcc_link: str = "static"  # "static" or "dynamic" (alpha: static glibc segfaults under qemu)
    host_native: bool = False  # the host's own gcc builds for it (x86_64)
    qemu: str = ""  # qemu-user binary, e.g. "qemu-mips"; "native" runs directly
    qemu_cpu: str = ""  # ``-cpu`` option for qemu
    qemu_sysroot: str = ""  # ``-L`` for dynamic builds, e.g. /usr/alpha-linux-gnu
    run_blocker: str = ""  # known reason the binary cannot run here (sh4 under qemu 7.2)
    # Measured toolchain/emulator defects, "<check>: <reason>" (or just "<reason>": every
    # check): a model-vs-backend disagreement there is labelled a defect, not a model bug.
    known_issues: tuple[str, ...] = ()
    # What the exec driver links against: "libc" (csrc/*.c with the C library and pthreads)
    # or "freestanding" (csrc/freestanding: raw system calls, no libc; sh4, sparc).
    runtime: str = "libc"
    runtime_reason: str = ""  # freestanding only: the measured reason libc cannot be used here
    freestanding_gcc_triple: str = ""  # freestanding only: a gcc other than gcc_triple's builds it
    freestanding_cflags: tuple[str, ...] = ()  # freestanding only: after the exec backend's flags
    # The compilers that build Linux for this arch ("gcc", "clang"), in the kernel's own words:
    # GCC everywhere (Documentation/process/changes.rst), clang where
    # Documentation/kbuild/llvm.rst lists the arch (LLVM=1).  Required.
    linux_compilers: tuple[str, ...] = ()
    # A build a known issue does not affect ([toolchain.workaround]); None: there is none.
    workaround: "Workaround | None" = None


RUNTIMES = ("libc", "freestanding")
COMPILERS = ("gcc", "clang")
# How the compilers are named in prose (reports, matrix details).
COMPILER_NAMES = {"gcc": "GCC", "clang": "clang"}


@dataclass(frozen=True)
class Workaround:
    """A second exec build that avoids a known toolchain defect, for some checks only.

    The exec backend runs those checks' probes with the route's flags plus ``cflags``
    and reports them in a row of their own, labelled ``label``; the default build's
    row (the defect) stays.
    """

    checks: tuple[str, ...]
    cflags: tuple[str, ...]
    label: str  # "built with -mcpu=hexagonv55 to avoid llvm#205489"


@dataclass(frozen=True)
class Alternate:
    """What the profile's other compiler gives where it differs from the reference one
    (``[alternate]``): the model predicts both, so a GCC/clang difference is a finding of its own,
    not a model error."""

    compiler: str  # "gcc" or "clang"
    scalars: Mapping[str, Scalar]  # scalars this compiler lays out differently or has in addition
    absent: tuple[str, ...]  # optional scalars the reference compiler has and this one lacks
    layout: Mapping[str, Any]  # [layout] fields that differ
    source: str


# The top-level kernel Makefile maps these ARCH= values to another arch/ directory (SRCARCH);
# every other ARCH is its own directory.
_KERNEL_SRCARCH = {"i386": "x86", "x86_64": "x86", "sparc64": "sparc", "sh64": "sh",
                   "parisc64": "parisc"}
_KERNEL_CONFIG_TARGET = re.compile(r"^(?:[\w.+-]+_)?defconfig$")
_KERNEL_FRAGMENT_LINE = re.compile(r"^(?:CONFIG_\w+=\S.*|# CONFIG_\w+ is not set)$")


@dataclass(frozen=True)
class KernelConfig:
    """How a kernel tree is configured so that its build has this profile's ABI.

    ``bitlayout.kernel`` runs ``make ARCH=<arch> CROSS_COMPILE=<cross_compile> <config>``, merges
    ``fragment`` (then ``olddefconfig``, and checks every line survived), and ``prepare``.
    ``unsupported`` says why a profile has no kernel configuration (then nothing else is set).
    """

    arch: str = ""  # make ARCH=...: x86_64, i386, arm, arm64, mips, powerpc, sparc, sparc64 ...
    config: str = ""  # the make target writing .config: "defconfig" or "<name>_defconfig"
    fragment: tuple[str, ...] = ()  # CONFIG_X=y lines merged after `config` (ABI switches)
    cross_compile: str = ""  # CROSS_COMPILE prefix, trailing dash included: "aarch64-linux-gnu-"
    llvm: bool = False  # build with LLVM=1 (clang, lld) instead of the cross gcc
    unsupported: str = ""  # why no kernel configuration gives this profile's ABI
    source: str = ""

    @property
    def supported(self) -> bool:
        return not self.unsupported

    @property
    def srcarch(self) -> str:
        """The ``arch/`` directory the kernel Makefile derives from ARCH (SRCARCH)."""
        return _KERNEL_SRCARCH.get(self.arch, self.arch)


@dataclass(frozen=True)
class Profile:
    name: str
    kernel_arch: str
    description: str
    bits_per_long: int
    little_endian: bool
    char_signed: bool
    cacheline_bytes: int
    scalars: Mapping[str, Scalar]
    layout: LayoutRules
    atomicity: Atomicity
    allocators: Allocators
    toolchain: Toolchain
    predefined_macros: Mapping[str, str]  # arch macros for the built-in preprocessor fallback
    kernel: KernelConfig = KernelConfig(unsupported="the profile has no [kernel] table")
    path: str = field(default="", compare=False)
    alternate: Alternate | None = field(default=None, compare=False)

    @property
    def compiler(self) -> str:
        """The compiler whose ABI the model follows here ("gcc" or "clang")."""
        return self.layout.compiler

    def compilers(self) -> tuple[str, ...]:
        """The compilers this profile describes: the reference one, then the alternate."""
        return (self.compiler,) + ((self.alternate.compiler,) if self.alternate else ())

    def model_choice(self) -> str:
        """Which compiler's ABI the model follows where GCC and clang differ, and why, in one
        clause: "model follows GCC here, as Linux builds x86 with GCC (and with clang, LLVM=1)"."""
        return model_choice_text(self.compiler, self.toolchain.linux_compilers, self.kernel_arch)

    def for_compiler(self, compiler: str) -> "Profile | None":
        """This profile as ``compiler`` ("gcc"/"clang", or a toolchain kind "zig") sees it; None
        when the profile does not describe that compiler."""
        compiler = {"zig": "clang"}.get(compiler, compiler)
        if compiler == self.compiler:
            return self
        alt = self.alternate
        if alt is None or alt.compiler != compiler:
            return None
        return _alternate_profile(self)

    @property
    def endianness(self) -> str:
        return "little" if self.little_endian else "big"

    @property
    def word_bytes(self) -> int:
        return self.bits_per_long // 8

    @property
    def layout_class(self) -> str:
        """LE32, BE32, LE64, BE64: arches in one class place flag bits identically."""
        return f"{'LE' if self.little_endian else 'BE'}{self.bits_per_long}"

    def scalar(self, key: str) -> Scalar:
        try:
            return self.scalars[key]
        except KeyError:
            raise UsageError(f"profile {self.name} has no scalar {key!r}") from None


def model_choice_text(follows: str, linux_compilers: tuple[str, ...] | list[str], where: str) -> str:
    """``Profile.model_choice`` for one arch (``where``: its kernel arch) or a group of arches
    with the same two facts (``where``: their names)."""
    ref = COMPILER_NAMES[follows]
    linux = tuple(linux_compilers)
    if follows == "gcc" or linux == ("clang",):
        also = " only" if len(linux) == 1 else " (and with clang, LLVM=1)"
        return f"model follows {ref} here, as Linux builds {where} with {ref}{also}"
    # a clang profile where Linux also builds with GCC: no GCC for the target here to measure
    builds = " and ".join(COMPILER_NAMES[c] for c in linux) + (" (LLVM=1)" if "clang" in linux[1:] else "")
    return f"model follows {ref} here (no GCC for this target here), while Linux builds {where} with {builds}"


_ALTERNATES: dict[int, tuple[Profile, Profile]] = {}


def _alternate_profile(profile: Profile) -> Profile:
    import dataclasses

    hit = _ALTERNATES.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    alt = profile.alternate
    scalars = {k: v for k, v in profile.scalars.items() if k not in alt.absent}
    scalars.update(alt.scalars)
    layout = dataclasses.replace(profile.layout, compiler=alt.compiler, **alt.layout)
    out = dataclasses.replace(profile, scalars=scalars, layout=layout, alternate=None)
    _ALTERNATES[id(profile)] = (profile, out)
    return out


# ---------------------------------------------------------------------------
# Loading and validation


class _Reader:
    """Typed access to one TOML table, raising ProfileError naming file and key."""

    def __init__(self, path: str, table: Mapping[str, Any], prefix: str = ""):
        self.path = path
        self.table = table
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise ProfileError("missing key", path=self.path, key=self._key(key))
            return default
        value = self.table[key]
        # bool is an int subclass; never accept one for the other.
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ProfileError(
                f"expected {want}, got {type(value).__name__} {value!r}",
                path=self.path, key=self._key(key),
            )
        if isinstance(value, str):
            self._one_line(key, value)
        return value

    def _one_line(self, key: str, value: str) -> None:
        """Every profile string is one line of printable text: names and flags reach compiler
        and emulator command lines (a NUL there is a ValueError), the rest reach reports."""
        bad = next((c for c in value if ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F), None)
        if bad is not None:
            raise ProfileError(f"control character {bad!r} in {value!r}", path=self.path, key=self._key(key))

    def positive(self, key: str, default: Any = ...) -> int:
        value = self.get(key, int, default)
        if value is not default and value <= 0:
            raise ProfileError(f"must be positive, got {value}", path=self.path, key=self._key(key))
        return value

    def power_of_two(self, key: str, default: Any = ...) -> int:
        value = self.get(key, int, default)
        if value is default:
            return value
        if value <= 0 or value & (value - 1):
            raise ProfileError(f"must be a power of two, got {value}", path=self.path, key=self._key(key))
        return value

    def sub(self, key: str, required: bool = True) -> "_Reader":
        table = self.get(key, dict, ... if required else {})
        return _Reader(self.path, table, f"{self._key(key)}.")

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        for item in value:
            if not isinstance(item, str):
                raise ProfileError(f"expected a list of strings, got {item!r}", path=self.path, key=self._key(key))
            self._one_line(key, item)
        return tuple(value)

    def reject_unknown(self, known: Iterable[str]) -> None:
        extra = sorted(set(self.table) - set(known))
        if extra:
            raise ProfileError(f"unknown key {extra[0]!r}", path=self.path, key=self._key(extra[0]))


def _load_scalar(reader: _Reader, key: str) -> Scalar:
    r = reader.sub(key)
    r.reject_unknown(("size", "align", "gnu_align", "source"))
    size = r.positive("size")
    align = r.power_of_two("align")
    gnu_align = r.power_of_two("gnu_align")
    if align > max(size, gnu_align) or gnu_align > max(size, 16):
        raise ProfileError(f"alignment {align} larger than size {size}", path=r.path, key=f"{r.prefix}align")
    if gnu_align < align:
        # GCC's preferred alignment is never below the ABI one (it only raises it: i386 long long)
        raise ProfileError(f"gnu_align {gnu_align} below align {align}", path=r.path, key=f"{r.prefix}gnu_align")
    return Scalar(size, align, gnu_align, r.get("source", str))


# Integer and floating types in the order C11 6.2.5p8 and 6.2.5p10 rank them: no size may
# shrink along each chain.
_SIZE_CHAINS = (("char", "short", "int", "long", "long_long"), ("float", "double", "long_double"))


def _check_scalar_sizes(path: str, scalars: Mapping[str, Scalar], prefix: str = "types") -> None:
    for chain in _SIZE_CHAINS:
        for smaller, larger in zip(chain, chain[1:]):
            if scalars[smaller].size_bytes > scalars[larger].size_bytes:
                raise ProfileError(f"size {scalars[larger].size_bytes} smaller than {smaller}'s "
                                   f"{scalars[smaller].size_bytes}", path=path, key=f"{prefix}.{larger}.size")


# [layout] integer fields and their domains: "pow2" (a power of two), "pow2|0" (or 0 = none),
# "count" (>= 0), or the allowed values.
_LAYOUT_DOMAINS: dict[str, Any] = {
    "struct_min_align_bytes": "pow2", "max_member_align_bytes": "pow2|0", "enum_min_size_bytes": (1, 2, 4, 8),
    "empty_field_boundary_bytes": "pow2", "biggest_alignment_bytes": "pow2", "gcc_biggest_alignment_bytes": "pow2|0",
    "vector_align_max_bytes": "pow2", "int_mode_field_align_cap_bytes": "pow2|0", "word_mode_bytes": "pow2|0",
    "max_atomic_promote_bytes": "pow2|0", "bitint_max_width": "count", "bitint_limb_align_bytes": "pow2|0",
}


def _check_layout_values(path: str, values: Mapping[str, Any], prefix: str) -> None:
    for key, value in values.items():
        domain = _LAYOUT_DOMAINS.get(key)
        if domain is None or isinstance(value, bool) or not isinstance(value, int):
            continue
        pow2 = value > 0 and not value & (value - 1)
        ok = {"pow2": pow2, "pow2|0": pow2 or value == 0, "count": value >= 0}.get(domain) \
            if isinstance(domain, str) else value in domain
        if not ok:
            want = {"pow2": "a power of two", "pow2|0": "0 or a power of two", "count": "0 or more"}.get(
                domain, f"one of {', '.join(map(str, domain))}") if isinstance(domain, str) else \
                f"one of {', '.join(map(str, domain))}"
            raise ProfileError(f"must be {want}, got {value}", path=path, key=f"{prefix}{key}")


_MACRO_NAME = re.compile(r"[A-Za-z_]\w*")
# Predefined macros that state a number the profile states too (GCC manual, "Common Predefined
# Macros"; _MIPS_SZ* in bits): a profile contradicting itself is an error before anything runs.
_SIZE_MACROS = {"__SIZEOF_SHORT__": "short", "__SIZEOF_INT__": "int", "__SIZEOF_LONG__": "long",
                "__SIZEOF_LONG_LONG__": "long_long", "__SIZEOF_POINTER__": "pointer", "__SIZEOF_FLOAT__": "float",
                "__SIZEOF_DOUBLE__": "double", "__SIZEOF_LONG_DOUBLE__": "long_double",
                "__SIZEOF_INT128__": "int128"}
_BIT_MACROS = {"_MIPS_SZINT": "int", "_MIPS_SZLONG": "long", "_MIPS_SZPTR": "pointer"}
_BIG_ENDIAN_MARKS = ("__MIPSEB__", "__ARMEB__", "__AARCH64EB__", "__BIG_ENDIAN__", "_BIG_ENDIAN")
_LITTLE_ENDIAN_MARKS = ("__MIPSEL__", "__ARMEL__", "__AARCH64EL__", "__LITTLE_ENDIAN__", "_LITTLE_ENDIAN")


def _check_macros(path: str, macros: Mapping[str, Any], scalars: Mapping[str, Scalar], little_endian: bool,
                  char_signed: bool) -> None:
    def fail(name: str, why: str):
        raise ProfileError(why, path=path, key=f"macros.{name}")

    for name, value in macros.items():
        if not _MACRO_NAME.fullmatch(name):
            fail(name, f"not a macro name: {name!r}")
        if not isinstance(value, str):
            fail(name, f"macro values must be strings, got {value!r}")
        if "\n" in value or "\r" in value or "\0" in value:
            fail(name, f"a macro value is one line, got {value!r}")
    for table, unit in ((_SIZE_MACROS, 1), (_BIT_MACROS, 8)):
        for name, key in table.items():
            if name in macros and key in scalars and macros[name].strip() != str(unit * scalars[key].size_bytes):
                fail(name, f"{macros[name]!r} contradicts types.{key}.size = {scalars[key].size_bytes}")
    width = {k: scalars[k].size_bytes for k in ("int", "long", "pointer")}
    if any(m in macros for m in ("__LP64__", "_LP64")) and (width["long"], width["pointer"]) != (8, 8):
        fail("__LP64__" if "__LP64__" in macros else "_LP64", "LP64 contradicts the 4-byte long or pointer")
    if "__ILP32__" in macros and (width["int"], width["long"], width["pointer"]) != (4, 4, 4):
        fail("__ILP32__", "ILP32 contradicts the 8-byte long or pointer")
    if "__CHAR_UNSIGNED__" in macros and char_signed:
        fail("__CHAR_UNSIGNED__", "contradicts char_signed = true")
    order = macros.get("__BYTE_ORDER__", "").strip()
    if order in ("__ORDER_LITTLE_ENDIAN__", "1234", "__ORDER_BIG_ENDIAN__", "4321") and \
            order in ("__ORDER_LITTLE_ENDIAN__", "1234") != little_endian:
        fail("__BYTE_ORDER__", f"{order} contradicts endianness = {'little' if little_endian else 'big'}")
    for marks, big in ((_BIG_ENDIAN_MARKS, True), (_LITTLE_ENDIAN_MARKS, False)):
        for name in marks:
            if name in macros and big == little_endian:
                fail(name, f"contradicts endianness = {'little' if little_endian else 'big'}")


def _load_workaround(tr: _Reader) -> Workaround | None:
    if "workaround" not in tr.table:
        return None
    wr = tr.sub("workaround")
    wr.reject_unknown(("checks", "cflags", "label"))
    for key in ("checks", "cflags"):
        if not wr.strings(key):
            raise ProfileError("must be a non-empty list of strings", path=wr.path, key=f"{wr.prefix}{key}")
    label = wr.get("label", str)
    if not label.strip():
        raise ProfileError("must say what the build avoids", path=wr.path, key=f"{wr.prefix}label")
    return Workaround(wr.strings("checks"), wr.strings("cflags"), label)


_COMMAND_WORDS = ("zig_target", "zig_glibc_target", "gcc_triple", "freestanding_gcc_triple", "qemu", "qemu_cpu", "qemu_sysroot")
_COMMAND_WORD = re.compile(r"([\w.+/,=][\w.+/,=-]*)?")  # not an option: no leading '-'



def _load_toolchain(tr: _Reader) -> Toolchain:
    tc_fields = {k: f for k, f in Toolchain.__dataclass_fields__.items() if k != "workaround"}
    tr.reject_unknown((*tc_fields, "workaround"))
    tc_kwargs: dict[str, Any] = {}
    for fname, f in tc_fields.items():
        if isinstance(f.default, tuple):  # the *_cflags lists, known_issues
            tc_kwargs[fname] = tr.strings(fname)
        else:
            tc_kwargs[fname] = tr.get(fname, type(f.default), f.default)
    for key in _COMMAND_WORDS:  # one word each on a command line (qemu may be an absolute path)
        if not _COMMAND_WORD.fullmatch(tc_kwargs[key]):
            raise ProfileError(f"expected a target, program or path name, got {tc_kwargs[key]!r}",
                               path=tr.path, key=f"toolchain.{key}")
    if tc_kwargs["gcc_link"] not in ("static", "dynamic"):
        raise ProfileError(f"must be 'static' or 'dynamic', got {tc_kwargs['gcc_link']!r}",
                           path=tr.path, key="toolchain.gcc_link")
    if tc_kwargs["zig_glibc_target"] and not tc_kwargs["gcc_triple"]:
        raise ProfileError("needs gcc_triple: that gcc links the objects zig compiles for this target",
                           path=tr.path, key="toolchain.zig_glibc_target")
    for key in ("zig_glibc_cflags", "zig_glibc_relabel_elfv1", "zig_glibc_unmerge_sections"):
        if tc_kwargs[key] and not tc_kwargs["zig_glibc_target"]:
            raise ProfileError("only with zig_glibc_target", path=tr.path, key=f"toolchain.{key}")
    runtime = tc_kwargs["runtime"]
    if runtime not in RUNTIMES:
        raise ProfileError(f"must be one of {', '.join(RUNTIMES)}, got {runtime!r}", path=tr.path,
                           key="toolchain.runtime")
    if runtime == "freestanding":
        if not tc_kwargs["runtime_reason"].strip():
            raise ProfileError("runtime = 'freestanding' needs the measured reason libc cannot be used",
                               path=tr.path, key="toolchain.runtime_reason")
        if tc_kwargs["run_blocker"]:
            raise ProfileError("runtime = 'freestanding' runs the driver: a run_blocker contradicts it",
                               path=tr.path, key="toolchain.run_blocker")
    else:
        for key in ("runtime_reason", "freestanding_gcc_triple", "freestanding_cflags"):
            if tc_kwargs[key]:
                raise ProfileError("only with runtime = 'freestanding'", path=tr.path, key=f"toolchain.{key}")
    linux = tc_kwargs["linux_compilers"]
    if not linux:
        raise ProfileError("missing key: the compilers that build Linux for this arch (\"gcc\", \"clang\")",
                           path=tr.path, key="toolchain.linux_compilers")
    for name in linux:
        if name not in COMPILERS:
            raise ProfileError(f"must name compilers among {', '.join(COMPILERS)}, got {name!r}", path=tr.path,
                               key="toolchain.linux_compilers")
    if len(set(linux)) != len(linux):
        raise ProfileError(f"names a compiler twice: {list(linux)}", path=tr.path, key="toolchain.linux_compilers")
    return Toolchain(**tc_kwargs, workaround=_load_workaround(tr))


_TOP_KEYS = (
    "name", "kernel_arch", "description", "bits_per_long", "endianness", "char_signed",
    "cacheline_bytes", "types", "layout", "atomicity", "allocators", "toolchain", "macros", "alternate", "kernel",
)


def _load_kernel(r: _Reader, kernel_arch: str) -> KernelConfig:
    """The optional ``[kernel]`` table: either ``unsupported`` (with a reason) or a configuration."""
    if "kernel" not in r.table:
        return KernelConfig(unsupported=f"{r.path} has no [kernel] table")
    kr = r.sub("kernel")
    kr.reject_unknown(KernelConfig.__dataclass_fields__)
    source = kr.get("source", str, "")
    if "unsupported" in kr.table:
        reason = kr.get("unsupported", str)
        if not reason.strip():
            raise ProfileError("must say why (a non-empty string)", path=r.path, key="kernel.unsupported")
        extra = sorted(set(kr.table) - {"unsupported", "source"})
        if extra:
            raise ProfileError(f"{extra[0]!r} contradicts kernel.unsupported", path=r.path, key=f"kernel.{extra[0]}")
        return KernelConfig(unsupported=reason, source=source)
    arch = kr.get("arch", str)
    config = kr.get("config", str)
    if not _KERNEL_CONFIG_TARGET.match(config):
        raise ProfileError(f"expected 'defconfig' or '<name>_defconfig', got {config!r}",
                           path=r.path, key="kernel.config")
    fragment = kr.strings("fragment")
    for i, line in enumerate(fragment):
        if not _KERNEL_FRAGMENT_LINE.match(line):
            raise ProfileError(f"expected 'CONFIG_NAME=value' or '# CONFIG_NAME is not set', got {line!r}",
                               path=r.path, key=f"kernel.fragment[{i}]")
    llvm = kr.get("llvm", bool, False)
    cross = kr.get("cross_compile", str, "")
    if not llvm and not cross:
        raise ProfileError("missing key (the cross compiler prefix, e.g. 'aarch64-linux-gnu-'), or llvm = true",
                           path=r.path, key="kernel.cross_compile")
    if cross and not cross.endswith("-"):
        raise ProfileError(f"expected a prefix ending in '-', got {cross!r}", path=r.path, key="kernel.cross_compile")
    kernel = KernelConfig(arch=arch, config=config, fragment=fragment, cross_compile=cross, llvm=llvm,
                          source=source)
    if kernel.srcarch != kernel_arch:
        raise ProfileError(f"ARCH={arch} builds arch/{kernel.srcarch}, but kernel_arch = {kernel_arch!r}",
                           path=r.path, key="kernel.arch")
    return kernel


def _load_alternate(r: _Reader, reference: LayoutRules) -> Alternate | None:
    if "alternate" not in r.table:
        return None
    ar = r.sub("alternate")
    ar.reject_unknown(("compiler", "types", "absent", "layout", "source"))
    compiler = ar.get("compiler", str)
    if compiler not in ("gcc", "clang") or compiler == reference.compiler:
        raise ProfileError(f"must be the other compiler than [layout] compiler ({reference.compiler!r}), "
                           f"got {compiler!r}", path=r.path, key="alternate.compiler")
    tr = ar.sub("types", required=False)
    tr.reject_unknown(SCALAR_KEYS + OPTIONAL_SCALAR_KEYS)
    scalars = {key: _load_scalar(tr, key) for key in tr.table}
    absent = ar.strings("absent")
    for key in absent:
        if key not in OPTIONAL_SCALAR_KEYS:
            raise ProfileError(f"{key!r} is not an optional scalar", path=r.path, key="alternate.absent")
    lr = ar.sub("layout", required=False)
    known = [f for f in LayoutRules.__dataclass_fields__ if f not in ("compiler", "source", "bitfields_msb_first")]
    lr.reject_unknown(known)
    layout = {k: lr.get(k, type(getattr(reference, k))) for k in lr.table}
    _check_layout_values(r.path, layout, "alternate.layout.")
    return Alternate(compiler, scalars, tuple(absent), layout, ar.get("source", str, ""))


_ARCH_NAME = re.compile(r"[A-Za-z0-9_]+")


def parse_profile(path: str | Path, data: Mapping[str, Any]) -> Profile:
    """Validate one profile's TOML data; raise ProfileError naming file and key."""
    path = str(path)
    r = _Reader(path, data)
    r.reject_unknown(_TOP_KEYS)
    name = r.get("name", str)
    for key, value in (("name", name), ("kernel_arch", r.get("kernel_arch", str))):
        # both are arch selectors on the command line: a keyword or a comma list there would be
        # unreachable or ambiguous
        if not _ARCH_NAME.fullmatch(value) or value in CLASS_SELECTORS:
            raise ProfileError(f"{value!r} cannot be an arch name (letters, digits and _ only; not one of "
                               f"{', '.join(CLASS_SELECTORS)})", path=path, key=key)
    bits = r.get("bits_per_long", int)
    if bits not in (32, 64):
        raise ProfileError(f"must be 32 or 64, got {bits}", path=path, key="bits_per_long")
    endianness = r.get("endianness", str)
    if endianness not in ("little", "big"):
        raise ProfileError(f"must be 'little' or 'big', got {endianness!r}", path=path, key="endianness")

    types = r.sub("types")
    types.reject_unknown(SCALAR_KEYS + OPTIONAL_SCALAR_KEYS)
    scalars = {key: _load_scalar(types, key) for key in SCALAR_KEYS}
    for key in OPTIONAL_SCALAR_KEYS:
        if key in types.table:
            scalars[key] = _load_scalar(types, key)
    for key, width in (("long", bits // 8), ("pointer", bits // 8)):
        if scalars[key].size_bytes != width:
            raise ProfileError(
                f"size {scalars[key].size_bytes} inconsistent with bits_per_long = {bits}",
                path=path, key=f"types.{key}.size",
            )
    if scalars["char"].size_bytes != 1:
        raise ProfileError(f"must be 1, got {scalars['char'].size_bytes}", path=path, key="types.char.size")
    _check_scalar_sizes(path, scalars)

    lr = r.sub("layout")
    known = [f for f in LayoutRules.__dataclass_fields__]
    lr.reject_unknown(known)
    defaults = LayoutRules()
    layout_kwargs = {}
    for fname in known:
        default = getattr(defaults, fname)
        layout_kwargs[fname] = lr.get(fname, type(default), default)
    _check_layout_values(path, layout_kwargs, "layout.")
    layout = LayoutRules(**layout_kwargs)
    if layout.compiler not in ("gcc", "clang"):
        raise ProfileError(f"must be 'gcc' or 'clang', got {layout.compiler!r}", path=path, key="layout.compiler")
    if layout.bitfields_msb_first != (endianness == "big"):
        # every Linux ABI allocates bit-fields from the low-order end on little-endian targets and
        # from the high-order end on big-endian ones (GCC BITS_BIG_ENDIAN follows BYTES_BIG_ENDIAN)
        raise ProfileError(f"bitfields_msb_first = {str(layout.bitfields_msb_first).lower()} contradicts "
                           f"endianness = {endianness!r}", path=path, key="layout.bitfields_msb_first")

    ar = r.sub("atomicity")
    ar.reject_unknown(("single_copy_atomic_bytes", "atomic64", "read_once_u64_single_access", "source"))
    atomic64 = ar.get("atomic64", str)
    if atomic64 not in ATOMIC64_KINDS:
        raise ProfileError(f"must be one of {', '.join(ATOMIC64_KINDS)}, got {atomic64!r}",
                           path=path, key="atomicity.atomic64")
    atomicity = Atomicity(
        ar.power_of_two("single_copy_atomic_bytes"), atomic64,
        ar.get("read_once_u64_single_access", bool), ar.get("source", str),
    )

    al = r.sub("allocators")
    al.reject_unknown(("arch_slab_minalign", "arch_kmalloc_minalign", "libc_malloc_align", "source"))
    allocators = Allocators(
        al.power_of_two("arch_slab_minalign"), al.power_of_two("arch_kmalloc_minalign"),
        al.power_of_two("libc_malloc_align"), al.get("source", str),
    )

    toolchain = _load_toolchain(r.sub("toolchain", required=False))

    macros = r.get("macros", dict, {})
    char_signed = r.get("char_signed", bool)
    _check_macros(path, macros, scalars, endianness == "little", char_signed)

    alternate = _load_alternate(r, layout)
    if alternate is not None:
        merged = {k: v for k, v in scalars.items() if k not in alternate.absent}
        _check_scalar_sizes(path, {**merged, **alternate.scalars}, "alternate.types")
    kernel_arch = r.get("kernel_arch", str)
    return Profile(
        name=name,
        kernel_arch=kernel_arch,
        description=r.get("description", str),
        bits_per_long=bits,
        little_endian=endianness == "little",
        char_signed=char_signed,
        cacheline_bytes=r.power_of_two("cacheline_bytes"),
        scalars=scalars,
        layout=layout,
        atomicity=atomicity,
        allocators=allocators,
        toolchain=toolchain,
        predefined_macros=dict(macros),
        kernel=_load_kernel(r, kernel_arch),
        path=path,
        alternate=alternate,
    )


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    return _profile_from(path, _parse_toml(path, read_utf8(path, ProfileError)))


def _parse_toml(path: Path, text: str) -> dict:
    import tomllib  # only when a profile is not in the cache (_toml_data)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"malformed TOML: {exc}", path=str(path)) from None


def _profile_from(path: Path, data: dict) -> Profile:
    profile = parse_profile(path, data)
    if profile.name != path.stem:
        raise ProfileError(f"name {profile.name!r} does not match the file name", path=str(path), key="name")
    return profile


def default_profile_dir() -> Path:
    return Path(str(resources.files("bitlayout") / "data" / "arch_profiles"))


@functools.cache
def _load_dir(directory: str) -> tuple[Profile, ...]:
    paths = sorted(Path(directory).glob("*.toml"))
    if not paths:
        raise ProfileError("no *.toml profiles found", path=directory)
    texts = [read_utf8(p, ProfileError) for p in paths]
    return tuple(_profile_from(p, data) for p, data in zip(paths, _toml_data(directory, paths, texts)))


def _toml_data(directory: str, paths: list[Path], texts: list[str]) -> list[dict]:
    """Each profile's TOML as data.  tomllib takes about 1.5 ms a profile, a start-up cost of
    every command; the data is remembered as JSON in the user cache under the sha256 of each
    file's text, so an edited profile is parsed again and an unchanged one is read back.  Every
    profile is validated (``parse_profile``) whichever way its data came."""
    import hashlib

    from .cachedir import cache_subdir, publish_json, read_json

    digests = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    where = cache_subdir("profiles") / (hashlib.sha256(directory.encode()).hexdigest()[:16] + ".json")
    known = read_json(where)
    known = known if isinstance(known, dict) else {}
    out = [known.get(d) for d in digests]
    if all(isinstance(d, dict) for d in out):
        return out
    out = [d if isinstance(d, dict) else _parse_toml(p, t) for p, t, d in zip(paths, texts, out)]
    try:
        publish_json(where, dict(zip(digests, out)))
    except (TypeError, ValueError):  # a value JSON cannot hold (a TOML date): parsed every time
        pass
    return out


def load_profiles(directory: str | Path | None = None) -> tuple[Profile, ...]:
    """All profiles in a directory (default: the ones shipped with bitlayout), sorted by name.

    ``BITLAYOUT_PROFILE_DIR`` overrides the default directory.
    """
    import os

    if directory is None:
        directory = os.environ.get("BITLAYOUT_PROFILE_DIR") or default_profile_dir()
    return _load_dir(str(Path(directory).resolve()))


# ---------------------------------------------------------------------------
# Selectors: "all", "32bit", "64bit", "big-endian", "little-endian",
# profile names, kernel arch names, comma lists (union, in profile order).

CLASS_SELECTORS = {
    "all": lambda p: True,
    "32bit": lambda p: p.bits_per_long == 32,
    "64bit": lambda p: p.bits_per_long == 64,
    "big-endian": lambda p: not p.little_endian,
    "little-endian": lambda p: p.little_endian,
}


def select_profiles(selector: str | Iterable[str] | None, profiles: Iterable[Profile] | None = None) -> list[Profile]:
    """Resolve an arch selector to profiles (stable, profile-name order, no duplicates)."""
    pool = list(profiles if profiles is not None else load_profiles())
    if selector is None:
        return pool
    parts: list[str] = []
    for item in [selector] if isinstance(selector, str) else selector:
        parts.extend(s.strip() for s in item.split(",") if s.strip())
    if not parts:
        raise UsageError("empty arch selector")
    chosen: set[str] = set()
    for part in parts:
        if part in CLASS_SELECTORS:
            hits = [p for p in pool if CLASS_SELECTORS[part](p)]
        else:
            hits = [p for p in pool if p.name == part] or [p for p in pool if p.kernel_arch == part]
        if not hits and part in CLASS_SELECTORS:
            raise UsageError(f"arch selector {part!r} selects no profile (profiles: "
                             f"{', '.join(p.name for p in pool)})")
        if not hits:
            known = ", ".join(list(CLASS_SELECTORS) + [p.name for p in pool])
            raise UsageError(f"unknown arch selector {part!r} (known: {known})")
        chosen.update(p.name for p in hits)
    return [p for p in pool if p.name in chosen]


def selector_words(selector: str | Iterable[str]) -> list[str]:
    """The comma-separated words of a selector (a string or a list of strings)."""
    items = [selector] if isinstance(selector, str) else list(selector)
    return [w.strip() for item in items for w in item.split(",") if w.strip()]


def selects(selector: str | Iterable[str], profile: Profile) -> bool:
    """True if ``profile`` is one the selector names (a word that names no profile in use, as a
    spec's gate for an arch absent from ``$BITLAYOUT_PROFILE_DIR``, selects nothing)."""
    for word in selector_words(selector):
        try:
            if profile.name in {p.name for p in select_profiles(word)}:
                return True
        except UsageError:  # selects no profile in use
            continue
    return False


def known_selector(word: str) -> bool:
    """True if ``word`` is a class selector or names a profile or kernel arch, of the profiles in
    use or of the shipped ones: a spec written for the shipped set stays valid with a smaller
    ``$BITLAYOUT_PROFILE_DIR`` (its gates for absent arches select nothing), a typo does not."""
    if word in CLASS_SELECTORS:
        return True
    return any(word in (p.name, p.kernel_arch) for d in (None, default_profile_dir()) for p in load_profiles(d))


def profile_by_name(name: str) -> Profile:
    return select_profiles(name)[0]
