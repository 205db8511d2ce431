"""Toolchain discovery, install hints, compile/preprocess/run (fast: host gcc, -c, or tiny qemu runs)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from bitlayout import toolchains
from bitlayout.errors import ToolchainError
from bitlayout.profiles import profile_by_name


def prof(name):
    return profile_by_name(name)


@pytest.fixture
def host_gcc(monkeypatch):
    """The x86_64 profile built by the host gcc (fast: no zig libc build)."""
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    p = prof("x86_64")
    compiler = toolchains.find_compiler(p)
    if compiler is None or toolchains.find_runner(p) is None:
        pytest.skip("no host gcc / native runner: install with: apt-get install -y gcc libc6-dev")
    return p


@pytest.fixture
def fresh_discovery():
    toolchains.clear_caches()
    yield
    toolchains.clear_caches()


def _c(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


# ---------------------------------------------------------------------------
# Discovery


def test_discovery_is_cached_and_identity_is_a_version(host_gcc):
    a = toolchains.find_compiler(host_gcc)
    b = toolchains.find_compiler(host_gcc)
    assert a is b
    assert a.kind == "gcc" and a.identity.split()[1][0].isdigit()


def test_the_reference_compiler_comes_first():
    """GCC where the profile follows GCC (Debian's cross gcc: prebuilt glibc, no per-target libc
    build), zig's clang where the profile follows clang; the other route second."""
    mips, armeb = prof("mips"), prof("armeb")
    assert (mips.compiler, armeb.compiler) == ("gcc", "clang")
    kinds = [c.kind for c in toolchains.find_compilers(mips)]
    if not kinds:
        pytest.skip("no compiler for mips: apt-get install -y gcc-mips-linux-gnu / pip install ziglang")
    assert kinds[0] == "gcc" or kinds == ["zig"]
    compiler = toolchains.find_compiler(armeb)
    if compiler is None:
        pytest.skip("ziglang missing: pip install ziglang")
    assert compiler.kind == "zig" and compiler.target == "armeb-linux-musleabi"


def test_gcc_is_preferred_for_glibc_zig_targets():
    p = prof("sparc64")
    compilers = toolchains.find_compilers(p)
    if not any(c.kind == "gcc" for c in compilers):
        pytest.skip("apt-get install -y gcc-sparc64-linux-gnu libc6-dev-sparc64-cross")
    assert compilers[0].kind == "gcc"


def test_env_overrides_hide_routes(monkeypatch):
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    for name in ("x86_64", "mips", "m68k"):
        assert toolchains.find_compiler(prof(name)) is None


@pytest.mark.parametrize("name, hint", [
    ("mips", "pip install ziglang"),
    ("x86_64", "pip install ziglang"),
    ("m68k", "apt-get install -y gcc-m68k-linux-gnu libc6-dev-m68k-cross"),
    ("alpha", "apt-get install -y gcc-alpha-linux-gnu libc6-dev-alpha-cross"),
    ("arc", "apt-get install -y gcc-arc-linux-gnu libc6-dev-arc-cross"),
])
def test_install_hint_when_no_compiler(monkeypatch, name, hint):
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    got = toolchains.install_hint(prof(name))
    assert got.split(" && ")[0] == hint


