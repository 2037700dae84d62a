"""Fisher and SSD importances on one device: the torch.func backend against the layerwise one.

``verify-gpu``'s stage ``fisher-backends`` (issue 23, item 3) runs this module in its own
process. It times ``fisher_diagonal`` (methods/fisher_diagonal.py) with ``backend="func"``
(vmap over samples of C vector-Jacobian products; the CUDA default of ``backend="auto"``)
and ``backend="layerwise"`` (methods/per_sample_squares.py; the CPU default) at a few chunk
sizes, on the same model and the same samples, for the exact Fisher (Fisher forgetting) and
the empirical one (SSD's importances). It records which variant is fastest and whether the
exact importance pass, projected linearly to the paper's 45,000-image retain set (CIFAR-10,
one class forgotten), meets the 60-second target of Fisher forgetting on one GPU.

The model is the paper's ResNet-18 (ImageNet stem) as the harness prepares it on the device
(channels_last on CUDA), freshly initialised; the images are random uint8 tensors of
CIFAR-10's shape on the device: the time of these passes does not depend on pixel values or
weights. Each variant is warmed up on a few chunks first (cuDNN picks its kernels), then
timed alone, CUDA-synchronised. The two backends' values are compared too (the largest
relative difference against ``func`` over elements above 1e-5 of their tensor's largest).

The JSON file is rewritten after each variant, so a stopped stage keeps what it measured::

    python -m benchmark.cli.fisher_backends --device cuda --out fisher-backends.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.models import create_model
from methods.fisher_diagonal import auto_chunk_size, fisher_diagonal

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
TARGET_SAMPLES = 45_000  # CIFAR-10's retain set when one class is forgotten
TARGET_S = 60.0  # the paper's target for Fisher forgetting on one GPU (docs/BENCHMARKS.md)
LAYERWISE_CHUNKS = (32, 128, 512)  # 32: the CPU default; a GPU may want larger chunks
APPROXIMATIONS = (("exact", "Fisher forgetting"), ("empirical", "SSD"))


def largest_difference(reference: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> float:
    """Largest relative difference over elements above 1e-5 of each reference tensor's largest."""
    worst = 0.0
    for name, value in reference.items():
        scale = float(value.abs().max())
        mask = value.abs() > 1e-5 * scale
        if mask.any():
            relative = ((other[name] - value).abs()[mask] / value.abs()[mask]).max()
            worst = max(worst, float(relative))
    return worst


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(device: str = "cuda", model_name: str = "resnet18_imagenet", samples: int = 5000,
            chunks: tuple[int, ...] = LAYERWISE_CHUNKS, out: str | Path | None = None,
            image_shape: tuple[int, int, int] = (3, 32, 32), classes: int = 10,
            target_samples: int = TARGET_SAMPLES, target_s: float = TARGET_S) -> dict[str, Any]:
    """Time every variant on the same model and samples; the result (also written to ``out``)."""
    engine = Engine.for_device(device)
    torch.manual_seed(0)
    model = engine.prepare(create_model(model_name, classes, image_shape[0], image_shape[1]))
    generator = torch.Generator().manual_seed(0)
    data = LabelledImages(
        torch.randint(0, 256, (samples, *image_shape), dtype=torch.uint8, generator=generator),
        torch.randint(0, classes, (samples,), generator=generator)).to(engine.device)
    normalizer = Normalizer(CIFAR_MEAN[: image_shape[0]], CIFAR_STD[: image_shape[0]], engine.device)
    result: dict[str, Any] = {
        "device": engine.device_name(), "torch": torch.__version__, "model": model_name,
        "samples": samples, "classes": classes, "image_shape": list(image_shape),
        "target_samples": target_samples, "target_s": target_s, "variants": [], "verdict": {}}
    variants = [("func", 0)] + [("layerwise", chunk) for chunk in chunks]
    for approximation, _ in APPROXIMATIONS:
        reference: dict[str, torch.Tensor] | None = None
        for backend, chunk in variants:
            row = _one(model, data, normalizer, engine.device, approximation, backend, chunk)
            values = row.pop("values", None)
            if values is not None:
                if reference is None and backend == "func":
                    reference = values
                elif reference is not None:
                    row["largest_rel_diff_vs_func"] = largest_difference(reference, values)
            if "seconds" in row:
                row["projected_s"] = row["ms_per_sample"] * target_samples / 1e3
            result["variants"].append(row)
            result["verdict"] = verdict(result)
            if out is not None:
                _write(Path(out), result)
            del values
    return result


