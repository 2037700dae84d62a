"""N models trained together, each as :func:`train_with_recipe` would train it alone.

The members of a population's pool share an architecture, a training set and a recipe; they
differ in their initialisation and their seeds. :func:`train_stacked` packs them into one
model (benchmark.core.packed) and runs the recipe's loop once over the packed model, with:

- each member's own batch order, drawn from its own generator seeded like
  ``train_with_recipe``'s, and its own augmentation, drawn from a generator holding the
  global RNG state its lone training would have started from (``StackMember.rng_state``);
- the sum of the members' mean losses as the loss: member n's gradient is its own loss's;
- one optimizer over the packed parameters. SGD (momentum, Nesterov, weight decay) and Adam
  act element by element with one shared step count, and value clipping is element-wise,
  so one optimizer over the packed tensors takes each member's own step;
- one learning-rate schedule: constant, one-cycle and cosine depend on the step only.

So in exact arithmetic each member ends where its lone training ends. What is not
element-wise is refused by :func:`recipe_problem` (the plateau schedule steps each model on
its own loss; an optimizer or a recipe setting this module does not know), and the caller
trains one after the other instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.packed import Unstackable, pack, pack_inputs, unpack, unpack_outputs
from benchmark.core.progress import progress
from benchmark.core.tensors import Augment, LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, lr_schedule, make_optimizer

# A stack trains in channels_last whatever the engine's layout: on 2 CPU cores the packed small
# CNN of the default preset trained 1.2-1.9x faster than the members one by one in NHWC and
# 1.2-1.5x in NCHW (48 members, 2 epochs, 3 interleaved rounds, loaded machine; the layout
# changes nothing but rounding, and stacked members have cache keys of their own anyway).
CHANNELS_LAST = True
ELEMENTWISE_OPTIMIZERS = ("sgd", "adam")
STEP_SCHEDULES = ("constant", "onecycle", "cosine")  # the learning rate depends on the step only
# Every TrainRecipe setting this module keeps member by member. A setting added to the recipe
# later is refused until someone checks that stacking keeps it (and adds it here).
KNOWN_RECIPE_FIELDS = frozenset({
    "epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay",
    "schedule", "label_smoothing", "augment", "crop_padding", "flip", "grad_clip_value",
    "plateau_factor", "plateau_patience", "plateau_monitor"})


@dataclass
class StackMember:
    """One model of a stack: initialised, on the engine's device; trained in place."""

    model: nn.Module
    seed: int  # train_with_recipe's seed: the member's batch order
    # The global RNG state (of the engine's device) its lone training would start from: its
    # augmentation draws come from there. None: the recipe does not augment.
    rng_state: torch.Tensor | None = None


def recipe_problem(recipe: TrainRecipe) -> str | None:
    """Why ``recipe`` cannot train models stacked, or None when it can."""
    unknown = sorted({f.name for f in fields(recipe)} - KNOWN_RECIPE_FIELDS)
    if unknown:
        return f"the training setting(s) {', '.join(unknown)} are not known to stack"
    if recipe.optimizer not in ELEMENTWISE_OPTIMIZERS:
        return f"the {recipe.optimizer} optimizer is not known to act element by element"
    if recipe.schedule not in STEP_SCHEDULES:
        return f"the {recipe.schedule} schedule sets each model's learning rate from its own loss"
    return None


