"""The ``[kernel]`` table of the profiles: shipped values and validation errors (no make, no compiler)."""

from __future__ import annotations

import re
import tomllib

import pytest

from bitlayout.errors import ProfileError
from bitlayout.profiles import load_profiles, parse_profile

from conftest import PROFILE_DIR


def _data(name: str) -> dict:
    return tomllib.loads((PROFILE_DIR / f"{name}.toml").read_text())


def _with_kernel(name: str, kernel: dict | None) -> dict:
    data = _data(name)
    if kernel is None:
        data.pop("kernel")
    else:
        data["kernel"] = kernel
    return data


def test_every_shipped_profile_has_a_kernel_table():
    for p in load_profiles(PROFILE_DIR):
        assert "kernel" in _data(p.name), p.name
        assert p.kernel.source.strip() or p.kernel.unsupported.strip(), p.name


def test_srcarch_of_every_supported_profile_is_its_kernel_arch():
    for p in load_profiles(PROFILE_DIR):
        if p.kernel.supported:
            assert p.kernel.srcarch == p.kernel_arch, p.name


def test_the_abi_switches_are_where_they_belong():
    by_name = {p.name: p.kernel for p in load_profiles(PROFILE_DIR)}
    assert by_name["x32"].supported is False
    assert "x86_64" in by_name["x32"].unsupported
    assert (by_name["x86_64"].arch, by_name["i386"].arch) == ("x86_64", "i386")
    assert by_name["armeb"].fragment == ("CONFIG_CPU_BIG_ENDIAN=y",)
    assert by_name["aarch64_be"].fragment == ("CONFIG_CPU_BIG_ENDIAN=y",)
    assert by_name["arm"].fragment == () and by_name["aarch64"].fragment == ()
    assert [by_name[n].config for n in ("mips", "mipsel", "mips64", "mips64el")] == [
        "32r2_defconfig", "32r2el_defconfig", "64r2_defconfig", "64r2el_defconfig"]
    assert [by_name[n].config for n in ("ppc", "ppc64", "ppc64le")] == [
        "pmac32_defconfig", "ppc64_defconfig", "ppc64le_defconfig"]
    assert (by_name["sparc"].arch, by_name["sparc64"].arch) == ("sparc", "sparc64")
    assert by_name["riscv32"].config == "rv32_defconfig"
    assert by_name["parisc"].config == "generic-32bit_defconfig"
    assert by_name["hexagon"].llvm is True


def test_every_cross_prefix_ends_in_a_dash():
    for p in load_profiles(PROFILE_DIR):
        if p.kernel.supported and not p.kernel.llvm:
            assert re.fullmatch(r"[a-z0-9_]+(-[a-z0-9_]+)+-", p.kernel.cross_compile), p.name


def test_a_profile_without_the_table_is_unsupported_naming_its_file():
    p = parse_profile("my/arm.toml", _with_kernel("arm", None))
    assert not p.kernel.supported
    assert "my/arm.toml" in p.kernel.unsupported


@pytest.mark.parametrize("kernel, key, words", [
    ({"arch": "arm64", "config": "defconfig", "cross_compile": "aarch64-linux-gnu-"},
     "kernel.arch", "builds arch/arm64, but kernel_arch = 'arm'"),
    ({"arch": "arm", "config": "multi_v7", "cross_compile": "arm-linux-gnueabi-"},
     "kernel.config", "expected 'defconfig' or '<name>_defconfig'"),
    ({"arch": "arm", "config": "defconfig"}, "kernel.cross_compile", "missing key"),
    ({"arch": "arm", "config": "defconfig", "cross_compile": "arm-linux-gnueabi"},
     "kernel.cross_compile", "ending in '-'"),
    ({"arch": "arm", "config": "defconfig", "cross_compile": "arm-linux-gnueabi-", "fragment": ["CPU_BIG_ENDIAN=y"]},
     "kernel.fragment[0]", "CONFIG_NAME=value"),
    ({"arch": "arm", "config": "defconfig", "cross_compile": "arm-linux-gnueabi-", "fragment": "CONFIG_X=y"},
     "kernel.fragment", "expected list"),
    ({"arch": "arm", "config": "defconfig", "cross_compile": "arm-linux-gnueabi-", "endian": "big"},
     "kernel.endian", "unknown key 'endian'"),
    ({"unsupported": ""}, "kernel.unsupported", "must say why"),
    ({"unsupported": "no such kernel", "arch": "arm"}, "kernel.arch", "contradicts kernel.unsupported"),
    ({"arch": "arm", "config": "defconfig", "llvm": "yes"}, "kernel.llvm", "expected bool"),
])
def test_a_bad_kernel_table_is_one_error_naming_file_and_key(kernel, key, words):
    with pytest.raises(ProfileError) as exc:
        parse_profile("p/arm.toml", _with_kernel("arm", kernel))
    message = str(exc.value)
    assert message.startswith(f"p/arm.toml [{key}]: "), message
    assert words in message
    assert "\n" not in message


def test_a_fragment_may_switch_an_option_off():
    p = parse_profile("p/arm.toml", _with_kernel("arm", {
        "arch": "arm", "config": "multi_v7_defconfig", "cross_compile": "arm-linux-gnueabi-",
        "fragment": ["# CONFIG_ARM_LPAE is not set", "CONFIG_CPU_BIG_ENDIAN=y"]}))
    assert p.kernel.fragment == ("# CONFIG_ARM_LPAE is not set", "CONFIG_CPU_BIG_ENDIAN=y")
