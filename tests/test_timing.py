"""Honest timing: what the timer covers, when times may be divided, what cache keys hold."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch
from torch import nn

import benchmark.harness.unlearning as unlearning
from benchmark.core.engine import Engine
from benchmark.harness.runner import run
from benchmark.harness.timing import speedup, warm_up
from benchmark.harness.unlearning import timed_unlearn
from methods.api import Access, UnlearningMethod
from tests.helpers import CPU, normalizer, request_for, tiny_data, trained_model

SETUP = {"host": "a", "device": "cpu (X, 1 threads)", "threads": 1, "precision": "fp32"}


def test_the_timer_covers_unlearn_alone(monkeypatch) -> None:
    """Copy, then warm-up, then the timer around ``unlearn`` and nothing else."""
    events: list[str] = []

    class Recording(UnlearningMethod):
        name = "recording"
        needs = frozenset({Access.RETAIN_SUBSET})
        Config = dict

        def unlearn(self, model: nn.Module, request) -> nn.Module:
            events.append("unlearn")
            return model

    real_timer = Engine.timer

    @contextlib.contextmanager
    def recording_timer(self):
        events.append("timer start")
        with real_timer(self) as result:
            yield result
        events.append("timer stop")

    real_deepcopy = unlearning.copy.deepcopy
    depth = []

    def recording_deepcopy(obj, *args):
        if not depth:  # deepcopy recurses through itself: record the outer call only
            events.append("copy")
        depth.append(1)
        try:
            return real_deepcopy(obj, *args)
        finally:
            depth.pop()

    monkeypatch.setattr(Engine, "timer", recording_timer)
    monkeypatch.setattr(unlearning.copy, "deepcopy", recording_deepcopy)
    monkeypatch.setattr(unlearning, "warm_up", lambda *a, **k: events.append("warm-up"))
    data = tiny_data()
    outcome = timed_unlearn(Recording(), trained_model(data), request_for(Recording, data, (3,)), 0)
    assert events == ["copy", "warm-up", "timer start", "unlearn", "timer stop"]
    assert outcome.seconds is not None and outcome.seconds >= 0 and not outcome.failed


def test_the_gold_retrain_is_timed_by_the_same_call_as_methods(tiny_spec, monkeypatch) -> None:
    calls = []
    real = unlearning.timed_unlearn
    monkeypatch.setattr(unlearning, "timed_unlearn",
                        lambda method, *a: calls.append(method.name) or real(method, *a))
    tiny_spec.methods = ["unsir"]
    run(tiny_spec)
    assert calls == ["retrain", "unsir"]  # the gold model first, then the method's cell


def test_warm_up_changes_neither_the_model_nor_the_global_rng() -> None:
    data = tiny_data()
    model = trained_model(data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    warm_up(model, CPU, normalizer(data), tuple(data.train_x.shape[1:]), data.num_classes)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_speedup_needs_the_same_setup() -> None:
    assert speedup(10.0, SETUP, 2.0, dict(SETUP)) == (5.0, None)
    for key, other in (("host", "b"), ("device", "NVIDIA H100"), ("threads", 2),
                       ("precision", "bf16")):
        value, note = speedup(10.0, SETUP, 2.0, SETUP | {key: other})
        assert value is None and key in note and "another setup" in note
    assert speedup(10.0, None, 2.0, SETUP)[0] is None
    assert speedup(None, SETUP, 2.0, SETUP)[0] is None


def test_a_cached_gold_time_from_another_host_gives_no_speedup(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert rows["unsir"]["metrics"]["speedup_vs_retrain"] > 0
    assert rows["unsir"]["timings"]["gold_measured_on"] == rows["unsir"]["timings"]["measured_on"]
    for sidecar in tiny_spec.checkpoint_dir().glob("retrain-*.json"):
        record = json.loads(sidecar.read_text())
        record["meta"]["setup"]["host"] = "another-machine"
        sidecar.write_text(json.dumps(record))
    tiny_spec.rerun = True
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert rows["retrain"]["timings"]["cached"] is True
    assert rows["unsir"]["metrics"]["speedup_vs_retrain"] is None
    assert "another-machine" in rows["unsir"]["metrics"]["speedup_note"]


@pytest.mark.slow
def test_cache_keys_hold_precision_and_a_data_fingerprint(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    run(tiny_spec)
    originals = lambda: sorted(tiny_spec.checkpoint_dir().glob("original-*.pt"))  # noqa: E731
    assert len(originals()) == 1
    tiny_spec.engine = type(tiny_spec.engine)(precision="bf16")  # the CUDA path, on the CPU
    run(tiny_spec)
    assert len(originals()) == 2
    tiny_spec.engine = type(tiny_spec.engine)()
    tiny_spec.data = type(tiny_spec.data)(train_per_class=40)  # other data, same names
    run(tiny_spec)
    assert len(originals()) == 3
