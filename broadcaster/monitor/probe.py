"""`loa doctor`'s check of the monitor input: the capture the monitor runs, for a moment."""

import time

from broadcaster.i18n import _
from broadcaster.monitor.listening import (
    Capture,
    capture_command,
    device_problem,
    no_capture_program,
)

CHECK_S = 2.0


def check_device(device: str) -> str | None:
    """None if `device` can be captured, else what is wrong and what to do (translated). Takes
    CHECK_S at most."""
    command = capture_command(device)
    if command is None:
        return device_problem(device, no_capture_program())
    try:
        capture = Capture(command, device)
    except OSError as error:
        return device_problem(device, str(error))
    try:
        deadline = time.monotonic() + CHECK_S
        while time.monotonic() < deadline:
            data = capture.read(0.1)
            if data or any(line.startswith("Connected to device") for line in capture.lines):
                return None
            if data is None or capture.process.poll() is not None:
                capture.read_stderr()
                return device_problem(device, capture.reason())
        return device_problem(device, _("it gives no sound"))
    finally:
        capture.kill()
