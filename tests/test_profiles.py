"""Profile loading, validation errors, selectors, and the `profiles` / `doctor` verbs (no compiling)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bitlayout import cli
from bitlayout.errors import EXIT_BAD_INPUT, ProfileError, UsageError
from bitlayout.profiles import load_profile, load_profiles, select_profiles

from conftest import PROFILE_DIR, REPO

WANTED = ("x86_64 i386 x32 arm armeb aarch64 aarch64_be mips mipsel mips64 mips64el ppc ppc64 ppc64le "
          "riscv32 riscv64 s390x loongarch64 m68k sh4 parisc alpha sparc64 arc hexagon").split()


def names(profiles) -> list[str]:
    return [p.name for p in profiles]


# ---------------------------------------------------------------------------
# The shipped profiles


def test_every_wanted_profile_is_shipped():
    shipped = names(load_profiles(PROFILE_DIR))
    assert len(shipped) >= 24
    assert sorted(set(WANTED) - set(shipped)) == []


def test_every_number_has_a_source():
    for p in load_profiles(PROFILE_DIR):
        for key, scalar in p.scalars.items():
            assert scalar.source.strip(), (p.name, key)
        assert p.atomicity.source.strip(), p.name
        assert p.allocators.source.strip(), p.name
        assert p.layout.source.strip(), p.name


def test_no_source_repeats_a_sentence():
    """Reports quote the sources; a generated profile once said "malloc: glibc 16; ..." twice."""
    repeated = {}
    for p in load_profiles(PROFILE_DIR):
        sources = [("allocators", p.allocators.source), ("atomicity", p.atomicity.source),
                   ("layout", p.layout.source)] + [(f"types.{k}", s.source) for k, s in p.scalars.items()]
        for what, src in sources:
            parts = [s.strip() for s in src.split(";") if s.strip()]
            dups = sorted({s for s in parts if parts.count(s) > 1})
            if dups:
                repeated[(p.name, what)] = dups
    assert repeated == {}


def test_profiles_record_the_known_abi_facts():
    by = {p.name: p for p in load_profiles(PROFILE_DIR)}
    i386 = by["i386"].scalars["long_long"]
    assert (i386.align_bytes, i386.gnu_align_bytes) == (4, 8)
    assert {k: by["m68k"].scalars[k].align_bytes for k in ("int", "long", "pointer", "long_long", "double")} == \
        {"int": 2, "long": 2, "pointer": 2, "long_long": 2, "double": 2}
    assert by["arm"].allocators.arch_slab_minalign == 8
    assert by["parisc"].allocators.arch_kmalloc_minalign == 16
    assert by["parisc"].toolchain.qemu == "qemu-hppa"
    assert (by["alpha"].toolchain.gcc_link, by["alpha"].toolchain.qemu_sysroot) == ("dynamic", "/usr/alpha-linux-gnu")
    assert by["arc"].toolchain.run_blocker and by["x32"].toolchain.run_blocker
    for name in ("sh4", "sparc"):  # their libc cannot run here: the exec driver is built without one
        tc = by[name].toolchain
        assert (tc.runtime, tc.run_blocker) == ("freestanding", "") and tc.runtime_reason, name
    assert by["sparc"].toolchain.freestanding_gcc_triple == "sparc64-linux-gnu"
    assert by["hexagon"].toolchain.workaround.checks == ("bitops",)
    assert by["arm"].atomicity.atomic64 == "ldrexd" and not by["arm"].atomicity.read_once_u64_single_access
    assert by["i386"].atomicity.atomic64 == "cmpxchg8b"
    for p in by.values():
        # big-endian arches allocate bitfields from the MSB (the layout engine's axis)
        assert p.layout.bitfields_msb_first == (not p.little_endian), p.name
        if p.bits_per_long == 64:
            assert p.atomicity.atomic64 == "native" and p.atomicity.read_once_u64_single_access, p.name


# The kernel's own list of arches that build with clang (Documentation/kbuild/llvm.rst, 6.12).
LLVM_ARCHES = {"arm", "arm64", "hexagon", "loongarch", "mips", "powerpc", "riscv", "s390", "x86"}


def test_every_profile_names_the_compilers_that_build_linux_for_it():
    """GCC everywhere but Hexagon (no GCC target), clang exactly where the kernel's llvm.rst
    lists the arch; and the model's choice is stated in words."""
    for p in load_profiles(PROFILE_DIR):
        linux = p.toolchain.linux_compilers
        assert ("gcc" in linux) == (p.kernel_arch != "hexagon"), p.name
        assert ("clang" in linux) == (p.kernel_arch in LLVM_ARCHES), p.name
        assert p.compiler in ("gcc", "clang")
        assert f"model follows {'GCC' if p.compiler == 'gcc' else 'clang'} here" in p.model_choice()
        assert p.kernel_arch in p.model_choice()