def test_install_hint_for_missing_qemu(monkeypatch, fresh_discovery, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH: no qemu, no gcc
    hint = toolchains.install_hint(prof("m68k"))
    assert "apt-get install -y qemu-user" in hint
    assert toolchains.find_runner(prof("m68k")) is None
    # a run blocker is not a missing package: no qemu hint for an arch that cannot run here anyway
    m68k = prof("m68k")
    blocked = dataclasses.replace(m68k, toolchain=dataclasses.replace(m68k.toolchain, run_blocker="no CPU (test)"))
    assert "qemu-user" not in toolchains.install_hint(blocked)


def test_nothing_missing_means_empty_hint(host_gcc):
    assert toolchains.install_hint(host_gcc) == ""


def test_runner_argv_carries_cpu_and_sysroot():
    la = toolchains.find_runner(prof("loongarch64"))
    if la is None:
        pytest.skip("apt-get install -y qemu-user")
    assert la.kind == "qemu" and la.argv[1:] == ("-cpu", "la464")
    alpha = toolchains.find_runner(prof("alpha"))
    if alpha is not None:
        assert alpha.argv[1:] == ("-L", "/usr/alpha-linux-gnu")
    assert toolchains.find_runner(prof("x32")) is None  # run_blocker
    assert toolchains.find_runner(prof("arc")) is None  # run_blocker


# ---------------------------------------------------------------------------
# Compile / preprocess


def test_missing_compiler_raises_one_line_toolchain_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    src = _c(tmp_path, "a.c", "int x;\n")
    with pytest.raises(ToolchainError) as info:
        toolchains.compile_c(prof("mips"), [src], tmp_path / "a.o", compile_only=True)
    msg = str(info.value)
    assert "\n" not in msg and "mips" in msg and "pip install ziglang" in msg


def test_compile_error_is_one_line_naming_the_source(host_gcc, tmp_path):
    src = _c(tmp_path, "broken.c", "int f(void) { return ; }\nint g( {\n")
    with pytest.raises(ToolchainError) as info:
        toolchains.compile_c(host_gcc, [src], tmp_path / "broken.o", compile_only=True)
    msg = str(info.value)
    assert "\n" not in msg and "broken.c" in msg and "error" in msg
    assert not list(tmp_path.glob(".broken.*"))  # no temp file left behind


def test_concurrent_compiles_to_one_output_are_safe(host_gcc, tmp_path):
    src = _c(tmp_path, "same.c", "int value = 42;\n")
    out = tmp_path / "out" / "same.o"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: toolchains.compile_c(host_gcc, [src], out, compile_only=True), range(8)))
    assert all(r == out for r in results)
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert [p.name for p in out.parent.iterdir()] == ["same.o"]


def test_preprocess_uses_the_target_compiler(tmp_path):
    p = prof("mips")
    if toolchains.find_compiler(p) is None:
        pytest.skip("ziglang missing: pip install ziglang")
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "extra.h").write_text("#define FROM_INCLUDE 7\n")
    src = _c(tmp_path, "pp.c", """\
        #include "extra.h"
        #if defined(__MIPSEB__) && _MIPS_SZLONG == 32
        int big_endian_mips = FROM_INCLUDE + USER;
        #endif
        """)
    text = toolchains.preprocess(p, src, include_dirs=[inc], defines={"USER": "5"})
    assert "int big_endian_mips = 7 + 5;" in text


def test_predefined_macros_match_profile(host_gcc):
    macros = toolchains.predefined_macros(host_gcc)
    assert macros["__x86_64__"] == "1" and macros["__SIZEOF_LONG__"] == "8"


# ---------------------------------------------------------------------------
# Run: guest failures are results, not exceptions


def _build(profile, tmp_path, body, name="prog"):
    src = _c(tmp_path, f"{name}.c", body)
    return toolchains.compile_c(profile, [src], tmp_path / name)


def test_run_exit_status_stdout_and_stdin(host_gcc, tmp_path):
    exe = _build(host_gcc, tmp_path, """\
        #include <stdio.h>
        int main(int argc, char **argv) {
            char buf[64] = {0};
            fgets(buf, sizeof buf, stdin);
            printf("%s|%s", argv[1], buf);
            fprintf(stderr, "to stderr\\n");
            return 3;
        }
        """)
    r = toolchains.run_binary(host_gcc, exe, args=["arg1"], stdin="from stdin\n")
    assert (r.returncode, r.stdout, r.stderr, r.signal, r.timed_out) == (3, "arg1|from stdin\n", "to stderr\n",
                                                                         None, False)
    assert not r.ok and r.seconds >= 0


