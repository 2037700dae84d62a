"""The command line: ``python -m benchmark run | tune | list | report | leaderboard | check |
export | verify-gpu``.

Errors a user can cause print one line (``error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import add_db_flag, add_selection_flags
from benchmark.cli.tune import add_tune_parser
from benchmark.core.errors import UserError
from benchmark.harness.spec import DEFAULT_RESULTS, EXECUTORS


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one ``error:`` line (and exit 2) like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


class DefaultsFormatter(argparse.HelpFormatter):
    """Shows each option's default in --help, unless its help already says it or it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


DEFAULT_REPORT = "report"  # README's "report --out report" and .gitignore's report/
DEFAULT_LEADERBOARD = "leaderboard"
DEFAULT_CLAIMS_RESULTS = "results/claims.sqlite"  # = benchmark.claims.results' (not imported:
# that module pulls in pandas; tests/test_cli_dayone.py checks the two agree)
CHECK_HELP = ("check speed/accuracy claims; exit 1 if any fails. Without --db it first runs "
              "the claim set's [run] (it trains: the default claims run 12 methods on 3 seeds of "
              f"the default preset, about a minute a seed on the CPU) into {DEFAULT_CLAIMS_RESULTS}, "
              "reusing rows stored there; --dry-run lists those cells")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        # Every --help shows each option's default.
        return commands.add_parser(name, help=help, description=help,
                                   formatter_class=DefaultsFormatter)

    run = command("run", "train/load originals, unlearn with each method, store metrics")
    add_selection_flags(run, "comma list, e.g. unsir,fisher,retrain, or all (default: the preset's)")
    add_db_flag(run, default=None, help=f"SQLite results file to write (default: {DEFAULT_RESULTS})")
    run.add_argument("--tuned", action="append", metavar="NAME",
                     help="apply a tuned file's [best] settings (from 'tune'): a shipped name "
                     "like default/unsir-smallcnn-digits, a shipped folder like default, a .toml "
                     "path or a folder of them (repeatable; --set still wins)")
    run.add_argument("--rerun", action="store_true", help="re-measure cells already stored")
    run.add_argument("--dry-run", action="store_true",
                     help="list the cells, which are already stored and which reference models "
                     "are cached; loads the data, trains and stores nothing")
    run.add_argument("--fail-fast", action="store_true",
                     help="stop at the first failed cell or weak original (test accuracy below "
                     "3x chance), exit 1; stored rows stay")
    run.add_argument("--save-models", action="store_true",
                     help="keep each unlearned model's weights (for GradCAM in 'report')")
    run.add_argument("--threads", type=int, metavar="N",
                     help="intra-op CPU threads (default: 1 for small models, else the free cores)")
    run.add_argument("--executor", choices=EXECUTORS,
                     help="where groups run: this process (default) or a Ray cluster (pip install -e \".[ray]\")")
    run.add_argument("--ray-address", help="Ray cluster to join, e.g. auto (default: start a local one)")
    run.add_argument("--quiet", action="store_true", help="no progress and no table")

    add_tune_parser(command("tune", "search each method's hyperparameters on a validation split"))

    command("list", "list methods, models, data sets and presets")

    report = command("report", "figures and tables from a results database")
    add_db_flag(report, default=DEFAULT_RESULTS, help="results database to read")
    report.add_argument("--out", default=DEFAULT_REPORT, help="output folder")

    leaderboard = command("leaderboard", "methods ranked per scenario against the gold retrain "
                          "(Markdown, HTML, CSV and a trade-off figure a scenario)")
    add_db_flag(leaderboard, default=DEFAULT_RESULTS, help="results database to read")
    leaderboard.add_argument("--out", default=DEFAULT_LEADERBOARD, help="output folder")

    check = command("check", CHECK_HELP)
    check.add_argument("--claims", default="default", help="shipped claims name or path to a .toml")
    add_db_flag(check, default=None,
                help="check the rows of this database instead of running the claim set's [run] "
                f"(default: run it, storing into {DEFAULT_CLAIMS_RESULTS})")
    check.add_argument("--device", help="device for the runs the claims need")
    check.add_argument("--data-root", help="data folder or archive")
    check.add_argument("--rerun", action="store_true",
                       help="re-measure the claims' cells instead of reusing stored rows")
    check.add_argument("--fit", action="store_true",
                       help="also print, per claim, its value on each seed and the threshold "
                       "fitted to predict a new seed (a one-sided 95 %% prediction interval)")
    check.add_argument("--dry-run", action="store_true",
                       help="list the cells the claim set's run would measure and what is "
                       "stored or cached; trains and checks nothing")

    export = command("export", "write the results as one flat file (one column per scalar)")
    add_db_flag(export, default=DEFAULT_RESULTS, help="results database to read")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format")
    export.add_argument("--out", help="output file (default: the database's name with the format's suffix)")
    export.add_argument("--layers", action="store_true", help="add one column per layer's weight distance")

    from benchmark.cli.verify_gpu import add_verify_parser

    add_verify_parser(command("verify-gpu", "the paper-scale GPU verification in one command "
                              "(needs CUDA; --dry-run lists its stages anywhere)"))
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("unlearning-bench")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        from benchmark import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad flag (2, its one line already printed)
        return int(stop.code or 0)
    try:
        from benchmark.cli.clash import ensure_own_datasets_package

        ensure_own_datasets_package()
        if args.command == "run":
            from benchmark.cli.run import command_run

            return command_run(args)
        if args.command == "tune":
            from benchmark.cli.tune import command_tune

            return command_tune(args)
        if args.command == "list":
            from benchmark.cli.listing import command_list

            return command_list()
        if args.command == "report":
            from reports.build import build_report

            written = build_report(args.db, args.out)
            print(f"wrote {len(written)} files to {args.out} (open {args.out}/index.html)")
            return 0
        if args.command == "leaderboard":
            from benchmark.cli.leaderboard import command_leaderboard

            return command_leaderboard(args)
        if args.command == "export":
            from benchmark.cli.export import command_export

            return command_export(args)
        if args.command == "verify-gpu":
            from benchmark.cli.verify_gpu import command_verify_gpu

            return command_verify_gpu(args)
        if args.command == "check":
            from benchmark.cli.check import command_check

            return command_check(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return getattr(error, "exit_code", 2)
    except KeyboardInterrupt:
        print("interrupted: finished rows are stored; run the same command again to resume",
              file=sys.stderr)
        return 130
    return 0

