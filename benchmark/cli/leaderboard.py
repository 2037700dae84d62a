"""``python -m benchmark leaderboard``: methods ranked per scenario against the gold retrain.

The tables, page and figures are reports.leaderboard_page's (rule and columns in
docs/REPORTS.md); this prints where they went and each board's top three. A missing or empty
database, or one without usable gold rows, is a one-line error (exit 2).
"""

from __future__ import annotations

import argparse

from reports.leaderboard import REFERENCE
from reports.leaderboard_page import build_leaderboard


def command_leaderboard(args: argparse.Namespace) -> int:
    written, all_boards = build_leaderboard(args.db, args.out, with_boards=True)
    for board in all_boards:
        ranked = [e for e in board.entries if e.settings != REFERENCE and e.rank]
        top = ", ".join(f"{e.rank}. {e.display}" for e in ranked[:3])
        print(f"{board.title}: {top}")
    print(f"wrote {len(written)} files to {args.out} (open {args.out}/leaderboard.html)")
    return 0
