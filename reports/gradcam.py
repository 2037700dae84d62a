"""GradCAM heatmaps of the original, the retrained and each unlearned model on the same images.

Needs the weights on disk: the original and retrained checkpoints are always cached, the
unlearned ones only when the run was started with ``python -m benchmark run --save-models``.
For each model/data set we take the first forget set and seed that has saved unlearned
weights, a few forget-class and retained-class test images, and show where each model finds
evidence for the image's TRUE class (GradCAM target = true label). After good unlearning the forget-class maps of the
unlearned model should look like the retrained model's, not the original's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure

from benchmark.core.roles import REFERENCE_ROLES, Role
from reports.frame import SkipPart, sort_methods
from reports.identity import ORIGINAL_STYLE

IMAGES_PER_GROUP = 4  # forget-class and retained-class images each
SAVE_HINT = ("rerun with `python -m benchmark run --save-models` to keep each unlearned "
             "model's weights for these figures")
MAX_COMBOS = 3  # model/data-set blocks in one figure; more would make it unreadably tall


@dataclass
class CamBlock:
    """Everything one model/data-set block of the figure shows."""

    title: str
    images: np.ndarray  # N x H x W x C in [0, 1]
    labels: list[int]
    is_forget: list[bool]
    rows: list[tuple[str, np.ndarray, list[int]]]  # (model label, cams N x H x W, predictions)


def _file(path: object) -> str | None:
    return str(path) if isinstance(path, str) and Path(path).is_file() else None


def _artifact(value: object, key: str) -> str | None:
    """The existing file stored under ``key`` of a row's artifacts (None when absent)."""
    return _file(value.get(key)) if isinstance(value, dict) else None


def _pick_group(rows: pd.DataFrame) -> pd.DataFrame | None:
    """Rows of the first (forget set, seed) with an original and some saved unlearned model."""
    ordered = rows.sort_values(["n_forget", "forget", "seed"])
    for _, group in ordered.groupby(["n_forget", "forget", "seed"], sort=False):
        artifacts = group["artifacts"]
        has_original = any(_artifact(a, "original_path") for a in artifacts)
        unlearned = ~group["method"].isin(REFERENCE_ROLES)
        has_unlearned = any(_artifact(a, "model_path") for a in artifacts[unlearned])
        if has_original and has_unlearned:
            return group
    return None


def _models(group: pd.DataFrame, labels: dict[str, str]) -> list[tuple[str, str]]:
    """(label, weights path) for original, retrain and each unlearned model with weights."""
    found = []
    original = next((p for a in group["artifacts"] if (p := _artifact(a, "original_path"))), None)
    if original:
        found.append((labels.get(Role.ORIGINAL.value, ORIGINAL_STYLE.label), original))
    for _, row in sort_methods(group).iterrows():
        path = _artifact(row["artifacts"], "model_path")
        if row["method"] != Role.ORIGINAL.value and path:
            found.append((row["method_label"], path))
    return found


def _pick_images(test_y: torch.Tensor, forget: set[int]) -> list[int]:
    """The first test images of the forget classes, then one per retained class (spread)."""
    forget_idx = [i for i, y in enumerate(test_y.tolist()) if y in forget]
    per_class: dict[int, int] = {}
    for i, y in enumerate(test_y.tolist()):
        if y not in forget and y not in per_class:
            per_class[y] = i
    # Round-robin over the forget classes so several forgotten classes all appear.
    by_class = {c: [i for i in forget_idx if int(test_y[i]) == c] for c in sorted(forget)}
    chosen: list[int] = []
    while len(chosen) < IMAGES_PER_GROUP and any(by_class.values()):
        for c in sorted(by_class):
            if by_class[c] and len(chosen) < IMAGES_PER_GROUP:
                chosen.append(by_class[c].pop(0))
    return chosen + list(per_class.values())[:IMAGES_PER_GROUP]


def _load_model(row: pd.Series, path: str, data) -> torch.nn.Module:
    from benchmark.models import create_model

    # The options the run resolved (robust to later default changes), else those it was given.
    kwargs = (row.get("artifacts") or {}).get("model_options") \
        or (row["spec"] or {}).get("model_kwargs", {}) or {}
    model = create_model(row["model"], data.num_classes, data.channels, data.image_size, **kwargs)
    state = torch.load(path, map_location="cpu", weights_only=True)
    # torch.compile'd models save their weights under an ``_orig_mod.`` prefix.
    state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError:  # torch's message lists every tensor; one line says enough
        raise ValueError(f"the saved weights {Path(path).name} do not fit {row['model']} as "
                         "built now (did its code or defaults change since the run?)") from None
    return model.eval()


