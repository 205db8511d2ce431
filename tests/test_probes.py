"""bitlayout.probes and csrc/driver.c: one protocol, equal observations.

The driver built for the host must answer request lines exactly as the cffi
host backend does (same Observation, evidence aside); built for big-endian
32-bit MIPS and run under qemu-user it must show the BE32 facts the model
predicts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bitlayout import bitmap, probes
from bitlayout.errors import ShimError
from bitlayout.results import Observation

CSRC = Path(__file__).resolve().parent.parent / "csrc"


# --- requests ----------------------------------------------------------------


def test_request_line_round_trip():
    req = probes.make_request("ops", w=32, n=2, ops=[("set", 3), ["test_and_clear", 41], ("weight", 64)])
    line = probes.format_request(req)
    assert line == "ops w=32 n=2 ops=set:3,test_and_clear:41,weight:64"
    assert probes.parse_request_line(line) == req
    req = probes.make_request("tear", w=32, n=2, mode="words", readers=1, ms=50, max=1000)
    assert probes.parse_request_line(req.to_line()) == req
    req = probes.make_request("lost_update", w=32, mode="nonatomic", ms=50, max=1000, events=1)
    assert req.to_line() == "lost_update w=32 mode=nonatomic ms=50 max=1000 events=1"
    assert probes.parse_request_line(req.to_line()) == req
    assert probes.make_request("info").to_line() == "info"


def test_requests_are_plain_data():
    req = probes.make_request("image", w=16, n=1, bits=(1, 2))
    assert req.plain_params() == {"w": 16, "n": 1, "bits": [1, 2]}
    assert json.loads(json.dumps(req.plain_params())) == req.plain_params()


@pytest.mark.parametrize("probe, params, text", [
    ("image", dict(w=32, n=1, bits=[288]), "288"),
    ("image", dict(w=32, bits=[1]), "missing parameter 'n'"),
    ("oob_read", dict(w=32, n=1, reads=[288]), "288"),
    ("find", dict(w=8, n=1, nbits=8, bits=[8]), "bit 8"),
    ("ops", dict(w=8, n=1, ops=[("set",)]), "('set',)"),
    ("ops", dict(w=8, n=1, ops="set:1"), "'set:1'"),
    ("ops", dict(w=8, n=1, ops=[("set", 1)] * 257), "257"),
    ("tear", dict(mode="words", ms=5, max=5), "needs n"),
    ("alloc", dict(size=8, align=8, slab_minalign=8, kmalloc_minalign=8, page=1000), "1000"),
    ("image", dict(w=True, n=1), "True"),
    ("alloc", dict(size=1 << 20, align=8, slab_minalign=8, kmalloc_minalign=8, count=100000), "104857600000"),
    ("image", dict(w=32, n=1.5), "1.5"),
    ("lost_update", dict(w=32, mode="atomic", ms=5, max=5, events=-1), "-1"),
    ("image", dict(w=32, n=1, bits=[1], events=1), "events"),
])
def test_make_request_refuses_with_the_value(probe, params, text):
    with pytest.raises(ShimError) as info:
        probes.make_request(probe, **params)
    assert text in str(info.value)


def test_parse_request_line_errors():
    for line in ("", "image w=32 n=x", "image w32"):
        with pytest.raises(ShimError):
            probes.parse_request_line(line)


# --- responses ---------------------------------------------------------------


def test_parse_response_line():
    line = json.dumps({"probe": "image", "ok": True, "request": "image w=32 n=1 bits=41", "word_bits": 32,
                       "values": {"bytes": "00000000", "guards": [{"side": "after", "index": 0, "bits": [9]}]},
                       "evidence": {"guard_words": 8}})
    obs = probes.parse_response_line(line, {"backend": "exec"})
    assert obs == Observation("image", {"w": 32, "n": 1, "bits": [41]},
                              {"bytes": "00000000", "guards": [{"side": "after", "index": 0, "bits": [9]}]})
    assert obs.evidence == {"guard_words": 8, "word_bits": 32, "backend": "exec"}


@pytest.mark.parametrize("line, text", [
    ('{"probe": "image", "ok": false, "request": "image", "error": "bad value for n"}', "bad value for n"),
    ("Segmentation fault", "not a probe response"),
    ('{"values": {}}', "without 'probe'"),
    ("[1, 2]", "without 'probe'"),
])
def test_parse_response_line_errors(line, text):
    with pytest.raises(ShimError, match=text):
        probes.parse_response_line(line)


TEAR = {"probe": "tear", "ok": True, "id": 7, "request": "tear id=7 w=64 mode=whole ms=5 max=9", "word_bits": 64,
        "values": {"reads": 100, "torn": 0, "first_us": -1, "writes": 50}}


def test_an_answer_must_echo_the_request_and_its_id():
    sent = "tear id=7 w=64 mode=whole ms=5 max=9"
    obs = probes.parse_response_line(json.dumps(TEAR), sent=sent)
    assert obs.params == {"w": 64, "mode": "whole", "ms": 5, "max": 9}  # the id is the transport's
    assert probes.format_request(probes.parse_request_line(sent), 7) == sent


@pytest.mark.parametrize("change, text", [
    ({"id": 8}, "answer to another request"),                                            # reordered / foreign id
    ({"request": "tear id=7 w=32 mode=whole ms=5 max=9"}, "answer to another request"),  # same id, other request
    ({"id": None}, "without the request's id"),                                           # id dropped
    ({"values": {"reads": 100, "first_us": -1, "writes": 50}}, "partial answer, no torn"),
    ({"values": {"reads": -1, "torn": 0, "first_us": -1, "writes": 5}}, "reads = -1 is not a count"),
    ({"values": [1]}, "without values"),
])
def test_an_answer_that_is_not_the_one_asked_for_is_refused(change, text):
    data = {k: v for k, v in {**TEAR, **change}.items() if v is not None}
    with pytest.raises(ShimError, match=text):
        probes.parse_response_line(json.dumps(data), sent="tear id=7 w=64 mode=whole ms=5 max=9")


def test_the_shim_echoes_the_id_even_when_it_refuses_the_request():
    from bitlayout.backends import host

    try:
        host.host_info()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot build the cffi shim: {exc}; apt-get install gcc python3-dev")
    refused = json.loads(host.run_raw_line("image id=42 w=32 n=1 bits=999"))
    assert (refused["ok"], refused["id"]) == (False, 42)
    answered = json.loads(host.run_raw_line("info id=4294967295"))
    assert (answered["ok"], answered["id"], answered["request"]) == (True, 4294967295, "info id=4294967295")


# --- the driver ---------------------------------------------------------------

REQUESTS = [
    probes.make_request("info"),
    probes.make_request("image", w=32, n=2, bits=[36]),
    probes.make_request("image", w=32, n=1, bits=[41]),
    probes.make_request("image", w=64, n=1, bits=[41]),
    probes.make_request("image", w=8, n=3, bits=[0, 23, 24, 87]),
    probes.make_request("ops", w=16, n=2, ops=[("set", 3), ("test_and_set", 3), ("ntest_and_change", 40),
                                                ("bset", 1), ("or", 32), ("weight", 32), ("fill", 17),
                                                ("andnot", 20), ("subset", 32), ("intersects", 2)]),
    probes.make_request("oob_read", w=32, n=1, bits=[1], reads=[1, 41, 43, 2]),
    probes.make_request("arr64", w=32, n=2, nbits=64, bits=[0, 36]),
    probes.make_request("arr64", w=32, n=2, nbits=40, bits=[1, 50]),
    probes.make_request("find", w=8, n=3, nbits=20, bits=[3, 17], starts=[0, 4, 18, 30]),
    probes.make_request("alloc", size=24, align=8, slab_minalign=8, kmalloc_minalign=8, count=100),
]
DETERMINISTIC = [r for r in REQUESTS if r.probe not in ("info", "alloc")]


def run_driver(argv: list[str], requests, timeout=120) -> list[Observation]:
    sent = [probes.format_request(r, n) for n, r in enumerate(requests, 1)]
    text = "# comment lines and blank lines get no answer\n\n" + "".join(line + "\n" for line in sent)
    proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(requests)
    return [probes.parse_response_line(line, sent=request) for request, line in zip(sent, lines)]


@pytest.fixture(scope="module")
def host_driver(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no host C compiler: apt-get install gcc")
    out = tmp_path_factory.mktemp("driver") / "driver"
    subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", *map(str, sorted(CSRC.glob("*.c"))),
                    "-lpthread", "-o", str(out)], check=True, capture_output=True, text=True, timeout=120)
    return out


def test_driver_equals_host_backend(host_driver):
    try:
        from bitlayout.backends import host

        host.host_info()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot build the cffi shim: {exc}; apt-get install gcc python3-dev")
    from_driver = run_driver([str(host_driver)], REQUESTS)
    from_host = host.run_many(REQUESTS)
    for req, a, b in zip(REQUESTS, from_driver, from_host):
        if req.probe in ("info", "alloc"):
            assert a.params == b.params  # values may differ run to run (malloc addresses)
            continue
        assert a == b, req.to_line()


def test_driver_answers_errors_and_survives(host_driver):
    lines = "image w=32 n=1 bits=999\nnot a request!\n" + "x" * 20000 + "\ninfo\n"
    proc = subprocess.run([str(host_driver)], input=lines, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["ok"] for o in out] == [False, False, False, True]
    assert "999" in out[0]["error"] and "0x21" in out[1]["error"] and "longer" in out[2]["error"]


def zig_cc() -> list[str] | None:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "ziglang", "cc"]


@pytest.fixture(scope="module")
def mips_driver(tmp_path_factory) -> Path:
    zig = zig_cc()
    if not zig:
        pytest.skip("zig not installed: pip install ziglang")
    if not shutil.which("qemu-mips"):
        pytest.skip("qemu-mips not installed: apt-get install qemu-user")
    out = tmp_path_factory.mktemp("mips") / "driver"
    proc = subprocess.run([*zig, "-target", "mips-linux-musleabi", "-static", "-O2",
                           *map(str, sorted(CSRC.glob("*.c"))), "-lpthread", "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        pytest.skip(f"zig cross build failed: {proc.stderr[-300:]}")
    return out


def test_driver_on_be32_mips_matches_the_model(mips_driver):
    obs = run_driver(["qemu-mips", str(mips_driver)], REQUESTS)
    info = obs[0].values
    assert (info["sizeof_long"], info["little_endian"], info["default_word_bits"]) == (4, False, 32)
    for req, o in zip(REQUESTS, obs):
        if req in DETERMINISTIC:
            g = bitmap.BitmapGeometry(req.params["w"] // 8, req.params["n"], False, 4)
            assert o.values == bitmap.predict_values(g, req.probe, req.params, probes.GUARD_WORDS), req.to_line()
    # The headline facts, spelled out.
    assert obs[1].values["bytes"] == "0000000000000010"  # bit 36 in byte 7
    assert obs[2].values["guards"] == [{"side": "after", "index": 0, "bits": [9]}]
    assert obs[7].values["to_arr64"] != obs[7].values["naive_u64"]


def test_driver_default_word_is_unsigned_long(mips_driver):
    (o,) = run_driver(["qemu-mips", str(mips_driver)], [probes.make_request("image", n=1, bits=[41])])
    assert o.evidence["word_bits"] == 32
    assert o.values["guards"] == [{"side": "after", "index": 0, "bits": [9]}]


# --- every zig-reachable arch (slow: BITLAYOUT_CROSS=1 pytest -m slow) -----------------


def _zig_qemu_profiles():
    from bitlayout.profiles import load_profiles

    return [p for p in load_profiles()
            if "musl" in p.toolchain.zig_target and p.toolchain.qemu.startswith("qemu-")
            and not p.toolchain.run_blocker]


@pytest.mark.slow
@pytest.mark.parametrize("profile", _zig_qemu_profiles(), ids=lambda p: p.name)
def test_driver_matches_the_model_on_every_arch(profile, tmp_path):
    import os

    if not os.environ.get("BITLAYOUT_CROSS"):
        pytest.skip("cross builds take ~25 s per new target: set BITLAYOUT_CROSS=1 to run")
    zig = zig_cc()
    tc = profile.toolchain
    if not zig or not shutil.which(tc.qemu):
        pytest.skip(f"needs zig and {tc.qemu}: pip install ziglang; apt-get install qemu-user")
    out = tmp_path / "driver"
    proc = subprocess.run([*zig, "-target", tc.zig_target, *tc.zig_cflags, "-static", "-O2",
                           *map(str, sorted(CSRC.glob("*.c"))), "-lpthread", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-500:]
    argv = [tc.qemu, *(["-cpu", tc.qemu_cpu] if tc.qemu_cpu else []), str(out)]
    w = profile.bits_per_long
    reqs = [probes.make_request("info"),
            probes.make_request("image", w=w, n=64 // w, bits=[36]),
            probes.make_request("image", w=w, n=1, bits=[0, 41, 43]),
            probes.make_request("oob_read", w=w, n=1, reads=[41, 43]),
            probes.make_request("arr64", w=w, n=128 // w, nbits=100, bits=[0, 36, 63, 64, 99, 101]),
            probes.make_request("ops", w=w, n=2, ops=[("test_and_set", 70), ("fill", 40), ("weight", 2 * w)])]
    obs = run_driver(argv, reqs)
    info = obs[0].values
    assert (info["sizeof_long"] * 8, info["little_endian"]) == (profile.bits_per_long, profile.little_endian)
    for req, o in zip(reqs[1:], obs[1:]):
        geom = bitmap.BitmapGeometry.from_profile(profile, w // 8, req.params["n"])
        assert o.values == bitmap.predict_values(geom, req.probe, req.params, probes.GUARD_WORDS), req.to_line()
