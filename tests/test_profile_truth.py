"""Every profile number against a real compiler (and a real CPU where a runner exists).

One test per profile (``[mips]``): the probe from ``bitlayout.profile_truth`` is compiled by the
profile's preferred compiler, its facts are read back from the object file and the predefined
macros, and, where a runner exists, the linked probe runs and reports what the CPU does.
Missing tools skip with the reason and the install command.  Results are cached on disk
(BITLAYOUT_CACHE_DIR) with atomic writes, so the tests are safe under pytest-xdist.

The first run per zig target links musl (~25-40 s per target, cached by zig afterwards).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from bitlayout import toolchains
from bitlayout.profile_truth import Mismatch, verify_profile, verify_profiles
from bitlayout.profiles import load_profile, load_profiles

from conftest import PROFILE_DIR

PROFILES = load_profiles(PROFILE_DIR)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _explain(mismatches) -> str:
    return "\n".join(f"  {m}" for m in mismatches)


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_profile_matches_real_compiler(profile):
    result = verify_profile(profile)
    if not result.compiler:
        pytest.skip(f"{profile.name} unverified: {result.reason}")
    assert not result.error, result.error
    assert result.mismatches == (), f"{profile.name} profile disagrees:\n{_explain(result.mismatches)}"
    assert result.verified
    assert result.facts["bits_per_long"] == profile.bits_per_long  # facts really were read back
    if toolchains.find_runner(profile) is not None and profile.toolchain.runtime == "libc":
        assert result.executable, f"{profile.name}: runner exists but the probe did not run: {result.error}"
        assert result.run_facts["rt_bits_per_long"] == profile.bits_per_long
        assert result.run_facts["rt_little_endian"] == int(profile.little_endian)


TWO_ROUTES = [p for p in PROFILES if p.toolchain.zig_target and p.toolchain.gcc_triple]


@pytest.mark.parametrize("profile", TWO_ROUTES, ids=[p.name for p in TWO_ROUTES])
def test_every_installed_compiler_route_agrees(profile, monkeypatch):
    """Where zig and a Debian gcc both reach a target, each gives the numbers the profile states
    for it: the reference compiler's, or the ``[alternate]`` ones (compile-only)."""
    kinds = [c.kind for c in toolchains.find_compilers(profile)]
    if len(kinds) < 2:
        pytest.skip(f"{profile.name}: only {kinds or 'no'} compiler route here; install: "
                    f"pip install ziglang / apt-get install -y gcc-{profile.toolchain.gcc_triple.replace('_', '-')}")
    for kind in kinds:
        monkeypatch.setenv("BITLAYOUT_NO_GCC" if kind == "zig" else "BITLAYOUT_NO_ZIG", "1")
        monkeypatch.delenv("BITLAYOUT_NO_ZIG" if kind == "zig" else "BITLAYOUT_NO_GCC", raising=False)
        seen_as = profile.for_compiler(kind)
        assert seen_as is not None, f"{profile.name}: no numbers for {kind} ([alternate] missing)"
        result = verify_profile(seen_as, run=False)
        assert result.compiler and result.compiler == toolchains.find_compiler(profile).identity
        assert not result.error, result.error
        assert result.mismatches == (), f"{profile.name} via {result.compiler}:\n{_explain(result.mismatches)}"


SPLIT = [p for p in TWO_ROUTES if p.toolchain.zig_glibc_target and p.toolchain.run_blocker == ""]


# ppc64: its objects are relabelled ELFv1 before gcc links them (toolchains.fix_objects).
PROBE_SPLIT = [p for p in SPLIT if p.name in ("aarch64", "arm", "ppc64")]


@pytest.mark.parametrize("profile", PROBE_SPLIT, ids=[p.name for p in PROBE_SPLIT])
def test_the_second_compiler_s_probe_runs_without_a_musl_build(profile, private_cache):
    """The clang numbers are run with zig's objects linked by the arch's gcc against its glibc
    (the split route), not a static zig/musl link, whose first build compiles musl."""
    seen_as = profile.for_compiler("clang")
    compiler, program = toolchains.find_compiler(seen_as), toolchains.program_compiler(seen_as)
    if compiler is None or compiler.kind != "zig" or program is None or program.linker is None \
            or toolchains.find_runner(profile) is None:
        pytest.skip(f"{profile.name}: no zig + gcc split route or no emulator here; install: pip install ziglang, "
                    f"apt-get install -y qemu-user {' '.join(toolchains.gcc_packages(profile.toolchain.gcc_triple, False))}")
    result = verify_profile(seen_as)
    assert not result.error and result.mismatches == (), result.error or _explain(result.mismatches)
    # (ppc64 adds which facts its glibc lays out otherwise: long double, checked by the compile only)
    assert result.executable and result.compiler.startswith(f"{compiler.identity}; run: {program.identity}")
    assert result.run_facts["rt_bits_per_long"] == profile.bits_per_long