def test_llvm_rst_lists_the_arches_the_profiles_say(kernel_llvm_rst):
    """LLVM_ARCHES is read from the kernel tree when it is unpacked here."""
    text = kernel_llvm_rst.read_text()
    table = text.split("Supported Architectures", 1)[1].split("Getting Help", 1)[0]
    listed = set(re.findall(r"^   \* - (\w+)$", table, flags=re.M)) - {"Architecture", "um"}
    assert listed == LLVM_ARCHES


@pytest.fixture
def kernel_llvm_rst() -> Path:
    path = Path.home() / ".cache/bitlayout/kernel-src/linux-source-6.12/Documentation/kbuild/llvm.rst"
    if not path.is_file():
        pytest.skip(f"no kernel tree at {path.parent.parent.parent}; install: apt-get install linux-source-6.12 "
                    "and unpack it there")
    return path


def test_layout_classes_cover_all_four():
    classes = {p.layout_class for p in load_profiles(PROFILE_DIR)}
    assert classes == {"LE32", "BE32", "LE64", "BE64"}


# ---------------------------------------------------------------------------
# Validation: every error names the file and the key, in one line

BASE = (PROFILE_DIR / "x86_64.toml").read_text()


def _write(tmp_path: Path, text: str, name: str = "x86_64") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _sub(pattern: str, repl: str, text: str = BASE) -> str:
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M | re.S)
    assert n == 1, pattern
    return new


