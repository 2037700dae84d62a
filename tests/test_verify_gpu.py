"""``verify-gpu``: its steps, their order, the summary; refused without CUDA (the CPU case)."""

from __future__ import annotations

from pathlib import Path

import benchmark.cli.verify_gpu as verify_gpu
from benchmark.__main__ import main


def test_without_a_gpu_it_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setattr(verify_gpu.torch.cuda, "is_available", lambda: False)
    assert main(["verify-gpu", "--data-root", "x"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_the_steps_and_the_summary(tmp_path: Path, monkeypatch) -> None:
    commands: list[list[str]] = []
    monkeypatch.setattr(verify_gpu.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(verify_gpu.torch.cuda, "get_device_name", lambda index: "Test GPU")
    monkeypatch.setattr(verify_gpu, "_subprocess",
                        lambda name, command, stdout=None: commands.append(command) or (name, 60.0, 0))
    assert main(["verify-gpu", "--data-root", "/data", "--out", str(tmp_path)]) == 0
    flat = [" ".join(c) for c in commands]
    assert "--preset paper-cifar10-official --seeds 0,1,2" in flat[0]
    assert "--preset paper-cifar10 --seeds 0" in flat[1] and "--device cuda" in flat[1]
    assert all(str(tmp_path / "results.sqlite") in c for c in flat[:2])
    assert "test_bench_gpu.py" in flat[2] and "--benchmark-json" in flat[2]
    assert " report " in f" {flat[3]} " and "check --claims paper" in flat[4]
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "Test GPU" in summary and "| report | 1.0 min | 0 |" in summary
