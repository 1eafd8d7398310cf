"""``triage`` as a command (the console script, ``python -m triage``).

Ctrl-C is answered from the first instant: while the CLI's modules load, nothing is open
yet, so an interrupt ends the process at once with "interrupted" and 130 (128 + SIGINT),
never a traceback, and so until the command's own code begins; from then on the CLI
answers it (``triage.cli.main``).
"""

from __future__ import annotations

import os
import signal
from types import FrameType


def _interrupted_early(_signum: int, _frame: FrameType | None) -> None:
    os.write(2, b"interrupted\n")
    os._exit(130)


def main() -> None:
    """Load the CLI with Ctrl-C answered, then run it."""
    answered = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if answered:  # not where the caller chose to ignore SIGINT (a background job)
        signal.signal(signal.SIGINT, _interrupted_early)
    from triage.cli import main as run

    run(answered_early=answered)  # the command's code takes Ctrl-C over when it begins


if __name__ == "__main__":
    main()