def test_facts_the_split_route_s_c_library_lays_out_otherwise_are_checked_by_the_compile_only(private_cache):
    """ppc: clang's numbers ([alternate]) are musl's, whose long double is a double; linked against
    glibc, clang's long double is IBM double-double.  The run cannot speak for it, the compile did."""
    ppc = next(p for p in PROFILES if p.name == "ppc")
    seen_as = ppc.for_compiler("clang")
    program = toolchains.program_compiler(seen_as)
    if program is None or program.linker is None or toolchains.find_runner(ppc) is None:
        pytest.skip("no zig + powerpc-linux-gnu-gcc split route or no qemu-ppc here; install: pip install ziglang, "
                    "apt-get install -y qemu-user gcc-powerpc-linux-gnu libc6-dev-powerpc-cross")
    result = verify_profile(seen_as)
    assert result.executable and result.mismatches == () and not result.error
    assert result.compiler.endswith("(its C library's ABI differs in align_long_double, gnu_align_long_double, "
                                    "size_long_double: checked by the compile only)")
    assert result.run_facts["size_long_double"] == 16 and result.facts["size_long_double"] == 8


def test_profile_count_and_ci_coverage():
    assert len(PROFILES) >= 24
    if not IN_CI:
        pytest.skip("coverage targets (0 unverified, >= 20 executable) apply when CI=true")
    results = verify_profiles(PROFILES)
    unverified = [r.arch for r in results if not r.verified]
    executable = [r.arch for r in results if r.executable]
    assert unverified == [], {r.arch: r.error or r.reason for r in results if not r.verified}
    assert len(executable) >= 20, executable


# ---------------------------------------------------------------------------
# The truth test can fail: wrong profiles produce named mismatches


def _edited(profile_dir_copy, name, pattern, repl):
    path = profile_dir_copy / f"{name}.toml"
    text, n = re.subn(pattern, repl, path.read_text(), count=1, flags=re.M)
    assert n == 1
    path.write_text(text)
    return load_profile(path)


def _probe_or_skip(profile, run=False):
    result = verify_profile(profile, run=run)
    if not result.compiler:
        pytest.skip(f"{profile.name}: {result.reason}")
    assert not result.error, result.error
    return result


def test_wrong_alignment_is_reported(profile_dir_copy, private_cache):
    # i386: claim _Alignof(long long) = 8 (it is 4 inside structs; only __alignof__ is 8)
    p = _edited(profile_dir_copy, "i386", r"(\[types\.long_long\]\nsize = 8\nalign = )4", r"\g<1>8")
    result = _probe_or_skip(p)
    assert not result.verified
    assert result.mismatches == (Mismatch("i386", "types.long_long.align", 8, 4, "compile"),)


def test_wrong_endianness_signedness_and_macro_are_reported(profile_dir_copy, private_cache):
    path = profile_dir_copy / "mips.toml"
    text = path.read_text()
    text = text.replace('endianness = "big"', 'endianness = "little"')
    text = text.replace("char_signed = true", "char_signed = false")
    text = text.replace('__MIPSEB__ = "1"', '__MIPSEL__ = "1"')
    text = text.replace("bitfields_msb_first = true", "bitfields_msb_first = false")
    path.write_text(text)
    result = _probe_or_skip(load_profile(path))
    got = {(m.field, m.profile_value, m.compiler_value) for m in result.mismatches}
    assert got == {("endianness", "little", "big"), ("char_signed", False, True),
                   ("macros.__MIPSEL__", "1", "undefined")}


def test_wrong_int128_and_atomicity_claims_are_reported(profile_dir_copy, private_cache):
    # mips o32 has no __int128 and no lock-free 8-byte atomics
    path = profile_dir_copy / "mips.toml"
    text = path.read_text().replace("[layout]", "[types.int128]\nsize = 16\nalign = 16\ngnu_align = 16\n"
                                                "source = \"wrong\"\n\n[layout]")
    text = text.replace('atomic64 = "spinlock"', 'atomic64 = "native"')
    path.write_text(text)
    result = _probe_or_skip(load_profile(path))
    fields = sorted(m.field for m in result.mismatches)
    assert fields == ["atomicity.atomic64", "types.int128"]


