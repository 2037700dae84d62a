"""Evaluating parsed claims against a results DataFrame (one row per cell and method).

Kept apart from the file format and the command (``benchmark.claims.schema``) so it can be tested
on a hand-made DataFrame. Every claim reduces to ``aggregate(quantity) op value`` where the
quantity of one matching row is the metric itself, or, with ``relative_to``, the metric
combined with the same cell's reference-method row (difference, ratio or inverse ratio).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmark.core.errors import UserError
from benchmark.harness.schema import STATUS_OK

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
AGGREGATES = ("mean", "median", "min", "max", "all")
FORMS = ("difference", "ratio", "inverse_ratio")
# Columns a ``where`` may filter on: they name a cell and a method, never a measurement.
# ``preset`` is read from each row's spec: the preset named when the row was first stored;
# ``scenario`` is the forget set's kind (classes, subclass, samples); ``tuned`` is true for
# rows run with a tuned file's settings (``run --tuned``: the spec records ``tuned_from``),
# so a claim can address a leaderboard entry (reports.leaderboard: method, settings, scenario).
FILTER_COLUMNS = ("method", "model", "dataset", "forget", "n_forget", "seed", "device",
                  "zero_glance", "preset", "scenario", "tuned")
# A claimed row and its reference row belong to the same cell when these agree. Not the
# preset: presets that share a cell share its original and retrain rows (one row id each).
CELL_KEYS = ("model", "dataset", "forget", "seed", "device")

PASS, FAIL, NO_DATA = "PASS", "FAIL", "NO DATA"


@dataclass(frozen=True)
class Reference:
    """``relative_to``: compare with another method's row of the same cell."""

    method: str
    form: str = "difference"  # claimed - ref | claimed / ref | ref / claimed
    metric: str | None = None  # the reference's metric; default: the claim's metric

    def describe(self, claimed: str, metric: str) -> str:
        ref_metric = self.metric or metric
        ref = self.method if ref_metric == metric else f"{self.method}.{ref_metric}"
        symbol = {"difference": f"{claimed} - {ref}", "ratio": f"{claimed} / {ref}",
                  "inverse_ratio": f"{ref} / {claimed}"}[self.form]
        return f"{metric}: {symbol}"


