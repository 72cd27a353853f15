"""The console's pages doing officers' tasks on real files: entries, uploads, the log, previews."""

import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.models import Occurrence
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.daemon import Daemon
from broadcaster.web import pages
from tests.doubles import FakeClock, FastSink
from tests.web.conftest import Login, csrf_of

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def entry_form(client: object, entry_id: str) -> dict[str, str]:
    """The edit form of an entry as the browser would send it back unchanged."""
    import re

    html = client.get(f"/schedule/{entry_id}").text  # type: ignore[attr-defined]
    form = html.split('id="entry-form"')[1].split("</form>")[0]
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    values["announcement"] = re.search(r'<option value="([^"]+)" selected', form)[1]  # type: ignore[index]
    values.pop("enabled", None)
    if 'name="enabled" checked' in form:
        values["enabled"] = "on"
    return values


def test_a_form_keeps_what_was_typed_with_the_error_next_to_the_field(login: Login) -> None:
    client = login("an")
    answer = client.post(
        "/schedule/save",
        data={
            "csrf": csrf_of(client),
            "new": "1",
            "id": "họp-tối",
            "announcement": "hop-to-dan-pho",
            "times": "19h30",
            "days": "T2-T9",
            "repeat": "3",
            "enabled": "on",
        },
    )
    assert answer.status_code == 400
    assert 'name="days" value="T2-T9"' in answer.text and 'name="repeat" value="3"' in answer.text
    assert 'id="days-error"' in answer.text and "T2-T9" in answer.text.split('id="days-error"')[1]
    assert 'id="times-error"' not in answer.text


def test_an_edit_keeps_the_comments_and_windows_line_ends(
    login: Login, console_station: Path
) -> None:
    schedule = console_station / "schedules" / "bluezone.yaml"
    schedule.write_bytes(b"\xef\xbb\xbf" + schedule.read_bytes().replace(b"\n", b"\r\n"))
    client = login("an")
    values = entry_form(client, "bluezone-sang")
    assert values["times"] == "06:45, 17h15", "as the officer wrote them"
    answer = client.post("/schedule/save", data={**values, "times": "6h30, 17h15"})
    assert answer.status_code == 303, answer.text
    raw = schedule.read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    text = raw.decode("utf-8-sig")
    assert '"6h30"' in text and "# Thứ Hai … Thứ Sáu" in text


def test_the_second_of_two_editors_is_refused_with_what_changed(
    login: Login, console_station: Path
) -> None:
    an, binh = login("an"), login("binh")
    first, second = entry_form(an, "bluezone-sang"), entry_form(binh, "bluezone-sang")
    assert an.post("/schedule/save", data={**first, "repeat": "3"}).status_code == 303
    answer = binh.post("/schedule/save", data={**second, "gap": "45s"})
    assert answer.status_code == 409
    conflicts = answer.text.split('id="conflicts"')[1].split("</ul>")[0]
    assert "repeat: «2» → «3»" in conflicts
    text = (console_station / "schedules" / "bluezone.yaml").read_text()
    assert "repeat: 3" in text and "45s" not in text
    assert 'name="gap" value="45s"' in answer.text, "what binh typed is kept"


def test_a_province_entry_is_read_only(login: Login, console_station: Path) -> None:
    (console_station / "schedules" / "tinh.yaml").write_text(
        '- id: tinh-bao\n  announcement: bluezone\n  times: ["07:00"]\n', encoding="utf-8"
    )
    client = login("an")
    page = client.get("/schedule/tinh-bao").text
    assert 'id="read-only"' in page and 'id="save-entry-button"' not in page
    values = entry_form(client, "tinh-bao")
    assert client.post("/schedule/save", data={**values, "times": "08:00"}).status_code == 403
    assert '"07:00"' in (console_station / "schedules" / "tinh.yaml").read_text()


def upload(client: object, name: str, data: bytes) -> object:
    return client.post(  # type: ignore[attr-defined]
        "/recordings/upload",
        data={"csrf": csrf_of(client, "/recordings/upload")},  # type: ignore[arg-type]
        files={"recording": (name, data, "audio/mp4")},
    )


