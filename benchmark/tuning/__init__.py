"""Hyperparameter tuning: the same budget for every method, on a validation split, never the test.

``python -m benchmark tune`` runs one Optuna study per (method, model, data set): each trial
is one ``run_grid`` cell on a validation view of the data set (``datasets.validation``), its
objective the ToW distance to the gold retrained model on that view (``objective``). The
chosen settings go to one TOML file per study (``files``), which ``run --tuned`` applies.
"""