BAD = {
    "missing-key": (lambda: _sub(r"^bits_per_long = .*?\n", ""), "bits_per_long", "missing key"),
    "wrong-type": (lambda: _sub(r"^bits_per_long = .*?\n", 'bits_per_long = "64"\n'), "bits_per_long",
                   "expected int, got str '64'"),
    "bool-for-int": (lambda: _sub(r"^cacheline_bytes = .*?\n", "cacheline_bytes = true\n"), "cacheline_bytes",
                     "expected int"),
    "bits-not-32-64": (lambda: _sub(r"^bits_per_long = .*?\n", "bits_per_long = 48\n"), "bits_per_long",
                       "must be 32 or 64, got 48"),
    "pointer-vs-bits": (lambda: _sub(r"(\[types\.pointer\]\nsize = )8", r"\g<1>16"), "types.pointer.size",
                        "inconsistent with bits_per_long = 64"),
    "long-vs-bits": (lambda: _sub(r"^bits_per_long = 64", "bits_per_long = 32"), "types.long.size",
                     "inconsistent with bits_per_long = 32"),
    "unknown-endianness": (lambda: _sub(r'^endianness = .*?\n', 'endianness = "middle"\n'), "endianness",
                           "must be 'little' or 'big', got 'middle'"),
    "unknown-top-key": (lambda: "colour = \"blue\"\n" + BASE, "colour", "unknown key 'colour'"),
    "unknown-scalar-key": (lambda: _sub(r"(\[types\.int\]\n)", r"\g<1>signed = true\n"), "types.int.signed",
                           "unknown key 'signed'"),
    "missing-scalar": (lambda: _sub(r"\[types\.float\]\n.*?\n\n", ""), "types.float", "missing key"),
    "align-not-power-of-2": (lambda: _sub(r"(\[types\.int\]\nsize = 4\nalign = )4", r"\g<1>3"), "types.int.align",
                             "must be a power of two, got 3"),
    "bad-atomic64": (lambda: _sub(r'^atomic64 = .*?\n', 'atomic64 = "magic"\n'), "atomicity.atomic64",
                     "got 'magic'"),
    "bad-gcc-link": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>gcc_link = "shared"\n'), "toolchain.gcc_link",
                     "got 'shared'"),
    "macro-not-string": (lambda: _sub(r'^__x86_64__ = "1"', "__x86_64__ = 1"), "macros.__x86_64__",
                         "must be strings"),
    "known-issues-not-list": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>known_issues = "x"\n'),
                              "toolchain.known_issues", "expected list, got str 'x'"),
    "known-issues-not-strings": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>known_issues = [1]\n'),
                                 "toolchain.known_issues", "expected a list of strings, got 1"),
    "bad-runtime": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>runtime = "bare"\n'), "toolchain.runtime",
                    "must be one of libc, freestanding, got 'bare'"),
    "freestanding-without-reason": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>runtime = "freestanding"\n'),
                                    "toolchain.runtime_reason", "needs the measured reason"),
    "freestanding-and-run-blocker": (
        lambda: _sub(r"(\[toolchain\]\n)",
                     r'\g<1>runtime = "freestanding"\nruntime_reason = "r"\nrun_blocker = "b"\n'),
        "toolchain.run_blocker", "contradicts"),
    "freestanding-key-with-libc": (lambda: _sub(r"(\[toolchain\]\n)", r'\g<1>freestanding_cflags = ["-O0"]\n'),
                                   "toolchain.freestanding_cflags", "only with runtime = 'freestanding'"),
    "workaround-without-cflags": (
        lambda: _sub(r"(\[macros\])", r'[toolchain.workaround]\nchecks = ["bitops"]\nlabel = "x"\n\n\g<1>'),
        "toolchain.workaround.cflags", "non-empty list"),
    "workaround-unknown-key": (
        lambda: _sub(r"(\[macros\])",
                     r'[toolchain.workaround]\nchecks = ["bitops"]\ncflags = ["-O1"]\nlabel = "x"\nwhy = 1\n\n\g<1>'),
        "toolchain.workaround.why", "unknown key 'why'"),
    "name-vs-file": (lambda: _sub(r'^name = "x86_64"', 'name = "amd64"'), "name", "does not match the file name"),
    "linux-compilers-missing": (lambda: _sub(r"^linux_compilers = .*?\n", ""), "toolchain.linux_compilers",
                                "the compilers that build Linux"),
    "linux-compilers-unknown": (lambda: _sub(r"^linux_compilers = .*?\n", 'linux_compilers = ["icc"]\n'),
                                "toolchain.linux_compilers", "got 'icc'"),
    "linux-compilers-twice": (lambda: _sub(r"^linux_compilers = .*?\n", 'linux_compilers = ["gcc", "gcc"]\n'),
                              "toolchain.linux_compilers", "names a compiler twice"),
    "layout-compiler-unknown": (lambda: _sub(r"^compiler = \"gcc\".*?\n", 'compiler = "tcc"\n'),
                                "layout.compiler", "must be 'gcc' or 'clang'"),
    # issue 12: every field's domain
    "gnu-align-below-align": (lambda: _sub(r"(\[types\.int\]\nsize = 4\nalign = 4\ngnu_align = )4", r"\g<1>2"),
                              "types.int.gnu_align", "gnu_align 2 below align 4"),
    "short-wider-than-int": (lambda: _sub(r"(\[types\.short\]\nsize = )2\nalign = 2\ngnu_align = 2",
                                          r"\g<1>8\nalign = 8\ngnu_align = 8"), "types.int.size",
                             "size 4 smaller than short's 8"),
    "double-wider-than-long-double": (lambda: _sub(r"(\[types\.double\]\nsize = )8", r"\g<1>32"),
                                      "types.long_double.size", "smaller than double's 32"),
    "bit-order-vs-endianness": (lambda: _sub(r"^bitfields_msb_first = false", "bitfields_msb_first = true"),
                                "layout.bitfields_msb_first", "contradicts endianness = 'little'"),
    "layout-align-not-power-of-2": (lambda: _sub(r"(\[layout\]\n)", r"\g<1>struct_min_align_bytes = 3\n"),
                                    "layout.struct_min_align_bytes", "must be a power of two, got 3"),
    "layout-negative": (lambda: _sub(r"(\[layout\]\n)", r"\g<1>bitint_max_width = -1\n"),
                        "layout.bitint_max_width", "must be 0 or more, got -1"),
    "enum-size": (lambda: _sub(r"(\[layout\]\n)", r"\g<1>enum_min_size_bytes = 3\n"), "layout.enum_min_size_bytes",
                  "must be one of 1, 2, 4, 8, got 3"),
    "biggest-alignment-zero": (lambda: _sub(r"^biggest_alignment_bytes = 16", "biggest_alignment_bytes = 0"),
                               "layout.biggest_alignment_bytes", "must be a power of two, got 0"),
    "slab-minalign": (lambda: _sub(r"^arch_slab_minalign = 8", "arch_slab_minalign = 12"),
                      "allocators.arch_slab_minalign", "must be a power of two, got 12"),
    "atomic-not-power-of-2": (lambda: _sub(r"^single_copy_atomic_bytes = 8", "single_copy_atomic_bytes = 6"),
                              "atomicity.single_copy_atomic_bytes", "must be a power of two, got 6"),
    "macro-name": (lambda: _sub(r'^__x86_64__ = "1"', '"__x86 64__" = "1"'), "macros.__x86 64__",
                   "not a macro name"),
    "macro-two-lines": (lambda: _sub(r'^__x86_64__ = "1"', lambda m: '__x86_64__ = "1\\n#define EVIL 2"'),
                        "macros.__x86_64__", "a macro value is one line"),
    "macro-contradicts-size": (lambda: _sub(r'^__x86_64__ = "1"', '__x86_64__ = "1"\n__SIZEOF_LONG__ = "4"'),
                               "macros.__SIZEOF_LONG__", "'4' contradicts types.long.size = 8"),
    "macro-contradicts-ilp32": (lambda: _sub(r'^__x86_64__ = "1"', '__x86_64__ = "1"\n__ILP32__ = "1"'),
                                "macros.__ILP32__", "ILP32 contradicts the 8-byte long or pointer"),
    "macro-contradicts-endianness": (lambda: _sub(r'^__x86_64__ = "1"', '__x86_64__ = "1"\n__MIPSEB__ = "1"'),
                                     "macros.__MIPSEB__", "contradicts endianness = little"),
    "macro-contradicts-char": (lambda: _sub(r'^__x86_64__ = "1"', '__x86_64__ = "1"\n__CHAR_UNSIGNED__ = "1"'),
                               "macros.__CHAR_UNSIGNED__", "contradicts char_signed = true"),
    "name-is-a-selector": (lambda: _sub(r'^name = "x86_64"', 'name = "all"'), "name", "cannot be an arch name"),
    "name-is-a-list": (lambda: _sub(r'^name = "x86_64"', 'name = "x86_64,mips"'), "name", "cannot be an arch name"),
    "kernel-arch-is-a-selector": (lambda: _sub(r'^kernel_arch = "x86"', 'kernel_arch = "64bit"'), "kernel_arch",
                                  "cannot be an arch name"),
    # issue 12, found by tests/test_bad_input_fuzz.py: strings reach command lines
    "nul-in-a-target": (lambda: _sub(r'^zig_target = "x86_64-linux-musl"', r'zig_target = "\\u0000"'),
                        "toolchain.zig_target", "control character '\\x00'"),
    "option-for-an-emulator": (lambda: _sub(r'^qemu = "native"', 'qemu = "-L"'), "toolchain.qemu",
                               "expected a target, program or path name, got '-L'"),
    "two-words-for-a-triple": (lambda: _sub(r'^gcc_triple = "x86_64-linux-gnu"', 'gcc_triple = "x86_64 -v"'),
                               "toolchain.gcc_triple", "expected a target, program or path name"),
    "newline-in-a-description": (lambda: _sub(r'^description = "([^"\n]*)"', r'description = "\1\\nsecond line"'),
                                 "description", "control character '\\n'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_validation_error_names_file_and_key(tmp_path, case):
    make, key, fragment = BAD[case]
    path = _write(tmp_path, make())
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path} [{key}]: "), msg
    assert fragment in msg


