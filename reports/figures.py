"""The list of report figures: name (file stem), title, caption and the function that draws it.

Each drawing function takes the prepared results and a list to append notes to, returns a
matplotlib Figure, and raises ``SkipPart`` with a reason when its data is absent; the
builder then writes that reason into index.html instead of the figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from reports.fig_accuracy import accuracy_figure, forget_count_figure
from reports.fig_layers import layer_distance_figure
from reports.fig_predictions import mia_figure, prediction_figure
from reports.fig_relearn import relearn_figure
from reports.fig_speed import speedup_figure
from reports.forgetting import DEFINITION
from reports.gradcam import gradcam_figure
from reports.population import epsilon_figure

DrawFunction = Callable[[pd.DataFrame, list[str]], Figure]


@dataclass(frozen=True)
class FigureDef:
    name: str
    title: str
    caption: str
    draw: DrawFunction
    # A column an opt-in run adds (e.g. ``metrics.population``): without it the figure is
    # left off the page altogether, not listed as skipped.
    only_with: str | None = None


FIGURES: tuple[FigureDef, ...] = (
    FigureDef("accuracy", "Forget and retain accuracy",
              "Test accuracy on the forget classes and on the retained classes per method "
              "(mean and 95 % Student-t confidence interval over seeds). Original (grey) and "
              "retrain (black) are the references: a good method matches retrain, with near "
              "0 % on the forget classes and the original's accuracy on the retained ones.",
              accuracy_figure),
    FigureDef("speedup", "Speed-up over retraining",
              "Retraining time divided by the method's unlearning wall time: bar at the "
              "median over seeds, whisker from the slowest to the fastest seed (log scale; "
              "dashed line: retrain = 1×). Metric computation is not timed. Hatched, "
              f"labelled 'did not forget' ({DEFINITION}): its speed-up is not a result. Rows "
              "timed on different setups (device, threads, precision) get panels of their "
              "own.", speedup_figure),
    FigureDef("relearn", "Relearn time",
              "Epochs of fine-tuning on a small relearn set until the forget-class accuracy "
              "is back near the original's (solid bars: mean and 95 % Student-t interval "
              "over seeds). Hatched bars: some or all seeds never got there "
              "within the cap; their height is a lower bound and the label counts them. A "
              "bar labelled 'did not forget' has nothing to relearn (the method kept the "
              "forget classes; see the speed-up figure's definition), and one labelled 'at "
              "the cap' relearned in the last epoch the cap allows. A "
              "model that relearns much faster than retrain still holds the forgotten "
              "information.", relearn_figure),
    FigureDef("layer_distance", "Layer-wise weight distance (paper Fig. 4)",
              "L2 distance of each weight tensor to the original model, in model order, log "
              "scale (mean and 95 % Student-t band over seeds); retrain (dashed) shows how "
              "far a model that never saw the forget classes ends up.", layer_distance_figure),
    FigureDef("prediction_distribution", "Where forget-class samples are predicted",
              "Share of the forget-class test samples predicted as each class (pooled over "
              "seeds; * marks forgotten classes). Spread over retained classes, like retrain, "
              "is the desired outcome; one dominant class would itself reveal the "
              "forgetting. With more than 20 classes only the 10 classes with the largest "
              "share for any method are shown, the rest pooled as 'other'.", prediction_figure),
    FigureDef("forget_count", "Accuracy against the number of forgotten classes",
              "Retained- and forget-class test accuracy as more classes are removed at once "
              "(mean and 95 % Student-t interval over forget sets of that size and seeds).",
              forget_count_figure),
    FigureDef("mia", "Membership inference on the forget set",
              "Share of forget-train samples that a membership attack (fitted on retain-train "
              "vs test samples) flags as members (mean and 95 % Student-t interval over "
              "seeds). Dashed: retrain's rate, the target: closer is better, in either "
              "direction. Far above it, the model still tells its forget samples apart from "
              "unseen ones; far below it (down to 0 %) it tells them apart too. A rate of 0 % "
              "or 100 % for every sample usually means a degenerate attack threshold (the "
              "model's scores on the two fitting sets were all alike), not a privacy result.",
              mia_figure),
    FigureDef("forget_epsilons", "Per-example forgetting (many models)",
              "For each forget example, the epsilon of the best threshold attack telling N "
              "models of the method from N retrained ones (NeurIPS 2023 unlearning "
              "competition; docs/METRICS.md), as a cumulative distribution over the examples "
              "(all seeds pooled). Dashed: two retrained pools against each other, the best "
              "this N allows. A curve far right of it leaves examples exposed that forget "
              "accuracy and the single-model attack do not show.", epsilon_figure,
              only_with="forget_epsilons"),
    FigureDef("gradcam", "GradCAM: original vs unlearned",
              "GradCAM heatmaps (target: the true class) on forget-class and retained-class "
              "test images for the original, retrained and each unlearned model. Needs the "
              "unlearned weights: run `python -m benchmark run --save-models`.",
              gradcam_figure),
)
