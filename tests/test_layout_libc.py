"""The libc's own headers as test material: every type they define laid out by the model equals
what the profile's compiler wrote to DWARF, on every arch with a compiler (glibc from Debian's
cross sysroots for the GCC profiles, musl from zig for the clang ones).

CI: one translation unit of commonly used headers per arch (one compile each).  The long run,
``BITLAYOUT_LIBC_ALL=1``, includes every header of the arch's sysroot alone (top level and
``sys/``, ``netinet/``, ``arpa/``, ``net/`` ...): where the compiler accepts it, every type must
equal DWARF; where the compiler refuses it (``bits/`` headers that ``#error`` when included
directly), bitlayout must refuse it too.  ``BITLAYOUT_USR_INCLUDE_ALL=1``: the same on x86_64 for
every header the machine's other -dev packages put under /usr/include.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bitlayout import layout, toolchains
from bitlayout.backends import compiled
from bitlayout.errors import BitlayoutError

from test_layout_support import ARCH_NAMES, diff_contracts, profile, require_compiler

COMMON = ["stdint.h", "stddef.h", "stdlib.h", "stdio.h", "string.h", "wchar.h", "pthread.h", "signal.h",
          "time.h", "sys/types.h", "sys/stat.h", "sys/socket.h", "netinet/in.h", "arpa/inet.h", "termios.h",
          "tgmath.h", "stdatomic.h", "malloc.h", "resolv.h", "syslog.h", "err.h", "dirent.h", "poll.h",
          "sys/time.h", "sys/resource.h", "sys/uio.h", "netdb.h", "setjmp.h", "fenv.h", "inttypes.h"]
SUBDIRS = ("", "sys", "netinet", "arpa", "net", "scsi", "rpc", "protocols", "netpacket")


def _compare(arch: str, header: Path) -> list[str]:
    p = profile(arch)
    model = layout.layout_headers([header], p)
    names = model.tu.defined_type_names(everything=True)
    observed = compiled.compiled_layout([header], p, names)
    return diff_contracts(model.to_contract(names), observed)


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_common_libc_headers_match_the_compiler(arch, tmp_path):
    require_compiler(profile(arch))
    h = tmp_path / "libc.h"
    h.write_text("".join(f"#include <{name}>\n" for name in COMMON))
    model = layout.layout_headers([h], profile(arch))
    names = model.tu.defined_type_names(everything=True)
    assert len(names) > 150, len(names)  # the libc's types really were read
    assert not model.unsupported
    observed = compiled.compiled_layout([h], profile(arch), names)
    problems = diff_contracts(model.to_contract(names), observed)
    assert problems == [], f"{len(problems)} differences on {arch}: {problems[:5]}"


def _sysroot_headers(p) -> list[str]:
    comp = toolchains.find_compiler(p)
    proc = subprocess.run([*comp.argv, *comp.cflags, "-E", "-v", "-x", "c", "/dev/null"], capture_output=True,
                          text=True)
    dirs, on = [], False
    for line in proc.stderr.splitlines():
        if line.startswith("#include <...>"):
            on = True
        elif line.startswith("End of search"):
            on = False
        elif on and "gcc" not in line and "lib/include" not in line:
            dirs.append(Path(line.strip()))
    out = []
    for d in dirs:
        for sub in SUBDIRS:
            out += [str(f.relative_to(d)) for f in sorted((d / sub).glob("*.h"))]
    return out


# Headers the compiler refuses only for what a function body holds: bitlayout reads past bodies
# (docs/cfront.md, "What GCC rejects is rejected"), so it lays these out.  Each entry must still
# disagree, for the reason given (a word of the compiler's message), or the test fails: an entry
# that stops disagreeing is removed.
BODY_ONLY_REFUSALS = {
    # zig's generic glibc ships x86's <sys/io.h>; clang checks its `asm` constraints ("=a") at once
    ("sparc", "sys/io.h"): "constraint",
}


@pytest.mark.skipif(not os.environ.get("BITLAYOUT_LIBC_ALL"), reason="long run: BITLAYOUT_LIBC_ALL=1")
@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_every_sysroot_header_alone_is_accepted_and_exact_or_refused_like_the_compiler(arch, tmp_path):
    p = profile(arch)
    comp = require_compiler(p)
    disagreements = []
    headers = _sysroot_headers(p)
    for rel in headers:
        src = tmp_path / "one.h"
        src.write_text(f"#include <{rel}>\n")
        # (zig's clang cannot -fsyntax-only: it renames an output it did not write)
        cc = toolchains.run_compiler([*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", "-x", "c", str(src),
                                      "-o", str(tmp_path / "one.o")], timeout=120, what="syntax check")
        cc_ok = cc.returncode == 0
        known = BODY_ONLY_REFUSALS.get((arch, rel))
        try:
            problems = _compare(arch, src) if cc_ok else None
            if not cc_ok:
                layout.layout_headers([src], p)
                if known is None or known not in cc.stderr:
                    disagreements.append(f"{rel}: the compiler refuses it, bitlayout laid it out")
                continue
            if known is not None:
                disagreements.append(f"{rel}: listed in BODY_ONLY_REFUSALS, but the compiler accepts it now")
            elif problems:
                disagreements.append(f"{rel}: {problems[:3]}")
        except BitlayoutError as exc:
            if cc_ok:
                disagreements.append(f"{rel}: the compiler accepts it, bitlayout says {exc}")
            elif known is not None:
                disagreements.append(f"{rel}: listed in BODY_ONLY_REFUSALS, but bitlayout refuses it too now")
    listed = {rel for a, rel in BODY_ONLY_REFUSALS if a == arch}
    missing = listed - set(headers)
    assert disagreements == [] and not missing, (disagreements, f"listed, not in the sysroot: {sorted(missing)}")


def _third_party_headers() -> list[str]:
    """Headers under /usr/include (three levels deep) that neither the libc nor the kernel's UAPI
    installed: what the machine's -dev packages brought (X11, GL, curses, nss, readline, zlib ...).
    C++-only and compiler-internal trees are left out (GCC in C mode refuses them as bitlayout
    does, at length)."""
    found = []
    for depth in ("*.h", "*/*.h", "*/*/*.h"):
        for f in sorted(Path("/usr/include").glob(depth)):
            rel = str(f.relative_to("/usr/include"))
            if not rel.startswith(("x86_64-linux-gnu/", "c++/", "linux/", "asm", "python3", "llvm", "clang")):
                found.append(str(f))
    owners = subprocess.run(["dpkg", "-S", *found], capture_output=True, text=True).stdout.splitlines()
    libc = {line.partition(": ")[2] for line in owners if line.startswith(("libc6-dev", "linux-libc-dev"))}
    return [f for f in found if f not in libc]


@pytest.mark.skipif(not os.environ.get("BITLAYOUT_USR_INCLUDE_ALL"), reason="long run: BITLAYOUT_USR_INCLUDE_ALL=1")
def test_every_third_party_header_alone_is_exact_or_refused_like_gcc(tmp_path):
    """The long run on other people's headers, on the host arch: each alone is either accepted by
    both bitlayout and gcc with every type equal to DWARF, or refused by both."""
    p = profile("x86_64")
    comp = require_compiler(p)
    disagreements, equal, refused = [], 0, 0
    for header in _third_party_headers():
        src = tmp_path / "one.h"
        rel = header.removeprefix("/usr/include/")
        src.write_text(f"#include <{rel}>\n")
        cc_ok = toolchains.run_compiler([*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", "-x", "c", str(src),
                                         "-o", str(tmp_path / "one.o")], timeout=120, what="gcc").returncode == 0
        try:
            model = layout.layout_headers([src], p)
        except BitlayoutError as exc:
            refused += not cc_ok
            if cc_ok:
                disagreements.append(f"{rel}: gcc accepts it, bitlayout says {exc}")
            continue
        if not cc_ok:
            disagreements.append(f"{rel}: gcc refuses it, bitlayout laid it out")
            continue
        names = model.tu.defined_type_names(everything=True)
        problems = diff_contracts(model.to_contract(names), compiled.compiled_layout([src], p, names))
        if problems:
            disagreements.append(f"{rel}: {problems[:3]}")
        else:
            equal += 1
    print(f"{equal} equal to DWARF, {refused} refused by both, {len(disagreements)} disagreements")
    assert disagreements == []
