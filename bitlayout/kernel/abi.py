"""What Kbuild's flags change in the profile the model lays a kernel TU out with.

The profiles describe the user-space ABI of each arch.  A kernel file is compiled with Kbuild's
command (``kbuild.KbuildCommand``), whose flags change a few of the numbers the layout engine
reads: plain ``char`` is unsigned (``-funsigned-char``, top ``Makefile`` since 6.2), ``long
double`` can be resized (``-mlong-double-128`` on powerpc), and the soft-float flags remove
optional floating types (x86 ``-mno-sse2``: no ``_Float16``; powerpc ``-msoft-float``: no
``__float128``) or change ``va_list`` (sh ``-m4-nofpu``).  ``kernel_profile(profile, argv)`` is
that mapping, written out flag by flag in ``RULES``: each flag Kbuild may pass is either a
change to the profile or named with the reason it changes no layout.  A flag in neither list
is an error naming it (``KernelTreeError``): bitlayout does not guess what an unknown flag does.

Every effect below was measured with the Debian 12 cross compilers (GCC 12) by compiling the
scalar facts of ``profile_truth`` with and without the flag; ``tests/test_kernel_abi.py``
checks each rule that way, and the profile ``kernel_profile`` gives against the compiler run
with Kbuild's whole command on every prepared tree.

Kbuild's compiler may also not be the one the profile follows (``[layout] compiler``): the
profile then takes its ``[alternate]`` for that compiler; a profile that describes only the
other compiler keeps its psABI numbers (every standard scalar, ``__int128``, ``va_list``) and
follows that compiler's rules, but loses the optional floating types, whose presence is each
compiler's choice (a type that uses one is then unsupported, not guessed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..errors import KernelTreeError
from ..profiles import Profile, Scalar

# Optional floating types: whether a compiler has them is its own choice (GCC 12 and clang
# differ on arm, riscv, sparc, aarch64_be), unlike the psABI's scalars.
OPTIONAL_FLOATS = ("float16", "fp16", "bf16", "float128", "gnu_float128", "float64x", "float80", "ibm128",
                   "decimal32", "decimal64", "decimal128")
# Options whose value is the next argument.
_SEPARATE_VALUE = ("-I", "-D", "-U", "-include", "-isystem", "-iquote", "-imacros", "-idirafter", "-G", "-x",
                   "-mllvm")


class _Edit:
    """The profile being changed: scalars and char signedness (the inputs ``layout.abi_key`` reads)."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.scalars = dict(profile.scalars)
        self.char_signed = profile.char_signed
        self.rules: dict[str, object] = {}  # [layout] fields that change

    def set_scalar(self, key: str, size: int, align: int, gnu_align: int, why: str) -> None:
        self.scalars[key] = Scalar(size, align, gnu_align, why)

    def drop(self, *keys: str) -> None:
        for key in keys:
            self.scalars.pop(key, None)

    def result(self) -> Profile:
        return dataclasses.replace(self.profile, scalars=self.scalars, char_signed=self.char_signed,
                                   layout=dataclasses.replace(self.profile.layout, **self.rules))


def _unsigned_char(edit: _Edit, flag: str) -> None:
    edit.char_signed = False


def _signed_char(edit: _Edit, flag: str) -> None:
    edit.char_signed = True


def _long_double_64(edit: _Edit, flag: str) -> None:
    # long double becomes double; _Float64x, "the narrowest type wider than double", becomes
    # _Float128 where there is one (i386: 12/4 -> 16/16); powerpc loses __ibm128.
    d = edit.scalars["double"]
    edit.set_scalar("long_double", d.size_bytes, d.align_bytes, d.gnu_align_bytes, f"Kbuild {flag}")
    if "float64x" in edit.scalars:
        if "float128" in edit.scalars:
            q = edit.scalars["float128"]
            edit.set_scalar("float64x", q.size_bytes, q.align_bytes, q.gnu_align_bytes, f"Kbuild {flag}")
        else:
            edit.drop("float64x")
    edit.drop("ibm128")


def _long_double_128(edit: _Edit, flag: str) -> None:
    # 16 bytes, 16-aligned (x86: IEEE quad; powerpc: the IBM pair its Debian compilers already use);
    # _Float64x follows long double where it was the 80-bit type (i386: 12/4 -> 16/16).
    edit.set_scalar("long_double", 16, 16, 16, f"Kbuild {flag}")
    if "float64x" in edit.scalars:
        edit.set_scalar("float64x", 16, 16, 16, f"Kbuild {flag}")


def _no_x86_float16(edit: _Edit, flag: str) -> None:
    edit.drop("float16")  # GCC 12 has _Float16 on x86 only with SSE2