def listing(station: Path) -> list[str]:
    return sorted(p.name for p in (station / "announcements").iterdir())


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("../../station.m4a", b"x" * 100, 400),
        ("ghi-am.txt", b"hello", 400),
        ("ghi-am.m4a", b"", 400),
        ("ghi-am.mp3", b"not audio at all" * 100, 400),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_written(
    login: Login, console_station: Path, name: str, data: bytes, status: int
) -> None:
    before = listing(console_station)
    answer = upload(login("an"), name, data)
    assert answer.status_code == status  # type: ignore[attr-defined]
    if "/" in name:
        assert "thư mục" in answer.text  # type: ignore[attr-defined]  # "must not hold a folder"
    assert 'id="upload-error"' in answer.text  # type: ignore[attr-defined]
    assert listing(console_station) == before
    uploads = console_station / ".loa" / "web-uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_too_large_upload_is_refused(
    login: Login, console_station: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_UPLOAD_BYTES", 1000)
    before = listing(console_station)
    answer = upload(login("an"), "ghi-am.m4a", b"\0" * 2000)
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert listing(console_station) == before


def tone(path: Path, seconds: float, volume: float = 0.5) -> bytes:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-af", f"volume={volume}", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def test_a_phone_recording_is_checked_levelled_and_copied_in(
    login: Login, console_station: Path, tmp_path: Path
) -> None:
    client = login("an")
    answer = upload(client, "Ghi âm 001.m4a", tone(tmp_path / "a.m4a", 2))
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    assert "ghi-am-001.m4a" in listing(console_station)
    preview = answer.text.split('src="/previews/')[1].split('"')[0]  # type: ignore[attr-defined]
    wav = client.get(f"/previews/{preview}")
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and len(wav.content) > 44100


def test_a_silent_recording_is_refused(login: Login, console_station: Path, tmp_path: Path) -> None:
    before = listing(console_station)
    answer = upload(login("an"), "im-lang.m4a", tone(tmp_path / "s.m4a", 2, volume=0))
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert listing(console_station) == before


def test_listen_first_renders_what_will_air_and_what_the_voice_reads(
    login: Login, console_station: Path
) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: ./setup.sh installs it")
    client = login("an")
    answer = client.post(
        "/announcements/save",
        data={
            "csrf": csrf_of(client),
            "new": "1",
            "id": "hop-thon",
            "title": "Họp thôn",
            "text": "UBND xã họp lúc 14h30.",
            "voice": "vi",
            "action": "preview",
        },
    )
    assert answer.status_code == 200, answer.text
    assert "Ủy ban nhân dân" in answer.text, "the lexicon, as loa text shows it"
    assert not (console_station / "announcements" / "hop-thon.yaml").exists(), "not saved yet"
    preview = answer.text.split('src="/previews/')[1].split('"')[0]
    assert client.get(f"/previews/{preview}").content[:4] == b"RIFF"
    assert client.get("/previews/..%2Fweb.db").status_code == 404


def test_saving_an_announcement_keeps_its_comments(login: Login, console_station: Path) -> None:
    path = console_station / "announcements" / "bluezone.yaml"
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    client = login("an")
    page = client.get("/announcements/bluezone").text
    file_hash = page.split('name="file_hash" value="')[1].split('"')[0]
    answer = client.post(
        "/announcements/save",
        data={"csrf": csrf_of(client), "id": "bluezone", "file_hash": file_hash,
              "title": "Bluezone", "text": "Nội dung mới.", "action": "save"},
    )  # fmt: skip
    assert answer.status_code == 200 and 'id="saved"' in answer.text
    text = path.read_text()
    assert "Nội dung mới." in text and all(line in text for line in comments)
    stale = client.post(
        "/announcements/save",
        data={"csrf": csrf_of(client), "id": "bluezone", "file_hash": file_hash,
              "text": "Bản cũ.", "action": "save"},
    )  # fmt: skip
    assert stale.status_code == 409 and "Bản cũ." not in path.read_text()


