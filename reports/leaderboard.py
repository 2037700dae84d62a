"""The leaderboard's numbers: per scenario, every method against the gold retrained model.

A *board* is one (model, data set, scenario): whole classes, a sub-class or random samples
(the rows' ``scenario``; every forget set of that scenario the results hold is pooled and
named). An *entry* is a method at one kind of settings: ``default`` (the preset's, with
``--set``) or ``tuned`` (rows whose spec records ``tuned_from``: ``run --tuned``).

Each row is paired with the gold ``retrain`` row of its cell (same model, data set, forget
set, seed and device: the cell ``benchmark.claims`` pairs ``relative_to`` rows on), giving

- the forget-accuracy gap, ``forget acc - gold forget acc``: test accuracy on the forgotten
  classes or sub-class (``forget_acc_test``); in the random-samples scenario no test sample
  is forgotten, so the accuracy on the forgotten training samples (``forget_acc_train``);
- the retain-accuracy gap, ``retain_acc_test - gold retain_acc_test``;
- the score, ToW (benchmark/metrics/tow.py) of the two: the tuning objective's formula, here
  on the test split; a failed cell scores 0, as in tuning.

A seed's value is the mean over the board's forget sets of that seed; an entry's value is the
mean over training seeds with its 95 % Student-t interval (reports.stats; none for one seed).
With every seed holding every forget set this mean equals the mean over rows that a claim
(``relative_to = { method = "retrain" }``) computes. The membership attack, F, KLOM, time and
speed-up are the rows' own values, averaged the same way.

Ranking (:func:`rank`): each method is ranked once, at its tuned settings where the results
hold them (chosen on validation data with one budget for all: the fair comparison), else at
its defaults; by mean score, higher first, equal scores by mean time, faster first. Picking
whichever of default and tuned scores better on the test split would select on test data.
The other entry of a ranked method is listed beside it without a rank. Metric names, labels,
units and directions come from benchmark.metrics.registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from benchmark.core.errors import UserError
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.core.scenarios import Scenario
from benchmark.metrics.registry import Metric, metric
from benchmark.metrics.tow import tow
from reports.frame import OK, usable
from reports.identity import TUNED_SUFFIX, base_method, method_display
from reports.stats import half_width

DEFAULT, TUNED, REFERENCE = "default", "tuned", "reference"
SCENARIO_TITLES = {Scenario.CLASSES.value: "whole classes", Scenario.SUBCLASS.value: "sub-class",
                   Scenario.SAMPLES.value: "random samples"}
PAIR_KEYS = ["model", "dataset", "forget", "seed", "device"]  # = benchmark.claims' cell
RETAIN = "retain_acc_test"
# Shown as the rows hold them, averaged like the gaps (only columns some entry has values in).
SHOWN = ("mia_entropy_member_rate", "forgetting_quality", "klom_forget", "time_s",
         "speedup_vs_retrain")
SCORE = "tow"
SCORE_TEXT = ("ToW on the test split = (1 - |forget gap|) x (1 - |retain gap|), accuracies as "
              "fractions: 1 = the gold model's accuracies")


@dataclass(frozen=True)
class Stat:
    """Per-seed values, their mean and the half-width of its 95 % t interval (NaN for n < 2)."""

    mean: float
    half: float
    n: int
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: pd.Series) -> Stat:
        values = pd.Series(values, dtype=float).dropna()
        if values.empty:
            return cls(math.nan, math.nan, 0)
        return cls(float(values.mean()), half_width(values), len(values), tuple(values))

    @classmethod
    def exactly(cls, value: float, n: int) -> Stat:
        """A value that is what it is by definition (the gold model's own gaps)."""
        return cls(value, math.nan, n, (value,) * n)

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half


@dataclass
class Entry:
    """One method at one kind of settings on one board (or a reference: gold, original)."""

    method: str  # the method's name (``retrain``, ``original`` for the references)
    settings: str  # DEFAULT, TUNED or REFERENCE
    label: str
    key: str  # the prepared frame's method key (``ssd+tuned``)
    seeds: int
    failed: int  # failed cells (they score 0 and have no other value)
    stats: dict[str, Stat]  # "forget_gap", "retain_gap", SCORE, the SHOWN columns; gold: absolutes
    tuned_from: list[str] = field(default_factory=list)
    timing_setups: int = 1
    colour: str = "#333333"
    display: str = ""  # as legends show it, with the settings: "SSD (tuned)"
    rank: int | None = None



@dataclass
class Board:
    """The entries of one (model, data set, scenario), references first, then by rank."""

    model: str
    dataset: str
    scenario: str
    forget_sets: list[str]  # titles, e.g. "3 (cat)"
    forget_metric: Metric
    entries: list[Entry]
    shown: list[Metric]  # SHOWN metrics some entry has values for
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.short_title} (forget {'; '.join(self.forget_sets)})"

    @property
    def short_title(self) -> str:
        """The title without the forget sets, whose list can outgrow a figure's width."""
        return f"{self.model} / {self.dataset}: {SCENARIO_TITLES.get(self.scenario, self.scenario)}"

    @property
    def figure_title(self) -> str:
        """The title, or the count of forget sets when more than three would not fit."""
        if len(self.forget_sets) <= 3:
            return self.title
        return f"{self.short_title} ({len(self.forget_sets)} forget sets)"

    @property
    def name(self) -> str:
        """A file-name-safe id: ``smallcnn-digits-classes``."""
        text = f"{self.model}-{self.dataset}-{self.scenario}"
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-")

    @property
    def gold(self) -> Entry:
        return next(e for e in self.entries if e.method == GOLD_METHOD)


