"""Stacked pool training (benchmark.core.packed, benchmark.core.stacked_training,
benchmark.harness.pool_training): N models trained together end where each alone ends.

Tolerances: in float64 a stacked member equals its lone training to 1e-12 (measured ~2e-15
after 3 epochs with augmentation, Adam, clipping and label smoothing): the loop, the seeds,
the optimizer and the schedule are the same, member by member. In float32 the grouped
kernels round differently: after one epoch (10 steps) parameters agreed within 1e-4 of each
tensor's largest value and logits within 2e-5 of theirs (measured; bounds below 1e-3 and
1e-4); after 20 epochs the rounding grows to ~4e-2 and ~3e-3, which is why stacked members
are cached under keys of their own.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.engine import Engine
from benchmark.core.packed import Unstackable, check_packed, pack
from benchmark.core.roles import Role
from benchmark.core.stacked_training import (
    StackMember,
    global_rng_state,
    recipe_problem,
    train_stacked,
)
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, predict_logits, train_with_recipe
from benchmark.harness import pool_training
from benchmark.harness.grid import GroupContext, expand
from benchmark.harness.plan import plan_of
from benchmark.harness.population import Population, member_seeds
from benchmark.harness.progress import Reporter
from benchmark.harness.references import gold_key, original_key
from benchmark.harness.runner import run
from benchmark.models import create_model
from tests.helpers import tiny_data

RECIPE = TrainRecipe(epochs=1, batch_size=64, lr=0.05, augment=False)


class Float64(Normalizer):
    """Normalised images in float64: the arithmetic in which stacking is exact."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return super().__call__(x).double()


def _train_both(recipe: TrainRecipe, n: int = 3, double: bool = False):
    data = tiny_data()
    engine = Engine.for_device("cpu", "fp32", None)
    normalizer = (Float64 if double else Normalizer)(data.mean, data.std, engine.device)
    images = LabelledImages(data.train_x, data.train_y)

    def fresh(i: int) -> tuple[nn.Module, torch.Tensor]:
        torch.manual_seed(100 + i)  # as the model factory: seed, build, then train
        model = create_model("smallcnn", data.num_classes, data.channels, data.image_size)
        return (model.double() if double else model), global_rng_state(engine.device)

    alone = []
    for i in range(n):
        model, _ = fresh(i)
        train_with_recipe(model, images, recipe, engine, normalizer, seed=i)
        alone.append(model)
    members = [StackMember(*fresh(i)[:1], seed=i, rng_state=fresh(i)[1]) for i in range(n)]
    train_stacked(members, images, recipe, engine, normalizer)
    return alone, [m.model for m in members], data, engine, normalizer


def _worst(alone: list[nn.Module], stacked: list[nn.Module]) -> float:
    """The largest difference of any tensor, relative to that tensor's largest value."""
    return max(float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))
               for one, other in zip(alone, stacked, strict=True)
               for a, b in zip(one.state_dict().values(), other.state_dict().values(),
                               strict=True) if a.is_floating_point())


@pytest.mark.parametrize("recipe", [
    dataclasses.replace(RECIPE, epochs=3, augment=True),
    dataclasses.replace(RECIPE, epochs=3, batch_size=50, optimizer="adam", lr=1e-3,
                        grad_clip_value=0.5, label_smoothing=0.1, schedule="cosine",
                        augment=True, crop_padding=2),
], ids=["sgd-onecycle-augment", "adam-cosine-clip-smoothing"])
def test_in_float64_each_stacked_member_is_its_lone_training(recipe) -> None:
    alone, stacked, *_ = _train_both(recipe, double=True)
    assert _worst(alone, stacked) < 1e-12
    for one, other in zip(alone, stacked, strict=True):  # batch norm's counters too
        assert one.features[0][1].num_batches_tracked == other.features[0][1].num_batches_tracked


def test_in_float32_stacked_and_lone_training_agree_after_an_epoch() -> None:
    alone, stacked, data, engine, normalizer = _train_both(RECIPE)
    assert _worst(alone, stacked) < 1e-3
    logits = [(predict_logits(a, data.test_x, engine, normalizer),
               predict_logits(b, data.test_x, engine, normalizer))
              for a, b in zip(alone, stacked, strict=True)]
    for a, b in logits:
        assert float((a - b).abs().max() / a.abs().max()) < 1e-4
    # ... while the members, of different seeds, are different models.
    first, second = logits[0][1], logits[1][1]
    assert float((first - second).abs().max() / first.abs().max()) > 0.1


def test_what_cannot_be_stacked_is_refused_with_a_reason() -> None:
    class Mixing(nn.Module):  # a softmax over the channels mixes the members
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).softmax(dim=1).mean((2, 3))

    with pytest.raises(Unstackable, match="mixes the members"):
        check_packed([Mixing(), Mixing()], (1, 8, 8), torch.device("cpu"))
    with pytest.raises(Unstackable, match="Dropout"):
        pack([nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))] * 2)
    with pytest.raises(Unstackable, match="LayerNorm"):
        pack([nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))] * 2)
    assert "plateau" in recipe_problem(dataclasses.replace(RECIPE, schedule="plateau"))
    assert recipe_problem(RECIPE) is None
    smallcnn = [create_model("smallcnn", 10, 1, 8) for _ in range(2)]
    check_packed(smallcnn, (1, 8, 8), torch.device("cpu"))  # packs: no error