def _no_ppc_float128(edit: _Edit, flag: str) -> None:
    edit.drop("float128", "gnu_float128", "float64x")  # GCC: __float128 needs VSX (and hard float)


def _sh_nofpu_va_list(edit: _Edit, flag: str) -> None:
    # The SH4 va_list is a 20-byte struct of the FPU register save areas; without an FPU it is a
    # plain pointer (GCC sh_build_builtin_va_list; DWARF: void *).
    p = edit.scalars["pointer"]
    edit.set_scalar("va_list", p.size_bytes, p.align_bytes, p.gnu_align_bytes, f"Kbuild {flag}")
    edit.rules["va_list"] = "void *"


def _int_enums(edit: _Edit, flag: str) -> None:
    edit.rules["enum_min_size_bytes"] = 4


def _strict_alignment(edit: _Edit, flag: str) -> None:
    edit.rules["strict_alignment"] = True


def _no_strict_alignment(edit: _Edit, flag: str) -> None:
    edit.rules["strict_alignment"] = False


@dataclass(frozen=True)
class FlagRule:
    """One flag (exact, or a pattern) and what it does to the layout on some kernel arches."""

    pattern: str  # the flag; "-x=" matches "-x=<anything>", a trailing "*" any suffix
    why: str  # the reason it changes nothing, or the change it makes
    apply: Callable[[_Edit, str], None] | None = None  # None: no layout effect
    kernel_arches: tuple[str, ...] = ()  # () = every arch

    def matches(self, flag: str, kernel_arch: str) -> bool:
        if self.kernel_arches and kernel_arch not in self.kernel_arches:
            return False
        if self.pattern.endswith("*"):
            return flag.startswith(self.pattern[:-1])
        if self.pattern.endswith("="):
            return flag.startswith(self.pattern)
        return flag == self.pattern


def _none(why: str, *patterns: str) -> list[FlagRule]:
    return [FlagRule(p, why) for p in patterns]


_ABI_CHECKED = ("selects the arch's ABI or CPU; the prepared build's long, pointer and byte order are checked "
                "against the profile (kbuild.check_abi), and no scalar's size or alignment moves with it (measured)")
_FLOAT_REGS = "soft-float: keeps floating-point registers out of kernel code; no type changes (measured)"
_CODEGEN = "code generation only (instructions, registers, calls, stack, sections): no type's layout"
_STRICT = "GCC STRICT_ALIGNMENT on: an aligned array or record with a machine mode is no longer user-aligned"
_NOT_STRICT = "GCC STRICT_ALIGNMENT off: aligned arrays and records stay user-aligned"
_ARM_STRICT = "code generation only: arm's GCC STRICT_ALIGNMENT is 1 whatever this flag says"

