"""README's method table lists exactly the registered methods, with their access, scenarios and
what each needs to work (``requires``, which ``list`` prints too)."""

from __future__ import annotations

from pathlib import Path

from methods import METHODS, import_builtins

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> dict[str, list[str]]:
    lines = README.read_text().splitlines()
    start = lines.index("| method | data it sees | zero-glance | scenarios | needs to work | defaults from |")
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("| `"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 6, f"README method table row with {len(cells)} cells: {line}"
        rows[cells[0].strip("`")] = cells
    return rows


def test_readme_method_table_matches_the_registry() -> None:
    import_builtins()
    table = _table()
    assert sorted(table) == METHODS.names()
    for name, cells in table.items():
        cls = METHODS.get(name)
        assert cells[2] == ("yes" if cls.zero_glance() else "no"), name
        assert cells[3] == ", ".join(sorted(s.value for s in cls.scenarios)), name
        assert cells[4] == cls.requires and cls.requires, name  # what `list` says it needs