def test_the_log_as_csv_has_a_bom_and_the_filters_work(login: Login, console_station: Path) -> None:
    log = AsRunLog.for_station(console_station)
    for day, result in ((1, "played"), (2, "missed")):
        occurrence = Occurrence(
            "sang", datetime(2026, 12, day, 6, 30, tzinfo=HANOI), "bluezone", "normal"
        )
        if result == "missed":
            log.decide(occurrence, result, "trễ 400 s")
        else:
            log.begin(occurrence, occurrence.scheduled)
            log.finish(
                occurrence, result, occurrence.scheduled + timedelta(seconds=40), "cache", ""
            )
    log.close()
    client = login("an")
    answer = client.get("/log.csv", params={"since": "01/12/2026", "until": "01/12/2026"})
    assert answer.content.startswith("\ufeff".encode())
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("01/12/2026 06:30:00")
    page = client.get("/log", params={"result": "missed"}).text
    assert "trễ 400 s" in page and "01/12/2026 06:30" not in page
    bad = client.get("/log", params={"since": "32/13/2026"}).text
    assert 'id="since-error"' in bad and 'value="32/13/2026"' in bad
    report = client.get("/report", params={"month": "12/2026"}).text
    assert "bluezone" in report and "12/2026" in report


@pytest.fixture
def running(console_station: Path) -> Iterator[tuple[Daemon, FastSink]]:
    """A daemon answering on the station's control socket, holding what it plays on the air."""
    config = console_station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    (console_station / "schedules" / "bluezone.yaml").unlink()
    clock = FakeClock(datetime.now(HANOI))
    sink = FastSink(clock, hold=threading.Event())
    daemon = Daemon(console_station, now=clock, output=lambda _station: sink)
    daemon.start()
    yield daemon, sink
    sink.hold.set()  # type: ignore[union-attr]
    daemon.shutdown()


def test_the_emergency_button_confirms_then_airs_at_once(
    login: Login, running: tuple[Daemon, FastSink], console_station: Path
) -> None:
    _daemon, sink = running
    client = login("an")
    assert 'id="not-running"' not in client.get("/").text
    confirm = client.post("/emergency", data={"csrf": csrf_of(client), "text": "Cháy ở chợ xã."})
    assert confirm.status_code == 200 and 'id="emergency-confirm-text"' in confirm.text
    assert not sink.started.is_set(), "nothing airs before the confirmation"
    aired = client.post(
        "/emergency",
        data={"csrf": csrf_of(client), "text": "Cháy ở chợ xã.", "confirm": "yes"},
    )
    assert aired.status_code == 303
    assert sink.started.wait(30), "on the air"
    home = client.get("/").text
    assert 'id="emergency-banner"' in home
    assert client.post("/stop", data={"csrf": csrf_of(client)}).status_code == 303
    actions = [(row.action, row.detail) for row in pages_audit(console_station)]
    assert ("emergency", "Cháy ở chợ xã.") in actions and ("stop", "") in actions


def pages_audit(station: Path) -> list[object]:
    from broadcaster.web.auth import Accounts

    return Accounts.for_station(station).audit_rows()  # type: ignore[return-value]


def test_without_a_running_station_the_pages_say_so(login: Login) -> None:
    client = login("an")
    assert 'id="not-running"' in client.get("/").text
    answer = client.post(
        "/emergency", data={"csrf": csrf_of(client), "text": "Cháy.", "confirm": "yes"}
    )
    assert answer.status_code == 503 and 'id="emergency-error"' in answer.text


def test_every_page_has_its_data_page_and_the_week_shows_clashes(
    login: Login, console_station: Path
) -> None:
    (console_station / "schedules" / "them.yaml").write_text(
        '- id: trung\n  announcement: bluezone\n  times: ["06:45"]\n  start: interrupt\n',
        encoding="utf-8",
    )
    client = login("root")
    for path in ("/", "/week", "/announcements", "/schedule", "/approvals", "/emergency",
                 "/log", "/report", "/users", "/audit", "/recordings/upload", "/schedule/new",
                 "/announcements/new"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200 and "data-page=" in page.text, path
        assert '<html lang="vi">' in page.text
        assert 'content="width=device-width, initial-scale=1"' in page.text
    week = client.get("/week").text
    assert "⚠" in week and "trung" in week
