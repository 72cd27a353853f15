"""Ctrl+C at any moment, even while Loa is still loading its C extensions, stops it with the one
translated line and exit code 130: never "ImportError: initialization failed" and exit 1."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from broadcaster.errors import ExitCode, caused_by_interrupt
from tests.conftest import ROOT

STARTS = 30


def start_loa(
    loa_env: dict[str, str], station: Path, tmp_path: Path, sigint: signal.Handlers
) -> subprocess.Popen[str]:
    """`loa play bluezone --out …` (numpy, the speech engines, ffmpeg: seconds of work), its
    SIGINT disposition set to `sigint` as if inherited from the shell."""

    def child_setup() -> None:
        signal.signal(signal.SIGINT, sigint)

    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--station",
            str(station),
            "play",
            "bluezone",
            "--out",
            str(tmp_path / "ban-tin.wav"),
        ],
        env=loa_env,
        cwd=station,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=child_setup,
    )


def test_ctrl_c_while_loa_starts_always_says_stopped(
    loa_env: dict[str, str], station: Path, tmp_path: Path
) -> None:
    chance = random.Random(20261130)
    outcomes = []
    for _ in range(STARTS):
        delay = chance.uniform(0.15, 1.5)
        process = start_loa(loa_env, station, tmp_path, signal.SIG_DFL)
        time.sleep(delay)  # the point of the test: a signal at an arbitrary moment of start-up
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        outcomes.append((round(delay, 2), process.returncode, stderr.strip()))
    said_before = {"", "Đang chuẩn bị bản tin…"}  # what a start that got that far printed
    wrong = [
        o
        for o in outcomes
        if o[1] != ExitCode.INTERRUPTED
        or o[2].splitlines()[-1:] != ["Đã dừng."]
        or not set(o[2].splitlines()[:-1]) <= said_before
    ]
    assert not wrong, wrong


def test_ctrl_c_works_though_the_shell_left_it_ignored(
    loa_env: dict[str, str], station: Path, tmp_path: Path
) -> None:
    """A job started with `&` from a script inherits SIGINT ignored; Loa restores it."""
    process = start_loa(loa_env, station, tmp_path, signal.SIG_IGN)
    assert process.stderr is not None
    assert process.stderr.readline().strip() == "Đang chuẩn bị bản tin…"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert stderr.strip() == "Đã dừng."


def test_an_import_failed_by_ctrl_c_counts_as_ctrl_c() -> None:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ImportError("initialization failed")  # noqa: B904 (CPython chains it implicitly)
    except ImportError as error:
        assert caused_by_interrupt(error)
    assert not caused_by_interrupt(ImportError("No module named 'numpy'"))
