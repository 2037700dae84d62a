"""Device settings shared by every training loop: where tensors live and how math runs.

On CUDA the habits from DESIGN.md apply by default (bf16 autocast, channels_last,
cudnn.benchmark); on the CPU the defaults are float32 and the contiguous layout, which
keeps tests exact and portable. Both switches can be set on any device
(``--set engine.precision=bf16``, ``--set engine.channels_last=true``), so CPU tests run the
code path CUDA runs, and GPU users who need fp32 to compare with fp32 reference code get it.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from benchmark.core.errors import UserError

Precision = Literal["fp32", "bf16"]

# Evaluation batch sizes. A GPU wants large batches; on the CPU a batch whose activations
# stay in cache is faster per image (ResNet-9 on 2 Xeon vCPUs: docs/BENCHMARKS.md, "Memory
# layout and evaluation batch size on the CPU"). Logits do not depend on it beyond rounding.
CUDA_EVAL_BATCH = 2048
CPU_EVAL_BATCH = 256


@dataclass(frozen=True)
class Engine:
    """Where and how models run; pass one Engine through the whole harness."""

    device: torch.device
    precision: Precision
    channels_last: bool
    eval_batch_size: int = CUDA_EVAL_BATCH

    @classmethod
    def for_device(
        cls, name: str = "auto", precision: str = "auto", channels_last: bool | None = None
    ) -> Engine:
        """``"auto"`` picks CUDA when present; ``"cpu"``, ``"cuda"`` or ``"cuda:1"`` as given.

        ``precision`` "auto" means bf16 autocast on CUDA and fp32 elsewhere; ``channels_last``
        None means on for CUDA, off elsewhere.
        """
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(name)
        except (RuntimeError, TypeError) as error:
            raise UserError(f"unknown device {name!r}; use auto, cpu or cuda[:N]") from error
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise UserError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        elif device.type != "cpu":
            raise UserError(f"device {name!r} is not supported; use auto, cpu or cuda[:N]")
        on_cuda = device.type == "cuda"
        if precision == "auto":
            precision = "bf16" if on_cuda else "fp32"
        if precision not in ("fp32", "bf16"):
            raise UserError(f"engine.precision must be auto, fp32 or bf16, not {precision!r}")
        layout = on_cuda if channels_last is None else bool(channels_last)
        return cls(device=device, precision=precision, channels_last=layout,  # type: ignore[arg-type]
                   eval_batch_size=CUDA_EVAL_BATCH if on_cuda else CPU_EVAL_BATCH)

    @property
    def amp(self) -> bool:
        """Whether forward passes run under bf16 autocast."""
        return self.precision == "bf16"

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast (no loss scaling needed, unlike fp16), or a no-op in fp32."""
        if self.amp:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move a model to the device, in channels_last memory format when switched on."""
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def timer(self) -> Iterator[dict[str, float]]:
        """Wall time of the block, synchronised before and after so queued GPU work counts."""
        result: dict[str, float] = {}
        self.synchronize()
        start = time.perf_counter()
        try:
            yield result
        finally:
            self.synchronize()
            result["seconds"] = time.perf_counter() - start

    def device_name(self) -> str:
        """The card's name, or the CPU's model and the intra-op thread count."""
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"

    def setup(self) -> dict[str, str | int]:
        """What a time measured with this engine depends on: host, device, threads, precision."""
        return {"host": socket.gethostname(), "device": self.device_name(),
                "threads": torch.get_num_threads(), "precision": self.precision}


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
