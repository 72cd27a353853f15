"""The `loa` entry point. Only the standard library is loaded before Ctrl+C is handled, so that
stopping Loa while it starts up gives the same one-line message as stopping it later."""

import sys

from broadcaster.errors import ExitCode
from broadcaster.i18n import _


def main() -> None:
    try:
        from broadcaster.cli.main import main as run
    except KeyboardInterrupt:
        print(_("Stopped."), file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    run()
