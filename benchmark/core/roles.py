"""The two reference roles every forget set has, defined once for the whole suite.

``original`` is the model before unlearning; ``retrain`` is the gold standard, a model
retrained from scratch without the forget set by the ``retrain`` method. Both are stored as
rows of their own (their ``method`` column holds the role's value), so reports and claims
compare every method with them. The harness decides what to do by role, never by
comparing method names.
"""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    """What a results row is: a reference model, or the output of an unlearning method."""

    ORIGINAL = "original"  # trained on everything; the starting point of every method
    GOLD = "retrain"  # retrained without the forget set; the method of this name makes it
    METHOD = "method"  # an unlearning method's output (its row holds the method's name)


# The values stored in the ``method`` column for the two reference rows.
REFERENCE_ROLES: tuple[str, ...] = (Role.ORIGINAL.value, Role.GOLD.value)
GOLD_METHOD: str = Role.GOLD.value


def role_of(method: str) -> Role:
    """The role of a stored row from its ``method`` column."""
    for role in (Role.ORIGINAL, Role.GOLD):
        if method == role.value:
            return role
    return Role.METHOD
