"""Many-model forgetting tests: populations of originals, retrained and unlearned models.

With ``--set metrics.population=N`` every cell of a forget set gets, besides its own
metrics, the competition's forgetting quality and KLOM (benchmark.metrics.population),
comparing N models of its kind with N models retrained without the forget set:

- the retrained pool R: N retrains at the member seeds of this (model, data set, seed);
- the original's row: N originals (training seeds) against R: the worst end of the scale;
- the gold retrain's row: a second, independent retrained pool against R: the best end,
  retrain-vs-retrain, the floor every method reads against (F well below 1 at small N);
- a method's row: the method run from each of the N originals (one run each: a different
  training seed, the unit statistics should use; Lanyon et al. 2025, arXiv 2510.26714), or,
  with ``metrics.population_mode=unlearning_seeds``, from the cell's one original with N
  unlearning seeds (a method whose output does not depend on the seed is refused then).

Every member is an original or a gold model of its own seed, cached under the key a run
with that seed would use (benchmark.harness.references), plus a mark when the pool's models
trained together (stacked, benchmark.harness.pool_training: the default for small models):
a pool is built once, resumes after a kill at the member (or stack of members) it had
reached, and is shared by every method and every later run; a pool for another recipe, data
set or forget set has other keys, never reused. The members' seeds are derived from the
cell's seed, so N, the seeds and how they trained define the pool.

Per example the members' outputs are taken on: every forgotten training example (F and
``klom_forget``), and a seeded sample of ``population_examples`` retained training
examples and of the test examples (``klom_retain``, ``klom_test`` and the utility ratios of
the final score: accuracy on those samples, mean over each population).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmark.core.roles import Role
from benchmark.core.seeding import derive_seed
from benchmark.core.training import predict_logits
from benchmark.harness.grid import GroupContext
from benchmark.harness.pool_training import PoolTraining, decide, stacked_key, train_missing
from benchmark.harness.progress import Reporter
from benchmark.harness.references import cached_model, gold_model, original_model
from benchmark.harness.unlearning import unlearn_in
from benchmark.metrics import population as P
from datasets.forget_sets import ForgetSet

POPULATION_STRIDE = 1_000_033  # a prime: member seeds never meet a run's own seeds' streams
# One stream of seeds a pool; "unlearning": the seeds of a method's runs from one original.
POOL_SALTS = {"original": 1, "retrain": 2, "retrain_b": 3, "unlearning": 5}
EXAMPLE_SALT = 4  # the seeded sample of retained and test examples


def member_seeds(seed: int, pool: str, n: int) -> list[int]:
    """The training seeds of pool ``pool`` ("original", "retrain", "retrain_b") of size n."""
    return [derive_seed(seed, POOL_SALTS[pool] * 100_000 + i, POPULATION_STRIDE) for i in range(n)]


def training_count(n: int, forget_sets: int, methods: int) -> int:
    """Trainings and unlearning runs a population of n costs a (model, data set, seed)."""
    return n + forget_sets * (2 * n + n * methods)


@dataclass(frozen=True)
class Outputs:
    """One model's outputs on the population's examples."""

    forget_conf: np.ndarray  # logit-scaled confidence on each forgotten training example
    forget_margin: np.ndarray
    retain_margin: np.ndarray
    test_margin: np.ndarray
    retain_acc: float
    test_acc: float


class Population:
    """The pools of one forget set of one group, built on first use and kept as outputs."""

    def __init__(self, ctx: GroupContext, forget: ForgetSet, original: nn.Module) -> None:
        self.ctx, self.forget, self.original = ctx, forget, original
        self.n = ctx.plan.metrics.population
        data = ctx.group.data
        forget_train, _ = forget.masks(data)
        generator = torch.Generator().manual_seed(derive_seed(ctx.group.seed, EXAMPLE_SALT))
        cap = ctx.plan.metrics.population_examples
        retain_rows = torch.nonzero(~forget_train.cpu()).flatten()
        retain_rows = retain_rows[torch.randperm(len(retain_rows), generator=generator)[:cap]]
        test_rows = torch.randperm(len(data.test_y), generator=generator)[:cap]
        self.sets = {
            "forget": (data.train_x[forget_train], data.train_y[forget_train]),
            "retain": (data.train_x[retain_rows.to(data.train_x.device)],
                       data.train_y[retain_rows.to(data.train_y.device)]),
            "test": (data.test_x[test_rows.to(data.test_x.device)],
                     data.test_y[test_rows.to(data.test_y.device)]),
        }
        self._pools: dict[str, list[Outputs]] = {}
        self._training: PoolTraining | None = None

    # ------------------------------------------------------------------------- members
    def member(self, seed: int) -> GroupContext:
        """The context of a member: this group at training seed ``seed`` (its own cache keys)."""
        group = dataclasses.replace(self.ctx.group, seed=seed)
        factory = group.model_factory(self.ctx.plan.model_kwargs.get(group.model, {}))
        return dataclasses.replace(self.ctx, group=group, factory=factory,
                                   reporter=Reporter.silent())

    def outputs(self, model: nn.Module) -> Outputs:
        engine, normalizer = self.ctx.engine, self.ctx.normalizer
        values = {}
        for name, (x, y) in self.sets.items():
            logits = predict_logits(model, x, engine, normalizer).double().cpu().numpy()
            values[name] = (logits, y.cpu().numpy())
        return Outputs(
            forget_conf=P.logit_scaled_confidence(*values["forget"]),
            forget_margin=P.margins(*values["forget"]),
            retain_margin=P.margins(*values["retain"]),
            test_margin=P.margins(*values["test"]),
            retain_acc=_accuracy(*values["retain"]), test_acc=_accuracy(*values["test"]))

    @property
    def training(self) -> PoolTraining:
        """How the pools train (decided once; the reason said once when not stacked)."""
        if self._training is None:
            self._training = decide(self.ctx)
            if not self._training.stacked:
                asked = self.ctx.plan.metrics.population_training == "stacked"
                say = self.ctx.reporter.warn if asked else self.ctx.reporter.note
                say(f"{self.ctx.where(self.forget)}: population models train one after the "
                    f"other: {self._training.reason}")
        return self._training

    def pool(self, name: str) -> list[Outputs]:
        """Outputs of the ``original``, ``retrain`` or ``retrain_b`` pool (built once)."""
        if name not in self._pools:
            with self.ctx.reporter.phase(f"{self.ctx.where(self.forget)}: population, "
                                         f"{self.n} {name.replace('_b', ' (second pool)')} models"):
                self._pools[name] = [self.outputs(model) for _, model in self.models(name)]
        return self._pools[name]

    def models(self, name: str) -> Iterator[tuple[GroupContext, nn.Module]]:
        """Each member of pool ``name`` with its context, loaded or trained (stacked: every
        missing member is trained, together, before the first is yielded)."""
        role = Role.ORIGINAL if name == "original" else Role.GOLD
        members = [self.member(seed) for seed in member_seeds(self.ctx.group.seed, name, self.n)]
        if self.training.stacked:
            train_missing(members, role, self.forget, self.training)
        for member in members:
            yield member, self._reference(member, role)

    def _reference(self, member: GroupContext, role: Role) -> nn.Module:
        seed = member.group.seed
        if self.training.stacked:
            key = stacked_key(member, role, self.forget)
            reference = cached_model(member, role, key)
            if reference is None:  # unreadable since: trained again (a stack of one)
                train_missing([member], role, self.forget, self.training)
                reference = cached_model(member, role, key)
            if reference is None:
                raise RuntimeError(f"population member {role.value} seed {seed}: stored "
                                   "model cannot be read back")
            return reference.model
        if role is Role.ORIGINAL:
            reference = original_model(member)
        else:
            reference = gold_model(member, self.forget, self.original)
        if reference.model is None:
            raise RuntimeError(f"population member {role.value} seed {seed}: {reference.error}")
        return reference.model

    def method(self, name: str) -> list[Outputs]:
        """The method run from each original of the pool (a training seed each), or, with
        ``population_mode=unlearning_seeds``, from the cell's original with N seeds."""
        method = self.ctx.plan.method(name)
        from_originals = self.ctx.plan.metrics.population_mode == "originals"
        found = []
        with self.ctx.reporter.phase(f"{self.ctx.where(self.forget)}: population, "
                                     f"{self.n} runs of {name}"):
            starts = self.models("original") if from_originals else (
                (self.member(seed), self.original)
                for seed in member_seeds(self.ctx.group.seed, "unlearning", self.n))
            for member, start in starts:  # the member's seed seeds the request (and new models)
                outcome = unlearn_in(member, method, self.forget, start)
                if outcome.failed:
                    raise RuntimeError(f"population run of {name} from seed {member.group.seed}: "
                                       f"{outcome.error}")
                found.append(self.outputs(outcome.model))
        return found

    # ------------------------------------------------------------------------- scores
    def scores(self, population: list[Outputs]) -> dict[str, float | int]:
        """F, the final score and KLOM of ``population`` against the retrained pool."""
        reference = self.pool("retrain")

        def stack(pop: list[Outputs], field: str) -> np.ndarray:
            return np.stack([getattr(o, field) for o in pop])

        epsilons = P.example_epsilons(stack(population, "forget_conf"),
                                      stack(reference, "forget_conf"))
        quality = float(P.epsilon_points(epsilons, self.n).mean())
        mean = {field: (float(np.mean([getattr(o, field) for o in population])),
                        float(np.mean([getattr(o, field) for o in reference])))
                for field in ("retain_acc", "test_acc")}
        ratios = [own / gold if gold > 0 else float("nan") for own, gold in mean.values()]
        return {
            "forgetting_quality": quality,
            "forgetting_score": quality * ratios[0] * ratios[1],
            **{f"klom_{split}": P.klom_percentile(P.klom(stack(population, f"{split}_margin"),
                                                         stack(reference, f"{split}_margin")))
               for split in ("forget", "retain", "test")},
            "population": self.n,
            "population_mode": self.ctx.plan.metrics.population_mode,
            "population_training": self.training.name,
            "forget_epsilons": [round(float(e), 3) for e in epsilons],  # for the report's ECDF
        }


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")
