"""The `loa` entry point. Ctrl+C is made an exception before anything else is loaded, so that
stopping Loa at any moment, even while it starts up, gives the same one-line message and exit
code 130."""

import signal
import sys

from broadcaster.errors import ExitCode, caused_by_interrupt
from broadcaster.i18n import _


def main() -> None:
    # A process started in the background of a non-interactive shell inherits SIGINT ignored;
    # an officer's Ctrl+C (or a test's SIGINT) must still stop it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        from broadcaster.cli.main import main as run

        run()
    except SystemExit:
        raise
    except BaseException as error:
        if not caused_by_interrupt(error):
            raise
        print(_("Stopped."), file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
