"""The three forgetting scenarios a comparison suite needs, named once.

- ``classes``: forget whole classes (the UNSIR paper's setting): ``--forget 3``, ``0,2``.
- ``subclass``: forget one fine class while its superclass label stays, e.g. CIFAR-100's
  "baby" inside CIFAR-20's "people" (the SSD repository's sub-class setting):
  ``--forget subclass:baby`` on a data set with fine labels (``cifar20``).
- ``samples``: forget a random fraction of the training samples, whatever their class (the
  main setting of SalUn and SCRUB): ``--forget samples:10%``.

Each method declares the scenarios it is defined for; the harness stores a skipped row,
with the reason, for a scenario a method does not support.
"""

from __future__ import annotations

import enum


class Scenario(str, enum.Enum):
    CLASSES = "classes"
    SUBCLASS = "subclass"
    SAMPLES = "samples"


ALL_SCENARIOS = frozenset(Scenario)
