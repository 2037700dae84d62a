"""``python -m benchmark``: the command line (benchmark.cli.main)."""

import sys

if __name__ == "__main__":
    from benchmark.core import command_clock  # light: the start of the command, for the estimate

    command_clock.mark()
    # First, before any other import of ours: a user's datasets/, methods/ or reports/
    # folder in the working folder must not replace our packages (benchmark.cli.working_folder).
    from benchmark.cli.working_folder import drop_working_folder

    drop_working_folder()

from benchmark.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