def test_slab_minalign_below_u64_alignment_is_reported(profile_dir_copy, private_cache):
    p = _edited(profile_dir_copy, "arm", r"^arch_slab_minalign = 8", "arch_slab_minalign = 4")
    result = _probe_or_skip(p)
    assert [m.field for m in result.mismatches] == ["allocators.arch_slab_minalign"]


def test_run_checks_malloc_alignment(profile_dir_copy, private_cache, monkeypatch):
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")  # host gcc: a fast native build
    p = _edited(profile_dir_copy, "x86_64", r"^libc_malloc_align = 16", "libc_malloc_align = 4096")
    if toolchains.find_runner(p) is None:
        pytest.skip("x86_64 probes run natively only on an x86_64 host")
    result = _probe_or_skip(p, run=True)
    assert result.executable and result.verified  # compile-time facts are fine ...
    assert [(m.field, m.via) for m in result.mismatches] == [("allocators.libc_malloc_align", "run")]  # ... malloc is not


FREESTANDING = [p for p in PROFILES if p.toolchain.runtime == "freestanding"]


@pytest.mark.parametrize("profile", FREESTANDING, ids=[p.name for p in FREESTANDING])
def test_freestanding_arches_run_the_probe_without_a_c_library(profile, private_cache):
    """sh4, sparc and the zig-only arches build their exec driver without a C library
    (csrc/freestanding); the probe is built and run the same way, so the CPU still speaks for
    byte order, char signedness and the width of long.  There is no malloc to observe."""
    if toolchains.find_runner(profile) is None:
        pytest.skip(f"{profile.name}: {toolchains.missing_reason(profile)}")
    result = _probe_or_skip(profile, run=True)
    assert result.executable and result.verified and result.mismatches == (), _explain(result.mismatches)
    assert "without a C library" in result.compiler
    assert "rt_malloc_align" not in result.run_facts
    assert result.run_facts["rt_bits_per_long"] == profile.bits_per_long
    assert result.run_facts["rt_little_endian"] == int(profile.little_endian)


def test_a_freestanding_probe_run_reports_a_wrong_profile(profile_dir_copy, private_cache):
    p = _edited(profile_dir_copy, "sh4", r'^char_signed = true', 'char_signed = false')
    if toolchains.find_runner(p) is None:
        pytest.skip(f"sh4: {toolchains.missing_reason(p)}")
    result = _probe_or_skip(p, run=True)
    assert result.executable and not result.verified
    assert {m.via for m in result.mismatches if m.field == "char_signed"} == {"compile", "run"}


def test_results_are_cached_per_profile_content(profile_dir_copy, private_cache):
    p = load_profile(profile_dir_copy / "riscv64.toml")
    first = _probe_or_skip(p)
    assert list((private_cache / "probes").glob("*.json"))
    again = verify_profile(p, run=False)
    assert again == first
    # editing the profile invalidates the cached result
    p2 = _edited(profile_dir_copy, "riscv64", r"^cacheline_bytes = 64", "cacheline_bytes = 128")
    assert len(list((private_cache / "probes").glob("*.json"))) == 1
    _probe_or_skip(p2)
    assert len(list((private_cache / "probes").glob("*.json"))) == 2


def test_cli_profiles_reports_verified_and_executable(capsys, monkeypatch):
    from bitlayout import cli

    monkeypatch.setenv("BITLAYOUT_PROFILE_DIR", str(PROFILE_DIR))
    code = cli.main(["profiles", "--arch", "m68k,sh4", "--format", "json"])
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["profiles"]}
    for name in ("m68k", "sh4"):
        if rows[name]["toolchain"]["compiler"] is None:
            pytest.skip(f"{name}: no compiler here")
    assert code == 0
    assert rows["m68k"]["verified"] is True and rows["sh4"]["verified"] is True
    # sh4's libc cannot run (runtime = "freestanding"): its probe runs built without one
    if rows["sh4"]["toolchain"]["runner"]:
        assert rows["sh4"]["executable"] is True
    assert rows["sh4"]["toolchain"]["runtime"] == "freestanding"
    if rows["m68k"]["toolchain"]["runner"]:
        assert rows["m68k"]["executable"] is True
