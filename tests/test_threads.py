"""Intra-op threads chosen from the work's size; the choice is stored with the rows."""

from __future__ import annotations

import pytest

import benchmark.harness.threads as threads
from benchmark.harness.runner import run
from benchmark.models import create_model


def test_flops_of_known_models() -> None:
    small = threads.forward_mflops(create_model("smallcnn", 10, 1, 8), (1, 8, 8))
    large = threads.forward_mflops(create_model("resnet18", 10, 3, 32), (3, 32, 32))
    # ResNet-18 with the CIFAR stem is 0.556 G multiply-adds an image (He et al.'s count
    # with a 3x3 stem at 32 px), so 1,111 MFLOPs; the small CNN counts 1.2.
    assert small is not None and large is not None, "torch's FlopCounterMode counted nothing"
    assert small == pytest.approx(1.199, rel=0.01)
    assert large == pytest.approx(1110.8, rel=0.01)
    assert small < threads.SMALL_MODEL_MFLOPS < large  # one thread for one, the cores for the other


def test_choice_order_flag_then_env_then_size_then_busy_cores(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "busy_cores", lambda: (1.2, "sampled over 0.3 s"))
    assert threads.choose_threads(3, 1.0)[0] == 3
    assert threads.choose_threads(0, 1.0) == (1, "small model (1.0 MFLOPs an image): one thread")
    count, why = threads.choose_threads(0, 500.0)
    assert count == 3 and "1.2 busy (sampled over 0.3 s)" in why  # four cores, one busy
    monkeypatch.setattr(threads, "busy_cores", lambda: (9.0, "load average"))
    assert threads.choose_threads(0, 500.0)[0] == 1  # never fewer than one
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.choose_threads(0, 500.0) == (2, "set by OMP_NUM_THREADS")


def test_rows_record_the_thread_count_and_why(tiny_spec, monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    tiny_spec.methods = ["unsir"]
    tiny_spec.engine = type(tiny_spec.engine)(threads=1)
    rows = run(tiny_spec)
    assert {row["provenance"]["threads"] for row in rows} == {1}
    assert {row["provenance"]["threads_reason"] for row in rows} == {"set by --threads / engine.threads"}
    assert {row["timings"]["measured_on"]["threads"] for row in rows} == {1}


def test_busy_cores_come_from_a_sample_not_the_lagging_load_average(monkeypatch) -> None:
    """An idle machine whose load average still remembers a finished job has all cores free."""
    samples = iter([(1_000, 10_000), (1_010, 10_200)])  # 5 % busy over the sample
    monkeypatch.setattr(threads, "_cpu_counters", lambda: next(samples))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.0, 2.0, 2.0))  # a job just ended
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    busy, source = threads.busy_cores()
    assert busy == 0.1 and source.startswith("sampled")
    monkeypatch.setattr(threads, "_cpu_counters", lambda: None)  # no /proc/stat: load average
    assert threads.busy_cores() == (2.0, "load average")


def test_cpu_counters_read_this_machine() -> None:
    counters = threads._cpu_counters()
    if counters is None:
        pytest.skip("no /proc/stat on this system: the load average is used instead")
    busy, total = counters
    assert 0 <= busy <= total and total > 0
