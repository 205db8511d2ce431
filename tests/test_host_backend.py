"""bitlayout.backends.host: the cffi shim agrees with the model, byte for byte.

Every host word width (8, 16, 32, 64 bits) behaves like an arch with that
BITS_PER_LONG and the host's byte order; the model predicts each probe's
values for that geometry and the shim must report exactly them, including
which guard-word bits an out-of-bounds access changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitlayout import bitmap, probes
from bitlayout.errors import ShimError

G = probes.GUARD_WORDS
LITTLE = sys.byteorder == "little"
WIDTHS = (8, 16, 32, 64)


@pytest.fixture(scope="module")
def host():
    try:
        from bitlayout.backends import host as mod

        mod.host_info()
    except Exception as exc:  # noqa: BLE001 - no compiler / headers: skip with the hint
        pytest.skip(f"cannot build the cffi shim ({type(exc).__name__}: {exc}); "
                    "install a C compiler and Python headers: apt-get install gcc python3-dev")
    return mod


def geom(w, n):
    return bitmap.BitmapGeometry(w // 8, n, LITTLE, 8)


def agree(host, probe, w, **params):
    req = probes.make_request(probe, w=w, **params)
    obs = host.run(req)
    want = bitmap.predict_values(geom(w, req.params["n"]), probe, req.params, G)
    assert obs.values == want, (req.to_line(), obs.values, want)
    return obs


# --- strategies -------------------------------------------------------------


@st.composite
def op_lists(draw, w, n):
    in_guards = (n + G) * w
    ops = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(("bit", "bit", "bit", "bulk", "b")))
        if kind == "bit":
            ops.append([draw(st.sampled_from(probes.BIT_OPS)),
                        draw(st.one_of(st.integers(0, n * w - 1), st.integers(0, in_guards - 1)))])
        elif kind == "bulk":
            ops.append([draw(st.sampled_from(probes.BULK_OPS)), draw(st.integers(0, n * w))])
        else:
            ops.append([draw(st.sampled_from(probes.B_OPS)), draw(st.integers(0, n * w - 1))])
    return ops


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties: model == shim ----------------------------------------------


@pytest.mark.parametrize("w", WIDTHS)
@PROPS
@given(data=st.data())
def test_random_bitop_sequences(host, w, data):
    n = data.draw(st.integers(1, 6))
    agree(host, "ops", w, n=n, ops=data.draw(op_lists(w, n)))


@pytest.mark.parametrize("w", WIDTHS)
@PROPS
@given(data=st.data())
def test_images_and_guards(host, w, data):
    """__set_bit past the end changes exactly the guard bits the model says, no others."""
    n = data.draw(st.integers(1, 6))
    bits = data.draw(st.lists(st.integers(0, (n + G) * w - 1), max_size=12))
    obs = agree(host, "image", w, n=n, bits=bits)
    oob = bitmap.out_of_bounds(geom(w, n), bits)
    hits = {(g["index"], b) for g in obs.values["guards"] for b in g["bits"]}
    assert hits == {(bitmap.oob_effect(geom(w, n), nr).index, nr % w) for nr in oob}


@pytest.mark.parametrize("w", WIDTHS)
@PROPS
@given(data=st.data())
def test_oob_reads(host, w, data):
    n = data.draw(st.integers(1, 4))
    bits = data.draw(st.lists(st.integers(0, n * w - 1), max_size=8))
    reads = data.draw(st.lists(st.integers(0, (n + G) * w - 1), max_size=12))
    agree(host, "oob_read", w, n=n, bits=bits, reads=reads)


@pytest.mark.parametrize("w", WIDTHS)
@PROPS
@given(data=st.data())
def test_arr64_and_find(host, w, data):
    n = data.draw(st.integers(1, 6))
    nbits = data.draw(st.integers(0, n * w))
    bits = data.draw(st.lists(st.integers(0, n * w - 1), max_size=16))
    agree(host, "arr64", w, n=n, nbits=nbits, bits=bits)
    starts = data.draw(st.lists(st.integers(0, n * w + 10), max_size=6))
    agree(host, "find", w, n=n, nbits=nbits, bits=bits, starts=starts)


# --- headline facts through the shim -------------------------------------------


def test_set_bit_41_hits_the_guard_on_32_bit_words_only(host):
    assert host.run("image", w=32, n=1, bits=[41]).values["guards"] == [{"side": "after", "index": 0, "bits": [9]}]
    assert host.run("image", w=64, n=1, bits=[41]).values["guards"] == []
    obs = host.run("oob_read", w=32, n=1, bits=[], reads=[41, 43, 5])
    assert obs.values == {"reads": [1, 1, 0], "guard_reads": [41, 43]}


def test_observations_compare_values_not_evidence(host):
    a = host.run("image", w=16, n=2, bits=[3])
    b = probes.parse_response_line(host.run_raw_line("image w=16 n=2 bits=3"))
    assert a == b
    assert a.params == {"w": 16, "n": 2, "bits": [3]}
    assert a.evidence["backend"] == "host" and a.evidence["word_bits"] == 16


def test_info(host):
    info = host.host_info()
    assert info["little_endian"] == LITTLE
    assert info["guard_words"] == G and info["max_words"] == probes.MAX_WORDS


# --- bad input: an exception naming the value, never a crash --------------------


@pytest.mark.parametrize("probe, params, text", [
    ("image", dict(w=32, n=1, bits=[32 * 9]), "288"),
    ("image", dict(w=12, n=1, bits=[1]), "12"),
    ("image", dict(w=32, n=0, bits=[1]), "n = 0"),
    ("image", dict(w=32, n=65, bits=[1]), "65"),
    ("image", dict(w=32, n=1, bits=[-1]), "-1"),
    ("image", dict(w=32, n=1, bits=["x"]), "'x'"),
    ("ops", dict(w=8, n=1, ops=[["fill", 9]]), "9"),
    ("ops", dict(w=8, n=1, ops=[["explode", 1]]), "'explode'"),
    ("ops", dict(w=8, n=1, ops=[["bset", 8]]), "8"),
    ("arr64", dict(w=8, n=1, nbits=9, bits=[]), "9"),
    ("tear", dict(w=32, n=2, ms=0, max=10), "ms = 0"),
    ("tear", dict(w=32, n=2, ms=10, max=10, mode="diagonal"), "'diagonal'"),
    ("lost_update", dict(w=8, threads=9, ms=10, max=10), "9"),
    ("lost_tag", dict(threads=3, align=4, ms=10, max=10), "align = 4"),
    ("alloc", dict(size=8, align=3, slab_minalign=8, kmalloc_minalign=8), "3"),
    ("nope", dict(), "'nope'"),
    ("image", dict(w=32, n=1, bits=[1], colour=3), "'colour'"),
])
def test_bad_arguments_raise_shim_error(host, probe, params, text):
    with pytest.raises(ShimError) as info:
        host.run(probe, **params)
    assert text in str(info.value)


@pytest.mark.parametrize("line, text", [
    ("image w=32 n=1 bits=999", "999"),
    ("image w=32 n=1000 bits=1", "1000"),
    ("ops w=8 n=1 ops=fill:99", "fill:99"),
    ("tear w=32 n=2 ms=0 max=1", "ms"),
    ("image w=32 n=1 bits=1x", "1x"),
    ("IMAGE", "0x49"),
    ("image w=32 n=1 bits=" + "1," * 300 + "1", "too many"),
    ("lost_tag threads=4 align=8 ms=1 max=1", "align"),
    ("alloc size=0 align=8 slab_minalign=8 kmalloc_minalign=8", "size=0"),
])
def test_the_c_side_refuses_bad_lines_too(host, line, text):
    """The driver reads untrusted stdin: C validates independently of Python."""
    resp = json.loads(host.run_raw_line(line))
    assert resp["ok"] is False
    assert text in resp["error"]
    with pytest.raises(ShimError, match="failed in the shim"):
        probes.parse_response_line(host.run_raw_line(line))


def test_parallel_builds_share_one_cache(tmp_path):
    """Two processes building the cffi module at once both succeed, one directory remains."""
    code = textwrap.dedent("""
        import sys
        from bitlayout import _ffi_build
        print(_ffi_build.build())
    """)
    env = {"BITLAYOUT_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    import os

    env = {**os.environ, **env}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    if any(p.returncode for p in procs):
        pytest.skip(f"cffi build failed (no compiler?): {outs[0][1][-300:]}")
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1
    assert [p.name for p in tmp_path.iterdir()] == [next(iter(paths)).split("/")[-2]]