def test_run_reports_a_signal(host_gcc, tmp_path):
    exe = _build(host_gcc, tmp_path, """\
        #include <signal.h>
        int main(void) { raise(SIGSEGV); return 0; }
        """)
    r = toolchains.run_binary(host_gcc, exe)
    assert r.signal == signal.SIGSEGV and not r.timed_out and not r.ok


def test_run_reports_a_timeout(host_gcc, tmp_path):
    exe = _build(host_gcc, tmp_path, """\
        #include <unistd.h>
        int main(void) { for (;;) sleep(1); }
        """)
    r = toolchains.run_binary(host_gcc, exe, timeout=0.5)
    assert r.timed_out and r.signal is None and not r.ok
    assert 0.4 < r.seconds < 10


def test_run_without_runner_raises(tmp_path):
    with pytest.raises(ToolchainError, match="cannot run arc binaries here: .*no qemu-arc"):
        toolchains.run_binary(prof("arc"), tmp_path / "nothing")


def test_guest_crash_under_qemu_is_a_signal(tmp_path):
    p = prof("m68k")  # Debian cross gcc, static glibc: fast to build, runs under qemu-m68k
    if toolchains.find_compiler(p) is None or toolchains.find_runner(p) is None:
        pytest.skip(f"m68k toolchain missing: {toolchains.install_hint(p)}")
    exe = _build(p, tmp_path, """\
        #include <stdio.h>
        int main(void) { volatile int *null = 0; printf("before\\n"); fflush(stdout); return *null; }
        """)
    r = toolchains.run_binary(p, exe, timeout=60)
    assert r.signal == signal.SIGSEGV and r.stdout == "before\n"


def test_zig_runs_with_this_processes_own_object_cache(monkeypatch):
    """zig's shared object cache races when two processes compile identical inputs at once:
    each process hands zig its own, through the child's environment, not its own."""
    from bitlayout import toolchains as tc

    monkeypatch.delenv("ZIG_LOCAL_CACHE_DIR", raising=False)
    zig = [sys.executable, "-m", "ziglang", "cc", "-c"]
    mine = tc._compiler_env(zig)["ZIG_LOCAL_CACHE_DIR"]
    assert os.path.isdir(mine) and tc._compiler_env(zig)["ZIG_LOCAL_CACHE_DIR"] == mine
    assert "ZIG_LOCAL_CACHE_DIR" not in os.environ
    assert tc._compiler_env(["gcc", "-c"]) is None  # other compilers inherit this environment


