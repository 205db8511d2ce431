"""Regenerate ``arch_profiles/predefined/*.json`` from the installed compilers (maintenance).

    python -m bitlayout.cfront.measure_predefined [--arch SEL] [--jobs N] [--check]

For each profile and each compiler it describes (``[layout] compiler`` and ``[alternate]``)
that is installed: the ``-dM -E`` macro set, the headers read before the file, which
``__has_*`` operators exist, whether they expand their operand, and the answer to every
``operator(operand)`` written in the headers of the installed sysroots, ``/usr/include``, zig's
libc headers, this repository's headers and a list of attribute names kernel headers ask about.
``--check`` compares instead of writing (exit 1 on a difference).  See ``predefined.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import toolchains
from ..errors import BitlayoutError
from .ppmacro import OPERATORS
from .predefined import SCHEMA, facts_path, validate

# operators whose operand is a name (the include-like ones take a file and are answered from it)
NAME_OPERATORS = tuple(op for op in OPERATORS if op not in ("__has_include", "__has_include_next", "__has_embed"))
_OPERAND_RE = re.compile(r"\b(" + "|".join(NAME_OPERATORS) + r")\s*\(([^()]*)\)")

# Attribute names kernel headers (include/linux/compiler_attributes.h, compiler_types.h) and
# libc headers test, so that headers not installed here are answered too.
KNOWN_ATTRIBUTES = """
    access alias aligned alloc_align alloc_size always_inline artificial assume assume_aligned cleanup cold
    const constructor copy counted_by deprecated designated_init destructor error externally_visible
    fallthrough flag_enum flatten format format_arg gnu_inline hot malloc may_alias mode no_caller_saved_registers
    no_profile_instrument_function no_sanitize no_sanitize_address no_sanitize_coverage no_sanitize_thread
    no_sanitize_undefined no_stack_protector noclone noinline noipa nonnull nonstring noplt noreturn nothrow
    optimize overloadable packed pass_dynamic_object_size pass_object_size patchable_function_entry pure
    retain returns_nonnull scalar_storage_order section sentinel symver target tls_model transparent_union unavailable
    uninitialized unused used vector_size visibility warn_unused_result warning weak weakref zero_call_used_regs
    btf_type_tag btf_decl_tag preserve_access_index randomize_layout no_randomize_layout
""".split()
KNOWN_BUILTINS = """
    __builtin_expect __builtin_unreachable __builtin_constant_p __builtin_types_compatible_p __builtin_choose_expr
    __builtin_offsetof __builtin_bswap16 __builtin_bswap32 __builtin_bswap64 __builtin_clz __builtin_ctz
    __builtin_popcount __builtin_add_overflow __builtin_sub_overflow __builtin_mul_overflow __builtin_assume_aligned
    __builtin_object_size __builtin_dynamic_object_size __builtin_memcpy __builtin_memset __builtin_trap
    __builtin_va_arg_pack __builtin_is_constant_evaluated __builtin_counted_by_ref __builtin_preserve_access_index
