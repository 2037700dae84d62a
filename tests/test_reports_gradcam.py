"""GradCAM's notes tell how to get the figure: the run command's --save-models flag."""

from __future__ import annotations

import pytest

from reports.frame import SkipPart
from reports.gradcam import gradcam_figure
from tests.test_reports_frame import cell, frame_of


def test_missing_weights_name_the_save_models_flag() -> None:
    notes: list[str] = []
    with pytest.raises(SkipPart, match="python -m benchmark run --save-models"):
        gradcam_figure(frame_of(cell()), notes)  # no row has a saved model file
    assert any("`python -m benchmark run --save-models`" in n for n in notes)
    assert not any("save_models" in n or "preset" in n for n in notes)


def test_without_the_gradcam_extra_the_figure_is_skipped_with_how_to_install(monkeypatch) -> None:
    import builtins

    import pandas as pd

    real_import = builtins.__import__

    def no_gradcam(name, *args, **kwargs):
        if name.startswith("pytorch_grad_cam"):
            raise ImportError("No module named 'pytorch_grad_cam'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gradcam)
    frame = pd.DataFrame({"artifacts": [{}], "method": ["unsir"], "method_label": ["UNSIR"],
                          "combo": ["smallcnn / digits"]})
    with pytest.raises(SkipPart, match=r'pip install -e "\.\[gradcam\]"'):
        gradcam_figure(frame, [])
