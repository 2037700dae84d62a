"""The harness: a RunSpec becomes a grid of cells, each run, measured and stored.

``spec`` (what the user asked for, from presets and flags), ``grid`` (validation and
expansion into groups), ``requests`` (what a method may see), ``runner`` (train or load the
references, unlearn, measure), ``evaluate`` (metrics, the same for every method), ``store``
(SQLite results), ``provenance`` and ``progress``; the presets ship in ``presets/``.
"""