# ----------------------------------------------------------------------------- harness
N = 3


def _stored(folder) -> dict[str, int]:
    """How many models of each kind the checkpoint folder holds."""
    kinds: dict[str, int] = {}
    for path in folder.glob("*.pt"):
        kind = path.name.rsplit("-", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


@pytest.fixture
def population_spec(tiny_spec):
    tiny_spec.methods = ["finetune"]
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, relearn=False, mia=False,
                                            population=N, population_examples=50)
    tiny_spec.train = dataclasses.replace(tiny_spec.train, epochs=2)
    return tiny_spec


def _population(spec) -> Population:
    plan = plan_of(spec)
    (group,) = expand(plan)
    factory = group.model_factory(plan.model_kwargs.get(group.model, {}))
    ctx = GroupContext(plan, group, ArtifactStore(plan.checkpoint_dir), factory,
                       Normalizer(group.data.mean, group.data.std, plan.engine.device),
                       Reporter.silent())
    return Population(ctx, group.forget_sets[0], None)


def test_small_models_stack_by_default_and_others_fall_back_with_a_reason(population_spec):
    assert _population(population_spec).training.stacked  # smallcnn on 8x8: ~1 MFLOP
    sequential = dataclasses.replace(population_spec, metrics=dataclasses.replace(
        population_spec.metrics, population_training="sequential"))
    assert not _population(sequential).training.stacked
    plateau = dataclasses.replace(population_spec, train=dataclasses.replace(
        population_spec.train, schedule="plateau"))
    training = _population(plateau).training
    assert not training.stacked and "plateau" in training.reason
    wide = dataclasses.replace(population_spec, model_kwargs={"smallcnn": {"widths": (64, 128, 256)}})
    training = _population(wide).training
    assert not training.stacked and "MFLOPs" in training.reason
    forced = dataclasses.replace(wide, metrics=dataclasses.replace(
        wide.metrics, population_training="stacked"))
    assert _population(forced).training.stacked


def test_stacked_members_have_keys_of_their_own(population_spec) -> None:
    population = _population(population_spec)
    member = population.member(member_seeds(0, "retrain", 1)[0])
    assert pool_training.stacked_key(member, Role.ORIGINAL, population.forget) \
        != original_key(member)
    assert pool_training.stacked_key(member, Role.GOLD, population.forget) \
        != gold_key(member, population.forget)


@pytest.mark.slow
def test_a_killed_stacked_pool_resumes_without_retraining_stored_members(
        population_spec, monkeypatch) -> None:
    monkeypatch.setattr(pool_training, "MAX_STACK", 2)  # chunks of 2: 2 + 1 members a pool
    trained: list[int] = []
    real = pool_training.train_stacked

    def counting(members, *args, **kwargs):
        trained.append(len(members))
        if len(trained) == 2:  # the second chunk: killed before it is stored
            raise KeyboardInterrupt
        return real(members, *args, **kwargs)

    monkeypatch.setattr(pool_training, "train_stacked", counting)
    with pytest.raises(KeyboardInterrupt):
        run(population_spec)
    assert trained == [2, 1]  # the original pool: a chunk of 2 stored, then the kill
    # The cell's own original and gold, and the 2 pool members stored before the kill.
    assert _stored(plan_of(population_spec).checkpoint_dir) == {"original": 1 + 2, "retrain": 1}
    trained.clear()

    def counting_only(members, *args, **kwargs):
        trained.append(len(members))
        return real(members, *args, **kwargs)

    monkeypatch.setattr(pool_training, "train_stacked", counting_only)
    rows = {row["method"]: row for row in run(population_spec)}
    # Resumed: the original pool's last member, then the two retrained pools of 3 (2 + 1).
    assert trained == [1, 2, 1, 2, 1]
    assert all(row["status"] == "ok" for row in rows.values())
    assert {row["metrics"]["population_training"] for row in rows.values()} == {"stacked"}
    assert rows["original"]["metrics"]["forgetting_quality"] == 0.0


@pytest.mark.slow
def test_sequential_pools_keep_the_lone_keys(population_spec) -> None:
    """The fallback path: each member trained alone, stored under the key a run of its seed
    uses (so such a run loads it), and the rows say so."""
    population_spec.metrics = dataclasses.replace(population_spec.metrics, population=2,
                                                  population_training="sequential")
    rows = run(population_spec)
    assert {row["metrics"]["population_training"] for row in rows} == {"sequential"}
    population = _population(population_spec)
    folder = plan_of(population_spec).checkpoint_dir
    for seed in member_seeds(0, "original", 2):
        member = population.member(seed)
        assert (folder / f"original-{original_key(member)}.pt").exists()
        assert not (folder / f"original-{pool_training.stacked_key(member, Role.ORIGINAL, population.forget)}.pt").exists()
    for seed in member_seeds(0, "retrain", 2):
        assert (folder / f"retrain-{gold_key(population.member(seed), population.forget)}.pt").exists()
