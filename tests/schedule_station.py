"""Running `loa` in-process on a station of the tests' own, for the schedule commands' tests."""

from pathlib import Path

import pytest

from broadcaster.cli.main import main
from broadcaster.i18n import current_language, set_language


def write_schedule(station: Path, text: str, name: str = "lich.yaml") -> Path:
    path = station / "schedules" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(
    capsys: pytest.CaptureFixture[str], station: Path, *args: str, language: str = "en"
) -> tuple[int, str, str]:
    """`loa --station STATION --lang LANGUAGE ARGS` through cli.main, as a user runs it, but
    without a new Python process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    before = current_language()
    try:
        with pytest.raises(SystemExit) as done:
            main(["--station", str(station), "--lang", language, *args])
    finally:
        set_language(before)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err
