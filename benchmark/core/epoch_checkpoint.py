"""Resume a long training at its last finished epoch after a kill.

A 20-epoch CIFAR-10 original takes about half an hour on 2 CPU cores, and a session limit, a
shared machine or ``kill -9`` can stop it at any point. ``train_with_recipe`` therefore saves,
after an epoch, everything that decides the rest of the training: weights and buffers, the
optimizer's and the schedulers' state, the data-order generator, the global random stream
that draws the augmentations, the losses so far and the training seconds spent. A rerun
loads it and goes on from the next epoch, to the same weights an uninterrupted run gives
(tests/test_epoch_checkpoint.py).

Its time is the sum of the runs' wall times, which is honest after a kill (the lost part of
an epoch is not counted) but not after a pause: a process stopped with SIGSTOP or Ctrl-Z and
continued hours later counts the hours (one leaderboard gold model stored 21,280 s for a
training that took 1,268 s when redone alone). So each epoch's seconds are kept too, and :meth:`disturbance` says
when one epoch, or the time outside the epochs, is far above the median epoch: the caller
marks such a time as not comparable instead of dividing by it.

The state is an entry of the artifact store (checksummed, written atomically, swept like any
other entry), under the finished model's own cache key with its own kind
(``partial_original``, ``partial_retrain``): a partial training resumes only the training it
belongs to, never another recipe or seed. An unreadable one means starting over. Saving costs
a state-dict write, so it happens at most once every ``every_s`` seconds: short trainings (the
default preset's take seconds) never write one.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from benchmark.core.artifacts import ArtifactStore

SAVE_EVERY_S = 60.0  # the most training a kill can lose, beyond the epoch in progress
# An epoch (or the time outside the epochs) above this many median epochs, and above
# DISTURBED_MIN_S, marks the training's time as disturbed. The first epoch's warm-up took
# 1.4x the others on ResNet-9; a second job on the same 2 cores slows an epoch up to 2-3x,
# and a time measured beside one is not comparable either.
DISTURBED_FACTOR = 3.0
DISTURBED_MIN_S = 30.0


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass
class EpochCheckpoint:
    """Where one training saves its progress; ``resumed_seconds`` is what it had spent before."""

    store: ArtifactStore
    kind: str  # e.g. "partial_original"
    key: str  # the finished model's cache key
    every_s: float = field(default_factory=lambda: SAVE_EVERY_S)  # read at creation
    resumed_seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)  # every finished epoch's, resumes included
    _started: float = field(default_factory=time.perf_counter)
    _last_save: float = field(default_factory=time.perf_counter)

    def restore(self, parts: dict[str, Stateful], generator: torch.Generator,
                device: torch.device) -> tuple[int, list[float]]:
        """Load the saved state into ``parts`` and the generators; (next epoch, losses so far),
        or (0, []) when there is nothing to resume."""
        self._started = self._last_save = time.perf_counter()
        entry = self.store.load(self.kind, self.key)
        if entry is None:
            return 0, []
        state = entry[0]
        for name, part in parts.items():
            part.load_state_dict(state[name])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["cpu_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        self.resumed_seconds = float(state["seconds"])
        self.epoch_seconds = [float(x) for x in state.get("epoch_seconds", [])]
        return int(state["epoch"]), [float(x) for x in state["losses"]]

    def add_epoch(self, seconds: float) -> None:
        """Record one finished epoch's wall time."""
        self.epoch_seconds.append(seconds)

    def disturbance(self, total_seconds: float) -> str | None:
        """Why ``total_seconds`` (this run's and the resumed runs') is not a comparable time,
        or None: an epoch, or the time outside the recorded epochs, above
        DISTURBED_FACTOR median epochs (a pause, or other work on the cores)."""
        if len(self.epoch_seconds) < 2:
            return None
        median = statistics.median(self.epoch_seconds)
        limit = max(DISTURBED_FACTOR * median, DISTURBED_MIN_S)
        slowest = max(range(len(self.epoch_seconds)), key=self.epoch_seconds.__getitem__)
        outside = total_seconds - sum(self.epoch_seconds)
        if self.epoch_seconds[slowest] > limit:
            return (f"epoch {slowest + 1} took {self.epoch_seconds[slowest]:.0f} s against a median "
                    f"epoch of {median:.0f} s (paused, or other work on the cores)")
        if outside > limit:
            return (f"{outside:.0f} s of the {total_seconds:.0f} s passed outside its epochs "
                    f"(median epoch {median:.0f} s): paused between epochs")
        return None

    def maybe_save(self, epoch: int, parts: dict[str, Stateful], generator: torch.Generator,
                   device: torch.device, losses: list[float]) -> None:
        """Save the state after ``epoch`` finished epochs, if ``every_s`` has passed since the
        last save (or the start)."""
        now = time.perf_counter()
        if now - self._last_save < self.every_s:
            return
        state: dict[str, Any] = {name: part.state_dict() for name, part in parts.items()}
        state.update(epoch=epoch, losses=list(losses), generator=generator.get_state(),
                     cpu_rng=torch.get_rng_state(), epoch_seconds=list(self.epoch_seconds),
                     seconds=self.resumed_seconds + now - self._started)
        if device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(device)
        self.store.save(self.kind, self.key, state, {"epoch": epoch})
        self._last_save = time.perf_counter()

    def remove(self) -> None:
        """Forget the partial state (the finished model is stored)."""
        self.store.remove(self.kind, self.key)
