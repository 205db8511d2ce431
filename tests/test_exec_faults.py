"""Faults in the exec backend are error (or skip) outcomes, never passes.

Deliberately broken drivers (tests/fake_drivers/*.c) are built with the host
gcc through the real ExecBackend build path (cache, flags, runner) and run
natively: a crash by signal, a hang past the timeout, garbage output, a
non-zero exit, truncated and missing output.  A wrong emulator, a missing
compiler or emulator and a known run_blocker are covered with synthetic
profiles, so these tests do not depend on the shipped arch profiles.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bitlayout.backends.buildcache import BuildCache
from bitlayout.backends.exec import ExecBackend
from bitlayout.profiles import parse_profile

FAKES = Path(__file__).parent / "fake_drivers"

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None,
                               reason="host gcc not found; install: apt-get install gcc")

REQUESTS = ["request one", "request two", "request three"]


def _scalar(size, align=None, gnu=None):
    align = align or size
    return {"size": size, "align": align, "gnu_align": gnu or align, "source": "test"}


def make_profile(name="fake64", **toolchain):
    """A minimal valid x86_64-like profile whose [toolchain] table is the test's."""
    data = {
        "name": name, "kernel_arch": "x86", "description": "synthetic profile for exec fault tests",
        "bits_per_long": 64, "endianness": "little", "char_signed": True, "cacheline_bytes": 64,
        "types": {
            "_Bool": _scalar(1), "char": _scalar(1), "short": _scalar(2), "int": _scalar(4),
            "long": _scalar(8), "long_long": _scalar(8), "pointer": _scalar(8), "float": _scalar(4),
            "double": _scalar(8), "long_double": _scalar(16),
        },
        "layout": {},
        "atomicity": {"single_copy_atomic_bytes": 8, "atomic64": "native",
                      "read_once_u64_single_access": True, "source": "test"},
        "allocators": {"arch_slab_minalign": 8, "arch_kmalloc_minalign": 8, "libc_malloc_align": 16,
                       "source": "test"},
        "toolchain": {"linux_compilers": ["gcc"], **toolchain},
    }
    return parse_profile(f"<test {name}>", data)


# The host gcc through toolchains' gcc route (host_native: plain "gcc" if the triple-named one is absent).
NATIVE = {"gcc_triple": "x86_64-linux-gnu", "host_native": True, "qemu": "native"}


# Both ways of starting: the empty start-up run first (the library's default), or only after a
# failed run, to say why (the matrix's way): every fault must read the same.
@pytest.fixture(params=[True, False], ids=["startup-first", "startup-on-failure"])
def backend_for(tmp_path, request):
    def make(fake: str, timeout: float = 20.0) -> ExecBackend:
        return ExecBackend(jobs=2, timeout=timeout, sources=[FAKES / f"{fake}.c"],
                           cache=BuildCache(tmp_path / "cache"), measure_startup=request.param)
    return make


def out_identity(profile) -> str:
    from bitlayout import toolchains

    return toolchains.find_compiler(profile).identity


def outcome_of(backend, profile=None, requests=REQUESTS):
    profile = profile or make_profile(**NATIVE)
    return backend.run([profile], requests)[profile.name]


@needs_gcc
def test_crash_by_signal_is_an_error(backend_for):
    out = outcome_of(backend_for("crash"))
    assert (out.status, out.observations) == ("error", ())
    assert "killed by SIGSEGV" in out.reason
    assert out.evidence["signal"] == 11


@needs_gcc
def test_crash_at_startup_is_an_error(backend_for):
    out = outcome_of(backend_for("startup_crash"))
    assert out.status == "error"
    assert "start-up killed by SIGABRT" in out.reason
    assert "run_seconds" not in out.evidence  # it never got as far as the requests


@needs_gcc
def test_hang_past_the_timeout_is_an_error(backend_for):
    out = outcome_of(backend_for("hang", timeout=1.5))
    assert out.status == "error"
    assert "timed out after 1.5 s" in out.reason
    assert 1.4 < out.evidence["run_seconds"] < 15


@needs_gcc
def test_garbage_output_is_an_error(backend_for):
    out = outcome_of(backend_for("garbage"))
    assert out.status == "error"
    assert "bad response line 1 of 3: not a probe response line" in out.reason


@needs_gcc
def test_nonzero_exit_is_an_error_even_with_output(backend_for):
    out = outcome_of(backend_for("exit_nonzero"))
    assert out.status == "error"
    assert "exited with status 3" in out.reason
    assert out.evidence["returncode"] == 3


@needs_gcc
def test_truncated_output_is_an_error(backend_for):
    out = outcome_of(backend_for("truncated"))
    assert out.status == "error"
    assert "truncated output" in out.reason


@needs_gcc
def test_missing_output_is_an_error(backend_for):
    out = outcome_of(backend_for("silent"))
    assert out.status == "error"
    assert "answered 0 of 3 requests" in out.reason


@needs_gcc
@pytest.mark.skipif(shutil.which("qemu-aarch64") is None,
                    reason="qemu-aarch64 not found; install: apt-get install qemu-user")
def test_emulator_that_cannot_run_the_binary_is_an_error(backend_for):
    # An x86_64 binary handed to qemu-aarch64: the emulator refuses it, which must be an
    # error outcome naming the emulator, not a skip and not a silent gap.
    profile = make_profile("wrongemu", gcc_triple="x86_64-linux-gnu", qemu="qemu-aarch64")
    if shutil.which("x86_64-linux-gnu-gcc") is None:
        pytest.skip("x86_64-linux-gnu-gcc not found; install: apt-get install gcc")
    out = outcome_of(backend_for("silent"), profile)
    assert out.status == "error"
    assert "start-up" in out.reason and "qemu-aarch64" in out.reason
    assert out.evidence["stderr_tail"]


