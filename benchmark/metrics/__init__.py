"""Metrics the harness computes the same way for every method.

Pure functions on precomputed logits (or on models, for weights and relearn time) that
return plain Python values, so the harness can store them as JSON. One idea per module:

- ``accuracy``: top-1 accuracy, split into forget / retain / overall
- ``relearn``: relearn time (epochs / steps of fine-tuning to regain the forget classes)
- ``weights``: layer-wise and total L2 weight distance between two models
- ``predictions``: where the forget-class predictions go (histogram, entropy, ...)
- ``mia``: entropy- and loss-based membership inference on the forget-train samples
- ``gold``: activation distance and JS divergence to the retrained (gold) model
- ``zrf``: the zero retrain forgetting score against a randomly initialised model
- ``registry``: every metric declared once (label, unit, direction, aggregation)
"""

from benchmark.metrics.accuracy import accuracy, split_accuracies
from benchmark.metrics.gold import gold_distance
from benchmark.metrics.mia import membership_inference
from benchmark.metrics.predictions import prediction_distribution
from benchmark.metrics.relearn import relearn_time
from benchmark.metrics.weights import layer_distances, weight_distance_summary
from benchmark.metrics.zrf import zrf_score

__all__ = [
    "accuracy",
    "gold_distance",
    "layer_distances",
    "membership_inference",
    "prediction_distribution",
    "relearn_time",
    "split_accuracies",
    "weight_distance_summary",
    "zrf_score",
]