def scenario_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's scenario: the stored column, or read from the forget set's text."""
    if "scenario" in frame:
        return frame["scenario"].fillna(Scenario.CLASSES.value).astype(str)
    return frame["forget"].astype(str).map(
        lambda f: Scenario.SUBCLASS.value if f.startswith("subclass:")
        else Scenario.SAMPLES.value if f.startswith("samples:") else Scenario.CLASSES.value)


def forget_metric_of(rows: pd.DataFrame) -> Metric:
    """``forget_acc_test`` where the board's rows hold it, else ``forget_acc_train``
    (random samples: no test sample is forgotten)."""
    test = metric("forget_acc_test")
    if test.column in rows and rows[test.column].notna().any():
        return test
    return metric("forget_acc_train")


def boards(frame: pd.DataFrame, source: str = "the results") -> list[Board]:
    """Every board of a prepared frame (reports.frame.prepare), in model, data set and
    scenario order. One-line UserErrors when nothing can be ranked (no gold rows, no method)."""
    frame = frame.assign(scenario=scenario_of(frame))
    if not (usable(frame)["method"] == GOLD_METHOD).any():
        raise UserError(f"{source} hold no usable gold rows ({GOLD_METHOD}, status ok) to compare "
                        "with; the leaderboard measures every method against retraining: run "
                        "again (every run stores a retrain row per forget set) or pass the --db "
                        "of a run that finished")
    methods = ~frame["method"].isin([GOLD_METHOD, Role.ORIGINAL.value])
    if not methods.any():
        raise UserError(f"{source} hold only reference rows (original, retrain); run some "
                        "methods (--methods ...) to rank")
    out, skipped = [], []
    order = [s.value for s in Scenario]
    keys = ["model", "dataset", "scenario"]
    for (model, dataset, scenario), rows in sorted(
            frame.groupby(keys, sort=False),
            key=lambda item: (str(item[0][0]), str(item[0][1]),
                              order.index(item[0][2]) if item[0][2] in order else len(order))):
        if not (usable(rows)["method"] == GOLD_METHOD).any():
            skipped.append(f"{model}/{dataset} {scenario}")
            continue
        board = _board(str(model), str(dataset), str(scenario), rows)
        if board is not None:
            out.append(board)
    if not out:
        raise UserError(f"{source}: no model, data set and scenario holds both usable gold rows "
                        f"and method rows{' (no gold in ' + ', '.join(skipped) + ')' if skipped else ''}")
    if skipped:
        out[0].notes.append(f"Not ranked, no usable gold row: {', '.join(skipped)}.")
    return out


def _board(model: str, dataset: str, scenario: str, rows: pd.DataFrame) -> Board | None:
    ok = usable(rows)
    forget = forget_metric_of(ok)
    titles = (rows[["n_forget", "forget", "forget_title"]].drop_duplicates("forget")
              .sort_values(["n_forget", "forget"])["forget_title"].tolist())
    gold = (ok[ok["method"] == GOLD_METHOD].groupby(PAIR_KEYS)[[forget.column, RETAIN]].mean()
            .rename(columns={forget.column: "_gold_forget", RETAIN: "_gold_retain"}).reset_index())
    notes = _skipped_notes(rows)
    entries = [_gold_entry(ok, forget)]
    considered = rows[rows["status"].isin([OK, "failed"])]
    for key in _keys(considered):
        entry = _entry(key, considered[considered["method"] == key], gold, forget, notes)
        if entry is not None:
            entries.append(entry)
    if len(entries) == 1 or all(e.settings == REFERENCE for e in entries):
        return None
    entries = rank(entries)
    if dataset.endswith("]"):  # reports.configs split this data set by configuration
        notes.append(f"{dataset}: one of several configurations of {model} on this data set; "
                     "`python -m benchmark report` lists what each letter is.")
    shown = [metric(name) for name in SHOWN
             if any(not math.isnan(e.stats[name].mean) for e in entries if name in e.stats)]
    return Board(model, dataset, scenario, titles, forget, entries, shown, notes)


def _keys(rows: pd.DataFrame) -> list[str]:
    """The original first, then methods and their tuned variants as first stored."""
    keys = [k for k in dict.fromkeys(rows["method"]) if k != GOLD_METHOD]
    return sorted(keys, key=lambda k: k != Role.ORIGINAL.value)


def _skipped_notes(rows: pd.DataFrame) -> list[str]:
    skipped = rows[~rows["status"].isin([OK, "failed"])]
    notes = []
    for method, part in skipped.groupby(skipped["method"].map(base_method), sort=False):
        reason = next((e for e in part["error"] if isinstance(e, str) and e), "skipped")
        notes.append(f"{method_display(method)} is not on this board: {reason}")
    return notes


def _gold_entry(ok: pd.DataFrame, forget: Metric) -> Entry:
    """The gold model's own values: absolute accuracies (its gaps are 0 by definition)."""
    gold = ok[ok["method"] == GOLD_METHOD]
    per_seed = gold.groupby("seed")[[forget.column, RETAIN, *_present(gold)]].mean()
    stats = {"forget_acc": Stat.of(per_seed[forget.column]), "retain_acc": Stat.of(per_seed[RETAIN]),
             "forget_gap": Stat.exactly(0.0, len(per_seed)),
             "retain_gap": Stat.exactly(0.0, len(per_seed)), SCORE: Stat.exactly(1.0, len(per_seed))}
    stats |= {name: Stat.of(per_seed[name]) for name in _present(gold)}
    return Entry(GOLD_METHOD, REFERENCE, gold["method_label"].iloc[0], GOLD_METHOD,
                 gold["seed"].nunique(), 0, stats, timing_setups=gold["timing_setup"].nunique(),
                 colour=gold["method_colour"].iloc[0], display=gold["method_label"].iloc[0])