def test_missing_compiler_is_a_skip_with_install_hint(backend_for):
    profile = make_profile("nocc", gcc_triple="nonexistent-linux-gnu", qemu="qemu-nonexistent")
    out = outcome_of(backend_for("silent"), profile)
    assert out.status == "skip"
    assert "install" in out.reason and "nonexistent" in out.reason
    assert backend_for("silent").available(profile)[0] is False


@needs_gcc
def test_missing_emulator_is_a_skip_with_install_hint(backend_for):
    if shutil.which("x86_64-linux-gnu-gcc") is None:
        pytest.skip("x86_64-linux-gnu-gcc not found; install: apt-get install gcc")
    profile = make_profile("noemu", gcc_triple="x86_64-linux-gnu", qemu="qemu-nonexistent")
    out = outcome_of(backend_for("silent"), profile)
    assert out.status == "skip"
    assert "install" in out.reason


@needs_gcc
def test_run_blocker_is_an_error_with_compile_only_evidence(backend_for):
    profile = make_profile("blocked", **NATIVE,
                           run_blocker="hangs under this emulator (test)")
    backend = backend_for("silent")
    # available: an outcome will come (an error row naming the blocker), so not a skip.
    assert backend.available(profile) == (True, f"{out_identity(profile)}, compile-only: hangs under this emulator (test)")
    out = outcome_of(backend, profile)
    assert out.status == "error"
    assert "hangs under this emulator (test)" in out.reason
    assert Path(out.evidence["binary"]).is_file()  # it was built: compile-only evidence
    assert "startup_seconds" not in out.evidence  # and never run


def test_compile_error_is_an_error_not_a_skip(tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not found; install: apt-get install gcc")
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return undeclared_thing; }\n")
    backend = ExecBackend(jobs=1, sources=[bad], cache=BuildCache(tmp_path / "cache"))
    out = outcome_of(backend)
    assert out.status == "error"
    assert "compile failed" in out.reason and "undeclared_thing" in out.reason
    assert not list((tmp_path / "cache").glob("fake64-*"))  # nothing half-built was published


@needs_gcc
def test_one_broken_arch_does_not_hide_the_others(backend_for):
    # Several profiles in one parallel run: each gets its own outcome.
    good_emu = make_profile("a", **NATIVE)
    no_cc = make_profile("b", gcc_triple="nonexistent-linux-gnu", qemu="qemu-nonexistent")
    outs = backend_for("crash").run([good_emu, no_cc], REQUESTS)
    assert {k: v.status for k, v in outs.items()} == {"a": "error", "b": "skip"}


class _NotAnExecutableCache(BuildCache):
    """Publishes bytes no OS can execute, as a corrupted cache entry or foreign binary would be."""

    def get_or_build(self, key, stem, build):
        def write(out: Path) -> None:
            out.write_bytes(b"\x00\x01 not an executable format\n")
        return super().get_or_build(key, stem, write)


def test_binary_the_os_cannot_execute_is_an_error(tmp_path):
    backend = ExecBackend(jobs=1, sources=[FAKES / "silent.c"], cache=_NotAnExecutableCache(tmp_path))
    if shutil.which("x86_64-linux-gnu-gcc") is None and shutil.which("gcc") is None:
        pytest.skip("host gcc not found; install: apt-get install gcc")
    out = outcome_of(backend)
    assert out.status == "error"
    assert "cannot execute" in out.reason and "Exec format error" in out.reason


def test_requests_the_driver_would_not_answer_are_refused_before_running(backend_for):
    # The driver skips blank and '#' lines silently; letting them through would make
    # "one response per request" unverifiable, so they are a caller error (ShimError).
    from bitlayout.errors import ShimError

    for bad in ("", "   ", "# comment", "two\nlines"):
        with pytest.raises(ShimError):
            outcome_of(backend_for("silent"), requests=[bad])


def test_crash_and_hang_under_qemu_are_errors_too(tmp_path):
    # qemu-user reports a guest's fatal signal by dying of it (or by "uncaught target signal");
    # either way the outcome must name the signal.  Uses the shipped mips profile (zig + qemu-mips).
    from bitlayout import toolchains
    from bitlayout.profiles import load_profiles

    mips = {p.name: p for p in load_profiles()}.get("mips")
    if mips is None:
        pytest.skip("no mips profile")
    ok, why = ExecBackend().available(mips)
    if not ok or toolchains.find_runner(mips) is None:
        pytest.skip(f"mips cannot run here: {why}")
    cache = BuildCache(tmp_path / "cache")
    crash = ExecBackend(jobs=1, sources=[FAKES / "crash.c"], cache=cache).run([mips], REQUESTS)["mips"]
    assert crash.status == "error" and "killed by SIGSEGV" in crash.reason and "qemu-mips" in crash.reason
    hang = ExecBackend(jobs=1, timeout=1.5, sources=[FAKES / "hang.c"], cache=cache).run([mips], REQUESTS)["mips"]
    assert hang.status == "error" and "timed out after 1.5 s" in hang.reason


@needs_gcc
def test_a_healthy_run_starts_the_driver_once_when_start_up_is_checked_only_on_failure(tmp_path, monkeypatch):
    from bitlayout import toolchains

    stdins = []
    real = toolchains.run_binary

    def counting(*args, **kwargs):
        stdins.append(kwargs.get("stdin"))
        return real(*args, **kwargs)

    monkeypatch.setattr(toolchains, "run_binary", counting)
    backend = ExecBackend(jobs=1, cache=BuildCache(tmp_path / "cache"), measure_startup=False)
    out = outcome_of(backend, requests=["info"])
    assert out.status == "ok" and len(out.observations) == 1
    assert stdins == ["info id=1\n"] and "startup_seconds" not in out.evidence