def global_rng_state(device: torch.device) -> torch.Tensor:
    """The global RNG state that draws on ``device`` use now (what augmentation draws from)."""
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def train_stacked(members: Sequence[StackMember], data: LabelledImages, recipe: TrainRecipe,
                  engine: Engine, normalizer: Normalizer) -> list[list[float]]:
    """Train ``members`` together on ``data`` with ``recipe``; each member's loss per epoch.

    Raises Unstackable when the recipe or the model cannot be stacked (nothing trained then).
    """
    problem = recipe_problem(recipe)
    if problem:
        raise Unstackable(problem)
    models = [m.model for m in members]
    n = len(members)
    packed = engine.prepare(pack(models)).train()
    if CHANNELS_LAST:
        packed = packed.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(packed.parameters(), recipe.optimizer, recipe.lr,
                               recipe.weight_decay, recipe.momentum, recipe.nesterov)
    scheduler, _ = lr_schedule(optimizer, recipe, -(-len(data) // recipe.batch_size))
    after_step = scheduler.step if scheduler is not None else None
    augment = Augment(recipe.crop_padding, recipe.flip) if recipe.augment else None
    orders = [torch.Generator().manual_seed(m.seed) for m in members]
    draws = [_generator(engine.device, m.rng_state) for m in members] if augment else []
    losses: list[list[float]] = [[] for _ in members]
    for epoch in range(recipe.epochs):
        epoch_loss = _epoch(packed, n, data, optimizer, engine, normalizer, recipe, orders,
                            augment, draws, after_step)
        for member, value in zip(losses, epoch_loss, strict=True):
            member.append(value)
        progress(epoch + 1, recipe.epochs, f"loss {sum(epoch_loss) / n:.3f} (mean of {n})")
    unpack(packed, models)
    for model in models:
        model.train()
    return losses


def _epoch(packed: nn.Module, n: int, data: LabelledImages, optimizer: torch.optim.Optimizer,
           engine: Engine, normalizer: Normalizer, recipe: TrainRecipe,
           orders: list[torch.Generator], augment: Augment | None,
           draws: list[torch.Generator], after_step) -> list[float]:
    """One pass of every member over ``data`` in its own order (``shuffled_batches``'s)."""
    order = torch.stack([torch.randperm(len(data), generator=g) for g in orders])
    total = torch.zeros(n, device=engine.device)
    steps = 0
    for start in range(0, len(data), recipe.batch_size):
        index = order[:, start:start + recipe.batch_size].to(data.x.device)
        x = normalizer(data.x[index])  # [N, batch, C, H, W]; per element, as alone
        if augment is not None:
            x = torch.stack([augment(x[i], draws[i]) for i in range(n)])
        x = pack_inputs(x)
        if (CHANNELS_LAST or engine.channels_last) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        labels = data.y[index]  # [N, batch]
        with engine.autocast():
            logits = unpack_outputs(packed(x), n)  # [N, batch, classes]
            each = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                label_smoothing=recipe.label_smoothing, reduction="none",
            ).view(n, -1).mean(dim=1)  # each member's mean loss, as alone
        optimizer.zero_grad(set_to_none=True)
        each.sum().backward()
        if recipe.grad_clip_value is not None:
            nn.utils.clip_grad_value_(packed.parameters(), recipe.grad_clip_value)
        optimizer.step()
        if after_step is not None:
            after_step()
        total += each.detach()
        steps += 1
    return (total / max(steps, 1)).tolist()


def _generator(device: torch.device, state: torch.Tensor | None) -> torch.Generator:
    if state is None:
        raise ValueError("an augmenting recipe needs each member's rng_state")
    generator = torch.Generator(device=device)
    generator.set_state(state)
    return generator


def member_bytes(model: nn.Module, image_shape: tuple[int, ...], batch_size: int) -> int:
    """Rough memory one member of a stack needs while training: its parameters four times
    (weights, gradients, up to two optimizer states) and its layers' outputs on a batch,
    three times (kept for the backward pass, their gradients, the input and its copies)."""
    parameter = next(model.parameters())
    sizes: list[int] = []

    def count(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel() * output.element_size())

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    probe = 2
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            was_training = model.training
            model.eval()
            model(torch.zeros(probe, *image_shape, device=parameter.device, dtype=parameter.dtype))
            model.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    activations = math.ceil(sum(sizes) * batch_size / probe)
    return 4 * weights + 3 * activations
