"""Real kernel trees from Debian's packages: the Kbuild command, -E -dD, and the compiler's DWARF
layout of a kernel TU, checked against the same compiler's own ``offsetof``/``sizeof``.

- ``linux-source-6.12``: ``$BITLAYOUT_KERNEL_SRC``, else the tarball in /usr/src unpacked once into
  ``<user cache>/kernel-src/`` (~25 s), then prepared for x86_64 once (``bitlayout kernel prepare``,
  ~25 s; reused afterwards).
- a prepared ``linux-headers-6.1.*-amd64`` tree: ``$BITLAYOUT_KERNEL_HEADERS``, else the installed
  ``/usr/src/linux-headers-6.1*-amd64``.

Skipped with the install command when the package is absent.  Nothing here needs the layout
engine to parse kernel C (that is the lead's front-end work); these tests pin the material it
will be compared with.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bitlayout.backends.compiled import contract_assertions
from bitlayout.cachedir import user_cache_dir
from bitlayout.errors import KernelNotPrepared, ToolchainError
from bitlayout.kernel import find_tree, kernel_command, kernel_compile_debug, kernel_preprocess, prepare_arches
from bitlayout.kernel.facts import kernel_compiled_layout
from bitlayout.profiles import profile_by_name

TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
SOURCE_HINT = ("linux-source-6.12 not installed: apt-get install -y linux-source-6.12 bc flex bison libssl-dev "
               "libelf-dev (or set BITLAYOUT_KERNEL_SRC to a kernel source tree)")
HEADERS_HINT = ("no prepared linux-headers-6.1 tree: apt-get install -y linux-headers-amd64 "
                "(or set BITLAYOUT_KERNEL_HEADERS to a linux-headers-*-amd64 directory)")
# The TU issue 10 and 11 name, and the structs kernel developers ask about.
TU_HEADERS = ["linux/mm_types.h", "linux/sched.h", "linux/fs.h", "linux/skbuff.h"]
STRUCTS = ["struct vm_area_struct", "struct page", "struct folio", "struct mm_struct", "struct task_struct",
           "struct inode", "struct sk_buff"]


def _unpacked_source() -> Path:
    """The 6.12 tree, unpacked from Debian's tarball once (locked: xdist workers share it)."""
    root = user_cache_dir() / "kernel-src"
    tree = root / "linux-source-6.12"
    if (tree / "Makefile").is_file():
        return tree
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".unpack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (tree / "Makefile").is_file():
            tmp = root / f".unpack-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            subprocess.run(["tar", "-xJf", str(TARBALL), "-C", str(tmp)], check=True)
            os.replace(tmp / "linux-source-6.12", tree)
            shutil.rmtree(tmp, ignore_errors=True)
    return tree


@pytest.fixture(scope="module")
def x86_64_source():
    """(tree, profile) of linux-source-6.12 prepared for x86_64."""
    given = os.environ.get("BITLAYOUT_KERNEL_SRC")
    if given:
        src = Path(given)
    elif TARBALL.is_file():
        src = _unpacked_source()
    else:
        pytest.skip(SOURCE_HINT)
    profile = profile_by_name("x86_64")
    if shutil.which(profile.kernel.cross_compile + "gcc") is None or shutil.which("make") is None:
        pytest.skip(f"{profile.kernel.cross_compile}gcc or make not found: apt-get install -y gcc make")
    tree = find_tree(src)
    [out] = prepare_arches(tree, [profile], jobs=2)
    assert out.status in ("prepared", "reused"), out.message
    return tree, profile


@pytest.fixture(scope="module")
def amd64_headers():
    given = os.environ.get("BITLAYOUT_KERNEL_HEADERS")
    found = [Path(given)] if given else sorted(Path("/usr/src").glob("linux-headers-6.1*-amd64"))
    if not found:
        pytest.skip(HEADERS_HINT)
    return find_tree(found[-1]), profile_by_name("x86_64")


def _assert_kbuild_command(argv, tree, build):
    assert "-nostdinc" in argv and "-D__KERNEL__" in argv
    forced = [Path(argv[i + 1]) for i, a in enumerate(argv) if a == "-include"]
    assert forced == [tree.source / "include/linux" / n for n in ("compiler-version.h", "kconfig.h",
                                                                   "compiler_types.h")]
    for d in (tree.source / "arch/x86/include", build / "arch/x86/include/generated", tree.source / "include",
              build / "include", tree.source / "arch/x86/include/uapi", build / "arch/x86/include/generated/uapi"):
        assert f"-I{d}" in argv, d
    assert "-m64" in argv and "-mcmodel=kernel" in argv  # arch/x86/Makefile's ABI flags


def test_the_captured_command_is_kbuilds(x86_64_source):
    tree, profile = x86_64_source
    argv = kernel_command(tree, profile)
    from bitlayout.kernel.prepare import cache_build_dir

    _assert_kbuild_command(argv, tree, cache_build_dir(tree, profile))
    assert argv[0] == "x86_64-linux-gnu-gcc" and "-E" not in argv


def test_preprocessing_keeps_the_macros_and_the_kernel_paths(x86_64_source):
    tree, profile = x86_64_source
    text = kernel_preprocess(tree, profile, ["linux/mm_types.h"])
    assert "#define _LINUX_MM_TYPES_H" in text  # -dD: the definitions stay
    assert "struct vm_area_struct {" in text
    assert f'"{tree.source}/include/linux/mm_types.h"' in text  # line markers name the tree's files


def test_dwarf_of_the_kernel_tu_is_what_the_compiler_computes(x86_64_source):
    tree, profile = x86_64_source
    facts = kernel_compiled_layout(tree, profile, TU_HEADERS)["types"]
    assert len(facts) > 1000
    assert set(STRUCTS) <= set(facts)
    anon_vma = next(m for m in facts["struct vm_area_struct"]["members"] if m["name"] == "anon_vma")
    assert anon_vma["size_bits"] == 64
    checks, count = contract_assertions(facts, STRUCTS)
    assert count > 400
    includes = "".join(f"#include <{h}>\n" for h in TU_HEADERS)
    kernel_compile_debug(tree, profile, Path(os.devnull), source=includes + checks)
    size = facts["struct vm_area_struct"]["size"]
    wrong = checks.replace(f"sizeof(struct vm_area_struct) == {size},", f"sizeof(struct vm_area_struct) == {size + 8},")
    with pytest.raises(ToolchainError, match="sizeof struct vm_area_struct"):  # the check can fail
        kernel_compile_debug(tree, profile, Path(os.devnull), source=includes + wrong)


def test_a_debian_headers_tree_gives_the_same_kind_of_command(amd64_headers):
    tree, profile = amd64_headers
    assert tree.kind == "headers"
    _assert_kbuild_command(kernel_command(tree, profile), tree, tree.build)
    with pytest.raises(KernelNotPrepared, match="is prepared for a 64-bit"):
        kernel_command(tree, profile_by_name("i386"))


def test_dwarf_of_the_headers_tree_tu(amd64_headers):
    tree, profile = amd64_headers
    facts = kernel_compiled_layout(tree, profile, TU_HEADERS)["types"]
    assert set(STRUCTS) <= set(facts) and len(facts) > 1000