def _one(model: torch.nn.Module, data: LabelledImages, normalizer: Normalizer, device: torch.device,
         approximation: str, backend: str, chunk: int) -> dict[str, Any]:
    """One variant: warm-up on a few chunks, then the timed pass over every sample."""
    size = chunk or auto_chunk_size(model, device)
    row: dict[str, Any] = {"approximation": approximation, "backend": backend, "chunk": size}
    warm = LabelledImages(data.x[: min(len(data), 2 * size)], data.y[: min(len(data), 2 * size)])
    try:
        fisher_diagonal(model, warm, normalizer, device, size, approximation, backend=backend)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        start = time.perf_counter()
        values = fisher_diagonal(model, data, normalizer, device, size, approximation, backend=backend)
        _sync(device)
        seconds = time.perf_counter() - start
    except (RuntimeError, ValueError) as error:  # out of memory, a model layerwise cannot take
        if device.type == "cuda":
            torch.cuda.empty_cache()
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        return row
    row.update(seconds=seconds, ms_per_sample=seconds * 1e3 / len(data), values=values)
    if device.type == "cuda":
        row["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return row


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Per approximation: the fastest variant, the faster backend, and (exact) the 60-s target."""
    verdicts: dict[str, Any] = {}
    for approximation, used_by in APPROXIMATIONS:
        timed = [v for v in result["variants"] if v["approximation"] == approximation and "seconds" in v]
        if not timed:
            continue
        best = min(timed, key=lambda v: v["seconds"])
        by_backend = {b: min((v["seconds"] for v in timed if v["backend"] == b), default=None)
                      for b in ("func", "layerwise")}
        entry: dict[str, Any] = {
            "used_by": used_by, "fastest_backend": best["backend"], "fastest_chunk": best["chunk"],
            "ms_per_sample": best["ms_per_sample"], "projected_s": best["projected_s"],
            "backends_timed": sorted(b for b, s in by_backend.items() if s is not None)}
        if by_backend["func"] and by_backend["layerwise"]:
            entry["layerwise_speedup_over_func"] = by_backend["func"] / by_backend["layerwise"]
        if approximation == "exact":
            entry["meets_target"] = best["projected_s"] <= result["target_s"]
        verdicts[approximation] = entry
    return verdicts


def markdown(result: dict[str, Any]) -> list[str]:
    """The measurement as Markdown lines (SUMMARY.md's Fisher section)."""
    lines = [f"{result['model']} on {result['device']}, {result['samples']:,} random CIFAR-shaped "
             f"images, {result['classes']} classes; projected to {result['target_samples']:,} "
             "samples (the importance pass only, linear in samples).", "",
             "| importances | backend | chunk | ms / sample | projected | vs func | largest rel. diff |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    func = {v["approximation"]: v.get("seconds") for v in result["variants"] if v["backend"] == "func"}
    for v in result["variants"]:
        if "error" in v:
            lines.append(f"| {v['approximation']} | {v['backend']} | {v['chunk']} | {v['error']} | | | |")
            continue
        ratio = f"{func[v['approximation']] / v['seconds']:.2f}x" if func.get(v["approximation"]) else ""
        diff = f"{v['largest_rel_diff_vs_func']:.1e}" if "largest_rel_diff_vs_func" in v else ""
        lines.append(f"| {v['approximation']} | {v['backend']} | {v['chunk']} | "
                     f"{v['ms_per_sample']:.3f} | {v['projected_s']:.1f} s | {ratio} | {diff} |")
    lines.append("")
    for approximation, entry in result["verdict"].items():
        text = (f"- {approximation} ({entry['used_by']}): fastest {entry['fastest_backend']} "
                f"(chunk {entry['fastest_chunk']}), {entry['projected_s']:.1f} s projected")
        if "layerwise_speedup_over_func" in entry:
            text += f"; layerwise/func speed-up {entry['layerwise_speedup_over_func']:.2f}x"
        if "meets_target" in entry:
            text += (f"; the {result['target_s']:.0f}-s target is "
                     f"{'met' if entry['meets_target'] else 'NOT met'}")
        lines.append(text)
    return lines


def _write(path: Path, result: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result, indent=1) + "\n")
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default="resnet18_imagenet")
    parser.add_argument("--samples", type=int, default=5000, help="samples timed per variant")
    parser.add_argument("--chunks", default=",".join(map(str, LAYERWISE_CHUNKS)),
                        help="chunk sizes of the layerwise backend")
    parser.add_argument("--out", required=True, help="JSON file, rewritten after each variant")
    args = parser.parse_args(argv)
    result = measure(args.device, args.model, args.samples,
                     tuple(int(c) for c in args.chunks.split(",")), args.out)
    print("\n".join(markdown(result)))
    return 0 if result["verdict"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
