"""`loa doctor`: a real beep on the PulseAudio rig (and none without a device), the online voice
against the local endpoint and a closed one, schedules, cache coverage, the station folder and
disk, time limits, Vietnamese by default and English on request, never a traceback."""

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from broadcaster.broadcast import Coverage, cache_coverage, warm_cache
from broadcaster.core.settings import OutputSettings, SpeechSettings, Station
from broadcaster.errors import ExitCode
from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from broadcaster.onair.daemon import Daemon
from broadcaster.station.station_file import load_station
from broadcaster.system import doctor
from broadcaster.system.doctor import COVERAGE_HOURS, FAILED, OK, WARNING, Check, run_check
from tests.conftest import CLOSED_EDGE_ENDPOINT, RunLoa
from tests.edge_endpoint import EdgeEndpoint
from tests.pulse_rig import RATE, PulseRig
from tests.schedule_station import run, write_schedule

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CHECKED = 13
"""Lines of a report: the station settings, then every check."""
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language(DEFAULT_LANGUAGE)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)


@pytest.fixture
def silent(station: Path, offline: None) -> Path:
    """A station that plays nothing: in-process runs must never beep on the PC running the
    tests (the rig tests run `loa` in a process of its own, on the rig's sink)."""
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("device: simpleaudio", "device: silent"))
    return station


@pytest.fixture
def on_air(station: Path, offline: None) -> Iterator[Daemon]:
    """The station's daemon, answering on its control socket (nothing is scheduled)."""
    daemon = Daemon(station)
    daemon.start()
    yield daemon
    daemon.shutdown()


def lines(out: str) -> dict[str, str]:
    """Report lines by their label: `✔ Label: …` -> {"Label": "✔ Label: …"}."""
    found = {}
    for line in out.splitlines():
        if line[:2] in ("✔ ", "✘ ", "! "):
            found[line[2:].split(":", 1)[0]] = line
    return found


def tone_in(samples: np.ndarray) -> tuple[float, float, float]:
    """The loudest frequency (Hz), the peak level and how long (s) the signal is above -40 dBFS."""
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    assert loud.size, "nothing was heard"
    heard = samples[loud[0] : loud[-1] + 1]
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(len(heard))))
    frequency = float(np.argmax(spectrum)) * RATE / len(heard)
    return frequency, float(np.max(np.abs(heard))), len(heard) / RATE


def test_the_rig_hears_the_beep_and_every_check_passes(
    station: Path, pulse: PulseRig, edge: EdgeEndpoint, on_air: Daemon, run_loa: RunLoa
) -> None:
    with pulse.record() as capture:
        done = run_loa(
            "--lang",
            "en",
            "--station",
            str(station),
            "doctor",
            env={**pulse.env, "LOA_EDGE_ENDPOINT": edge.url},
        )
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    report = lines(done.stdout)
    assert len(report) == CHECKED, done.stdout
    assert all(line.startswith(("✔", "!")) for line in report.values()), done.stdout
    assert report["Sound device"].startswith("✔ Sound device: a short beep (880 Hz) was played")
    assert "vi-VN-HoaiMyNeural read “Xin chào.”" in report["Online voice"]
    assert f"(process {os.getpid()}," in report["Station on air (loa run)"]
    assert done.stdout.splitlines()[-1].startswith(("Every check passed.", "No check failed;"))
    assert "Traceback" not in done.stdout + done.stderr
    frequency, peak, seconds = tone_in(capture.samples)
    assert abs(frequency - doctor.TONE_HZ) < 5
    assert 0.07 < peak < 0.13  # -20 dBFS is 0.1
    assert 0.25 < seconds < 0.4


