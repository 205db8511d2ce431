"""Small fake kernel trees and a fake ``make`` for the kernel tests (no real kernel needed).

The fake make understands what ``bitlayout.kernel`` asks of Kbuild: a ``*defconfig`` target writes
``.config``, ``olddefconfig`` keeps it, ``prepare`` writes the generated headers, and
``M=<dir> V=1 <name>.i`` prints a CPP line shaped like Kbuild's (relative ``-I./...`` paths, the
forced includes, ``-Wp,-MMD``, ``-o``).  ``FAKE_MAKE_MODE`` makes it misbehave: ``fail-config``
(no such defconfig), ``drop-fragment`` (olddefconfig drops appended lines), ``no-command`` (the
``.i`` rule prints nothing and fails), ``m32`` (the printed command builds 32-bit).  Every call is
appended to ``$FAKE_MAKE_LOG``.
"""

from __future__ import annotations

import os
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

# The fake make prints a command for this compiler: the real host gcc answers -dM -E and -c.
HOST_CC = "x86_64-linux-gnu-gcc"

FAKE_MAKE = textwrap.dedent('''\
    #!/usr/bin/env python3
    import os, sys
    from pathlib import Path
    args = sys.argv[1:]
    log = os.environ.get("FAKE_MAKE_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(" ".join(args) + "\\n")
    mode = os.environ.get("FAKE_MAKE_MODE", "")
    cdir = Path(args[args.index("-C") + 1]) if "-C" in args else Path.cwd()
    src = Path(args[args.index("-f") + 1]).parent if "-f" in args else cdir
    var = dict(a.split("=", 1) for a in args if "=" in a and not a.startswith("-"))
    build = Path(var.get("O", cdir))
    arch = var.get("ARCH", "")
    srcarch = {"x86_64": "x86", "i386": "x86"}.get(arch, arch)
    targets = [a for a in args if "=" not in a and not a.startswith("-") and a not in (str(cdir), str(src) + "/Makefile")]
    for t in targets:
        if t.endswith("defconfig") and t != "olddefconfig":
            if mode == "fail-config":
                print(f"make[1]: *** No rule to make target '{t}'.  Stop.")
                print("make: *** [Makefile:236: __sub-make] Error 2")
                sys.exit(2)
            build.mkdir(parents=True, exist_ok=True)
            (build / ".config").write_text("CONFIG_64BIT=y\\nCONFIG_X86_64=y\\n")
        elif t == "olddefconfig":
            if mode == "drop-fragment":
                (build / ".config").write_text("CONFIG_64BIT=y\\n")
        elif t == "prepare":
            for rel in ("include/generated", "include/config", f"arch/{srcarch}/include/generated"):
                (build / rel).mkdir(parents=True, exist_ok=True)
            (build / "include/generated/autoconf.h").write_text("#define CONFIG_64BIT 1\\n")
            (build / "include/config/auto.conf").write_text("CONFIG_64BIT=y\\n")
        elif t.endswith(".i"):
            if mode == "no-command":
                print("make[2]: *** No rule to make target 'x'.  Stop.")
                sys.exit(2)
            m = var["M"]
            name = t[:-2]
            cc = var.get("CROSS_COMPILE", "") + "gcc"
            bits = "-m32" if mode == "m32" else "-m64"
            print(f"make -f {src}/scripts/Makefile.build obj={m} {m}/{t}")
            print(f"  {cc} -E -Wp,-MMD,{m}/.{name}.i.d -nostdinc -I{src}/arch/{srcarch}/include "
                  f"-I./arch/{srcarch}/include/generated -I{src}/include -I./include "
                  f"-include {src}/include/linux/compiler-version.h -include {src}/include/linux/kconfig.h "
                  f"-include {src}/include/linux/compiler_types.h -D__KERNEL__ {bits} -std=gnu11 "
                  f"-DKBUILD_MODNAME='\\"{name}\\"' -o {m}/{t} {m}/{name}.c")
        else:
            print(f"make: *** No rule to make target '{t}'.  Stop.")
            sys.exit(2)
    ''')


def make_source_tree(root: Path, version: tuple[int, int, int] = (6, 12, 0)) -> Path:
    """A directory that passes for a kernel source tree (Makefile, arch/, include/linux/)."""
    root.mkdir(parents=True, exist_ok=True)
    v, p, s = version
    (root / "Makefile").write_text(f"# SPDX\nVERSION = {v}\nPATCHLEVEL = {p}\nSUBLEVEL = {s}\nEXTRAVERSION =\n")
    for rel in ("arch/x86/include/asm", "arch/arm64/include/asm", "include/linux", "include/uapi/linux",
                "include/asm-generic"):
        (root / rel).mkdir(parents=True, exist_ok=True)
    for name in ("compiler-version.h", "kconfig.h", "compiler_types.h"):
        (root / "include/linux" / name).write_text("/* forced include */\n")
    (root / "include/linux/mm_types.h").write_text(
        "#ifndef _MM_TYPES_H\n#define _MM_TYPES_H\n#define VM_READ 0x1\n"
        "struct vm_area_struct { unsigned long vm_start; void *anon_vma; };\n#endif\n")
    (root / "arch/x86/include/asm/page.h").write_text("#define PAGE_SHIFT 12\n")
    (root / "include/asm-generic/rwonce.h").write_text("/* generic */\n")
    return root


def make_headers_pair(root: Path, flavour: str = "amd64", srcarch: str = "x86", config: str = "CONFIG_64BIT=y\n",
                      include_path: str | None = None) -> Path:
    """A Debian-style linux-headers-<abi>-<flavour> directory and its -common source half, side by
    side under ``root``; the flavour's Makefile names the common one by ``include_path`` (default:
    /usr/src/..., which does not exist here, as after ``dpkg -x`` into a cache)."""
    make_source_tree(root / "linux-headers-6.1.0-1-common", (6, 1, 99))
    build = root / f"linux-headers-6.1.0-1-{flavour}"
    for rel in ("include/generated", "include/config", f"arch/{srcarch}/include/generated/asm"):
        (build / rel).mkdir(parents=True, exist_ok=True)
    (build / "include/generated/autoconf.h").write_text("#define CONFIG_64BIT 1\n")
    (build / "include/config/auto.conf").write_text(config)
    (build / ".config").write_text(config)
    named = include_path or "/usr/src/linux-headers-6.1.0-1-common"
    (build / "Makefile").write_text(f"include {named}/Makefile\n")
    (build / ".kernelvariables").write_text(
        "override ARCH = x86\nCC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-12\n")
    return build


def install_fake_make(bindir: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / "make"
    path.write_text(FAKE_MAKE)
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path


def path_with(bindir: Path) -> str:
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def use_fake_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake make first on PATH (behaving: no FAKE_MAKE_MODE); returns the log of its calls.
    Skips without the host gcc the fake command names."""
    if shutil.which(HOST_CC) is None:
        pytest.skip(f"{HOST_CC} not found: apt-get install -y gcc")
    install_fake_make(tmp_path / "bin")
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    log = tmp_path / "make.log"
    monkeypatch.setenv("FAKE_MAKE_LOG", str(log))
    monkeypatch.delenv("FAKE_MAKE_MODE", raising=False)
    return log