RULES: tuple[FlagRule, ...] = (
    # -- changes to the profile ---------------------------------------------------------
    FlagRule("-funsigned-char", "plain char is unsigned (top Makefile, KBUILD_CFLAGS since 6.2)", _unsigned_char),
    FlagRule("-fsigned-char", "plain char is signed", _signed_char),
    FlagRule("-mlong-double-64", "long double is double", _long_double_64, ("x86", "powerpc")),
    FlagRule("-mlong-double-128", "long double is 16 bytes, 16-aligned", _long_double_128, ("x86", "powerpc")),
    FlagRule("-mno-sse", "no SSE: GCC has no _Float16", _no_x86_float16, ("x86",)),
    FlagRule("-mno-sse2", "no SSE2: GCC has no _Float16", _no_x86_float16, ("x86",)),
    FlagRule("-msoft-float", "soft-float: GCC has no __float128/_Float128", _no_ppc_float128, ("powerpc",)),
    FlagRule("-mno-vsx", "no VSX: GCC has no __float128/_Float128", _no_ppc_float128, ("powerpc",)),
    FlagRule("-mno-altivec", "no AltiVec: GCC has no __float128/_Float128", _no_ppc_float128, ("powerpc",)),
    # GCC STRICT_ALIGNMENT follows these on riscv and powerpc (TARGET_STRICT_ALIGN) and arc
    # (!unaligned_access): aggregates with a machine mode lose their user alignment (layout.gccmode)
    # (measured on riscv64, ppc64le and arc by tests/test_kernel_abi.py; loongarch's GCC defines
    # STRICT_ALIGNMENT the same way, and its clang build ignores the field)
    FlagRule("-mstrict-align", _STRICT, _strict_alignment, ("riscv", "powerpc", "loongarch")),
    FlagRule("-mno-strict-align", _NOT_STRICT, _no_strict_alignment, ("riscv", "powerpc", "loongarch")),
    FlagRule("-mno-unaligned-access", _STRICT, _strict_alignment, ("arc",)),
    FlagRule("-munaligned-access", _NOT_STRICT, _no_strict_alignment, ("arc",)),
    FlagRule("-mno-unaligned-access", _ARM_STRICT, None, ("arm",)),
    FlagRule("-munaligned-access", _ARM_STRICT, None, ("arm",)),
    # arch/hexagon/Makefile: hexagon's clang makes an enum as small as its values by default (the
    # profile's enum_min_size_bytes = 1); the kernel's are int-sized (measured with Debian's clang 14
    # and zig's clang: enum { A = 1 } is 1 byte without the flag, 4 with; tests/test_kernel_abi.py)
    FlagRule("-fno-short-enums", "an enum is at least int-sized", _int_enums),
    FlagRule("-m4-nofpu", "no FPU: va_list is a pointer", _sh_nofpu_va_list, ("sh",)),
    FlagRule("-m4a-nofpu", "no FPU: va_list is a pointer", _sh_nofpu_va_list, ("sh",)),
    # -- known to change no layout ------------------------------------------------------
    *_none("wchar_t: the profiles have none (the kernel's is `typedef u16 wchar_t`, include/linux/nls.h); "
           "__WCHAR_TYPE__ and __SIZEOF_WCHAR_T__ come with the compiler's own -dD text", "-fshort-wchar"),
    *_none(_ABI_CHECKED, "--target=", "-m32", "-m64", "-mabi=", "-mbig-endian", "-mlittle-endian", "-EB", "-EL", "-ml", "-m4",
           "-march=", "-mcpu=", "-mtune=", "-marm", "-msym32", "-mfpu="),
    *_none(_FLOAT_REGS, "-msoft-float", "-mfloat-abi=soft", "-mno-80387", "-mno-fp-ret-in-387", "-mno-mmx",
           "-mno-3dnow", "-mno-avx", "-mgeneral-regs-only", "-mno-fpu", "-mno-fp-regs", "-mdisable-fpregs",
           "-mno-mma"),
    *_none(_CODEGEN, "-mcmodel=", "-mno-red-zone", "-mskip-rax-setup", "-mpreferred-stack-boundary=", "-mregparm=",
           "-mindirect-branch=", "-mindirect-branch-register", "-mindirect-branch-cs-prefix",
           "-mindirect-branch-table", "-mfunction-return=", "-mharden-sls=", "-mfentry", "-mrecord-mcount",
           "-mnop-mcount", "-mstack-protector-guard=", "-mstack-protector-guard-reg=",
           "-mstack-protector-guard-offset=", "-mstack-protector-guard-symbol=", "-mbranch-protection=", "-mtp=",
           "-mno-fdpic", "-mpacked-stack",
           "-mbackchain", "-mno-abicalls", "-mlong-calls", "-mno-check-zero-division", "-mmcount-ra-address",
           "-mno-pcrel", "-mno-prefixed", "-mno-string", "-mmultiple", "-mno-pointers-to-nested-functions",
           "-mno-save-toc-indirect", "-mprofile-kernel", "-mtraceback=", "-mno-relax", "-mno-riscv-attribute",
           "-mno-save-restore", "-mmedium-calls", "-mno-millicode", "-mlock", "-mswape", "-mno-sdata",
           "-mno-readonly-in-sdata", "-mfast-indirect-calls", "-mno-space-regs", "-mschedule=", "-G*",
           "-fintegrated-as", "-fno-integrated-as",
           # clang < 16's gate for -ftrivial-auto-var-init=zero (the top Makefile's CC_AUTO_VAR_INIT_ZERO_ENABLER)
           "-enable-trivial-auto-var-init-zero-knowing-it-will-be-removed-from-clang",
           "-fno-PIE", "-fno-pic", "-fPIC", "-fPIE", "-fno-common", "-fno-stack-check",
           "-fno-stack-clash-protection", "-fno-stack-protector", "-fstack-protector-strong", "-fconserve-stack",
           "-ftrivial-auto-var-init=", "-fomit-frame-pointer", "-fno-omit-frame-pointer",
           "-fno-optimize-sibling-calls", "-fno-asynchronous-unwind-tables", "-fasynchronous-unwind-tables",
           "-funwind-tables", "-fno-unwind-tables", "-fno-dwarf2-cfi-asm", "-fno-jump-tables", "-falign-functions=",
           "-falign-jumps=", "-falign-loops=", "-fcf-protection=", "-fpatchable-function-entry=",
           "-fsection-anchors", "-ffunction-sections", "-freg-struct-return", "-fcall-used-*", "-ffixed-*",
           "-pg", "-pipe"),
    *_none("an option of LLVM's code generator (its value is the next argument): clang has laid every type out "
           "before LLVM runs, with the data layout --target fixes", "-mllvm"),
    *_none("optimisation and semantics of code, not of types", "-O*", "-fno-strict-aliasing",
           "-fno-strict-overflow", "-fno-delete-null-pointer-checks", "-fno-allow-store-data-races",
           "-fno-builtin", "-fno-builtin-*", "-ffreestanding", "-fno-var-tracking", "-fno-ipa-sra",
           "-fno-inline-functions-called-once"),
    *_none("debug information and file names in it", "-g*", "-femit-struct-debug-*", "-fmacro-prefix-map=",
           "-ffile-prefix-map=", "-fdebug-prefix-map="),
    *_none("preprocessing and the language dialect: already applied in the -E text the model reads",
           "-nostdinc", "-std=gnu*", "-D*", "-U*", "-I*", "-include", "-isystem", "-iquote", "-imacros",
           "-idirafter", "-W*"),
)