def test_without_a_sound_device_it_fails_with_the_fix_in_vietnamese(
    station: Path, run_loa: RunLoa
) -> None:
    done = run_loa("--station", str(station), "doctor")
    assert done.returncode == ExitCode.CHECKS_FAILED == 19
    report = lines(done.stdout)
    assert len(report) == CHECKED, done.stdout
    assert report["Thiết bị âm thanh"] == (
        "✘ Thiết bị âm thanh: Không mở được thiết bị âm thanh: hãy cắm và bật bộ khuếch đại hoặc "
        "card âm thanh, kiểm tra cài đặt âm thanh của máy, hoặc ghi bản tin ra tệp bằng --out "
        "TỆP.wav."
    )
    assert report["Giọng đọc trực tuyến"].startswith("✘ Giọng đọc trực tuyến: giọng đọc trực")
    assert "giọng đọc ngoại tuyến sẽ đọc thay" in report["Giọng đọc trực tuyến"]
    assert report["Đài đang hoạt động (loa run)"].startswith("✘")
    assert "loa service install" in report["Đài đang hoạt động (loa run)"]
    assert report["Thư viện Python"].startswith("✔ Thư viện Python: pydub ")
    assert done.stderr.strip() == (
        "Lỗi: số mục kiểm tra không đạt: 3. Hãy làm theo các dòng có dấu ✘, rồi chạy lại "
        "loa doctor."
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_english_in_process_with_a_silent_station(silent: Path, capsys: Capture) -> None:
    code, out, err = run(capsys, silent, "doctor")
    assert code == ExitCode.CHECKS_FAILED  # offline, and Loa does not run
    report = lines(out)
    assert report["Sound device"].startswith("! Sound device: silent on purpose")
    assert report["Schedules"] == "✔ Schedules: no errors (entries: 0, files: 0)."
    assert report["Speech ready ahead"].startswith("✔ Speech ready ahead: nothing needs")
    assert report["Station folder"] == f"✔ Station folder: {silent} can be written."
    assert report["Offline voice"].startswith("✔ Offline voice: espeak-ng ")
    assert report["Offline voice"].endswith(", offline voice vi.")
    assert err.startswith("Error: checks failed: 2.")
    assert "Traceback" not in out + err


def test_help_has_an_example(station: Path, capsys: Capture) -> None:
    code, out, _ = run(capsys, station, "doctor", "--help", language="vi")
    assert code == 0
    assert "Kiểm tra máy tính của đài" in out and "loa doctor" in out


def test_the_online_voice_answers(edge: EdgeEndpoint, station: Path, english: None) -> None:
    settings = SpeechSettings(edge_endpoint=edge.url)
    result = doctor.check_online_voice(Station(station, speech=settings))
    assert result.status == OK, result
    assert result.detail.startswith("vi-VN-HoaiMyNeural read “Xin chào.” in ")
    assert "(service at 127.0.0.1:" in result.detail
    assert [request.text for request in edge.requests] == ["Xin chào."]


def test_a_closed_endpoint_fails_at_once_with_the_offline_explanation(
    station: Path, english: None
) -> None:
    result = doctor.check_online_voice(
        Station(station, speech=SpeechSettings(edge_endpoint=CLOSED_EDGE_ENDPOINT))
    )
    assert result.status == FAILED  # the refused connection, not the time limit ("too long")
    assert result.detail == (
        "the online voice vi-VN-HoaiMyNeural failed: cannot connect to the service "
        "(is the Internet connected?)."
    )
    assert result.fix.startswith("until it works, the offline voice reads instead")


def test_a_stalled_service_is_given_up_quickly(
    station: Path, english: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service would answer after 3 s, the limit is 0.5 s: a FAILED "took too long" means
    the check gave up before the answer came (it would be OK after it). An endpoint of its own,
    so the abandoned request touches no other test."""
    monkeypatch.setattr(doctor, "ONLINE_TIMEOUT_S", 0.5)
    with EdgeEndpoint(mode="slow", delay_s=3.0) as slow:
        result = doctor.check_online_voice(
            Station(station, speech=SpeechSettings(edge_endpoint=slow.url))
        )
        assert [request.text for request in slow.requests] == ["Xin chào."], "it was asked"
    assert result.status == FAILED and "took too long" in result.detail


def test_an_offline_station_voice_needs_no_network(station: Path, english: None) -> None:
    result = doctor.check_online_voice(Station(station, speech=SpeechSettings(voice="vi")))
    assert result.status == OK and "offline voice vi" in result.detail


def test_a_broken_schedule_is_reported_with_file_and_line(silent: Path, capsys: Capture) -> None:
    path = write_schedule(silent, "- id: sang\n  announcement: bluezone\n  times: 25h\n")
    code, out, err = run(capsys, silent, "doctor")
    assert code == ExitCode.CHECKS_FAILED
    line = lines(out)["Schedules"]
    assert line.startswith(f"✘ Schedules: problems: 1; the first: {path}:3: ")
    assert line.endswith("— run loa schedule check to see them all, then correct the files.")
    assert lines(out)["Speech ready ahead"].startswith("! Speech ready ahead: cannot tell: ")
    assert "Traceback" not in out + err


def test_the_same_in_vietnamese(silent: Path, capsys: Capture) -> None:
    path = write_schedule(silent, "- id: sang\n  announcement: bluezone\n  times: 25h\n")
    code, out, err = run(capsys, silent, "doctor", language="vi")
    assert code == ExitCode.CHECKS_FAILED
    line = lines(out)["Lịch phát"]
    assert line.startswith(f"✘ Lịch phát: số lỗi: 1; lỗi đầu tiên: {path}:3: ")
    assert line.endswith("— hãy chạy loa schedule check để xem tất cả, rồi sửa các tệp.")
    assert err.startswith("Lỗi: số mục kiểm tra không đạt: 3.")


def test_cache_coverage_counts_what_is_warmed(
    station: Path, edge: EdgeEndpoint, monkeypatch: pytest.MonkeyPatch, english: None
) -> None:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", edge.url)
    for name, text in (("hop", "Mời bà con đi họp."), ("tiem", "Mời bà con đi tiêm.")):
        (station / "announcements" / f"{name}.yaml").write_text(f"text: {text}\n")
    (station / "announcements" / "doc.yaml").write_text("text: Bản tin đọc.\nvoice: vi\n")
    write_schedule(
        station,
        "".join(
            f"- id: {name}\n  announcement: {name}\n  times: [06:30, '18h']\n"
            for name in ("hop", "tiem", "doc")
        ),
    )
    loaded = load_station(station)
    now = datetime.now(HANOI)
    assert cache_coverage(loaded, now, COVERAGE_HOURS) == Coverage(0, 2, ("hop", "tiem"))
    before = doctor.check_cache(loaded)
    assert before.status == WARNING
    assert before.detail == ("0/2 of the announcements due in the next 48 h are in the cache (0%).")
    assert "loa cache warm" in before.fix
    assert [r.outcome for r in warm_cache(loaded, ["hop"])] == ["rendered"]
    assert cache_coverage(loaded, now, COVERAGE_HOURS) == Coverage(1, 2, ("tiem",))
    assert doctor.check_cache(loaded).detail.startswith("1/2 of the announcements")
    assert doctor.check_cache(loaded).detail.endswith("(50%).")
    warm_cache(loaded, ["tiem"])
    after = doctor.check_cache(loaded)
    assert after.status == OK and after.detail.endswith(
        "2/2 of the announcements due in the next 48 h are in the cache (100%)."
    )


def test_a_read_only_station_folder(read_only_dir: Path, english: None) -> None:
    result = doctor.check_writable(Station(read_only_dir))
    assert result.status == FAILED
    assert result.detail in (
        f"cannot write in {read_only_dir}: the disk is read-only.",
        f"cannot write in {read_only_dir}: permission denied.",
    )
    assert list(read_only_dir.iterdir()) == []


def test_a_writable_station_folder_keeps_nothing(station: Path, english: None) -> None:
    before = sorted(station.iterdir())
    assert doctor.check_writable(Station(station)).status == OK
    assert sorted(station.iterdir()) == before


def test_a_nearly_full_disk_fails_with_the_number(small_disk: Path, english: None) -> None:
    result = doctor.check_disk(Station(small_disk))
    assert result.status == FAILED
    assert result.detail == "only 0 MB free."
    assert "at least 200 MB" in result.fix


def test_a_missing_ffmpeg_is_only_a_warning(
    station: Path, monkeypatch: pytest.MonkeyPatch, english: None
) -> None:
    monkeypatch.setenv("PATH", str(station))
    result = doctor.check_ffmpeg(Station(station))
    assert result.status == WARNING and result.detail == "not installed."
    assert "m4a" in result.fix and "sudo apt install ffmpeg" in result.fix


def test_a_missing_espeak_voice(station: Path, english: None) -> None:
    settings = SpeechSettings(fallback_voice="vi-vn-x-nowhere")
    result = doctor.check_espeak(Station(station, speech=settings))
    assert result.status == FAILED and "vi-vn-x-nowhere" in result.detail


def test_no_beep_while_the_station_is_on_the_air(
    station: Path, monkeypatch: pytest.MonkeyPatch, english: None
) -> None:
    monkeypatch.setattr(
        doctor, "send", lambda _dir, _request: {"ok": True, "playing": {"id": "sang"}}
    )
    result = doctor.check_sound(Station(station))
    assert result.status == WARNING and result.detail.startswith("not tried: the station is on")


def test_the_tone_follows_the_station_output() -> None:
    beep = doctor.tone(OutputSettings(sample_rate=48000, channels=2))
    assert (beep.frame_rate, beep.channels, len(beep)) == (48000, 2, doctor.TONE_MS)
    assert -21 < beep.max_dBFS < -19


def test_a_check_that_hangs_or_breaks_becomes_a_line(station: Path, english: None) -> None:
    release, returned = threading.Event(), threading.Event()

    def hangs(_station: Station) -> doctor.Result:
        release.wait(60)
        returned.set()
        return doctor.Result(OK, "")

    def breaks(_station: Station) -> doctor.Result:
        raise RuntimeError("boom")

    hung = run_check(Check("hangs", lambda: "Hangs", hangs, 0.2), Station(station))
    assert not returned.is_set(), "the report did not wait for the hung check to end"
    release.set()
    assert replace(hung, fix="") == doctor.Result(FAILED, "no answer within 0 s.", what="Hangs")
    broken = run_check(Check("breaks", lambda: "Breaks", breaks), Station(station))
    assert broken.status == FAILED and broken.detail == "unexpected error (RuntimeError: boom)."
    assert "loa --debug doctor" in broken.fix and "RuntimeError" in broken.trace


def test_a_broken_station_file_is_reported_and_the_rest_still_checked(
    station: Path, run_loa: RunLoa
) -> None:
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("sample_rate: 44100", "sample_rate: 12345"))
    done = run_loa("--lang", "en", "--station", str(station), "doctor")
    assert done.returncode == ExitCode.CHECKS_FAILED
    report = lines(done.stdout)
    assert len(report) == CHECKED
    assert report["Station settings"].startswith(f"✘ Station settings: {config}:")
    assert report["Station settings"].endswith("— correct that line of station.yaml.")
    assert report["Sound device"].startswith("✘ Sound device: Could not open a sound device")
    assert "Traceback" not in done.stdout + done.stderr