def _cams(
    model: torch.nn.Module, x: torch.Tensor, labels: list[int]
) -> tuple[np.ndarray, list[int]]:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from benchmark.models import gradcam_reshape_transform, gradcam_target_layer

    with torch.no_grad():
        predictions = model(x).argmax(1).tolist()
    with GradCAM(model=model, target_layers=[gradcam_target_layer(model)],
                 reshape_transform=gradcam_reshape_transform(model)) as cam:
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(y) for y in labels])
    return np.nan_to_num(maps), predictions


def _block(combo: str, group: pd.DataFrame, labels: dict[str, str]) -> CamBlock:
    import datasets
    from benchmark.core.tensors import Normalizer

    row = group.iloc[0]
    source = datasets.DataSource(data_root=(row["spec"] or {}).get("data_root"))
    data = datasets.load_dataset(row["dataset"], source)
    forget = {int(c) for c in str(row["forget"]).split(",")}
    index = torch.tensor(_pick_images(data.test_y, forget))
    images, targets = data.test_x[index], data.test_y[index].tolist()
    x = Normalizer(data.mean, data.std, torch.device("cpu"))(images)
    shown = images.permute(0, 2, 3, 1).float().div(255).numpy()
    block = CamBlock(f"{combo}, forget {row['forget']}, seed {row['seed']}", shown, targets,
                     [t in forget for t in targets], [])
    for label, path in _models(group, labels):
        cams, predictions = _cams(_load_model(row, path, data), x.clone(), targets)
        block.rows.append((label, cams, predictions))
    return block


def gradcam_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Grid per model/data set: input images on top, one row of heatmaps per model."""
    if "artifacts" not in frame:
        raise SkipPart(f"the results record no model files; {SAVE_HINT}")
    try:
        import pytorch_grad_cam  # noqa: F401  (an optional extra: it pulls in OpenCV)
    except ImportError:
        raise SkipPart('GradCAM needs the grad-cam package: pip install -e ".[gradcam]"') from None
    labels = dict(zip(frame["method"], frame["method_label"], strict=True))
    blocks = []
    without_weights = False
    combos = sorted(frame["combo"].unique())
    for combo in combos[:MAX_COMBOS]:
        group = _pick_group(frame[frame["combo"] == combo])
        if group is None:
            without_weights = True
            notes.append(f"gradcam: {combo}: no saved unlearned weights ({SAVE_HINT}).")
            continue
        try:
            blocks.append(_block(combo, group, labels))
        except Exception as error:  # data not available here, or weights that do not fit
            first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            notes.append(f"gradcam: {combo}: skipped ({type(error).__name__}: {first_line}).")
    if len(combos) > MAX_COMBOS:
        notes.append(f"gradcam: only the first {MAX_COMBOS} model/data sets are shown.")
    if not blocks:
        hint = f"; {SAVE_HINT}" if without_weights else ""
        raise SkipPart(f"no model/data set has both saved weights and loadable data{hint}")
    return _draw(blocks)


def _draw(blocks: list[CamBlock]) -> Figure:
    import matplotlib.pyplot as plt

    cols = max(len(b.labels) for b in blocks)
    heights = [len(b.rows) + 1 for b in blocks]
    fig = plt.figure(figsize=(1.25 * cols + 2.2, sum(1.3 * h + 0.6 for h in heights)),
                     layout="constrained")
    subfigs = fig.subfigures(len(blocks), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, block in zip(subfigs, blocks, strict=True):
        _draw_block(sub, block, cols)
    fig.suptitle("GradCAM for the true class: where each model finds evidence for it")
    return fig


def _draw_block(sub: SubFigure, block: CamBlock, cols: int) -> None:
    axes = sub.subplots(len(block.rows) + 1, cols, squeeze=False)
    grey = block.images.shape[-1] == 1
    picture = block.images[..., 0] if grey else block.images
    heat = None
    for j in range(cols):
        for i in range(len(block.rows) + 1):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if j >= len(block.labels):
                ax.set_visible(False)
                continue
            ax.imshow(picture[j], cmap="gray" if grey else None, interpolation="nearest")
            if i == 0:
                kind = "forget" if block.is_forget[j] else "retain"
                ax.set_title(f"{kind}: class {block.labels[j]}", fontsize=8,
                             color="#c0392b" if block.is_forget[j] else "black")
                continue
            label, cams, predictions = block.rows[i - 1]
            heat = ax.imshow(cams[j], cmap="jet", alpha=0.5, vmin=0, vmax=1,
                             interpolation="bilinear")
            ax.set_title(f"predicts {predictions[j]}", fontsize=7, pad=2)
            if j == 0:
                ax.set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
        if j == 0:
            axes[0, 0].set_ylabel("Input", fontsize=9, rotation=0, ha="right", va="center")
    if heat is not None:
        # Colour bar without the overlay's transparency, so its colours read at full strength.
        scale = ScalarMappable(norm=Normalize(0, 1), cmap="jet")
        sub.colorbar(scale, ax=axes[1:, :].ravel().tolist(), shrink=0.8,
                     label="GradCAM relevance (0–1)")
    sub.suptitle(block.title, fontsize=10)
