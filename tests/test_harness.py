"""The harness end to end on synthetic data: every method, reruns, resume, the cache."""

from __future__ import annotations

import pytest

from benchmark.harness.runner import run
from benchmark.harness.store import ResultStore
from methods.finetune import Finetune
from methods.unsir import Unsir


def test_every_method_runs_through_the_harness(tiny_spec) -> None:
    rows = run(tiny_spec)
    by_method = {row["method"]: row for row in rows}
    assert set(by_method) == {"original", "retrain", "unsir", "fisher", "finetune"}
    assert by_method["retrain"]["metrics"]["forget_acc_test"] == 0.0  # never saw class 3
    assert by_method["original"]["metrics"]["forget_acc_test"] > 0.5
    for method, row in by_method.items():
        metrics = row["metrics"]
        for key in ("forget_acc_test", "retain_acc_test", "forget_acc_train", "retain_acc_train",
                    "test_acc", "time_s", "layer_distance", "pred_histogram",
                    "mia_entropy_member_rate", "relearned", "activation_distance", "zrf"):
            assert key in metrics, (method, key)
        assert row["provenance"]["torch_version"]
        assert row["spec"]["seed"] == 0
    assert by_method["unsir"]["access"] == ["retain_subset"] and by_method["unsir"]["zero_glance"]
    assert by_method["unsir"]["timings"]["samples_seen"] == {"retain_subset": 9 * 60}
    assert by_method["unsir"]["metrics"]["speedup_vs_retrain"] > 0
    assert by_method["original"]["metrics"]["speedup_vs_retrain"] is None
    with ResultStore(tiny_spec.results) as store:
        assert len(store.rows()) == 5


def test_rerun_skips_stored_cells_and_rerun_flag_remeasures(tiny_spec, monkeypatch) -> None:
    run(tiny_spec)
    calls = []
    real = Unsir.unlearn
    monkeypatch.setattr(Unsir, "unlearn", lambda self, m, r: calls.append(1) or real(self, m, r))
    rows = run(tiny_spec)
    assert calls == [] and len(rows) == 5
    tiny_spec.rerun = True
    run(tiny_spec)
    assert calls == [1]
    with ResultStore(tiny_spec.results) as store:
        assert len(store.rows()) == 5  # replaced, not duplicated


def test_killed_run_resumes_where_it_stopped(tiny_spec, monkeypatch) -> None:
    def killed(self, model, request):
        raise KeyboardInterrupt

    monkeypatch.setattr(Finetune, "unlearn", killed)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_spec)
    with ResultStore(tiny_spec.results) as store:
        stored = {row["method"] for row in store.rows()}
    assert stored == {"original", "retrain", "unsir", "fisher"}

    monkeypatch.undo()
    unsir_calls = []
    real = Unsir.unlearn
    monkeypatch.setattr(Unsir, "unlearn", lambda self, m, r: unsir_calls.append(1) or real(self, m, r))
    rows = run(tiny_spec)
    assert unsir_calls == []  # finished cells are not redone
    assert len(rows) == 5  # ...but still reported with the newly measured one
    with ResultStore(tiny_spec.results) as store:
        assert {row["method"] for row in store.rows()} == stored | {"finetune"}


def test_corrupt_checkpoint_is_rebuilt_not_reused(tiny_spec, monkeypatch) -> None:
    tiny_spec.methods = ["unsir"]
    run(tiny_spec)
    cache_dir = tiny_spec.checkpoint_dir()
    original = next(cache_dir.glob("original-*.pt"))
    original.write_bytes(original.read_bytes()[:-10] + b"corrupted!")
    import benchmark.harness.references as references

    trained = []
    real = references.train_with_recipe
    monkeypatch.setattr(references, "train_with_recipe", lambda *a, **k: trained.append(1) or real(*a, **k))
    tiny_spec.rerun = True
    run(tiny_spec)
    assert trained == [1]  # the original was retrained; the gold retrain came from the cache


def test_multi_class_and_several_seeds(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    tiny_spec.forget = ["1", "0,2"]
    tiny_spec.seeds = [0, 1]
    tiny_spec.metrics = type(tiny_spec.metrics)(relearn=False, mia=False)
    rows = run(tiny_spec)
    assert len(rows) == 2 * 2 * 3
    assert {row["forget"] for row in rows} == {"1", "0,2"}
    multi = [r for r in rows if r["forget"] == "0,2" and r["method"] == "unsir"]
    assert all(r["n_forget"] == 2 for r in multi)


def test_store_reads_only_the_rows_asked_for(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    rows = run(tiny_spec)
    with ResultStore(tiny_spec.results) as store:
        wanted = [rows[0]["row_id"], rows[2]["row_id"]]
        assert [r["row_id"] for r in store.rows(wanted)] == wanted
        assert store.rows([]) == []
        assert len(store.rows()) == 3
