"""Stress probes on the host agree with the model's hazard predictions.

Where the model says tearing / a lost update / a lost tag is impossible, the
shim must observe zero, always.  Where it says possible, the observed rate is
reported (``-s`` prints it); the one case the brief requires to show up is a
two-word read on the host's 32-bit-word variant, which tears within a few
hundred milliseconds on two cores.  Each probe is bounded to <= 0.5 s.
Set BITLAYOUT_STRESS_MS to run longer.
"""

from __future__ import annotations

import os
import platform
import sys

import pytest

from bitlayout import bitmap, tagging
from bitlayout.profiles import profile_by_name

MS = int(os.environ.get("BITLAYOUT_STRESS_MS", "300"))
MAX = 50_000_000
HOST_PROFILES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64",
                 "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@pytest.fixture(scope="module")
def host():
    try:
        from bitlayout.backends import host as mod

        mod.host_info()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot build the cffi shim ({type(exc).__name__}: {exc}); "
                    "install a C compiler and Python headers: apt-get install gcc python3-dev")
    return mod


@pytest.fixture(scope="module")
def host_profile():
    name = HOST_PROFILES.get(platform.machine())
    if not name:
        pytest.skip(f"no profile for host machine {platform.machine()!r}")
    return profile_by_name(name)


def report(what, values):
    rate = values.get("torn", values.get("lost", 0)) / max(1, values.get("reads", values.get("ops", 1)))
    print(f"\n{what}: {values} rate={rate:.3g}", file=sys.stderr)


@pytest.mark.parametrize("w, n, mode", [(64, 1, "words"), (64, 1, "whole"), (32, 1, "whole"),
                                        (32, 1, "words"), (16, 1, "whole"), (8, 1, "words")])