""".split()


def header_roots() -> list[Path]:
    roots = [Path("/usr/include")]
    roots += sorted(Path("/usr").glob("*-linux-gnu*/include"))
    roots += sorted(Path("/usr/lib/gcc-cross").glob("*/*/include"))
    roots += sorted(Path("/usr/lib/gcc").glob("*/*/include"))
    try:
        import ziglang
        zig = Path(ziglang.__file__).parent / "lib"
        roots += [zig / "libc" / "include", zig / "include"]
    except ImportError:
        pass
    repo = Path(__file__).resolve().parents[2]
    roots += [repo / "tests" / "headers", repo / "csrc", repo / "docs" / "examples"]
    return [r for r in roots if r.is_dir()]


def scan_operands(roots=None) -> dict[str, set[str]]:
    """operator -> every operand written after it in the headers under ``roots``, and after
    the macros that only pass their argument on to one (glibc's
    ``#define __glibc_has_extension(ext) __has_extension (ext)``)."""
    roots = [str(r) for r in (roots or header_roots())]
    found: dict[str, set[str]] = {op: set() for op in NAME_OPERATORS}
    ops = "|".join(NAME_OPERATORS)
    for m in _OPERAND_RE.finditer(_grep(rf"\b({ops})[[:space:]]*\([^()]*\)", roots)):
        found[m.group(1)].add("".join(m.group(2).split()))
    wrapper_re = re.compile(rf"define\s+(\w+)\s*\(\s*(\w+)\s*\)\s*({ops})\s*\(\s*\2\s*\)")
    wrappers = {m.group(1): m.group(3) for m in wrapper_re.finditer(
        _grep(rf"define[[:space:]]+[A-Za-z_]+[[:space:]]*\([[:space:]]*[A-Za-z_]+[[:space:]]*\)[[:space:]]*({ops})"
              r"[[:space:]]*\([[:space:]]*[A-Za-z_]+[[:space:]]*\)", roots))}
    if wrappers:
        names = "|".join(sorted(wrappers))
        for m in re.finditer(rf"\b({names})\s*\(([^()]*)\)", _grep(rf"\b({names})[[:space:]]*\([^()]*\)", roots)):
            found[wrappers[m.group(1)]].add("".join(m.group(2).split()))
    for name in KNOWN_ATTRIBUTES:
        for op in ("__has_attribute", "__has_c_attribute"):
            found[op].update((name, f"__{name}__"))
        found["__has_c_attribute"].add(f"gnu::{name}")
    found["__has_builtin"].update(KNOWN_BUILTINS)
    return {op: {x for x in names if x and re.fullmatch(r'[\w:."\-+]+', x)} for op, names in found.items()}


def _grep(pattern: str, roots) -> str:
    argv = ["grep", "-rhoE", "--include=*.h", "--include=*.c", pattern, *roots]
    return subprocess.run(argv, capture_output=True, text=True, errors="replace").stdout


# -- running the compiler --------------------------------------------------------------------------

def _argv(compiler: toolchains.Compiler) -> list[str]:
    return [*compiler.argv, *compiler.cflags, "-std=gnu11", "-x", "c"]


def _run(compiler, source: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="bl-measure-") as tmp:
        src = Path(tmp) / "m.c"
        src.write_text(source)
        return subprocess.run([*_argv(compiler), *extra, "-E", str(src)], capture_output=True, text=True,
                              errors="replace", timeout=300, cwd=tmp)


def predefined_macros(compiler) -> dict[str, str]:
    """``-dM -E -std=gnu11 -x c /dev/null``: "NAME" / "NAME(params)" -> replacement."""
    return toolchains.predefined_macros(None, compiler, ("-std=gnu11",))


# macros a compiler defines without listing them in -dM (clang: __FLT_EVAL_METHOD__, a builtin
# whose value follows `#pragma clang fp eval_method`)
BUILTIN_CANDIDATES = ("__FLT_EVAL_METHOD__", "__MODULE__")


def builtin_macros(compiler, listed) -> dict[str, str]:
    """name -> expansion of the candidates the compiler defines but ``-dM`` does not list."""
    todo = [n for n in BUILTIN_CANDIDATES if n not in listed]
    src = "".join(f"#ifdef {n}\n__bl_b_{k} {n}\n#endif\n" for k, n in enumerate(todo))
    proc = _run(compiler, src)
    values = dict(re.findall(r"^__bl_b_(\d+) (.*?)\s*$", proc.stdout, re.M))
    return {n: values[str(k)] for k, n in enumerate(todo) if str(k) in values}


def implicit_includes(compiler) -> list[str]:
    """Headers the compiler enters before an empty file (GCC: stdc-predef.h)."""
    proc = subprocess.run([*_argv(compiler), "-E", os.devnull], capture_output=True, text=True, errors="replace",
                          timeout=300)
    names = []
    for m in re.finditer(r'^# \d+ "([^"<]+)" 1', proc.stdout, re.M):
        if m.group(1) != os.devnull:
            names.append(os.path.basename(m.group(1)))
    return names


def defined_operators(compiler) -> list[str]:
    src = "".join(f"#ifdef {op}\n__bl_defined_{k}\n#endif\n" for k, op in enumerate(OPERATORS))
    proc = _run(compiler, src)
    return [op for k, op in enumerate(OPERATORS) if f"__bl_defined_{k}" in proc.stdout]


def answers_for(compiler, op: str, operands, skip: set[str]) -> dict[str, str | None]:
    """operand -> the token ``op(operand)`` expands to, or None where the compiler rejects it.
    Operands that are predefined macro names are left out (expanded first by some compilers)."""
    todo = sorted(x for x in operands if x not in skip)
    result: dict[str, str | None] = {}
    for _attempt in range(8):
        if not todo:
            break
        src = "".join(f"__bl_q_{k} {op}({x})\n" for k, x in enumerate(todo))
        proc = _run(compiler, src)
        if proc.returncode == 0:
            for m in re.finditer(r"__bl_q_(\d+) ([0-9]+[uUlL]*)\s*$", proc.stdout, re.M):
                result[todo[int(m.group(1))]] = m.group(2)
            for x in todo:
                result.setdefault(x, None)
            break
        bad = {int(n) - 1 for n in re.findall(r"m\.c:(\d+):\d+: (?:fatal )?error", proc.stderr)}
        if not bad:
            raise BitlayoutError(f"{compiler.identity}: {op} probe failed: {toolchains.first_error(proc.stderr)}")
        for k in bad:
            if 0 <= k < len(todo):
                result[todo[k]] = None
        todo = [x for k, x in enumerate(todo) if k not in bad]
    return result


# an operand whose answer differs from an unknown name's, per operator
_EXPANSION_PROBES = {"__has_attribute": "packed", "__has_c_attribute": "deprecated",
                     "__has_cpp_attribute": "deprecated", "__has_builtin": "__builtin_expect",
                     "__has_feature": "c_alignas", "__has_extension": "c_alignas",
                     "__has_declspec_attribute": "dllexport", "__is_identifier": "int",
                     "__has_constexpr_builtin": "__builtin_fabs"}


def operand_expansion(compiler, ops) -> dict[str, bool]:
    """Whether each operator macro-expands its operand: op(M) with ``#define M x`` compared
    with op(x) and op(undefined name), where x is a name whose answer differs."""
    out: dict[str, bool] = {}
    rows = [(op, _EXPANSION_PROBES[op]) for op in ops if op in _EXPANSION_PROBES]
    if not rows:
        return out
    src = ""
    for k, (op, x) in enumerate(rows):
        src += (f"#define __bl_m_{k} {x}\n__bl_direct_{k} {op}({x})\n__bl_plain_{k} {op}(__bl_undefined_name)\n"
                f"__bl_macro_{k} {op}(__bl_m_{k})\n")
    proc = _run(compiler, src)
    values = dict(re.findall(r"(__bl_\w+_\d+) (\S+)\s*$", proc.stdout, re.M))
    for k, (op, _x) in enumerate(rows):
        direct, plain, macro = (values.get(f"__bl_{w}_{k}") for w in ("direct", "plain", "macro"))
        if direct is not None and direct != plain and macro in (direct, plain):
            out[op] = macro == direct
    return out


def measure(profile, kind: str, operands: dict[str, set[str]]) -> dict:
    """The data file's content for ``profile`` measured with its ``kind`` ("gcc"/"clang") compiler."""
    compiler = toolchains.find_compiler(profile, "zig" if kind == "clang" else "gcc")
    if compiler is None:
        raise BitlayoutError(f"no {kind} compiler for {profile.name} here")
    macros = predefined_macros(compiler)
    ops = defined_operators(compiler)
    names = {key.split("(", 1)[0] for key in macros}
    answers = {}
    for op in ops:
        if op in NAME_OPERATORS and operands.get(op):
            answers[op] = answers_for(compiler, op, operands[op], names)
    return {
        "schema": SCHEMA,
        "profile": profile.name,
        "compiler": kind,
        "identity": compiler.identity,
        "command": f"{compiler.identity} -dM -E -std=gnu11 -x c /dev/null",
        "implicit_includes": implicit_includes(compiler),
        "operators": ops,
        "expands_operand": operand_expansion(compiler, [op for op in ops if op in NAME_OPERATORS]),
        "macros": dict(sorted(macros.items())),
        "builtin_macros": builtin_macros(compiler, macros),
        "answers": {op: dict(sorted(t.items())) for op, t in sorted(answers.items())},
    }


def dump(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    from ..profiles import select_profiles

    ap = argparse.ArgumentParser(prog="python -m bitlayout.cfront.measure_predefined",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="all")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="compare with the stored files instead of writing them")
    args = ap.parse_args(argv)
    operands = scan_operands()
    jobs = []
    for p in select_profiles(args.arch):
        for kind in p.compilers():
            if toolchains.find_compiler(p, "zig" if kind == "clang" else "gcc") is not None:
                jobs.append((p, kind))
            else:
                print(f"{p.name} {kind}: not installed, skipped", file=sys.stderr)

    def one(job):
        p, kind = job
        data = measure(p, kind, operands)
        path = facts_path(p, kind)
        validate(data, str(path), p.name, kind)
        return p, kind, path, data

    differences = 0
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for p, kind, path, data in pool.map(one, jobs):
            text = dump(data)
            old = path.read_text() if path.exists() else None
            if args.check:
                if old != text:
                    differences += 1
                    print(f"{path}: differs from {data['identity']}")
                continue
            if old != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                print(f"{path}: {len(data['macros'])} macros, "
                      f"{sum(len(v) for v in data['answers'].values())} answers ({data['identity']})")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
