"""Small hand-made inputs for the report tests (no arch_profiles/, no toolchain).

Profiles are built through ``profiles.parse_profile`` so they are validated
exactly like shipped ones; the numbers are the real ones of the arches named
(i386, mips, x86_64, s390x, x32) as far as the report uses them.
"""

from __future__ import annotations

from bitlayout.profiles import Profile, parse_profile
from bitlayout.results import MatrixRow


def make_profile(name: str, bits: int, little: bool, *, atomic: int | None = None,
                 ll_align: int | None = None, cacheline: int = 64, slab: int | None = None) -> Profile:
    w = bits // 8
    ll_align = ll_align if ll_align is not None else 8 if bits == 64 else 8
    scal = lambda size, align, gnu=None: {"size": size, "align": align, "gnu_align": gnu or align, "source": "fixture"}
    data = {
        "name": name, "kernel_arch": name, "description": f"fixture {name}",
        "bits_per_long": bits, "endianness": "little" if little else "big", "char_signed": True,
        "cacheline_bytes": cacheline,
        "types": {
            "_Bool": scal(1, 1), "char": scal(1, 1), "short": scal(2, 2), "int": scal(4, 4),
            "long": scal(w, w), "long_long": scal(8, ll_align, 8), "pointer": scal(w, w),
            "float": scal(4, 4), "double": scal(8, ll_align, 8), "long_double": scal(16 if bits == 64 else 12, 4 if bits == 32 else 16),
        },
        "layout": {},
        "atomicity": {"single_copy_atomic_bytes": atomic or w, "atomic64": "native" if bits == 64 else "cmpxchg8b",
                      "read_once_u64_single_access": bits == 64, "source": "fixture"},
        "allocators": {"arch_slab_minalign": slab or 8, "arch_kmalloc_minalign": 8,
                       "libc_malloc_align": 16 if bits == 64 else 8, "source": "fixture"},
    }
    return parse_profile(f"<fixture {name}>", data)


def fixture_profiles() -> list[Profile]:
    return [
        make_profile("i386", 32, True, ll_align=4),
        make_profile("mips", 32, False),
        make_profile("x86_64", 64, True),
        make_profile("s390x", 64, False, cacheline=256),
        # x32: a 32-bit long on a 64-bit CPU (8-byte single-copy atomics).
        make_profile("x32", 32, True, atomic=8),
    ]


# The VMA flag numbers the report tests use (include/linux/mm.h).
VMA_FLAGS = {
    "VMA_READ_BIT": 0, "VMA_WRITE_BIT": 1, "VMA_EXEC_BIT": 2, "VMA_LOCKED_BIT": 13,
    "VMA_HIGH_ARCH_4_BIT": 36, "VMA_UFFD_MINOR_BIT": 41, "VMA_SEALED_BIT": 42, "VMA_UFFD_RWP_BIT": 43,
}


def fixture_rows() -> list[MatrixRow]:
    return [
        MatrixRow("mips", "bit-position", "exec", "pass", "44 flags placed as predicted",
                  evidence={"toolchain": "zig mips-linux-musleabi", "emulator": "qemu-mips"}),
        MatrixRow("mips", "bit-position", "model", "pass", ""),
        MatrixRow("i386", "bit-position", "exec", "pass", "", evidence={"toolchain": "zig x86-linux-musl",
                                                                         "emulator": "native"}),
        MatrixRow("i386", "tear", "exec", "fail", "torn 870 of 1000 reads",
                  evidence={"elapsed_us": 60000, "threads": 2}),
        # host runs the shim on the build machine: evidence for bitops, not for an arch.
        MatrixRow("x86_64", "bit-position", "host", "pass", ""),
        MatrixRow("x86_64", "layout", "compiled", "pass", "compiler agrees",
                  evidence={"toolchain": "gcc 12.2.0", "compiler": "gcc", "seconds": 0.2}),
        MatrixRow("s390x", "bit-position", "exec", "skip", "qemu-s390x not installed"),
        MatrixRow("x32", "bit-position", "model", "pass", ""),
    ]


def test_fixture_profiles_have_the_classes_the_report_draws():
    assert [p.layout_class for p in fixture_profiles()] == ["LE32", "BE32", "LE64", "BE64", "LE32"]
