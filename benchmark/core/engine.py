"""Device settings shared by every training loop: where tensors live and how math runs.

On CUDA the habits from DESIGN.md apply (bf16 autocast, channels_last, cudnn.benchmark);
on the CPU the same code runs in float32, which keeps tests exact and portable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.core.errors import UserError


@dataclass(frozen=True)
class Engine:
    """Where and how models run; pass one Engine through the whole harness."""

    device: torch.device
    amp: bool
    channels_last: bool
    eval_batch_size: int = 2048

    @classmethod
    def for_device(cls, name: str = "auto") -> Engine:
        """``"auto"`` picks CUDA when present; ``"cpu"``, ``"cuda"`` or ``"cuda:1"`` as given."""
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(name)
        except RuntimeError as error:
            raise UserError(f"unknown device {name!r}; use auto, cpu or cuda[:N]") from error
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise UserError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            return cls(device=device, amp=True, channels_last=True)
        if device.type != "cpu":
            raise UserError(f"device {name!r} is not supported; use auto, cpu or cuda[:N]")
        return cls(device=device, amp=False, channels_last=False)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); a no-op on the CPU."""
        if self.amp:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move a model to the device, in channels_last memory format on CUDA."""
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
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        import platform

        return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
