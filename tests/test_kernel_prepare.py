"""``bitlayout kernel prepare`` and the captured Kbuild command, against a fake make (fast, no
kernel needed): reuse, failing make, missing compiler or make, a config fragment that does not
stick, a build with the wrong ABI, unprepared and unsupported arches, the CLI's one-line errors."""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil

import pytest

from bitlayout.errors import KernelNotPrepared, KernelTreeError, ToolchainError
from bitlayout.kernel import find_tree, kernel_command, prepare_arches, prepared_build
from bitlayout.kernel.kbuild import COMMAND_FILE, normalize, tu_source, cpp_line
from bitlayout.kernel.prepare import STAMP, make_error
from bitlayout.profiles import profile_by_name

from conftest import run_cli
from kernel_fakes import HOST_CC, make_headers_pair, make_source_tree, use_fake_make


@pytest.fixture
def fake(tmp_path, monkeypatch, private_cache):
    """A fake source tree, the fake make first on PATH, a private cache; returns (tree dir, make log)."""
    log = use_fake_make(tmp_path, monkeypatch)
    return make_source_tree(tmp_path / "linux"), log


def _profile(name="x86_64", **kernel):
    p = profile_by_name(name)
    return dataclasses.replace(p, kernel=dataclasses.replace(p.kernel, **kernel)) if kernel else p


