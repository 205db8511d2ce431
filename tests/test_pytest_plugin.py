"""bitlayout.pytest_plugin, tested with pytester (issue #6).

The plugin is loaded with ``-p bitlayout.pytest_plugin`` so the tests work
from a checkout whether or not the package (and its pytest11 entry point) is
installed; ``-p no:bitlayout`` keeps an installed copy from loading twice.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import bitlayout.pipeline  # noqa: F401 - see below
from bitlayout.profiles import load_profiles, select_profiles

# runpytest_inprocess restores sys.modules after each run: a module first imported inside a
# run (the layout engine, pycparser's c_ast) would be imported afresh by the next run while
# the parser caches of the modules that stay keep nodes of the old classes.  Importing the
# pipeline here keeps the whole layout stack loaded across the runs of this module.
pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PLUGIN = ["-p", "no:bitlayout", "-p", "bitlayout.pytest_plugin", "-p", "no:cacheprovider"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*PLUGIN, *args)


def replace_backend(monkeypatch: pytest.MonkeyPatch, cls) -> None:
    """Register ``cls`` in place of the shipped backend of its name for this test only."""
    from bitlayout.backends import base

    base.registered()  # the shipped ones first
    monkeypatch.setitem(base._REGISTRY, cls.name, cls)


def host_backend():
    from bitlayout.backends import open_backends

    return open_backends(["host"])[0]


def test_one_test_per_arch_with_readable_ids(pytester):
    pytester.makepyfile(test_a="""
        def test_tag_bits(bitlayout_arch, bitlayout_layout):
            assert bitlayout_layout.tag_bits("struct vm_area_struct.anon_vma", "slab") >= 2

        def test_plain():
            pass
    """)
    result = run(pytester, "--collect-only", "-q")
    ids = [ln for ln in result.outlines if "::" in ln]
    names = [p.name for p in load_profiles()]
    assert ids == [f"test_a.py::test_tag_bits[{n}]" for n in names] + ["test_a.py::test_plain"]


def test_arch_option_and_marker_narrow(pytester):
    pytester.makepyfile(test_b="""
        import pytest

        def test_all(bitlayout_arch):
            assert bitlayout_arch.name

        @pytest.mark.bitlayout_arch("big-endian")
        def test_be(bitlayout_arch):
            assert not bitlayout_arch.little_endian

        @pytest.mark.bitlayout_arch("x86_64")
        def test_none_left(bitlayout_arch):
            pass
    """)
    result = run(pytester, "--bitlayout-arch", "32bit", "--bitlayout-arch", "x86_64", "-v")
    n32 = len(select_profiles("32bit"))
    n32_be = len(select_profiles(["32bit"])) - len([p for p in select_profiles("32bit") if p.little_endian])
    result.assert_outcomes(passed=(n32 + 1) + n32_be + 1)
    result.stdout.fnmatch_lines(["*test_b.py::test_all?i386? PASSED*", "*test_b.py::test_be?mips? PASSED*",
                                 "*test_b.py::test_none_left?x86_64? PASSED*"])
    assert "test_be[x86_64]" not in result.stdout.str()


def test_empty_selection_skips(pytester):
    pytester.makepyfile(test_c="""
        import pytest

        @pytest.mark.bitlayout_arch("64bit")
        def test_x(bitlayout_arch):
            pass
    """)
    result = run(pytester, "--bitlayout-arch", "i386")
    result.assert_outcomes(skipped=1)


def test_layout_helpers_and_failures_per_arch(pytester):
    pytester.makepyfile(test_d="""
        def test_fits(bitlayout_layout):
            assert bitlayout_layout.fits(bitlayout_layout.value("VMA_UFFD_MINOR_BIT"), "vma_flags_t")

        def test_helpers(arch, layout):  # the aliases
            assert layout.sizeof("vm_flags_t") == 8
            assert layout.bit_position("vm_flags_t", 41).word == (0 if arch.bits_per_long == 64 else 1)
            assert layout.check("sizeof(vma_flags_t) * 8 == BITS_PER_LONG")
            assert "struct anon_vma" in layout.types
    """)
    result = run(pytester, "--bitlayout-arch", "i386,x86_64,mips", "-v")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["*test_fits?i386? FAILED*", "*test_fits?mips? FAILED*", "*test_fits?x86_64? PASSED*"])


def test_report_header_names_arches_and_toolchains(pytester):
    pytester.makepyfile(test_e="def test_x(): pass\n")
    result = run(pytester, "--bitlayout-arch", "mips,x86_64")
    result.stdout.fnmatch_lines(["bitlayout arches (2): mips, x86_64",
                                 "bitlayout toolchains: mips=*, x86_64=*"])


def test_user_spec_option(pytester):
    pytester.makefile(".h", mine="typedef unsigned int u32_flags;\nstruct node { long v; };\n")
    pytester.makefile(".toml", mine='headers = ["mine.h"]\n[[expect]]\nthat = "sizeof(u32_flags) == 4"\n')
    pytester.makepyfile(test_f="""
        def test_mine(arch, layout):
            assert layout.sizeof("u32_flags") == 4
            assert layout.alignof("struct node") == arch.scalar("long").align_bytes
    """)
    result = run(pytester, "--bitlayout-spec", "mine.toml", "--bitlayout-arch", "m68k,x86_64")
    result.assert_outcomes(passed=2)


def test_bad_options_are_usage_errors(pytester):
    pytester.makepyfile(test_g="def test_x(arch): pass\n")
    result = run(pytester, "--bitlayout-arch", "vax")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bitlayout-arch: unknown arch selector 'vax'*"])
    pytester.makefile(".toml", bad="headers = [\n")
    result = run(pytester, "--bitlayout-spec", "bad.toml", "--bitlayout-arch", "x86_64")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "malformed TOML" in result.stdout.str() + result.stderr.str()


def test_user_parametrized_arch_is_left_alone(pytester):
    pytester.makepyfile(test_h="""
        import pytest

        @pytest.mark.parametrize("arch", ["a", "b"])
        def test_mine(arch):
            assert arch in "ab"
    """)
    result = run(pytester)
    result.assert_outcomes(passed=2)


def test_the_example_file_runs_one_test_per_arch(pytester):
    for name in ("test_vma_flags_per_arch.py", "vma_flags.h", "vma_flags.toml"):
        shutil.copy(EXAMPLES / name, pytester.path / name)
    arches = "i386,mips,x86_64,aarch64_be"
    result = run(pytester, "test_vma_flags_per_arch.py", "--bitlayout-arch", arches,
                 "--bitlayout-spec", "vma_flags.toml", "-v")
    # 3 unmarked tests x 4 arches, sealed on the two 64-bit ones, big-endian on mips and aarch64_be,
    # the observed __set_bit(41) on the little-endian i386 and x86_64 (host backend);
    # the fits test fails on the two 32-bit arches and the observation on i386 (the findings).
    host_ok = not host_backend().unavailable()
    result.assert_outcomes(passed=12 + 2 + 2 - 2 + (1 if host_ok else 0), failed=2 + (1 if host_ok else 0),
                           skipped=0 if host_ok else 2)
    result.stdout.fnmatch_lines(["*test_uffd_minor_fits_vma_flags?i386? FAILED*",
                                 "*test_uffd_minor_fits_vma_flags?x86_64? PASSED*"])
    if host_ok:
        result.stdout.fnmatch_lines(["*test_set_bit_41_stays_inside_vma_flags?i386? FAILED*",
                                     "*test_set_bit_41_stays_inside_vma_flags?x86_64? PASSED*"])
        assert "i386 (host): __set_bit(41) changed" in result.stdout.str()


def test_backend_fixture_skips_with_the_reason(pytester, monkeypatch):
    from bitlayout.backends.exec import ExecObserver
    from bitlayout.backends.host import HostObserver

    class NoCompiler:
        def start(self):
            raise OSError("no C compiler here (apt install gcc)")

    replace_backend(monkeypatch, type("BrokenHost", (NoCompiler, HostObserver), {}))
    replace_backend(monkeypatch, type("BrokenExec", (NoCompiler, ExecObserver), {}))
    pytester.makepyfile(test_k="def test_x(bitlayout_arch, bitlayout_backend): pass\n")
    result = run(pytester, "--bitlayout-arch", "i386", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no backend runs i386 here (host: OSError: no C compiler here*; "
                                 "exec: OSError: no C compiler*"])


def test_works_with_xdist(pytester, monkeypatch):
    pytest.importorskip("xdist", reason="pytest-xdist not installed (pip install pytest-xdist)")
    # the subprocess must import bitlayout from this checkout even when it is not installed
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLES.parent.parent))
    pytester.makepyfile(test_x="""
        def test_sizes(arch, layout):
            assert layout.sizeof("vm_flags_u64_t") == 8
    """)
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "--bitlayout-arch", "32bit")
    result.assert_outcomes(passed=len(select_profiles("32bit")))


# pytester points HOME at a temp dir: the backend tests keep the real build caches
# (bitlayout's cffi module and exec drivers, zig's) instead of rebuilding them (~60 s for zig).
_CACHE_HOME = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
_BITLAYOUT_CACHE = os.environ.get("BITLAYOUT_CACHE_DIR") or str(Path.home() / ".cache" / "bitlayout")


def _real_caches(monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", _CACHE_HOME)  # zig's global cache
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", _BITLAYOUT_CACHE)  # cffi module, exec drivers


def _exec_compiles(arch: str) -> bool:
    from bitlayout import toolchains
    from bitlayout.profiles import profile_by_name

    return toolchains.find_compiler(profile_by_name(arch)) is not None


def test_backend_fixture_runs_a_big_endian_arch_through_the_freestanding_driver(pytester, monkeypatch):
    _real_caches(monkeypatch)
    # sparc: big-endian (the host shim cannot stand in) and no 32-bit libc here; exec builds
    # its driver without libc (runtime = "freestanding") and the user's test runs on it.
    from bitlayout.backends import exec as exec_backend
    from bitlayout.profiles import profile_by_name

    ok, why = exec_backend.ExecBackend().available(profile_by_name("sparc"))
    if not ok:
        pytest.skip(f"exec cannot run sparc here: {why}")
    pytester.makepyfile(test_l="""
        def test_x(arch, bitlayout_backend):
            assert bitlayout_backend.name == "exec"
            (obs,) = bitlayout_backend.observe([{"probe": "info", "args": {}}])
            assert obs.values["little_endian"] is False
            assert obs.evidence["runtime"] == "freestanding"
    """)
    result = run(pytester, "--bitlayout-arch", "sparc", "-v")
    result.assert_outcomes(passed=1)


def test_backend_fixture_skips_run_blocked_arches_when_host_is_unavailable(pytester, monkeypatch):
    _real_caches(monkeypatch)
    from bitlayout.backends.host import HostObserver

    class NoHost(HostObserver):
        def start(self):
            raise OSError("no C compiler here (apt install gcc)")

    replace_backend(monkeypatch, NoHost)
    pytester.makepyfile(test_m="def test_x(arch, bitlayout_backend): pass\n")
    result = run(pytester, "--bitlayout-arch", "x32,arc", "-rs")
    result.assert_outcomes(skipped=2)
    for arch in ("x32", "arc"):
        line = next(ln for ln in result.outlines if f"no backend runs {arch} here" in ln)
        assert "host: OSError: no C compiler here" in line
        if _exec_compiles(arch):
            assert f"exec: cannot execute {arch} binaries here: cannot run: " in line


def test_backend_fixture_skips_when_the_driver_cannot_start(pytester, monkeypatch):
    _real_caches(monkeypatch)
    from bitlayout import toolchains
    from bitlayout.backends import ObserveFailed
    from bitlayout.backends.exec import ExecObserver

    calls = []

    class Crashing(ExecObserver):
        def available(self, profile):
            return True, "test"

        def observe(self, profile, requests):
            calls.append([r["probe"] for r in requests])
            raise ObserveFailed("error", "driver start-up killed by SIGSEGV under qemu-mips (test)")

    replace_backend(monkeypatch, Crashing)
    monkeypatch.setattr(toolchains, "find_runner", lambda p: toolchains.Runner("qemu", ("qemu-mips",)))
    pytester.makepyfile(test_n="""
        def test_x(arch, bitlayout_backend):
            pass

        def test_y(arch, bitlayout_backend):
            pass
    """)
    result = run(pytester, "--bitlayout-arch", "mips", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no backend runs mips here (host: *; exec: the mips driver does not run here "
                                 "(error): driver start-up killed by SIGSEGV under qemu-mips (test))*"])
    assert calls == [["info"]]  # probed once per session and arch, not once per test


def test_backend_fixture_runs_exec_where_it_can(pytester, monkeypatch):
    from bitlayout import toolchains
    from bitlayout.profiles import profile_by_name

    mips = profile_by_name("mips")
    if toolchains.find_compiler(mips) is None or toolchains.find_runner(mips) is None:
        pytest.skip(f"exec cannot run mips here: {toolchains.missing_reason(mips)}")
    pytester.makepyfile(test_o="""
        def test_set_bit_0(arch, bitlayout_backend):
            assert bitlayout_backend.name == "exec"
            (obs,) = bitlayout_backend.observe([{"probe": "image", "args": {"w": 32, "n": 1, "bits": [0]}}])
            assert obs.values["bytes"] == "00000001"  # big-endian: bit 0 lives in the last byte
    """)
    _real_caches(monkeypatch)
    result = run(pytester, "--bitlayout-arch", "mips", "-v")
    result.assert_outcomes(passed=1)


def test_each_arch_is_laid_out_once_per_session(pytester, monkeypatch):
    from bitlayout import pipeline

    calls = []
    real = pipeline.layout_headers

    def counting(headers, profile, **kw):
        calls.append(profile.name)
        return real(headers, profile, **kw)

    monkeypatch.setattr(pipeline, "layout_headers", counting)
    pytester.makepyfile(test_p="""
        def test_one(bitlayout_layout):
            assert bitlayout_layout.sizeof("vm_flags_t") == 8

        def test_two(layout):
            assert layout.plan.arch == layout.arch
    """)
    result = run(pytester, "--bitlayout-arch", "i386,mips")
    result.assert_outcomes(passed=4)
    assert sorted(calls) == ["i386", "mips"]


def test_a_project_fixture_named_arch_wins_over_the_alias(pytester):
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def arch():
            return "mine"
    """)
    pytester.makepyfile(test_q="""
        def test_mine(arch):
            assert arch == "mine"

        def test_ours(bitlayout_arch):
            assert bitlayout_arch.name == "x86_64"
    """)
    result = run(pytester, "--bitlayout-arch", "x86_64", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_q.py::test_mine PASSED*", "*test_q.py::test_ours?x86_64? PASSED*"])
