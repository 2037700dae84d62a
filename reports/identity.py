"""How each results row is shown: label, colour and marker, read from the method's class.

A registered method declares its look once, as ``style`` on its class
(``METHODS.get(name).display()``); reports never list method names. Two cases are not
registered methods: the ``original`` role (the model before unlearning), which has one
neutral light-grey look of its own here, and a method that is in the results but no longer
registered, which is shown under its stored name. Whatever a method leaves undeclared
(colour, marker) is taken from the palette, skipping every colour and marker some
registered method declares, so an undeclared method never looks like a declared one.

A method run with tuned settings (``run --tuned``) is its own variant, ``<method>+tuned``
(:func:`variant`): labelled "<label> (tuned)", drawn with the method's marker in a darker
shade of its colour, and listed right after the method, so default and tuned sit side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import seaborn as sns
from matplotlib.colors import to_hex, to_rgb

from benchmark.core.errors import UnknownNameError
from benchmark.core.roles import GOLD_METHOD, REFERENCE_ROLES, Role
from methods import METHODS, MethodStyle, import_builtins

# The model before unlearning is a role, not a method: neutral, so it never looks like a
# competitor. The gold reference (retrain) is a method and declares its own near-black.
ORIGINAL_STYLE = MethodStyle(label="Original", colour="#b3b3b3", marker="o")
REFERENCE_STYLES = {Role.ORIGINAL.value: ORIGINAL_STYLE}

ZERO_GLANCE_MARK = " †"  # appended to zero-glance methods (they never see forget samples)

# Colours for methods that declare none: seaborn's colour-blind palette, then its "dark"
# one (the built-in methods already take most of the first), both without their grey
# (index 7), which could be confused with the original's.
_CB, _DARK = sns.color_palette("colorblind"), sns.color_palette("dark")
PALETTE = tuple(dict.fromkeys(to_hex(p[i]) for p in (_CB, _DARK) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)))
SPARE_PALETTE = tuple(to_hex(c) for c in sns.color_palette("husl", 12))
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">", "p", "d", "h", "H", "8")
TUNED_SUFFIX = "+tuned"  # the variant key of a method run with a tuned file's settings
TUNED_SHADE = 0.6  # the tuned variant's colour: the method's, each channel times this


def variant(method: str, tuned_from: object) -> str:
    """The key a row is shown under: ``method``, or ``method+tuned`` for tuned settings."""
    return method + TUNED_SUFFIX if isinstance(tuned_from, str) and tuned_from else method


def base_method(key: str) -> str:
    """The method of a variant key (``unsir+tuned`` -> ``unsir``)."""
    return key.removesuffix(TUNED_SUFFIX)


def method_style(method: str) -> MethodStyle:
    """The declared look of ``method``; its name as label when it is not registered."""
    if method.endswith(TUNED_SUFFIX):
        base = method_style(base_method(method))
        colour = base.colour and to_hex(tuple(TUNED_SHADE * c for c in to_rgb(base.colour)))
        return MethodStyle(label=f"{base.label} (tuned)", colour=colour, marker=base.marker)
    if method in REFERENCE_STYLES:
        return REFERENCE_STYLES[method]
    import_builtins()
    try:
        return METHODS.get(method).display()
    except UnknownNameError:  # in old results, but no longer (or not here) registered
        return MethodStyle(label=method)


def method_display(method: str, zero_glance: bool = False) -> str:
    """The label a method gets in legends and tables (with the zero-glance mark)."""
    label = method_style(method).label
    return label + ZERO_GLANCE_MARK if zero_glance else label


def is_gold(method: str) -> bool:
    """True for the gold reference (retrain): drawn dashed, compared against."""
    return method == GOLD_METHOD


def method_order(methods: Iterable[str]) -> list[str]:
    """The reference roles first (original, retrain), then the methods as first seen, each
    tuned variant right after its method."""
    seen = list(dict.fromkeys(methods))
    head = [m for m in REFERENCE_ROLES if m in seen]
    rest = [m for m in seen if m not in head]
    first: dict[str, int] = {}
    for index, key in enumerate(rest):
        first.setdefault(base_method(key), index)
    return head + sorted(rest, key=lambda m: (first[base_method(m)], m != base_method(m)))


def _declared() -> list[MethodStyle]:
    """Looks of the references and of every registered method (for the reserved colours)."""
    import_builtins()
    styles = list(REFERENCE_STYLES.values())
    for name in METHODS.names():
        try:
            styles.append(method_style(name))
        except Exception:  # a broken plugin absent from these results only loses its reservation
            continue
    return styles


def method_palette(methods: Sequence[str]) -> dict[str, str]:
    """Hex colour per method: declared ones as declared, others the next free palette colour."""
    styles = {m: method_style(m) for m in methods}
    taken = {to_hex(s.colour) for s in _declared() + list(styles.values()) if s.colour}
    free = [c for c in PALETTE if c not in taken]
    palette: dict[str, str] = {}
    spare = 0
    for method, style in styles.items():
        if style.colour:
            palette[method] = to_hex(style.colour)
        elif free:
            palette[method] = free.pop(0)
        else:  # more undeclared methods than palette colours
            palette[method] = SPARE_PALETTE[spare % len(SPARE_PALETTE)]
            spare += 1
    return palette


def method_markers(methods: Sequence[str]) -> dict[str, str]:
    """Marker per method (a second cue besides colour, for grey-scale print)."""
    styles = {m: method_style(m) for m in methods}
    taken = {s.marker for s in _declared() + list(styles.values()) if s.marker}
    free = [k for k in MARKERS if k not in taken] or list(MARKERS)
    markers: dict[str, str] = {}
    spare = 0
    for method, style in styles.items():
        if style.marker:
            markers[method] = style.marker
        else:
            markers[method] = free[spare % len(free)]
            spare += 1
    return markers
