"""The pre-run estimate counts only the work that will happen (stored cells, cached models)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.training import TrainRecipe
from benchmark.harness.calibration import Speed, layer_mflops, speed_from_steps
from benchmark.harness.estimate import estimate
from benchmark.harness.grid import expand
from benchmark.harness.jobs import Job
from benchmark.harness.plan import plan_of
from benchmark.harness.rows import group_cells
from benchmark.harness.runner import run
from benchmark.harness.threads import forward_mflops
from benchmark.models import create_model
from tests.test_warnings import Warned


def test_a_fully_stored_run_says_nothing_to_do_and_gives_no_estimate(tiny_spec) -> None:
    run(tiny_spec)
    reporter = Warned()
    run(tiny_spec, reporter)  # every cell is stored now
    # Notes about the settings (UNSIR's retain subset is all of this tiny set) may come first.
    assert reporter.notes[-1] == "nothing to do: all 5 cells are stored"
    assert not any(note.startswith("estimated") for note in reporter.notes)
    assert not reporter.warnings
    plan = plan_of(tiny_spec)
    groups = expand(plan)
    cells = group_cells(plan, groups[0])
    cost = estimate(plan, [Job(groups[0], cells, set())], ArtifactStore(plan.checkpoint_dir, "cache"))
    assert cost.nothing_to_do and cost.seconds == 0 and cost.parts == {}


@pytest.mark.slow
def test_cached_references_are_loaded_not_counted(tiny_spec, tmp_path) -> None:
    plan = plan_of(tiny_spec)
    groups = expand(plan)
    artifacts = ArtifactStore(plan.checkpoint_dir, "cache")
    fresh = estimate(plan, groups, artifacts)
    assert {"original", "gold 3", "unsir", "fisher", "finetune", "metrics"} <= set(fresh.parts)
    assert fresh.loaded == 0 and fresh.todo == fresh.cells == 5
    run(tiny_spec)  # trains and caches the original and the gold model
    other_results = dataclasses.replace(tiny_spec, results=str(tmp_path / "other.sqlite"))
    plan = plan_of(other_results)
    cached = estimate(plan, expand(plan), artifacts)
    assert cached.loaded == 2
    assert "original" not in cached.parts and "gold 3" not in cached.parts
    assert cached.seconds < fresh.seconds
    reporter = Warned()
    run(other_results, reporter)
    # Notes about the settings (UNSIR's retain subset is all of this tiny set) may come first.
    assert reporter.notes[-1].startswith("estimated: about ") and " from now for " in reporter.notes[-1]
    assert "2 cached models loaded" in reporter.notes[-1]


def test_the_estimate_grows_with_the_work(tiny_spec) -> None:
    plan = plan_of(tiny_spec)
    groups = expand(plan)
    short = estimate(plan, groups)
    tiny_spec.train = TrainRecipe(epochs=40, batch_size=64, lr=0.05, augment=False)
    long = estimate(plan_of(tiny_spec), groups)
    assert short.seconds > 0 and long.parts["original"] > 3 * short.parts["original"]  # 10x the epochs


def test_estimating_moves_no_seeded_stream(tiny_spec) -> None:
    plan = plan_of(tiny_spec)
    groups = expand(plan)
    torch.manual_seed(0)
    estimate(plan, groups)
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))


def test_layer_flops_match_the_flop_counter() -> None:
    for name, shape in (("smallcnn", (1, 8, 8)), ("resnet9", (3, 32, 32))):
        model = create_model(name, 10, shape[0], shape[1])
        assert abs(layer_mflops(model, shape) - forward_mflops(model, shape)) < 1e-6


def test_a_pass_costs_steps_and_images() -> None:
    speed = Speed(step_s=0.01, image_s=0.001)
    assert speed.train(100, 64) == 2 * 0.01 + 100 * 0.001
    assert abs(speed.forward(100, 64) - speed.train(100, 64) / 3) < 1e-12


def test_the_per_image_cost_is_the_slope_held_within_half_and_all_of_the_big_step() -> None:
    # ResNet-9 on 2 Zen 3 EPYC threads: 28.3 ms at batch 8, 40.5 ms at 16 (1.77 ms an image
    # at batch 256): the slope, 1.53 ms, not the big step's 2.53 ms an image.
    speed = speed_from_steps(8, 0.0283, 16, 0.0405)
    assert speed.image_s == pytest.approx((0.0405 - 0.0283) / 8)
    assert speed.step_s == pytest.approx(0.0283 - 8 * speed.image_s)
    assert speed.train(256, 256) / 256 == pytest.approx(0.00177, rel=0.15)  # measured at 256
    # Noise: a small step slower than the big one gives a negative slope; a small step near
    # zero a slope above the big step's average. Both are held to [half, all] of it.
    assert speed_from_steps(8, 0.05, 16, 0.04).image_s == pytest.approx(0.04 / 16 / 2)
    assert speed_from_steps(8, 0.0, 16, 0.04).image_s == pytest.approx(0.04 / 16)


@pytest.mark.slow
def test_a_population_counts_its_pools_and_runs_but_not_cached_members(tiny_spec, tmp_path) -> None:
    tiny_spec.methods = ["finetune"]
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, relearn=False, mia=False,
                                            population=2, population_examples=50)
    plan = plan_of(tiny_spec)
    artifacts = ArtifactStore(plan.checkpoint_dir, "cache")
    fresh = estimate(plan, expand(plan), artifacts)
    # Two originals; four retrained models (R, and R' for the gold row) at the gold's cost;
    # two runs of the one method; outputs of 2 x (originals, R, R', finetune) models.
    assert fresh.parts["population originals"] == pytest.approx(2 * fresh.parts["original"])
    assert fresh.parts["population retrains"] == pytest.approx(4 * fresh.parts["gold 3"])
    assert fresh.parts["population runs"] == pytest.approx(2 * fresh.parts["finetune"])
    assert fresh.parts["population outputs"] > 0
    without = estimate(plan_of(dataclasses.replace(
        tiny_spec, metrics=dataclasses.replace(tiny_spec.metrics, population=0))), expand(plan))
    assert not any(name.startswith("population") for name in without.parts)
    run(tiny_spec)  # trains and caches every member of the three pools
    other = plan_of(dataclasses.replace(tiny_spec, results=str(tmp_path / "other.sqlite")))
    again = estimate(other, expand(other), artifacts)
    assert again.parts["population originals"] == 0 and again.parts["population retrains"] == 0
    assert again.parts["population runs"] > 0  # unlearning runs are not cached: they run again


def test_the_estimate_adds_the_start_up_only_for_a_command(monkeypatch) -> None:
    import time

    from benchmark.core import command_clock
    from benchmark.harness.runner import whole_command

    monkeypatch.setattr(command_clock, "_started", None)  # library use: no command to time
    assert whole_command(30.0) == ""
    monkeypatch.setattr(command_clock, "_started", time.perf_counter() - 5.0)  # 5 s of start-up
    said = whole_command(30.0)
    assert said.startswith("; 3") and said.endswith(" s for the whole command")  # 35 s


def test_layerwise_importances_are_priced_from_the_models_layers() -> None:
    """Fisher's exact importances take C - 1 cotangents a sample on the CPU, SSD's and the
    sampled Fisher's one; the squares cost what the cheaper way of each layer costs."""
    from benchmark.harness.calibration import SQUARES_COST, layer_count
    from benchmark.harness.method_work import METHOD_WORK, Sizes
    from methods.fisher import FisherConfig
    from methods.per_sample_squares import squares_madds, way_costs
    from methods.ssd import SsdConfig

    model = create_model("resnet9", 10, 3, 32)
    mflops, layers = layer_count(model, (3, 32, 32))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) == len(convs) + len(linears) and mflops == layer_mflops(model, (3, 32, 32))
    first = convs[0]
    assert layers[0][:3] == (first.out_channels, first.in_channels * 9, first.groups)
    assert squares_madds(layers, 9) == sum(min(way_costs(9, *layer)) for layer in layers)
    assert squares_madds(layers, 9) > squares_madds(layers, 1) > 0

    speed = Speed(step_s=0.0, image_s=0.001, mflops=mflops, layers=layers)
    per_madd = 0.001 / (1.5e6 * mflops)
    assert speed.layerwise(1, 32, 9) == pytest.approx(
        10 / 3 * 0.001 + SQUARES_COST * squares_madds(layers, 9) * per_madd)
    blind = Speed(step_s=0.0, image_s=0.001)  # no layer count: two thirds of an image a cotangent
    assert blind.layerwise(1, 32, 1) == pytest.approx(0.001 * (2 / 3 + 2 / 3))

    sizes = Sizes(50_000, 45_000, 5_000, 10, 1, 5_000, TrainRecipe(epochs=1, batch_size=256))
    [(images, _, kind)] = METHOD_WORK["fisher"](FisherConfig(subset_per_class=0), sizes)
    assert (images, kind) == (45_000, "layerwise_exact")
    [(_, _, kind)] = METHOD_WORK["fisher"](FisherConfig(subset_per_class=0, approximation="sampled"), sizes)
    assert kind == "layerwise_one"
    [(images, _, kind)] = METHOD_WORK["ssd"](SsdConfig(), sizes)
    assert (images, kind) == (50_000, "layerwise_one")
    on_cuda = dataclasses.replace(sizes, cpu=False)  # torch.func: a gradient per sample and class
    assert METHOD_WORK["fisher"](FisherConfig(subset_per_class=0), on_cuda)[0][::2] == (450_000, "per_sample")


def test_unsirs_noise_is_priced_without_weight_gradients() -> None:
    """The noise steps freeze the weights (methods/unsir.py): a forward pass and a backward
    pass to the input, two thirds of a training pass."""
    from benchmark.harness.estimate import _method_seconds
    from benchmark.harness.method_work import METHOD_WORK, Sizes
    from methods.unsir import Unsir

    sizes = Sizes(50_000, 45_000, 5_000, 10, 1, 5_000, TrainRecipe(epochs=1, batch_size=256))
    method = Unsir()
    passes = METHOD_WORK["unsir"](method.config, sizes)
    assert passes[0][2] == "input_gradient" and passes[0][0] == 40 * 256
    speed = Speed(step_s=0.01, image_s=0.001)
    whole = sum(speed.train(images, batch) for images, batch, _ in passes)
    assert _method_seconds(method, sizes, speed) == pytest.approx(whole - speed.train(*passes[0][:2]) / 3)
