"""``python -m benchmark export``: the results as one flat CSV or Parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.api import load_results
from benchmark.core.errors import UserError


def command_export(args: argparse.Namespace) -> int:
    frame = load_results(args.db, layers=args.layers)
    out = Path(args.out or Path(args.db).with_suffix(f".{args.format}"))
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401  (pandas writes Parquet through it)
        except ImportError:
            raise UserError("--format parquet needs pyarrow: pip install pyarrow "
                            "(or use --format csv)") from None
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    print(f"wrote {len(frame)} rows x {len(frame.columns)} columns to {out}")
    return 0
