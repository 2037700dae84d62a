"""``verify-gpu``: its stages and their order, the budget, resuming, the summary, the plan
without CUDA, and the Fisher/SSD backend measurement (on the CPU with a tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import benchmark.cli.verify_gpu as verify_gpu
from benchmark.__main__ import main
from benchmark.cli import fisher_backends
from benchmark.cli.verify_stages import Stage

ORDER = ["paper-official", "paper", "fisher-backends", "gpu-bench", "paper-seeds", "report",
         "claims", "leaderboard"]


class FakeGpu:
    """CUDA present (until ``vanish_after`` commands), a clock that each command advances by
    ``command_s`` (report and check by 5 s), and the commands recorded instead of run."""

    def __init__(self, monkeypatch, command_s: float = 60.0, vanish_after: int | None = None):
        self.now, self.command_s, self.vanish_after = 0.0, command_s, vanish_after
        self.commands: list[str] = []
        cuda = verify_gpu.torch.cuda
        monkeypatch.setattr(cuda, "is_available", lambda: self.vanish_after is None
                            or len(self.commands) < self.vanish_after)
        monkeypatch.setattr(cuda, "get_device_name", lambda index: "Test GPU")
        monkeypatch.setattr(verify_gpu, "_now", lambda: self.now)
        monkeypatch.setattr(verify_gpu, "_execute", self.execute)

    def execute(self, command, out: Path, deadline: float | None) -> tuple[int, bool]:
        self.commands.append(" ".join(command.argv))
        if command.stdout:
            (out / command.stdout).write_text("claims\n")
        seconds = 5.0 if command.argv[3] in ("report", "check") else self.command_s
        if deadline is not None and self.now + seconds > deadline:
            self.now = max(self.now, deadline)
            return -2, True
        self.now += seconds
        return 0, False


def _state(out: Path) -> dict:
    return json.loads((out / "stages.json").read_text())["stages"]


def test_without_a_gpu_it_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setattr(verify_gpu.torch.cuda, "is_available", lambda: False)
    assert main(["verify-gpu", "--data-root", "x"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_the_dry_run_lists_the_stages_without_cuda(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(verify_gpu.torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(out), "--dry-run",
                 "--budget", "9"]) == 0
    text = capsys.readouterr().out
    listed = [line.split(".", 1)[1].split(":")[0].split(" (")[0].strip()
              for line in text.splitlines() if line[:1].isdigit()]
    assert listed == ORDER  # the paper setting first, the leaderboard last
    assert "1. paper-official (important)" in text and "2. paper (important)" in text
    last = next(line for line in text.splitlines() if line.startswith("8. leaderboard"))
    assert "skip: needs at least" in last and "left of --budget" in last
    assert "no tuned files for resnet18_imagenet on cifar10" in text
    assert "no CUDA GPU visible here" in text and not out.exists()  # wrote nothing


def test_the_stages_run_in_order_and_the_summary(tmp_path, monkeypatch) -> None:
    gpu = FakeGpu(monkeypatch)
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path)]) == 0
    flat = gpu.commands
    assert "--preset paper-cifar10-official --seeds 0 " in flat[0] and "--device cuda" in flat[0]
    assert "--preset paper-cifar10 --seeds 0 " in flat[1]
    assert all(str(tmp_path / "results.sqlite") in c for c in flat[:2])
    assert "benchmark.cli.fisher_backends" in flat[2] and "--device cuda" in flat[2]
    assert "test_bench_gpu.py" in flat[3] and "--benchmark-json" in flat[3]
    assert "--preset paper-cifar10-official --seeds 1,2" in flat[4]
    assert "--preset paper-cifar10 --seeds 1,2" in flat[5]
    assert " report " in f" {flat[6]} " and "check --claims paper" in flat[7]
    assert "--seeds 0,1,2" in flat[8] and "--methods all" in flat[8] and "--tuned" not in flat[8]
    assert " report " in f" {flat[9]} " and len(flat) == 10
    state = _state(tmp_path)
    assert list(state) == ORDER and all(record["status"] == "ok" for record in state.values())
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "Test GPU" in summary and "| 8 | leaderboard |" in summary
    assert "default settings only" in summary


def test_short_of_time_the_leaderboard_is_skipped_with_the_reason(tmp_path, monkeypatch) -> None:
    gpu = FakeGpu(monkeypatch, command_s=120.0)
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path),
                 "--budget", "9"]) == 0
    state = _state(tmp_path)
    assert state["paper-official"]["status"] == "ok" and state["paper"]["status"] == "ok"
    assert state["leaderboard"]["status"] == "skipped"
    assert "left of --budget" in state["leaderboard"]["reason"]
    assert not any("--methods all" in c for c in gpu.commands)
    assert gpu.now <= 9 * 60  # stopped within the budget
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "| 8 | leaderboard |" in summary and "left of --budget" in summary
    # Report and claims are kept room for: a stage stopped at the budget still leaves them.
    assert state["report"]["status"] == "ok" and state["claims"]["status"] == "ok"

    # The same command again: finished stages are skipped, the rest resumes.
    rerun = FakeGpu(monkeypatch, command_s=60.0)
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path)]) == 0
    assert not any("--seeds 0 " in c for c in rerun.commands)  # the paper stages are done
    assert any("--methods all" in c for c in rerun.commands)
    state = _state(tmp_path)
    assert state["leaderboard"]["status"] == "ok" and state["paper"]["status"] == "ok"


def test_a_stage_stopped_at_the_budget_is_recorded(tmp_path, monkeypatch) -> None:
    FakeGpu(monkeypatch, command_s=400.0)
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path), "--budget", "5",
                 "--stages", "paper-official,leaderboard"]) == 0
    state = _state(tmp_path)
    assert state["paper-official"]["status"] == "stopped"
    assert "resume" in state["paper-official"]["reason"]
    assert state["paper"]["reason"] == "not in --stages"
    assert "left of --budget" in state["leaderboard"]["reason"]


def test_without_cuda_the_gpu_stages_are_skipped_with_the_reason(tmp_path, monkeypatch) -> None:
    gpu = FakeGpu(monkeypatch, vanish_after=1)  # the GPU is lost after the first stage
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path)]) == 0
    state = _state(tmp_path)
    assert state["paper-official"]["status"] == "ok"
    for name in ("paper", "fisher-backends", "gpu-bench", "paper-seeds", "leaderboard"):
        assert state[name] == {"status": "skipped", "reason": "no CUDA GPU visible"}, name
    assert [c.split()[3] for c in gpu.commands[1:]] == ["report", "check"]


def test_unknown_stages_are_refused(tmp_path, capsys, monkeypatch) -> None:
    FakeGpu(monkeypatch)
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path),
                 "--stages", "paper,nonsense"]) == 2
    assert "unknown stage nonsense" in capsys.readouterr().err


def test_tuned_files_add_a_tuned_leaderboard_run(tmp_path, monkeypatch) -> None:
    tuned = tmp_path / "finetune-resnet18_imagenet-cifar10.toml"
    tuned.write_text('[tuned]\nmethod = "finetune"\nmodel = "resnet18_imagenet"\n'
                     'dataset = "cifar10"\npreset = "paper-cifar10"\n[best]\nepochs = 2\n')
    gpu = FakeGpu(monkeypatch)
    out = tmp_path / "out"
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(out), "--tuned", str(tuned),
                 "--stages", "leaderboard"]) == 0
    assert "--tuned" not in gpu.commands[0] and f"--tuned {tuned}" in gpu.commands[1]
    assert " report " in f" {gpu.commands[2]} "


def test_the_decision_rule() -> None:
    stage = Stage("leaderboard", "x", 600.0, (), resumable=True, min_start_s=240.0)
    assert verify_gpu.decide(stage, selected=True, cuda=True, remaining_s=None, done=False) is None
    assert verify_gpu.decide(stage, selected=True, cuda=True, remaining_s=300, done=False) is None
    assert "at least 4.0 min" in verify_gpu.decide(stage, selected=True, cuda=True,
                                                    remaining_s=200, done=False)
    assert verify_gpu.decide(stage, selected=True, cuda=False, remaining_s=None,
                             done=False) == "no CUDA GPU visible"
    whole = Stage("gpu-bench", "x", 180.0, ())
    assert "about 3.0 min" in verify_gpu.decide(whole, selected=True, cuda=True, remaining_s=170,
                                                 done=False)


def test_the_fisher_stage_records_both_backends(tmp_path) -> None:
    out = tmp_path / "fisher.json"
    result = fisher_backends.measure("cpu", "smallcnn", 12, (4,), out, image_shape=(1, 8, 8))
    stored = json.loads(out.read_text())
    assert stored["verdict"] == result["verdict"]
    for approximation in ("exact", "empirical"):
        rows = [v for v in stored["variants"] if v["approximation"] == approximation]
        assert {v["backend"] for v in rows} == {"func", "layerwise"}
        assert all(v["ms_per_sample"] > 0 and v["projected_s"] > 0 for v in rows)
        layerwise = next(v for v in rows if v["backend"] == "layerwise")
        assert layerwise["largest_rel_diff_vs_func"] < 1e-4  # the same values
        verdict = stored["verdict"][approximation]
        assert verdict["backends_timed"] == ["func", "layerwise"]
        assert verdict["fastest_backend"] in ("func", "layerwise")
    exact = stored["verdict"]["exact"]
    assert exact["meets_target"] == (exact["projected_s"] <= 60.0)
    text = "\n".join(fisher_backends.markdown(stored))
    assert "| exact | func |" in text and "| empirical | layerwise |" in text
    assert "60-s target is" in text


def test_the_summary_holds_the_fisher_measurement(tmp_path, monkeypatch) -> None:
    FakeGpu(monkeypatch)
    fisher_backends.measure("cpu", "smallcnn", 8, (4,), tmp_path / "fisher-backends.json",
                            image_shape=(1, 8, 8))
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path),
                 "--stages", "claims"]) == 0
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "## Fisher and SSD importances" in summary and "| exact | func |" in summary


def test_a_command_past_the_deadline_is_stopped(tmp_path) -> None:
    import signal
    import sys
    import time

    from benchmark.cli.verify_stages import Command

    sleeper = Command("sleep", (sys.executable, "-c", "import time; time.sleep(60)"))
    start = time.monotonic()
    code, stopped = verify_gpu._execute(sleeper, tmp_path, time.monotonic() + 1.0)
    # Stopped by SIGINT (the run's KeyboardInterrupt path), not killed after the grace period;
    # also when the tests themselves run in the background, where a shell ignores SIGINT.
    assert stopped and code == -signal.SIGINT and time.monotonic() - start < 30
    done = Command("print", (sys.executable, "-c", "print('kept')"), stdout="log.txt")
    assert verify_gpu._execute(done, tmp_path, None) == (0, False)
    assert (tmp_path / "log.txt").read_text() == "kept\n"
