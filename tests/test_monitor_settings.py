"""`monitor:` in station.yaml: off by default, the bundled example reads once uncommented, every
bad value refused at its file:line with the fix."""

import re
from pathlib import Path

import pytest

from broadcaster.core.settings import MonitorSettings
from broadcaster.errors import ExitCode, StationConfigError
from broadcaster.station.station_file import load_station
from tests.conftest import ROOT, RunLoa

DEVICE = "alsa_input.usb-0d8c_USB_Sound_Device-00.analog-stereo"


def with_monitor(station: Path, block: str) -> Path:
    path = station / "station.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + block, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return max(n for n, line in enumerate(lines, 1) if text in line and not line.startswith("#"))


def test_the_bundled_example_has_no_monitor() -> None:
    assert load_station(ROOT).monitor is None


def test_the_bundled_example_uncommented_reads_with_the_defaults(station: Path) -> None:
    text = (station / "station.yaml").read_text(encoding="utf-8")
    start = text.index("# monitor:")
    example = re.sub(r"(?m)^# (monitor:|  )", r"\1", text[start:])
    (station / "station.yaml").write_text(text[:start] + example, encoding="utf-8")
    assert load_station(station).monitor == MonitorSettings(DEVICE, 10.0, 30, 2000)


def test_the_monitor_settings_are_read(station: Path) -> None:
    with_monitor(
        station,
        "monitor:\n  device: '  hw:1,0  '\n  dead_air: 1m\n  keep_days: 7\n  disk_mb: 500\n",
    )
    assert load_station(station).monitor == MonitorSettings("hw:1,0", 60.0, 7, 500)


def test_only_the_device_is_needed(station: Path) -> None:
    with_monitor(station, f"monitor:\n  device: {DEVICE}\n")
    assert load_station(station).monitor == MonitorSettings(DEVICE)


def test_an_empty_block_is_no_monitor(station: Path) -> None:
    with_monitor(station, "monitor:\n")
    assert load_station(station).monitor is None


def test_the_audio_log_is_in_the_station_s_private_folder(station: Path) -> None:
    assert load_station(station).monitor_dir == station / ".loa" / "monitor"


@pytest.mark.parametrize(
    ("block", "at", "words"),
    [
        (
            "monitor:\n  dead_air: 10s\n",
            "monitor:",
            "the monitor block needs the capture device that hears the loudspeakers after "
            "'device:'",
        ),
        ("monitor:\n  device:\n  keep_days: 3\n", "device:", "needs the capture device"),
        ("monitor:\n  device: [a, b]\n", "device:", "needs the capture device"),
        (
            "monitor:\n  device: hw:1\n  dead_air: 1s\n",
            "dead_air:",
            "'dead_air: 1s' is not valid; expected a duration such as 60s, 2m or 1h, "
            "from 3 s to 600 s.",
        ),
        ("monitor:\n  device: hw:1\n  dead_air: often\n", "dead_air:", "expected a duration"),
        (
            "monitor:\n  device: hw:1\n  keep_days: 0\n",
            "keep_days:",
            "'keep_days: 0' is not valid; expected a whole number from 1 to 3650.",
        ),
        (
            "monitor:\n  device: hw:1\n  disk_mb: 1.5\n",
            "disk_mb:",
            "'disk_mb: 1.5' is not valid; expected a whole number from 50 to 1000000.",
        ),
        (
            "monitor:\n  device: hw:1\n  input: hw:2\n",
            "input:",
            "unknown setting 'input'; known settings here: device, dead_air, keep_days, disk_mb.",
        ),
        ("monitor: hw:1\n", "monitor:", "'monitor' must be a group of settings"),
    ],
)
def test_a_bad_monitor_setting_is_refused_at_its_line(
    station: Path, english: None, block: str, at: str, words: str
) -> None:
    path = with_monitor(station, block)
    with pytest.raises(StationConfigError) as refused:
        load_station(station)
    assert refused.value.message.startswith(f"{path}:{line_of(path, at)}: ")
    assert words in refused.value.message


def test_a_bad_monitor_setting_is_a_message_from_the_cli(
    run_loa: RunLoa, example_station: Path
) -> None:
    path = with_monitor(example_station, "monitor:\n  device: hw:1\n  keep_days: -1\n")
    done = run_loa("--lang", "en", "status")
    assert done.returncode == ExitCode.STATION_CONFIG, done.stderr
    assert f"{path}:{line_of(path, 'keep_days:')}: 'keep_days: -1' is not valid" in done.stderr
    assert "Traceback" not in done.stderr
