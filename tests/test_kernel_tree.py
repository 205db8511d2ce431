"""Recognising kernel trees: source trees, trees prepared in place, Debian linux-headers pairs."""

from __future__ import annotations


import pytest

from bitlayout.errors import KernelTreeError
from bitlayout.kernel.tree import (config_abi, find_tree, prepared_problems, prepared_srcarch, read_dotconfig,
                                   read_version)

from kernel_fakes import make_headers_pair, make_source_tree


def test_a_source_tree_is_recognised_with_its_version(tmp_path):
    src = make_source_tree(tmp_path / "linux", (6, 12, 118))
    tree = find_tree(src)
    assert (tree.kind, tree.version, tree.source, tree.build) == ("source", "6.12.118", src.resolve(), None)
    assert tree.tree_id.startswith("linux-6.12.118-")


def test_two_checkouts_of_one_version_are_two_trees(tmp_path):
    a = find_tree(make_source_tree(tmp_path / "a"))
    b = find_tree(make_source_tree(tmp_path / "b"))
    assert a.version == b.version and a.tree_id != b.tree_id


def test_extraversion_is_part_of_the_version(tmp_path):
    src = make_source_tree(tmp_path / "linux")
    (src / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 13\nSUBLEVEL = 0\nEXTRAVERSION = -rc4\n")
    assert read_version(src / "Makefile") == "6.13.0-rc4"


def test_a_tree_prepared_in_place_is_its_own_build(tmp_path):
    src = make_source_tree(tmp_path / "linux")
    for rel in ("include/generated", "include/config", "arch/arm64/include/generated"):
        (src / rel).mkdir(parents=True)
    (src / ".config").write_text("CONFIG_64BIT=y\n")
    (src / "include/generated/autoconf.h").write_text("")
    (src / "include/config/auto.conf").write_text("")
    tree = find_tree(src)
    assert tree.build == src.resolve() and tree.build_srcarch() == "arm64"


def test_a_debian_headers_pair_is_found_next_to_each_other(tmp_path):
    build = make_headers_pair(tmp_path)
    tree = find_tree(build)
    assert tree.kind == "headers"
    assert tree.build == build.resolve()
    assert tree.source == (tmp_path / "linux-headers-6.1.0-1-common").resolve()
    assert tree.version == "6.1.99"
    assert tree.build_srcarch() == "x86"


def test_a_debian_headers_pair_is_found_where_its_makefile_says(tmp_path):
    common = make_source_tree(tmp_path / "elsewhere" / "common-tree", (6, 1, 5))
    build = make_headers_pair(tmp_path / "pkg", include_path=str(common))
    assert find_tree(build).source == common.resolve()


@pytest.mark.parametrize("make", ["missing", "file", "plain dir"])
def test_what_is_not_a_tree_is_one_line_saying_what_to_give(tmp_path, make):
    target = tmp_path / "x"
    if make == "file":
        target.write_text("")
    elif make == "plain dir":
        (target / "include").mkdir(parents=True)
    with pytest.raises(KernelTreeError) as exc:
        find_tree(target)
    message = str(exc.value)
    assert message.startswith(str(target)) and "\n" not in message
    assert "linux-headers" in message and ("source tree" in message)


def test_a_build_dir_without_its_source_half_says_so(tmp_path):
    build = make_headers_pair(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "linux-headers-6.1.0-1-common")
    with pytest.raises(KernelTreeError, match="its source tree was not found"):
        find_tree(build)


def test_prepared_problems_lists_what_prepare_writes(tmp_path):
    build = tmp_path / "b"
    assert prepared_problems(build) == [".config", "include/generated/autoconf.h", "include/config/auto.conf",
                                        "arch/<arch>/include/generated/"]
    build = make_headers_pair(tmp_path)
    assert prepared_problems(build) == [] and prepared_srcarch(build) == "x86"


def test_dotconfig_and_the_abi_it_names(tmp_path):
    cfg = tmp_path / ".config"
    cfg.write_text("# comment\nCONFIG_64BIT=y\n# CONFIG_CPU_BIG_ENDIAN is not set\nCONFIG_NAME=\"x y\"\n")
    assert read_dotconfig(cfg) == {"CONFIG_64BIT": "y", "CONFIG_CPU_BIG_ENDIAN": "n", "CONFIG_NAME": '"x y"'}
    abi = config_abi(cfg)
    assert (abi.bits_per_long, abi.little_endian, abi.describe()) == (64, True, "64-bit little-endian")
    cfg.write_text("CONFIG_CPU_BIG_ENDIAN=y\n")
    assert (config_abi(cfg).bits_per_long, config_abi(cfg).little_endian) == (32, False)
    cfg.write_text("CONFIG_S390=y\n")  # no endianness symbol: the compiler check decides
    assert config_abi(cfg).little_endian is None
