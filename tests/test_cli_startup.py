"""The commands that render no audio start without loading the audio and speech stack: what
makes `loa --version` answer at once instead of after 2.6 s (numpy, scipy, edge_tts, aiohttp and
APScheduler are what took the time)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.errors import ExitCode
from tests.conftest import ROOT

HEAVY = (
    "numpy",
    "scipy",
    "edge_tts",
    "aiohttp",
    "apscheduler",
    "starlette",
    "uvicorn",
    "jinja2",
    "multipart",
)

PROBE = """
import json, sys
from broadcaster.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
watched = set(json.loads(HEAVY))
heavy = sorted({n for name in sys.modules for n in (name, name.split(".")[0])} & watched)
print(json.dumps({"exit": code, "heavy": heavy}), file=sys.stderr)
"""


def loaded_after(
    loa_env: dict[str, str], *args: str, watched: tuple[str, ...] = HEAVY
) -> dict[str, object]:
    """Run `loa ARGS` in a fresh interpreter; its exit code and which `watched` packages (the
    heavy ones by default) it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(json.dumps(watched))), *args],
        env=loa_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    report: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version"], ExitCode.OK),
        (["--help"], ExitCode.OK),
        (["schedule", "--help"], ExitCode.OK),
        (["service", "install", "--help"], ExitCode.OK),
        (["completion", "bash"], ExitCode.OK),
        (["web", "--help"], ExitCode.OK),
        (["user", "add", "--help"], ExitCode.OK),
        (["log"], ExitCode.OK),
        (["report", "--month", "2026-12"], ExitCode.OK),
        (["stop"], ExitCode.DAEMON),  # no station running: it says so, at once
        (["reload"], ExitCode.DAEMON),
    ],
)
def test_commands_without_audio_leave_the_audio_stack_unloaded(
    loa_env: dict[str, str], station: Path, args: list[str], code: ExitCode
) -> None:
    report = loaded_after(loa_env, "--station", str(station), *args)
    assert report == {"exit": code, "heavy": []}


def test_the_probe_sees_a_heavy_import(loa_env: dict[str, str], station: Path) -> None:
    """The probe above can fail: `loa schedule check` measures clashes with numpy arrays."""
    report = loaded_after(loa_env, "--station", str(station), "schedule", "check")
    assert report["exit"] == 0
    assert "numpy" in report["heavy"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "args", [["next", "--json"], ["status"], ["schedule", "list"], ["approve", "bluezone-sang"]]
)
def test_commands_that_read_the_schedules_leave_the_audio_stack_unloaded(
    loa_env: dict[str, str], station: Path, args: list[str]
) -> None:
    shutil.copytree(ROOT / "schedules", station / "schedules", dirs_exist_ok=True)
    report = loaded_after(loa_env, "--station", str(station), *args)
    assert report["heavy"] == [], report


YAML_PARSERS = ("yaml", "ruamel")


@pytest.mark.parametrize("args", [["--version"], ["next"], ["schedule", "list"]])
def test_the_example_station_is_read_without_a_yaml_parser(
    loa_env: dict[str, str], station: Path, args: list[str]
) -> None:
    """station.yaml, holidays.yaml and the schedules have shapes Loa reads line by line: PyYAML
    (~15 ms to import) and ruamel.yaml wait for a file of another shape."""
    for name in ("schedules", "holidays.yaml"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, station / name)
    report = loaded_after(loa_env, "--station", str(station), *args, watched=YAML_PARSERS)
    assert report == {"exit": ExitCode.OK, "heavy": []}


def test_the_probe_sees_a_yaml_parser(loa_env: dict[str, str], station: Path) -> None:
    """A station file of another shape (with a list of lists in it) is read by a YAML parser."""
    text = (station / "station.yaml").read_text(encoding="utf-8")
    (station / "station.yaml").write_text(text + "\nextra:\n  - - 1\n", encoding="utf-8")
    report = loaded_after(loa_env, "--station", str(station), "--version", watched=YAML_PARSERS)
    assert report["heavy"] == ["yaml"]


COMMAND_MODULES = (
    "broadcaster.speech.edge",
    "broadcaster.onair.daemon",
    "broadcaster.cli.province_commands",
    "broadcaster.cli.web_commands",
    "broadcaster.cli.service_commands",
)
"""What `loa status` has no use for: the speech engines (the running station counts its speech),
the daemon, and other commands' modules (imported when used)."""


def test_status_loads_only_what_it_shows(loa_env: dict[str, str], station: Path) -> None:
    report = loaded_after(loa_env, "--station", str(station), "status", watched=COMMAND_MODULES)
    assert report == {"exit": ExitCode.OK, "heavy": []}


def test_the_probe_sees_a_command_module(loa_env: dict[str, str], station: Path) -> None:
    report = loaded_after(loa_env, "province", "--help", watched=COMMAND_MODULES)
    assert report == {"exit": ExitCode.OK, "heavy": ["broadcaster.cli.province_commands"]}
