"""``python -m benchmark export``: the results as one flat CSV or Parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.api import load_results
from benchmark.core.errors import UserError
from benchmark.harness.paths import check_output_file


def command_export(args: argparse.Namespace) -> int:
    out = check_output_file(args.out or Path(args.db).with_suffix(f".{args.format}"), "--out",
                            {"results database": args.db})  # before reading anything
    if args.format == "parquet":
        _need_pyarrow()
    frame = load_results(args.db, layers=args.layers)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if args.format == "parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
    except OSError as error:  # a disk that filled, a file made read-only meanwhile
        raise UserError(f"cannot write {out} ({error.strerror or error})") from None
    print(f"wrote {len(frame)} rows x {len(frame.columns)} columns to {out}")
    return 0


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401  (pandas writes Parquet through it)
    except ImportError:
        raise UserError("--format parquet needs pyarrow: pip install pyarrow "
                        "(or use --format csv)") from None