def compiler_kind(argv: Sequence[str]) -> str:
    """"gcc" or "clang": which compiler Kbuild's ``CC`` is (KernelTreeError for anything else)."""
    name = Path(argv[0]).name
    if "clang" in name:
        return "clang"
    if "gcc" in name:
        return "gcc"
    raise KernelTreeError(f"Kbuild's compiler {argv[0]!r} is neither gcc nor clang: bitlayout does not know "
                          "which ABI rules it follows")


def flags(argv: Sequence[str]) -> Iterator[str]:
    """The options of a compiler command (values of separate-argument options skipped)."""
    args = list(argv[1:])
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if tok in _SEPARATE_VALUE:
            i += 1
        yield tok


def rule_for(flag: str, kernel_arch: str) -> FlagRule | None:
    """The first rule for ``flag`` on ``kernel_arch`` (arch-specific changes come first)."""
    return next((r for r in RULES if r.matches(flag, kernel_arch)), None)


def unknown_flags(argv: Sequence[str], kernel_arch: str) -> list[str]:
    return [f for f in flags(argv) if rule_for(f, kernel_arch) is None]


def _for_compiler(profile: Profile, kind: str) -> Profile:
    """The profile as ``kind`` sees it: its own, its ``[alternate]``, or (it describes only the
    other compiler) its psABI numbers under that compiler's rules, without the optional floats."""
    seen = profile.for_compiler(kind)
    if seen is not None:
        return seen
    layout = profile.layout
    biggest = layout.gcc_biggest_alignment_bytes if kind == "gcc" and layout.gcc_biggest_alignment_bytes else \
        layout.biggest_alignment_bytes
    rules = dataclasses.replace(layout, compiler=kind, biggest_alignment_bytes=biggest, gcc_biggest_alignment_bytes=0)
    scalars = {k: v for k, v in profile.scalars.items() if k not in OPTIONAL_FLOATS}
    return dataclasses.replace(profile, layout=rules, scalars=scalars, alternate=None)


def kernel_profile(profile: Profile, argv: Sequence[str]) -> Profile:
    """``profile`` as a file compiled with Kbuild's command ``argv`` (``CC`` + ``c_flags``) lays
    types out.  KernelTreeError names any flag ``RULES`` does not know."""
    unknown = unknown_flags(argv, profile.kernel_arch)
    if unknown:
        raise KernelTreeError(
            f"{profile.name}: Kbuild passes {', '.join(dict.fromkeys(unknown))}, whose effect on type layout "
            "bitlayout does not know; measure it and add it to RULES in bitlayout/kernel/abi.py")
    edit = _Edit(_for_compiler(profile, compiler_kind(argv)))
    for flag in flags(argv):
        rule = rule_for(flag, profile.kernel_arch)
        if rule.apply is not None:
            rule.apply(edit, flag)
    return edit.result()


def layout_changes(profile: Profile, argv: Sequence[str]) -> dict[str, tuple]:
    """What ``kernel_profile`` changed, as plain data: field -> (profile's value, kernel's value);
    a scalar as (size, align, gnu_align) or None when absent."""
    out: dict[str, tuple] = {}
    kp = kernel_profile(profile, argv)
    if kp.char_signed != profile.char_signed:
        out["char_signed"] = (profile.char_signed, kp.char_signed)
    if kp.layout != profile.layout:
        for f in dataclasses.fields(kp.layout):
            a, b = getattr(profile.layout, f.name), getattr(kp.layout, f.name)
            if a != b and f.name != "source":
                out[f"layout.{f.name}"] = (a, b)

    def numbers(s: Scalar | None):
        return None if s is None else (s.size_bytes, s.align_bytes, s.gnu_align_bytes)

    for key in sorted(set(profile.scalars) | set(kp.scalars)):
        a, b = numbers(profile.scalars.get(key)), numbers(kp.scalars.get(key))
        if a != b:
            out[f"types.{key}"] = (a, b)
    return out