def test_run_compiler_words_a_missing_or_hanging_compiler_as_one_toolchain_error(tmp_path):
    from bitlayout import toolchains as tc

    with pytest.raises(ToolchainError, match="cannot run /nonexistent/cc: No such file"):
        tc.run_compiler(["/nonexistent/cc", "-v"], timeout=5, what="cc -v")
    with pytest.raises(ToolchainError, match=r"sleepy cc timed out after 0\.2 s"):
        tc.run_compiler([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2, what="sleepy cc")
    fails = "import sys; sys.stderr.buffer.write(b'x\\xff: error: y'); sys.exit(1)"
    done = tc.run_compiler([sys.executable, "-c", fails], timeout=30, what="failing cc")
    assert done.returncode == 1 and tc.first_error(done.stderr) == "x\ufffd: error: y"  # decoded, not raised


def test_a_zig_cache_the_user_chose_is_respected(monkeypatch, tmp_path):
    from bitlayout import toolchains as tc

    monkeypatch.setenv("ZIG_LOCAL_CACHE_DIR", str(tmp_path))
    assert tc._compiler_env([sys.executable, "-m", "ziglang", "cc"]) is None  # inherited as set


@pytest.mark.parametrize("run, expected", [
    (dict(returncode=0, stderr="", signal=None, timed_out=False), None),
    (dict(returncode=-11, stderr="", signal=11, timed_out=False), "probe killed by SIGSEGV"),
    # qemu versions that report the guest's signal in words and exit 128+N
    (dict(returncode=139, stderr="qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n",
          signal=None, timed_out=False), "probe killed by SIGSEGV"),
    (dict(returncode=-9, stderr="", signal=9, timed_out=True), "probe timed out after 5 s (killed)"),
    (dict(returncode=3, stderr="", signal=None, timed_out=False), "probe exited with status 3"),
    (dict(returncode=126, stderr="cannot execute x: Exec format error", signal=None, timed_out=False),
     "probe failed: cannot execute x: Exec format error"),
])
def test_run_failures_are_named_in_one_line(run, expected):
    result = toolchains.RunResult(stdout="", seconds=0.1, **run)
    assert result.failure(5.0, "probe") == expected


@pytest.mark.parametrize("stderr, expected", [
    ("/tmp/test_compile_error0/bad.c: In function 'main':\n"
     "/tmp/test_compile_error0/bad.c:1:25: error: 'undeclared_thing' undeclared\ncompilation terminated.\n",
     "/tmp/test_compile_error0/bad.c:1:25: error: 'undeclared_thing' undeclared"),
    ("warning: x\nld.lld: error: unsupported e_machine value: 2\n", "ld.lld: error: unsupported e_machine value: 2"),
    ("something odd\nlast words\n", "last words"),
    ("", "(no output)"),
    ("/usr/bin/ld: /tmp/cc1.o: in function `bl_event':\nstress.c:(.text+0x5c): undefined reference to "
     "`__atomic_fetch_add_8'\ncollect2: error: ld returned 1 exit status\n",
     "stress.c:(.text+0x5c): undefined reference to `__atomic_fetch_add_8'"),
])
def test_first_error_is_the_diagnostic_not_a_path_containing_error(stderr, expected):
    assert toolchains.first_error(stderr) == expected


def test_a_compiler_version_is_asked_once_and_asked_again_after_an_upgrade(private_cache, monkeypatch, tmp_path):
    """The version is remembered on disk under the executable's path, size and mtime: a second
    process does not start the compiler, a changed executable is asked again."""
    exe = tmp_path / "fake-gcc"
    exe.write_text("#!/bin/sh\necho 12.2.0\n")
    exe.chmod(0o755)
    asked = []
    real = toolchains.run_compiler

    def counting(argv, **kw):
        asked.append(list(argv))
        return real(argv, **kw)

    monkeypatch.setattr(toolchains, "run_compiler", counting)
    toolchains.clear_caches()
    assert toolchains._gcc_version(str(exe)) == "12.2.0"
    toolchains.clear_caches()  # as a new process
    assert toolchains._gcc_version(str(exe)) == "12.2.0"
    assert len(asked) == 1
    exe.write_text("#!/bin/sh\necho 13.1.0\n")
    os.utime(exe, ns=(0, 10**9))
    toolchains.clear_caches()
    assert toolchains._gcc_version(str(exe)) == "13.1.0"
    assert len(asked) == 2
    toolchains.clear_caches()


def test_the_install_hint_of_each_route_names_its_packages():
    from bitlayout.profiles import profile_by_name

    arm = profile_by_name("arm")
    assert toolchains.install_hint_for_route(arm, "gcc") == "apt-get install -y gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
    assert toolchains.install_hint_for_route(arm, "zig") == "pip install ziglang"


def test_every_gcc_route_s_install_hint_is_what_ci_installs():
    from pathlib import Path

    from bitlayout.profiles import load_profiles

    ci = (Path(__file__).parent.parent / ".ci" / "install").read_text().split()
    for p in load_profiles():
        tc = p.toolchain
        for triple in filter(None, (tc.gcc_triple, tc.freestanding_gcc_triple)):
            missing = [pkg for pkg in toolchains.gcc_packages(triple, tc.host_native) if pkg not in ci]
            assert not missing, (p.name, missing)
