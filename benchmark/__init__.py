"""Unlearning benchmark: the harness and CLI (``python -m benchmark run | report | check | list``)."""

__version__ = "0.1.0"