def _calls(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_prepare_runs_config_then_prepare_and_captures_the_command(fake):
    src, log = fake
    tree = find_tree(src)
    [out] = prepare_arches(tree, [_profile()])
    assert out.status == "prepared", out.message
    assert (out.build / STAMP).is_file() and (out.build / COMMAND_FILE).is_file()
    calls = _calls(log)
    assert [c.split()[-1] for c in calls] == ["x86_64_defconfig", "prepare", "bitlayout_tu.i"]
    assert all("ARCH=x86_64" in c and "CROSS_COMPILE=x86_64-linux-gnu-" in c and f"O={out.build}" in c for c in calls)
    argv = kernel_command(src, _profile())
    assert argv[0] == HOST_CC
    assert "-nostdinc" in argv and "-D__KERNEL__" in argv and "-E" not in argv
    assert f"-I{out.build}/arch/x86/include/generated" in argv  # Kbuild printed ./arch/...: made absolute
    forced = [argv[i + 1] for i, a in enumerate(argv) if a == "-include"]
    assert [f.rsplit("/", 1)[1] for f in forced] == ["compiler-version.h", "kconfig.h", "compiler_types.h"]
    assert not any(a.startswith("-Wp,-MMD") or a.endswith(".c") or a == "-o" for a in argv)


def test_a_prepared_arch_is_reused_without_running_make(fake):
    src, log = fake
    tree = find_tree(src)
    prepare_arches(tree, [_profile()])
    before = len(_calls(log))
    [out] = prepare_arches(tree, [_profile()])
    assert out.status == "reused" and "already prepared" in out.message
    assert len(_calls(log)) == before
    kernel_command(src, _profile())  # the captured command comes from the JSON cache
    assert len(_calls(log)) == before


def test_a_changed_kernel_table_needs_a_new_prepare(fake):
    src, _ = fake
    tree = find_tree(src)
    prepare_arches(tree, [_profile()])
    with pytest.raises(KernelNotPrepared, match="another \\[kernel\\] configuration"):
        prepared_build(tree, _profile(config="tinyconfig_defconfig"))


def test_an_unprepared_arch_says_how_to_prepare_it(fake):
    src, log = fake
    with pytest.raises(KernelNotPrepared) as exc:
        kernel_command(src, _profile())
    assert f"not prepared: run `bitlayout kernel prepare {src} --arch x86_64`" in str(exc.value)
    assert _calls(log) == []


def test_a_failing_make_is_one_line_with_the_reason_and_the_log(fake, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("FAKE_MAKE_MODE", "fail-config")
    [out] = prepare_arches(find_tree(src), [_profile()])
    assert out.status == "failed" and isinstance(out.error, KernelTreeError)
    assert "`make ARCH=x86_64 x86_64_defconfig` failed (exit 2): make[1]: *** No rule to make target" in out.message
    assert "full log: " in out.message and "\n" not in out.message


def test_a_fragment_that_does_not_stick_is_an_error_naming_the_line(fake, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("FAKE_MAKE_MODE", "drop-fragment")
    [out] = prepare_arches(find_tree(src), [_profile(fragment=("CONFIG_X86_5LEVEL=y",))])
    assert out.status == "failed"
    assert "[kernel.fragment]" in out.message and "CONFIG_X86_5LEVEL=y (now CONFIG_X86_5LEVEL=n)" in out.message


def test_a_build_with_another_abi_is_refused(fake, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("FAKE_MAKE_MODE", "m32")
    [out] = prepare_arches(find_tree(src), [_profile()])
    assert out.status == "failed"
    assert "does not have the profile's ABI: sizeof(long) 4 (profile: 8), sizeof(void *) 4 (profile: 8)" in out.message


def test_kbuild_printing_no_command_is_an_error(fake, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("FAKE_MAKE_MODE", "no-command")
    [out] = prepare_arches(find_tree(src), [_profile()])
    assert out.status == "failed" and "Kbuild did not print the command" in out.message


def test_a_missing_cross_compiler_names_the_package(fake, monkeypatch):
    from bitlayout.kernel import prepare

    src, log = fake
    monkeypatch.setattr(prepare, "_apt_has_no_candidate", lambda package: False)
    [out] = prepare_arches(find_tree(src), [_profile(cross_compile="bitlayout-none-linux-gnu-")])
    assert isinstance(out.error, ToolchainError)
    assert out.message == ("x86_64: bitlayout-none-linux-gnu-gcc not found (the kernel compiler for ARCH=x86_64): "
                           "apt-get install -y gcc-bitlayout-none-linux-gnu")
    assert _calls(log) == []


def test_a_cross_compiler_apt_cannot_install_is_not_sent_to_apt(fake, monkeypatch):
    """loongarch64 on Debian 12: gcc-loongarch64-linux-gnu is no package there."""
    from bitlayout.kernel import prepare

    src, log = fake
    asked = []
    monkeypatch.setattr(prepare, "_apt_has_no_candidate", lambda package: asked.append(package) or True)
    [out] = prepare_arches(find_tree(src), [_profile(cross_compile="bitlayout-none-linux-gnu-")])
    assert asked == ["gcc-bitlayout-none-linux-gnu"]
    assert out.message == ("x86_64: bitlayout-none-linux-gnu-gcc not found (the kernel compiler for ARCH=x86_64): "
                           "this system's apt has no gcc-bitlayout-none-linux-gnu package: put a "
                           "bitlayout-none-linux-gnu-gcc cross compiler on PATH (from a newer distribution release "
                           "or the architecture's own toolchain)")
    assert _calls(log) == []


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs apt-cache (Debian)")
def test_apt_cache_tells_an_installable_package_from_a_missing_one():
    from bitlayout.kernel.prepare import _apt_has_no_candidate

    assert _apt_has_no_candidate("bitlayout-no-such-package") is True
    assert _apt_has_no_candidate("make") is False  # CI installs it; any Debian has a candidate


def test_a_missing_make_says_what_to_install(fake, monkeypatch, tmp_path):
    src, _ = fake
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    (empty / HOST_CC).symlink_to(shutil.which(HOST_CC))
    monkeypatch.setenv("PATH", str(empty))
    [out] = prepare_arches(find_tree(src), [_profile()])
    assert isinstance(out.error, ToolchainError) and "make not found: apt-get install -y make" in out.message


def test_a_profile_without_a_kernel_build_is_not_prepared(fake):
    src, _ = fake
    [out] = prepare_arches(find_tree(src), [profile_by_name("x32")])
    assert out.status == "failed" and "x32: no kernel configuration: x32 is a user-space ABI" in out.message


def test_a_config_file_gets_its_own_directory(fake, tmp_path):
    src, log = fake
    config = tmp_path / "my.config"
    config.write_text("CONFIG_64BIT=y\n")
    [out] = prepare_arches(find_tree(src), [_profile()], config)
    assert out.status == "prepared" and out.build.name.startswith("x86_64-config-")
    assert (out.build / ".config").read_text() == "CONFIG_64BIT=y\n"
    assert [c.split()[-1] for c in _calls(log)] == ["olddefconfig", "prepare", "bitlayout_tu.i"]
    with pytest.raises(KernelNotPrepared):
        prepared_build(find_tree(src), _profile())  # the profile's own config is another build


def test_a_headers_tree_serves_its_own_abi_only(fake, tmp_path):
    build = make_headers_pair(tmp_path / "debian")
    tree = find_tree(build)
    assert prepared_build(tree, _profile()) == build.resolve()
    argv = kernel_command(build, _profile())
    assert f"-I{build.resolve()}/arch/x86/include/generated" in argv
    with pytest.raises(KernelNotPrepared) as exc:
        prepared_build(tree, profile_by_name("i386"))
    assert "linux-headers-6.1.0-1-amd64 is prepared for a 64-bit" in str(exc.value)
    [out] = prepare_arches(tree, [profile_by_name("i386")])
    assert out.status == "failed"


# ---------------------------------------------------------------------------
# The CLI


def test_cli_prepare_prints_a_row_per_arch(fake, capsys):
    src, _ = fake
    code, out, err = run_cli(capsys, "kernel", "prepare", str(src), "--arch", "x86_64")
    assert code == 0, err
    assert out.split()[:2] == ["x86_64", "prepared"]
    assert "x86_64: preparing linux-6.12.0 for ARCH=x86_64 (x86_64_defconfig) with x86_64-linux-gnu-gcc, once " \
           "per tree and arch" in err
    code, out, err = run_cli(capsys, "kernel", "command", str(src), "--arch", "x86_64")
    assert code == 0 and out.splitlines()[1].startswith("x86_64-linux-gnu-gcc -nostdinc ")


def test_cli_prepare_and_command_as_json(fake, capsys):
    src, _ = fake
    code, out, err = run_cli(capsys, "kernel", "prepare", str(src), "--arch", "x86_64", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "bitlayout.kernel-prepare/1"
    assert [(a["arch"], a["status"]) for a in doc["arches"]] == [("x86_64", "prepared")]
    code, out, err = run_cli(capsys, "kernel", "command", str(src), "--arch", "x86_64", "--format", "json")
    argv = json.loads(out)["arches"]["x86_64"]["argv"]
    assert code == 0 and argv[:2] == ["x86_64-linux-gnu-gcc", "-nostdinc"]


def test_cli_a_failing_make_is_one_error_line_and_exit_2(fake, capsys, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("FAKE_MAKE_MODE", "fail-config")
    code, out, err = run_cli(capsys, "kernel", "prepare", str(src), "--arch", "x86_64")
    assert code == 2
    assert [ln for ln in err.splitlines() if ln.startswith("bitlayout: error:")] == [
        ln for ln in err.splitlines() if "failed (exit 2)" in ln]
    assert len([ln for ln in err.splitlines() if ln.startswith("bitlayout: error:")]) == 1


@pytest.mark.parametrize("argv, words", [
    (["kernel", "prepare", "/nonexistent/linux"], "/nonexistent/linux: no such directory"),
    (["kernel", "prepare", "TREE", "--config", "/nonexistent.config"], "--config /nonexistent.config: no such file"),
    (["kernel", "prepare", "TREE", "-j", "0"], "-j must be at least 1"),
    (["kernel", "command", "TREE", "--arch", "x86_64"], "x86_64: not prepared: run `bitlayout kernel prepare"),
    (["kernel"], "give a verb"),
])
def test_cli_bad_input_is_one_line_and_exit_2(fake, capsys, argv, words):
    src, _ = fake
    code, out, err = run_cli(capsys, *[str(src) if a == "TREE" else a for a in argv])
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("bitlayout: error:")]
    assert len(lines) == 1 and words in lines[0], err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------
# Pieces


def test_normalize_keeps_cc_and_c_flags_with_absolute_paths(tmp_path):
    module = tmp_path / "m"
    line = (f"gcc -E -Wp,-MMD,{module}/.t.i.d -nostdinc -I/s/arch/x86/include -I./arch/x86/include/generated "
            "-include /s/include/linux/kconfig.h -isystem rel/dir -D__KERNEL__ -DKBUILD_MODNAME='\"t\"' "
            f"-I{module} -o {module}/bitlayout_tu.i {module}/bitlayout_tu.c")
    assert normalize(shlex.split(line), tmp_path, module) == [
        "gcc", "-nostdinc", "-I/s/arch/x86/include", f"-I{tmp_path}/arch/x86/include/generated",
        "-include", "/s/include/linux/kconfig.h", "-isystem", f"{tmp_path}/rel/dir", "-D__KERNEL__",
        '-DKBUILD_MODNAME="t"']  # the temporary module directory is gone


def test_the_cpp_line_is_found_in_make_output():
    out = ("make -C /b -f /s/Makefile x\n# CPP [M] /m/bitlayout_tu.i\n"
           "  gcc -E -nostdinc -D__KERNEL__ -o /m/bitlayout_tu.i /m/bitlayout_tu.c\nmake: Leaving\n")
    assert cpp_line(out) == "gcc -E -nostdinc -D__KERNEL__ -o /m/bitlayout_tu.i /m/bitlayout_tu.c"


def test_tu_source_includes_files_by_path_and_names_through_the_kernel(tmp_path):
    f = tmp_path / "patched.h"
    f.write_text("")
    assert tu_source([str(f), "linux/mm_types.h"]) == f'#include "{f}"\n#include <linux/mm_types.h>\n'


def test_make_error_picks_the_reason_not_the_recursion():
    out = ("make[2]: *** [scripts/Makefile.build:229: x.o] Error 1\n"
           "make[1]: *** No rule to make target 'foo_defconfig'.  Stop.\n"
           "make: *** [Makefile:236: __sub-make] Error 2\n")
    assert make_error(out) == "make[1]: *** No rule to make target 'foo_defconfig'.  Stop."
    assert make_error("a.c:1:2: error: bad\nmake: *** [x] Error 1\n") == "a.c:1:2: error: bad"
    assert make_error("") == "(no output)"