def _present(rows: pd.DataFrame) -> list[str]:
    return [name for name in SHOWN if metric(name).column in rows]


def _entry(key: str, rows: pd.DataFrame, gold: pd.DataFrame, forget: Metric,
           notes: list[str]) -> Entry | None:
    """One method variant's rows paired with the gold rows of their cells."""
    paired = rows.merge(gold, on=PAIR_KEYS, how="inner")
    if len(paired) < len(rows):
        notes.append(f"{rows['method_label'].iloc[0]}: {len(rows) - len(paired)} cell(s) without "
                     "a usable gold row left out.")
    if paired.empty:
        return None
    ok = paired["status"] == OK
    paired = paired.assign(
        forget_gap=(paired[forget.column] - paired["_gold_forget"]).where(ok),
        retain_gap=(paired[RETAIN] - paired["_gold_retain"]).where(ok))
    scores = [tow(f, r, gf, gr) if good else 0.0  # a failed cell scores 0, as in tuning
              for f, r, gf, gr, good in zip(paired[forget.column], paired[RETAIN],
                                            paired["_gold_forget"], paired["_gold_retain"], ok,
                                            strict=True)]
    paired[SCORE] = scores
    columns = ["forget_gap", "retain_gap", SCORE, *_present(paired)]
    per_seed = paired.groupby("seed")[columns].mean()  # NaN (failed) cells are skipped
    method = base_method(key)
    reference = key == Role.ORIGINAL.value
    stats = {name: Stat.of(per_seed[name]) for name in columns}
    if reference:  # the original's time is its training, not an unlearning: not shown
        stats.pop("time_s", None)
        stats.pop("speedup_vs_retrain", None)
    return Entry(method, REFERENCE if reference else TUNED if key.endswith(TUNED_SUFFIX)
                 else DEFAULT, method_display(method, bool(rows["zero_glance"].all())), key,
                 int(paired.loc[ok, "seed"].nunique()), int((~ok).sum()), stats,
                 sorted(set(rows["tuned_from"].dropna())) if "tuned_from" in rows else [],
                 int(paired.loc[ok, "timing_setup"].nunique()) or 1, rows["method_colour"].iloc[0],
                 rows["method_label"].iloc[0])


def rank(entries: list[Entry]) -> list[Entry]:
    """References first; then each method, ranked at its tuned entry where it has one (else
    its default) by mean score, higher first, then mean time, faster first; a method's other
    entry follows its ranked one, unranked (see the module docstring)."""
    references = [e for e in entries if e.settings == REFERENCE]
    by_method: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.settings != REFERENCE:
            by_method.setdefault(entry.method, []).append(entry)
    ranked = []
    for group in by_method.values():
        chosen = next((e for e in group if e.settings == TUNED), group[0])
        ranked.append((chosen, [e for e in group if e is not chosen]))

    def order(item: tuple[Entry, list[Entry]]) -> tuple[float, float, str]:
        entry = item[0]
        score, time = entry.stats[SCORE].mean, entry.stats.get("time_s", Stat.of([])).mean
        # Rounded as tuning rounds its objective: equal scores summed in another order tie.
        return (-round(score, 12) if not math.isnan(score) else math.inf,
                time if not math.isnan(time) else math.inf, entry.label)

    out = list(references)
    for position, (chosen, others) in enumerate(sorted(ranked, key=order), 1):
        chosen.rank = position
        out += sorted([chosen, *others], key=lambda e: e.settings != DEFAULT)  # default first
    return out
