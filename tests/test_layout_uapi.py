"""A corpus of real headers: 62 Linux UAPI headers from the host's /usr/include/linux, as ONE
translation unit per arch, laid out by the model and by the arch's compiler, compared field by
field.  Foreign arches get asm/ from tests/headers/uapi-shim (asm-generic; see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_layout_support import (ARCH_NAMES, HEADERS_DIR, compiler_contract, counts, diff_contracts,
                                 model_contract, profile, require_compiler)

UAPI = ("aio_abi bpf btrfs can cdrom dm-ioctl elf fb fiemap filter fs futex if_ether if_link if_packet in in6 "
        "inotify io_uring ip ipv6 loop netlink perf_event rtnetlink seccomp serial stat tcp time_types udp "
        "usbdevice_fs userfaultfd vfio watchdog xattr blkzoned capability eventpoll fanotify gpio hdreg i2c "
        "if_tun landlock mman mount nbd openat2 rseq sched sem msg tipc virtio_net psample btf neighbour "
        "pkt_sched batadv_packet cciss_defs cciss_ioctl").split()  # the last three use #pragma pack
UAPI_HEADERS = tuple(f"/usr/include/linux/{h}.h" for h in UAPI)
INCLUDES = (str(HEADERS_DIR / "uapi-shim"), "/usr/include")


def _require_uapi():
    missing = [h for h in UAPI_HEADERS if not Path(h).is_file()]
    if missing:
        pytest.skip(f"Linux UAPI headers missing ({missing[0]}...); install: apt-get install -y linux-libc-dev")


def test_corpus_is_big_enough():
    assert len(UAPI_HEADERS) >= 30


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_uapi_corpus_matches_compiler(arch):
    _require_uapi()
    require_compiler(profile(arch))
    model = model_contract(arch, UAPI_HEADERS, INCLUDES)
    ntypes, nmembers = counts(model)
    assert ntypes >= 600 and nmembers >= 3000, (ntypes, nmembers)
    observed = compiler_contract(arch, UAPI_HEADERS, tuple(model["types"]), INCLUDES)
    problems = diff_contracts(model, observed)
    assert problems == [], f"{len(problems)} differences on {arch}, first: {problems[:5]}"


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_uapi_corpus_builtin_preprocessor_matches_compiler(arch):
    """The built-in preprocessor (fed the profile's predefined macros) gives the same layouts as
    the arch's compiler -E for every type the compiler route lists (the Debian GCCs find some
    linux/ headers in their own sysroot first, so they list fewer types)."""
    _require_uapi()
    require_compiler(profile(arch))
    builtin = model_contract(arch, UAPI_HEADERS, INCLUDES, builtin=True)
    via_compiler = model_contract(arch, UAPI_HEADERS, INCLUDES)
    assert set(via_compiler["types"]) <= set(builtin["types"])
    assert {k: builtin["types"][k] for k in via_compiler["types"]} == via_compiler["types"]