def test_no_tear_where_impossible(host, host_profile, w, n, mode):
    geom = bitmap.BitmapGeometry.from_profile(host_profile, w // 8, n)
    assert not bitmap.predict_tear(geom, mode).possible
    obs = host.run("tear", w=w, n=n, mode=mode, ms=MS, max=MAX)
    report(f"tear w={w} n={n} {mode}", obs.values)
    assert obs.values["reads"] > 0
    assert obs.values["torn"] == 0
    assert obs.values["first_us"] == -1


@pytest.mark.parametrize("w, n", [(32, 2), (8, 8)])
def test_two_word_read_tears_on_narrow_words(host, host_profile, w, n):
    geom = bitmap.BitmapGeometry.from_profile(host_profile, w // 8, n)
    assert bitmap.predict_tear(geom, "words").possible
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: a writer and a reader never run at the same time")
    for _attempt in range(3):  # the writer may be scheduled out for a whole run on a loaded box
        obs = host.run("tear", w=w, n=n, mode="words", ms=MS, max=MAX)
        report(f"tear w={w} n={n} words", obs.values)
        if obs.values["torn"]:
            break
    assert obs.values["torn"] > 0
    assert 0 <= obs.values["first_us"] <= obs.evidence["elapsed_us"]


@pytest.mark.parametrize("w", [8, 16, 32, 64])
def test_atomic_set_bit_never_loses_updates(host, w):
    assert not bitmap.predict_lost_update(atomic=True, threads=2).possible
    obs = host.run("lost_update", w=w, threads=2, mode="atomic", ms=MS // 2, max=MAX)
    report(f"lost_update w={w} atomic", obs.values)
    assert obs.values["ops"] > 0 and obs.values["lost"] == 0


def test_single_thread_nonatomic_never_loses(host):
    assert not bitmap.predict_lost_update(atomic=False, threads=1).possible
    obs = host.run("lost_update", w=32, threads=1, mode="nonatomic", ms=MS // 3, max=MAX)
    assert obs.values["ops"] > 0 and obs.values["lost"] == 0


def test_nonatomic_lost_update_rate_is_reported(host):
    assert bitmap.predict_lost_update(atomic=False, threads=2).possible
    obs = host.run("lost_update", w=64, threads=2, mode="nonatomic", ms=MS, max=MAX)
    report("lost_update w=64 nonatomic", obs.values)
    assert obs.values["ops"] > 0
    assert (obs.values["lost"] == 0) == (obs.values["first_us"] == -1)


def test_lost_tags(host):
    assert not tagging.predict_lost_tag(True, 3).possible
    obs = host.run("lost_tag", threads=3, align=8, mode="atomic", ms=MS // 2, max=MAX)
    report("lost_tag atomic", obs.values)
    assert obs.values["lost"] == 0 and obs.values["corrupt"] == 0 and obs.values["ops"] > 0
    assert tagging.predict_lost_tag(False, 2).possible
    obs = host.run("lost_tag", threads=2, align=8, mode="nonatomic", ms=MS // 2, max=MAX)
    report("lost_tag nonatomic", obs.values)
    assert obs.values["corrupt"] == 0  # every thread writes back the same pointer bits


@pytest.mark.parametrize("size, align", [(24, 8), (60, 4), (96, 32), (100, 64), (5000, 16), (1, 1)])
def test_alloc_free_bits_at_least_the_guarantee(host, host_profile, size, align):
    a = host_profile.allocators
    ptr = host_profile.scalar("pointer").size_bytes
    obs = host.run("alloc", size=size, align=align, slab_minalign=a.arch_slab_minalign,
                   kmalloc_minalign=a.arch_kmalloc_minalign, count=500)
    v = obs.values
    want = tagging.predict_alloc(size, align, a.arch_slab_minalign, a.arch_kmalloc_minalign, ptr)
    assert {k: v[k] for k in want} == want
    assert v["malloc"] >= tagging.log2(a.libc_malloc_align)
    assert v["aligned_alloc"] >= tagging.log2(align)
    for alloc in ("slab", "kmalloc"):
        t = tagging.free_tag_bits(host_profile, align, size, alloc)
        assert v[alloc] >= t.free_bits, (alloc, v, t)
    # Objects are carved at i * object_size from page-aligned slabs: exactly ctz(object size).
    osize = want["slab_object_size"]
    if osize < 4096:
        assert v["slab"] == (osize & -osize).bit_length() - 1


@pytest.mark.parametrize("probe, args", [
    ("tear", {"w": 32, "n": 2, "mode": "words"}),  # two 32-bit loads: the writer lands between them
    ("lost_update", {"w": 64, "threads": 2, "mode": "nonatomic"}),
])
def test_a_run_asked_to_end_at_its_first_event_ends_there(host, probe, args):
    # A budget far past what the race needs: the run ends at the first event (checked every 256
    # iterations, so a few more may be counted by then), not at the budget.
    obs = host.run(probe, **args, ms=20_000, max=MAX, events=1)
    events = obs.values.get("torn", obs.values.get("lost"))
    assert events >= 1 and obs.values["first_us"] >= 0
    assert obs.evidence["elapsed_us"] < 10_000_000


def test_events_zero_runs_to_the_budget(host):
    obs = host.run("lost_update", w=64, threads=2, mode="atomic", ms=50, max=MAX, events=0)
    assert obs.values["lost"] == 0 and obs.evidence["elapsed_us"] >= 50_000


def test_a_reader_at_its_cap_waits_for_the_writer_to_have_written_enough(host):
    # max=1: a reader that stopped at its cap would end after one read, against a writer that
    # may not have run at all; it keeps reading until the writer did 1024 passes (or time is up).
    obs = host.run("tear", w=64, mode="whole", ms=5000, max=1)
    assert obs.values["writes"] >= 1024 and obs.values["reads"] >= 1
    assert obs.evidence["elapsed_us"] < 5_000_000


def test_every_worker_does_its_minimum_even_past_a_tiny_deadline(host):
    # ms=1: a thread scheduled after the deadline still does 1024 iterations while the others run.
    tear = host.run("tear", w=64, mode="whole", ms=1, max=MAX)
    assert tear.values["reads"] >= 1024 and tear.values["writes"] >= 1024
    lost = host.run("lost_update", w=64, threads=2, mode="atomic", ms=1, max=MAX)
    assert lost.values["ops"] >= 2 * 1024 and lost.values["lost"] == 0
