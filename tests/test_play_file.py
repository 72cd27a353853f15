"""`loa play PATH` with an audio file from anywhere the officer can read: copied into the
station's announcements/ under a name no other announcement has, then played; the running
station only ever reads its own copy."""

import shutil
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.errors import ExitCode
from broadcaster.onair.daemon import Daemon
from tests.conftest import ROOT, RunLoa
from tests.doubles import FakeClock, FastSink
from tests.schedule_station import run
from tests.signals import read_wav

RECORDING = ROOT / "tests" / "data" / "xin-chao.m4a"


def downloaded(tmp_path: Path, name: str = "Ghi âm 001.M4A", source: Path = RECORDING) -> Path:
    folder = tmp_path / "Tải về"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / name))


def test_a_file_from_outside_is_copied_in_and_played(
    station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    outside = downloaded(tmp_path)
    out = tmp_path / "ban-tin.wav"
    played = run_loa(
        "--station", str(station), "--lang", "en", "play", str(outside), "--out", str(out)
    )
    assert played.returncode == ExitCode.OK, played.stderr
    copy = station / "announcements" / "ghi-am-001.m4a"
    assert f"Copied {outside} into the station: {copy}" in played.stderr
    assert copy.read_bytes() == outside.read_bytes() and outside.exists()
    assert len(read_wav(out)[0]) > 44100, "and it is the recording that was played"


def test_a_copy_never_takes_the_name_of_another_announcement(
    station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    announcements = station / "announcements"
    assert (announcements / "bluezone.yaml").exists(), "the name is taken by a text"
    other = downloaded(tmp_path, "bluezone.m4a")
    different = downloaded(tmp_path / "b", "bluezone.M4A", ROOT / "tests" / "data" / "xin-chao.wav")
    for source, expected in ((other, "bluezone-2.m4a"), (different, "bluezone-3.m4a")):
        done = run_loa(
            "--station",
            str(station),
            "--lang",
            "en",
            "play",
            str(source),
            "--out",
            str(tmp_path / "x.wav"),
        )
        assert f"into the station: {announcements / expected}" in done.stderr
    again = run_loa(
        "--station",
        str(station),
        "--lang",
        "en",
        "play",
        str(other),
        "--out",
        str(tmp_path / "x.wav"),
    )
    assert f"into the station: {announcements / 'bluezone-2.m4a'}" in again.stderr, "not twice"
    assert sorted(p.name for p in announcements.glob("bluezone*")) == [
        "bluezone-2.m4a",
        "bluezone-3.m4a",
        "bluezone.yaml",
    ]


def test_a_link_inside_the_station_that_leads_out_stays_refused(
    station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    link = station / "announcements" / "lien-ket.m4a"
    link.symlink_to(downloaded(tmp_path))
    done = run_loa("--station", str(station), "play", str(link), "--out", str(tmp_path / "x.wav"))
    assert done.returncode == ExitCode.ANNOUNCEMENT
    assert "ngoài thư mục đài" in done.stderr
    assert [p.name for p in (station / "announcements").glob("*.m4a")] == ["lien-ket.m4a"]


def test_the_running_station_plays_the_copy(
    station: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = station / "station.yaml"
    config.write_text(
        config.read_text().replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    outside = downloaded(tmp_path)
    clock = FakeClock(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")))
    sink = FastSink(clock)
    daemon = Daemon(station, now=clock, output=lambda _station: sink)
    daemon.start()
    try:
        monkeypatch.chdir(outside.parent)  # a relative name, from another folder than the daemon's
        code, out, err = run(capsys, station, "play", outside.name)
        assert code == ExitCode.OK, err
        assert "Queued on the running station" in out
        assert "ghi-am-001.m4a" in err
        deadline = time.monotonic() + 60
        while not sink.completed:
            assert time.monotonic() < deadline, "the running station plays the copy"
            time.sleep(0.05)
    finally:
        daemon.shutdown()
    assert sink.programs[0] > 1.0, "the whole recording, between the chimes"