def test_malformed_toml_names_the_file(tmp_path):
    path = _write(tmp_path, BASE + "\n= broken\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: malformed TOML") and "\n" not in msg


def test_unreadable_profile_dir_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="no \\*.toml profiles found"):
        load_profiles(tmp_path)


def test_valid_copy_loads(profile_dir_copy):
    assert names(load_profiles(profile_dir_copy)) == names(load_profiles(PROFILE_DIR))


# ---------------------------------------------------------------------------
# Selectors

ALL = load_profiles(PROFILE_DIR)


@pytest.mark.parametrize("selector, check", [
    ("32bit", lambda p: p.bits_per_long == 32),
    ("64bit", lambda p: p.bits_per_long == 64),
    ("big-endian", lambda p: not p.little_endian),
    ("little-endian", lambda p: p.little_endian),
])
def test_class_selectors(selector, check):
    chosen = select_profiles(selector, ALL)
    assert chosen and all(check(p) for p in chosen)
    assert names(chosen) == [p.name for p in ALL if check(p)]


def test_all_and_none_select_everything():
    assert names(select_profiles("all", ALL)) == names(ALL)
    assert names(select_profiles(None, ALL)) == names(ALL)


def test_name_kernel_arch_and_comma_lists():
    assert names(select_profiles("mips", ALL)) == ["mips"]  # a profile name wins over the kernel arch
    assert names(select_profiles("powerpc", ALL)) == ["ppc", "ppc64", "ppc64le"]
    assert names(select_profiles("arm64", ALL)) == ["aarch64", "aarch64_be"]
    assert names(select_profiles("x86_64, m68k", ALL)) == ["m68k", "x86_64"]
    assert names(select_profiles(["m68k", "32bit,m68k"], ALL)) == [p.name for p in ALL if p.bits_per_long == 32]
    big32 = set(names(select_profiles("big-endian", ALL))) | set(names(select_profiles("32bit", ALL)))
    assert set(names(select_profiles("big-endian,32bit", ALL))) == big32


