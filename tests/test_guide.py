"""docs/huong-dan.md and the program agree: every command of the officer's guide is run, in its
order, on a copy of the example station set up as the guide says (silent output, the offline
voice), with `loa run` started where the guide starts it, and the key lines of each output shown
in the guide must be what Loa prints. Numbers (times, dates, process ids, durations) and the
station's folder may differ; the words may not."""

import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "huong-dan.md"
GUIDE_STATION = "/srv/loa/xa-an-binh"
GUIDE_TODAY = date(2026, 11, 30)
"""The day the guide's outputs were taken (a Monday): its dates are moved by whole weeks so
that they lie ahead of the day the test runs, on the same weekdays."""
WAIT_S = 60.0
"""How long an output that depends on the running station may take to become the guide's."""
IDEMPOTENT = ("status", "log", "report", "next", "schedule list", "schedule check")

Block = tuple[list[str], list[str]]


def guide_blocks() -> Iterator[Block]:
    """(command, expected output lines) of each ```console block of the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        lines = body.rstrip("\n").split("\n")
        assert lines[0].startswith("$ loa "), f"a console block starts with a command: {lines[0]}"
        yield shlex.split(lines[0][2:])[1:], lines[1:]


def key_lines(args: list[str], expected: list[str]) -> list[str]:
    """The lines of a block that must appear as they are: the ones that do not depend on the
    machine (doctor's versions and disk), on the hour (the next broadcasts), or on how fast the
    broadcasts went (the rows of the log)."""
    command = " ".join(args[:2])
    if args[0] == "doctor":
        kept = ("✔ Cấu hình đài", "! Thiết bị âm thanh", "✔ Lịch phát", "✘ Đài đang", "Lỗi:")
        return [line for line in expected if line.startswith(kept)]
    if args[0] == "status":
        return [line for line in expected if not line.startswith(" ")]
    if command == "log" or args[0] == "log":
        return expected[:1]
    if args[0] == "report":
        return expected[:2]
    return expected


def normal(line: str, station: Path) -> str:
    line = line.replace(str(station), GUIDE_STATION)
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.strip()))


def moved(args: list[str], weeks: int) -> list[str]:
    """The guide's dates (dd/mm/yyyy), `weeks` later."""

    def later(found: re.Match[str]) -> str:
        day = date(int(found[3]), int(found[2]), int(found[1])) + timedelta(weeks=weeks)
        return f"{day:%d/%m/%Y}"

    return [re.sub(r"\b(\d\d)/(\d\d)/(\d{4})\b", later, arg) for arg in args]


@pytest.fixture
def guide_station(tmp_path: Path) -> Path:
    """The example station as the guide's officer has it: silent output, the offline voice, the
    guide's name, no quiet hours, and the announcement the guide writes."""
    station = tmp_path / "xa-an-binh"
    for folder in ("announcements", "schedules"):
        shutil.copytree(ROOT / folder, station / folder)
    shutil.copy(ROOT / "holidays.yaml", station / "holidays.yaml")
    config = (ROOT / "station.yaml").read_text(encoding="utf-8")
    config = config.replace("device: simpleaudio", "device: silent")
    config = config.replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
    # The guide's officer works in office hours; the test runs at any hour (CI at night too):
    # quiet hours would hold the guide's `loa say` and `loa play`.
    config = config.replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    config = re.sub(r"(?m)^name: .*$", "name: Đài truyền thanh xã An Bình", config)
    (station / "station.yaml").write_text(config, encoding="utf-8")
    [text] = re.findall(r"```text\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    (station / "announcements" / "tiem-phong.txt").write_text(text, encoding="utf-8")
    return station


def test_every_step_of_the_guide_prints_what_the_guide_shows(
    guide_station: Path, loa_env: dict[str, str]
) -> None:
    # The guide's commands are typed in the station's folder; loa_env names a station of its own
    # (so that no test ever reaches the checkout), which here must be the guide's.
    loa_env = {**loa_env, "LOA_STATION": str(guide_station)}
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    weeks = max(0, -(-(today - GUIDE_TODAY).days // 7))
    loa = [sys.executable, str(ROOT / "cli.py")]

    def run(args: list[str]) -> str:
        done = subprocess.run(
            [*loa, *args],
            cwd=guide_station,  # the guide's commands are typed in the station's folder
            env=loa_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout + done.stderr

    daemon: subprocess.Popen[str] | None = None

    def start() -> None:
        nonlocal daemon
        daemon = subprocess.Popen(
            [*loa, "run"],
            cwd=guide_station,
            env=loa_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        until(lambda: run(["status"]).startswith("Loa đang hoạt động"), "loa run to start")

    def stop() -> None:
        nonlocal daemon
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
            daemon = None

    try:
        for args, expected in guide_blocks():
            wanted = key_lines(args, expected)
            if args[0] == "status":
                running = expected[0].startswith("Loa đang hoạt động")
                if running and daemon is None:
                    start()
                if not running:
                    stop()
            command = moved(args, weeks)
            retry = " ".join(args[:2]).startswith(IDEMPOTENT) or args[0] in IDEMPOTENT
            deadline = time.monotonic() + (WAIT_S if retry and daemon is not None else 0)
            while True:
                printed = run(command)
                got = {normal(line, guide_station) for line in printed.splitlines()}
                missing = [line for line in wanted if normal(line, guide_station) not in got]
                if not missing or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert not missing, f"$ loa {' '.join(args)}\nguide: {missing}\nprinted:\n{printed}"
    finally:
        stop()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.5)