@dataclass(frozen=True)
class Claim:
    """One checked statement: ``aggregate(quantity over matching rows) op value``."""

    name: str
    metric: str
    op: str
    value: float
    where: dict[str, list[Any]] = field(default_factory=dict)
    aggregate: str = "mean"
    relative_to: Reference | None = None
    note: str = ""

    def quantity(self) -> str:
        """What is measured, in words, for the table (e.g. ``time_s: fisher / unsir``)."""
        claimed = "/".join(str(v) for v in self.where.get("method", ["rows"]))
        text = self.relative_to.describe(claimed, self.metric) if self.relative_to else self.metric
        return f"{self.aggregate} {text}"

    def threshold(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class ClaimResult:
    """The verdict of one claim with what it was based on."""

    claim: Claim
    verdict: str
    measured: float | None = None
    n: int = 0
    low: float | None = None
    high: float | None = None
    why: str = ""  # for NO DATA (and dropped rows): what was missing

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def evaluate_claims(claims: list[Claim], frame: pd.DataFrame) -> list[ClaimResult]:
    """Evaluate each claim on ``frame``; unknown or non-numeric metrics are a UserError."""
    return [evaluate_claim(claim, frame) for claim in claims]


def evaluate_claim(claim: Claim, frame: pd.DataFrame) -> ClaimResult:
    """PASS / FAIL / NO DATA for one claim, with the measured value, n and spread."""
    if frame.empty:
        return ClaimResult(claim, NO_DATA, why="the results hold no rows")
    if "status" in frame and not (frame["status"] == STATUS_OK).any():
        # Only failed (or skipped) cells: no metric was measured, so none can be unknown.
        return ClaimResult(claim, NO_DATA, why=f"the results hold no measured row ({len(frame)} "
                           "failed or skipped)")
    metrics = [claim.metric]
    if claim.relative_to and claim.relative_to.metric:
        metrics.append(claim.relative_to.metric)
    for metric in metrics:
        _check_metric(claim, frame, metric)
    if "preset" in claim.where:
        frame = with_preset_column(frame)
    frame = with_leaderboard_columns(frame)
    rows = _select(frame, claim.where)
    if rows.empty:
        return ClaimResult(claim, NO_DATA, why=f"no rows match {_where_text(claim.where)}")
    values, why = _quantities(claim, frame, rows)
    if not values:
        return ClaimResult(claim, NO_DATA, why=why or f"{claim.metric} is empty in every matching row")
    return _verdict(claim, values, why)


def _check_metric(claim: Claim, frame: pd.DataFrame, metric: str) -> None:
    if metric not in frame.columns:
        known = ", ".join(numeric_columns(frame))
        raise UserError(f"claim {claim.name!r}: unknown metric {metric!r}; the results have: {known}")
    if metric not in numeric_columns(frame):
        raise UserError(f"claim {claim.name!r}: metric {metric!r} is not a number per row "
                        f"(pick one of: {', '.join(numeric_columns(frame))})")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Metric columns a claim may use: numeric ones that are not cell identifiers."""
    skip = set(FILTER_COLUMNS)
    return sorted(c for c in frame.columns
                  if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
                  and not pd.api.types.is_bool_dtype(frame[c]))


def with_preset_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``preset`` column taken from each row's ``spec``, for ``where``."""
    if "preset" in frame.columns or "spec" not in frame.columns:
        return frame
    presets = [spec.get("preset") if isinstance(spec, dict) else None for spec in frame["spec"]]
    return frame.assign(preset=presets)


def with_leaderboard_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``tuned`` (from ``tuned_from``) and ``scenario`` (from the forget set's
    text where the rows predate the column), for ``where``."""
    added = {}
    if "tuned" not in frame.columns:
        tuned_from = frame["tuned_from"] if "tuned_from" in frame.columns else \
            pd.Series(None, index=frame.index, dtype=object)
        added["tuned"] = [isinstance(t, str) and bool(t) for t in tuned_from]
    if "scenario" not in frame.columns and "forget" in frame.columns:
        added["scenario"] = ["subclass" if str(f).startswith("subclass:") else "samples"
                             if str(f).startswith("samples:") else "classes"
                             for f in frame["forget"]]
    return frame.assign(**added) if added else frame


def _select(frame: pd.DataFrame, where: dict[str, list[Any]]) -> pd.DataFrame:
    """Rows whose columns match every filter; values compare as text, so ``forget = 3``
    matches the stored ``"3"`` and ``zero_glance = true`` matches a boolean column."""
    mask = pd.Series(True, index=frame.index)
    for column, wanted in where.items():
        if column not in frame.columns:
            return frame.iloc[0:0]
        mask &= frame[column].astype(str).isin({_text(v) for v in wanted})
    return frame[mask]


def _text(value: Any) -> str:
    return str(value)  # True -> "True" like pandas' astype(str) of a bool column


def _where_text(where: dict[str, list[Any]]) -> str:
    if not where:
        return "(no filter)"
    return " ".join(f"{k}={'|'.join(map(str, v))}" for k, v in where.items())


def _quantities(claim: Claim, frame: pd.DataFrame, rows: pd.DataFrame) -> tuple[list[float], str]:
    """The per-row quantity (finite values only) and a note on rows that were dropped."""
    if claim.relative_to is None:
        values = pd.to_numeric(rows[claim.metric], errors="coerce")
        kept = [float(v) for v in values if _finite(v)]
        dropped = len(values) - len(kept)
        return kept, f"{dropped} matching rows have no {claim.metric}" if dropped else ""
    ref = claim.relative_to
    ref_metric = ref.metric or claim.metric
    keys = [k for k in CELL_KEYS if k in frame.columns]
    reference = frame[frame["method"].astype(str) == ref.method]
    if reference.empty:
        return [], f"no {ref.method!r} rows to compare with"
    # Several reference rows for one cell (a database mixing recipes) are averaged.
    reference = (reference.assign(_ref=pd.to_numeric(reference[ref_metric], errors="coerce"))
                 .groupby(keys, dropna=False)["_ref"].mean().reset_index())
    claimed = rows[keys].assign(_own=pd.to_numeric(rows[claim.metric], errors="coerce"))
    paired = claimed.merge(reference, on=keys, how="left")
    kept = []
    for own, other in zip(paired["_own"], paired["_ref"], strict=True):
        value = _combine(ref.form, own, other)
        if value is not None:
            kept.append(value)
    dropped = len(paired) - len(kept)
    why = (f"{dropped} of {len(paired)} matching rows have no usable {ref.method} row "
           f"in the same cell") if dropped else ""
    return kept, why


def _combine(form: str, own: Any, other: Any) -> float | None:
    if not (_finite(own) and _finite(other)):
        return None
    own, other = float(own), float(other)
    if form == "difference":
        return own - other
    if form == "ratio":
        return own / other if other != 0 else None
    return other / own if own != 0 else None  # inverse_ratio


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _verdict(claim: Claim, values: list[float], why: str) -> ClaimResult:
    compare = OPS[claim.op]
    low, high = min(values), max(values)
    if claim.aggregate == "all":
        # Every row must hold; show the row that decides, the worst one for the operator.
        failing = [v for v in values if not compare(v, claim.value)]
        passed = not failing
        if claim.op in (">=", ">"):
            measured = low
        elif claim.op in ("<=", "<"):
            measured = high
        else:
            measured = failing[0] if failing else values[0]
    else:
        series = pd.Series(values)
        measured = float(getattr(series, claim.aggregate)())
        passed = compare(measured, claim.value)
    return ClaimResult(claim, PASS if passed else FAIL, measured, len(values), low, high, why)