@pytest.mark.parametrize("selector", ["vax", "mips,vax", "", " , "])
def test_bad_selectors_are_usage_errors(selector):
    with pytest.raises(UsageError) as info:
        select_profiles(selector, ALL)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------
# CLI


def _cli(args, capsys, monkeypatch, profile_dir: Path | None = None):
    if profile_dir is not None:
        monkeypatch.setenv("BITLAYOUT_PROFILE_DIR", str(profile_dir))
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_corrupted_profile_dir_exits_2_with_one_line(profile_dir_copy, capsys, monkeypatch):
    bad = profile_dir_copy / "mips.toml"
    bad.write_text(bad.read_text().replace('endianness = "big"', 'endianness = "sideways"'))
    for verb in (["profiles", "--no-probe"], ["doctor"]):
        code, out, err = _cli(verb, capsys, monkeypatch, profile_dir_copy)
        assert code == 2
        assert out == ""
        assert err.count("\n") == 1 and "Traceback" not in err
        assert str(bad.resolve()) in err and "[endianness]" in err and "sideways" in err


def test_cli_corrupted_profile_end_to_end(profile_dir_copy):
    (profile_dir_copy / "m68k.toml").write_text("name = \n")
    env = dict(os.environ, BITLAYOUT_PROFILE_DIR=str(profile_dir_copy))
    proc = subprocess.run([sys.executable, "-m", "bitlayout", "profiles", "--no-probe"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("bitlayout: error: ") and proc.stderr.count("\n") == 1
    assert "m68k.toml" in proc.stderr and "malformed TOML" in proc.stderr


def test_cli_unknown_selector_exits_2(capsys, monkeypatch):
    code, out, err = _cli(["profiles", "--no-probe", "--arch", "vax"], capsys, monkeypatch, PROFILE_DIR)
    assert code == 2 and "unknown arch selector 'vax'" in err and err.count("\n") == 1


def test_cli_profiles_json_without_probes(capsys, monkeypatch):
    code, out, _ = _cli(["profiles", "--no-probe", "--format", "json", "--arch", "32bit"], capsys, monkeypatch,
                        PROFILE_DIR)
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "bitlayout.profiles/1"
    rows = {r["name"]: r for r in data["profiles"]}
    assert set(rows) == {p.name for p in ALL if p.bits_per_long == 32}
    m68k = rows["m68k"]
    assert (m68k["layout_class"], m68k["long_long"], m68k["arch_slab_minalign"], m68k["atomic64"]) == \
        ("BE32", {"size": 8, "align": 2, "gnu_align": 2}, 2, "spinlock")
    assert m68k["verified"] is None and m68k["executable"] is None  # not probed: unknown, not "yes"


def test_cli_profiles_plain_table_marks_unknown(capsys, monkeypatch):
    code, out, _ = _cli(["profiles", "--no-probe", "--arch", "mips,x86_64"], capsys, monkeypatch, PROFILE_DIR)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["arch", "kernel", "class"]
    assert [ln.split()[0] for ln in lines[1:3]] == ["mips", "x86_64"]
    assert lines[1].split()[8:10] == ["?", "?"]


def test_cli_doctor_lists_every_arch_and_exits_0(capsys, monkeypatch):
    code, out, _ = _cli(["doctor", "--format", "json"], capsys, monkeypatch, PROFILE_DIR)
    assert code == 0
    data = json.loads(out)
    assert [r["name"] for r in data["arches"]] == names(ALL)
    shim = data["host_shim"]  # where the in-process shim came from, or why it is unavailable
    assert shim["built"] in ("install", "cache", None)
    assert shim["reason"] or shim["built"] == "install"


def test_cli_doctor_prints_install_commands_when_tools_are_missing(capsys, monkeypatch):
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    code, out, _ = _cli(["doctor", "--arch", "mips,m68k"], capsys, monkeypatch, PROFILE_DIR)
    assert code == 0
    assert "compiler: MISSING" in out
    assert "install:  pip install ziglang" in out  # mips: the zig route
    assert "apt-get install -y gcc-m68k-linux-gnu libc6-dev-m68k-cross" in out


def test_rich_table_renders_verdicts():
    import io

    from rich.console import Console

    from bitlayout.commands.profiles import profile_row, render_rich

    rows = [profile_row(p, None) for p in select_profiles("i386,m68k", ALL)]
    buf = io.StringIO()
    render_rich(rows, Console(file=buf, force_terminal=True, width=200))
    text = buf.getvalue()
    assert "i386" in text and "m68k" in text and "8/4(8)" in text  # i386 long long: _Alignof 4, __alignof__ 8


def test_profiles_and_doctor_show_the_linux_compilers_and_the_models_choice(capsys, monkeypatch):
    code, out, _ = _cli(["profiles", "--no-probe", "--format", "json", "--arch", "x86_64,hexagon,sparc"], capsys,
                        monkeypatch, PROFILE_DIR)
    rows = {r["name"]: r["toolchain"] for r in json.loads(out)["profiles"]}
    assert code == 0
    assert (rows["x86_64"]["linux_compilers"], rows["x86_64"]["model_follows"]) == (["gcc", "clang"], "gcc")
    assert (rows["hexagon"]["linux_compilers"], rows["hexagon"]["model_follows"]) == (["clang"], "clang")
    assert "while Linux builds sparc with GCC" in rows["sparc"]["model_choice"]
    code, out, _ = _cli(["profiles", "--no-probe", "--arch", "x86_64,sparc"], capsys, monkeypatch, PROFILE_DIR)
    table = {ln.split()[0]: ln for ln in out.splitlines()[1:3]}
    assert "gcc*+clang" in table["x86_64"] and "gcc (clang*)" in table["sparc"]
    code, out, _ = _cli(["doctor", "--arch", "aarch64"], capsys, monkeypatch, PROFILE_DIR)
    assert "linux:    built with gcc, clang; model follows GCC here, as Linux builds arm64 with GCC" in out


def test_a_profile_that_is_not_utf8_is_one_line_naming_the_byte(tmp_path):
    path = tmp_path / "x86_64.toml"
    path.write_bytes(BASE.encode() + b"# caf\xe9\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    line = BASE.count("\n") + 1
    assert str(info.value) == f"{path}: not UTF-8: byte 0xe9 at offset {len(BASE.encode()) + 5} (line {line}, column 6)"


def test_profile_data_read_back_from_the_cache_is_validated_and_follows_edits(private_cache, profile_dir_copy):
    """The parsed TOML is cached under each file's sha256: a second load reads it back and gives
    equal profiles, an edited file is parsed again (its new value shows)."""
    from bitlayout.profiles import _load_dir

    first = load_profiles(profile_dir_copy)
    assert list(private_cache.joinpath("profiles").glob("*.json"))
    _load_dir.cache_clear()
    assert load_profiles(profile_dir_copy) == first
    path = profile_dir_copy / "m68k.toml"
    path.write_text(path.read_text().replace('description = "', 'description = "edited: ', 1))
    _load_dir.cache_clear()
    assert select_profiles("m68k", load_profiles(profile_dir_copy))[0].description.startswith("edited: ")
    _load_dir.cache_clear()


def test_the_elfv1_relabel_needs_the_split_route(tmp_path):
    import tomllib

    from bitlayout.errors import ProfileError
    from bitlayout.profiles import parse_profile

    data = tomllib.loads((PROFILE_DIR / "ppc64.toml").read_text())
    del data["toolchain"]["zig_glibc_target"], data["toolchain"]["zig_glibc_cflags"]
    with pytest.raises(ProfileError, match="zig_glibc_relabel_elfv1.*only with zig_glibc_target|only with zig_glibc_target"):
        parse_profile(str(tmp_path / "ppc64.toml"), data)
