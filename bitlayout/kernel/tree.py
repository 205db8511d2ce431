"""Recognise a Linux kernel tree and what it has been prepared for.

Three shapes are accepted (``find_tree``):

- a source tree: the top ``Makefile`` sets ``VERSION``/``PATCHLEVEL``, with ``arch/`` and
  ``include/linux/`` next to it (Debian's ``linux-source-*`` unpacked, a git checkout);
- the same tree prepared in place (``make ARCH=.. defconfig prepare`` without ``O=``): it is then
  its own build directory for that one arch;
- a Debian ``linux-headers-<abi>-<flavour>`` directory: a prepared build directory (``.config``,
  ``include/generated/``, ``arch/<arch>/include/generated/``) whose ``Makefile`` is one line,
  ``include /usr/src/linux-headers-<abi>-common/Makefile``, naming the source half.  The pair
  counts as source and build in one; the ``-common`` directory is also found next to it when the
  packages were unpacked elsewhere (``dpkg -x`` into a cache).

A build directory is *prepared* when Kbuild's generated headers exist (``prepared_problems``).
Which ABI it was configured for is read from its ``.config`` (``config_abi``); the compiler's
own answer is checked later (``bitlayout.kernel.kbuild.check_abi``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import KernelTreeError

_MAKE_VAR = re.compile(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)\s*$", re.M)
_MAKE_INCLUDE = re.compile(r"^\s*-?include\s+(\S+/Makefile)\s*$", re.M)


@dataclass(frozen=True)
class KernelTree:
    """A kernel source tree, and the build directory that comes with it (if any)."""

    source: Path  # srctree: the top Makefile, arch/, include/
    version: str  # "6.12.118" (VERSION.PATCHLEVEL.SUBLEVEL + EXTRAVERSION)
    build: Path | None = None  # a prepared objtree shipped with the tree (Debian headers, in-place)
    kind: str = "source"  # "source" or "headers" (Debian linux-headers-*)
    given: Path | None = None  # the directory the user named

    @property
    def tree_id(self) -> str:
        """Names this tree in the cache: version + a hash of where it lives (two checkouts of
        one version are two trees)."""
        where = str((self.build or self.source).resolve())
        return f"linux-{self.version}-{hashlib.sha256(where.encode()).hexdigest()[:10]}"

    @property
    def label(self) -> str:
        return f"linux-{self.version}" + (f" ({self.build.name})" if self.kind == "headers" and self.build else "")

    def build_srcarch(self) -> str | None:
        """The arch/ directory the shipped build directory was prepared for, if there is one."""
        return prepared_srcarch(self.build) if self.build is not None else None


def read_version(makefile: Path) -> str | None:
    """``6.12.118`` from a top-level kernel Makefile, or None if it is not one."""
    try:
        text = makefile.read_text(errors="replace")[:4000]
    except OSError:
        return None
    found = dict(_MAKE_VAR.findall(text))
    if "VERSION" not in found or "PATCHLEVEL" not in found:
        return None
    parts = [found["VERSION"], found["PATCHLEVEL"]] + ([found["SUBLEVEL"]] if found.get("SUBLEVEL") else [])
    return ".".join(parts) + found.get("EXTRAVERSION", "")


def is_source_tree(path: Path) -> bool:
    return (read_version(path / "Makefile") is not None and (path / "arch").is_dir()
            and (path / "include" / "linux").is_dir())


def prepared_srcarch(build: Path) -> str | None:
    """The ``arch/<name>`` a build directory holds generated headers for (None: not prepared)."""
    arch_dir = build / "arch"
    if not arch_dir.is_dir():
        return None
    found = [d.name for d in arch_dir.iterdir() if (d / "include" / "generated").is_dir()]
    return found[0] if len(found) == 1 else None


def prepared_problems(build: Path) -> list[str]:
    """What a prepared build directory lacks ([] = prepared): the files Kbuild's ``prepare``
    writes and that every kernel TU needs."""
    missing = [rel for rel in (".config", "include/generated/autoconf.h", "include/config/auto.conf")
               if not (build / rel).is_file()]
    if prepared_srcarch(build) is None:
        missing.append("arch/<arch>/include/generated/")
    return missing


def read_dotconfig(path: Path) -> dict[str, str]:
    """``CONFIG_X`` -> value of a ``.config`` (``# CONFIG_X is not set`` -> "n")."""
    out: dict[str, str] = {}
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        if line.startswith("CONFIG_"):
            name, _, value = line.partition("=")
            out[name] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:-len(" is not set")]] = "n"
    return out


@dataclass(frozen=True)
class ConfigABI:
    """What a ``.config`` says about the ABI (None: the config has no symbol for it; the
    compiler check in ``kbuild.check_abi`` answers those)."""

    bits_per_long: int
    little_endian: bool | None

    def describe(self) -> str:
        endian = {True: "little-endian", False: "big-endian", None: ""}[self.little_endian]
        return " ".join(filter(None, (f"{self.bits_per_long}-bit", endian)))


def config_abi(dotconfig: Path) -> ConfigABI:
    cfg = read_dotconfig(dotconfig)
    bits = 64 if cfg.get("CONFIG_64BIT") == "y" else 32
    if cfg.get("CONFIG_CPU_BIG_ENDIAN") == "y":
        little = False
    elif cfg.get("CONFIG_CPU_LITTLE_ENDIAN") == "y" or cfg.get("CONFIG_CPU_BIG_ENDIAN") == "n":
        little = True
    else:
        little = None
    return ConfigABI(bits, little)


def _debian_common_dir(build: Path) -> Path | None:
    """The source half of a Debian linux-headers tree: the directory its Makefile includes, or a
    directory of the same name next to it (packages unpacked away from /usr/src)."""
    try:
        text = (build / "Makefile").read_text(errors="replace")[:2000]
    except OSError:
        return None
    m = _MAKE_INCLUDE.search(text)
    if not m:
        return None
    named = Path(m.group(1)).parent
    for candidate in (named, build.parent / named.name):
        if candidate != build and is_source_tree(candidate):
            return candidate
    return None


def find_tree(path: str | Path) -> KernelTree:
    """The kernel tree at ``path``; KernelTreeError (one line, what to give instead) otherwise."""
    given = Path(path).expanduser()
    if not given.is_dir():
        what = "not a directory" if given.exists() else "no such directory"
        raise KernelTreeError(f"{what}; give a Linux source tree or a linux-headers-* directory", path=str(given))
    root = given.resolve()
    if is_source_tree(root):
        version = read_version(root / "Makefile")
        in_place = root if not prepared_problems(root) else None
        return KernelTree(root, version, in_place, "source", given)
    if (root / "include" / "generated").is_dir() or (root / ".config").is_file():
        common = _debian_common_dir(root)
        if common is not None:
            return KernelTree(common, read_version(common / "Makefile"), root, "headers", given)
        raise KernelTreeError(
            "looks like a prepared kernel build directory, but its source tree was not found "
            "(a Debian linux-headers-*-<flavour> directory needs its linux-headers-*-common next to it); "
            "give the source tree and prepare it with `bitlayout kernel prepare SRC`", path=str(given))
    raise KernelTreeError(
        "not a kernel tree (no Makefile with VERSION/PATCHLEVEL, arch/ and include/linux/); give the top of a "
        "Linux source tree (apt-get install linux-source-6.12, then unpack /usr/src/linux-source-6.12.tar.xz) "
        "or a prepared linux-headers-* directory", path=str(given))
