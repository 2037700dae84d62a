"""Intra-op threads chosen from the work's size; the choice is stored with the rows."""

from __future__ import annotations

import benchmark.harness.threads as threads
from benchmark.harness.runner import run
from benchmark.models import create_model


def test_flops_of_known_models() -> None:
    small = threads.forward_mflops(create_model("smallcnn", 10, 1, 8), (1, 8, 8))
    large = threads.forward_mflops(create_model("resnet18", 10, 3, 32), (3, 32, 32))
    assert 1.0 < small < 1.5 and 1000 < large < 1200  # 1.2 and 1111 MFLOPs (counted by torch)


def test_choice_order_flag_then_env_then_size_then_load(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.2, 0.0, 0.0))
    assert threads.choose_threads(3, 1.0)[0] == 3
    assert threads.choose_threads(0, 1.0) == (1, "small model (1.0 MFLOPs an image): one thread")
    count, why = threads.choose_threads(0, 500.0)
    assert count == 3 and "load average 1.2" in why  # four cores, one busy
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
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
