"""The officers' console in a real Chromium, as officers use it: a real `loa web` and a real
`loa run` (silent output, the offline voice) on a copy of the example station that needs
approvals, with accounts made by `loa user add`. Every page passes the rig's checks on a phone
and on the station PC; a draft goes from "Listen first" through approval to the air and the log;
the essential forms work without JavaScript; the emergency button works on a phone; and no
English the catalogue translates is left on a page, nor a date or time in another form."""

import gettext
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from broadcaster.control.channel import ask
from broadcaster.control.protocol import Status, StatusReply, Stop
from broadcaster.core.models import Occurrence
from broadcaster.i18n import LOCALE_DIR
from broadcaster.onair.asrun import AsRunLog
from broadcaster.station.schedule_edit import find_entry
from broadcaster.station.station_file import load_station
from tests.browser import (  # noqa: F401 (the fixtures, found by pytest by their names)
    DESKTOP,
    LOAD_TIMEOUT_S,
    PHONE,
    VIEWPORTS,
    Browser,
    Viewport,
    browser_fixture,
    browser_without_js_fixture,
    chromiums_fixture,
    is_stale,
)
from tests.conftest import CLOSED_EDGE_ENDPOINT, NETGUARD_DIR, ROOT, copy_example_station
from tests.mosquitto import free_port
from tests.netguard import sitecustomize as netguard

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "mật-khẩu-đủ-dài"
USERS = {"an": "officer", "binh": "approver", "root": "admin"}
SEEDED_REASON = "trễ 400 giây: máy khởi động chậm"
DRAFT = """\
- id: hop-to-dan-pho-t7
  announcement: hop-to-dan-pho
  times: ["19:00"]
  days: [T7]
  created_by: an
"""
"""A draft waiting for approval, beside the example's entry (approved by `loa approve`)."""
START_S = 60.0
AIR_WAIT_S = 200.0
"""From scheduling a one-off entry at the next whole minute (at least 25 s ahead) to its row in
the log: the minute, the broadcast (a short text, about 10 s of chimes and speech) and margin."""


@dataclass
class Console:
    url: str
    station: Path
    env: dict[str, str]

    def __call__(self, path: str) -> str:
        return self.url + path


def child_env(station: Path, home: Path) -> dict[str, str]:
    """As `loa_env` in tests/conftest.py, for children that live as long as the module."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOA_", "ALSA_", "PULSE_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD_DIR), str(ROOT)]),
            netguard.LOG_ENV: os.environ[netguard.LOG_ENV],
            "LOA_EDGE_ENDPOINT": CLOSED_EDGE_ENDPOINT,
            "LOA_STATION": str(station),
            "ALSA_CONFIG_PATH": str(home / "no-sound-card.conf"),
            "HOME": str(home),
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    (home / "no-sound-card.conf").write_text("pcm.!default { type hw card 97 }\n")
    return env


def loa(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *args]


def seed_log(station: Path) -> None:
    """Rows in the as-run log: one broadcast aired yesterday, one missed an hour ago (with a
    reason in Vietnamese), so that the log, the report and the home page have rows to show."""
    log = AsRunLog.for_station(station)
    an_hour_ago = datetime.now(HANOI).replace(second=0, microsecond=0) - timedelta(hours=1)
    aired = Occurrence("bluezone-sang", an_hour_ago - timedelta(days=1), "bluezone", "normal")
    log.begin(aired, aired.scheduled)
    log.finish(aired, "played", aired.scheduled + timedelta(seconds=40), "espeak", "")
    missed = Occurrence("bluezone-sang", an_hour_ago, "bluezone", "normal")
    log.decide(missed, "missed", SEEDED_REASON)
    log.close()


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = START_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {timeout_s:.0f} s for {what}"
        time.sleep(0.2)
    return found


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status) == 200
    except OSError:
        return False


def on_air_status(station: Path) -> StatusReply | None:
    reply = ask(station, Status())
    return reply if isinstance(reply, StatusReply) else None


def emergency_on_air(station: Path) -> bool:
    status = on_air_status(station)
    assert status is not None, "loa run answers"
    return status.playing is not None and status.playing.priority == "emergency"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`loa web` and `loa run` on one station for the whole module: the station needs
    approvals, airs silently in real time, reads with espeak-ng, and has no quiet hours (the
    module must air at any hour)."""
    home = tmp_path_factory.mktemp("console")
    station = copy_example_station(home / "station")
    config = station / "station.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace("require_approval: false", "require_approval: true")
        .replace("device: simpleaudio", "device: silent")
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"'),
        encoding="utf-8",
    )
    (station / "schedules" / "hop-dan.yaml").write_text(DRAFT, encoding="utf-8")
    env = child_env(station, home)
    seed_log(station)

    def run_loa(*args: str, typed: str = "") -> None:
        subprocess.run(
            loa(*args), input=typed, env=env, cwd=home, capture_output=True, text=True,
            check=True, timeout=60,
        )  # fmt: skip

    for name, role in USERS.items():
        run_loa("user", "add", name, "--role", role, typed=f"{PASSWORD}\n")
    run_loa("approve", "bluezone-sang", "--by", "binh")
    port = free_port()
    logs = home / "logs"
    logs.mkdir()
    with (logs / "web.txt").open("wb") as web_out, (logs / "run.txt").open("wb") as run_out:
        web = subprocess.Popen(
            loa("web", "--listen", f"127.0.0.1:{port}"), env=env, cwd=home, stderr=web_out
        )
        run = subprocess.Popen(loa("run"), env=env, cwd=home, stdout=run_out, stderr=run_out)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers(url + "/login") or web.poll() is not None, "loa web")
            wait_until(lambda: on_air_status(station) or run.poll() is not None, "loa run")
            assert web.poll() is None, (logs / "web.txt").read_text()
            assert run.poll() is None, (logs / "run.txt").read_text()
            yield Console(url, station, env)
        finally:
            stop(web)
            stop(run)


def log_in(browser: Browser, console: Console, name: str, viewport: Viewport = PHONE) -> None:
    browser.open(console("/login"), viewport)
    browser.submit_form("login-form", {"name": name, "password": PASSWORD})
    assert browser.page_name() == "home", browser.driver.current_url


def press(browser: Browser, button_id: str) -> None:
    """Press one button of a form that has several (submit_form presses the first)."""
    page = browser.driver.find_element(By.TAG_NAME, "html")
    browser.driver.find_element(By.ID, button_id).click()
    WebDriverWait(browser.driver, LOAD_TIMEOUT_S).until(lambda _: is_stale(page))
    WebDriverWait(browser.driver, LOAD_TIMEOUT_S).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def text_of(browser: Browser, element_id: str) -> str:
    return str(browser.driver.find_element(By.ID, element_id).text)


# 1. every page, on a phone and on the station PC ---------------------------------------------

PAGES = [
    # (screenshot name, path, user, the page's data-page)
    ("home", "/", "an", "home"),
    ("week", "/week", "an", "week"),
    ("announcements", "/announcements", "an", "announcements"),
    ("announcement", "/announcements/bluezone", "an", "announcement"),
    ("announcement-new", "/announcements/new", "an", "announcement"),
    ("upload", "/recordings/upload", "an", "upload"),
    ("schedule", "/schedule", "an", "schedule"),
    ("entry", "/schedule/bluezone-sang", "an", "entry"),
    ("entry-new", "/schedule/new", "an", "entry"),
    ("approvals", "/approvals", "binh", "approvals"),
    ("approval", "/approvals/hop-to-dan-pho-t7", "binh", "approval"),
    ("emergency", "/emergency", "an", "emergency"),
    ("log", "/log", "an", "log"),
    ("report", "/report", "an", "report"),
    ("doctor", "/doctor", "an", "doctor"),
    ("users", "/users", "root", "users"),
    ("audit", "/audit", "root", "audit"),
]


def test_the_login_page_passes_every_check(browser: Browser, console: Console) -> None:
    assert browser.check_page(console("/login"), "login") == []
    assert browser.page_name() == "login"


@pytest.mark.parametrize(
    ("name", "path", "user", "data_page"), PAGES, ids=[page[0] for page in PAGES]
)
def test_every_page_passes_every_check_on_a_phone_and_the_pc(
    browser: Browser, console: Console, name: str, path: str, user: str, data_page: str
) -> None:
    log_in(browser, console, user)
    assert browser.check_page(console(path), name) == []
    assert browser.page_name() == data_page, "not sent elsewhere (the login page, an error)"


def test_the_emergency_confirmation_passes_every_check(browser: Browser, console: Console) -> None:
    log_in(browser, console, "an")
    found = []
    for viewport in VIEWPORTS:
        browser.open(console("/emergency"), viewport)
        browser.submit_form("emergency-form", {"text": "Thử: cháy ở chợ xã."})
        assert browser.page_name() == "emergency"
        found += [f"{viewport.name}: {problem}" for problem in browser.problems()]
        browser.screenshot("emergency-confirm")
    assert found == []


# 2. a draft from "Listen first" to the air and the log ------------------------------------------

AUDIO_DURATION_JS = """
const done = arguments[arguments.length - 1];
const audio = document.getElementById(arguments[0]);
if (audio.readyState >= 1) { done(audio.duration); return; }
audio.addEventListener('loadedmetadata', () => done(audio.duration));
audio.addEventListener('error', () => done(-1));
audio.load();
"""

POST_JS = """
const done = arguments[arguments.length - 1];
const body = new URLSearchParams(arguments[1]);
body.set('csrf', document.querySelector('input[name=csrf]').value);
fetch(arguments[0], {method: 'POST', body}).then((answer) => done(answer.status));
"""

EDITABLE_JS = """
return Array.from(document.querySelectorAll('main input, main textarea, main select'))
  .filter((field) => field.type !== 'hidden').map((field) => field.outerHTML);
"""


def next_whole_minute(ahead_s: float) -> datetime:
    """The first whole minute of the station's clock at least `ahead_s` from now."""
    soon = datetime.now(HANOI) + timedelta(seconds=ahead_s)
    return soon.replace(second=0, microsecond=0) + timedelta(minutes=1)


def entry_status(station: Path, entry_id: str) -> tuple[str | None, str | None]:
    entry = find_entry(load_station(station), entry_id)
    return entry.status, entry.approved_by


def aired(station: Path, entry_id: str) -> list[Any]:
    log = AsRunLog.for_station(station)
    try:
        return [row for row in log.rows() if row.entry_id == entry_id and row.ended]
    finally:
        log.close()


def test_a_draft_is_heard_scheduled_approved_by_another_aired_and_logged(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    text = "Thông báo thử: mời bà con tổ 3 dự họp tại nhà văn hóa lúc 19 giờ."
    log_in(browser, console, "an")
    browser.open(console("/announcements/new"), PHONE)
    browser.submit_form(
        "announcement-form", {"id": "hop-to-3", "title": "Họp tổ 3", "text": text, "voice": "vi"}
    )  # its first button: "Listen first"
    duration = browser.driver.execute_async_script(AUDIO_DURATION_JS, "preview-audio")
    assert duration > 1, "the preview plays the whole broadcast: chimes and speech"
    browser.screenshot("announcement-preview")
    assert not (console.station / "announcements" / "hop-to-3.yaml").exists(), "heard, not saved"
    press(browser, "save-button")
    assert browser.driver.find_elements(By.ID, "saved"), text_of(browser, "announcement-form")

    at = next_whole_minute(ahead_s=25)
    browser.open(console("/schedule/new"), PHONE)
    browser.submit_form(
        "entry-form",
        {
            "id": "hop-to-3-toi-nay",
            "announcement": "hop-to-3",
            "date": f"{at:%d/%m/%Y}",
            "times": f"{at:%H:%M}",
        },
    )
    assert browser.page_name() == "entry" and browser.driver.find_elements(By.ID, "saved")

    browser.open(console("/approvals/hop-to-3-toi-nay"), PHONE)
    assert browser.driver.find_elements(By.ID, "own-draft")
    assert not browser.driver.find_elements(By.ID, "approve-form")
    sha256 = text_of(browser, "approval-sha256")
    status = browser.driver.execute_async_script(
        POST_JS, "/approvals/hop-to-3-toi-nay", {"sha256": sha256}
    )
    assert status == 403, "an officer cannot approve, even by posting the form by hand"

    browser.reset()
    log_in(browser, console, "binh", DESKTOP)
    browser.open(console("/approvals/hop-to-3-toi-nay"), DESKTOP)
    assert text_of(browser, "approval-text") == text
    assert browser.driver.execute_script(EDITABLE_JS) == [], "an approver reads, never edits"
    browser.screenshot("approval-by-another")
    browser.submit_form("approve-form")
    assert browser.page_name() == "approvals"
    assert "hop-to-3-toi-nay" not in text_of(browser, "draft-list")

    wait_until(
        lambda: aired(console.station, "hop-to-3-toi-nay"),
        f"the broadcast of {at:%H:%M} in the log",
        timeout_s=AIR_WAIT_S,
    )
    browser.open(console("/log"), DESKTOP)
    rows = [row.text for row in browser.driver.find_elements(By.CSS_SELECTOR, "#log-rows tr")]
    [row] = [row for row in rows if "hop-to-3-toi-nay" in row]
    assert row.startswith(f"{at:%d/%m/%Y %H:%M}") and "✓" in row, row

    downloads = tmp_path / "downloads"
    browser.driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.driver.find_element(By.ID, "log-csv").click()
    csv_file = downloads / "phat-song.csv"
    wait_until(csv_file.exists, "the CSV download", timeout_s=LOAD_TIMEOUT_S)
    data = csv_file.read_bytes()
    assert data.startswith("\ufeff".encode()), "a BOM, for Excel"
    lines = data.decode("utf-8-sig").splitlines()
    assert any(line.startswith(f"{at:%d/%m/%Y %H:%M}") and "hop-to-3" in line for line in lines)
    assert any(SEEDED_REASON in line for line in lines), "the diacritics as written"


@pytest.fixture
def quiet_after(console: Console) -> Iterator[None]:
    """Whatever a test left on the air is stopped, so that the next test starts quiet."""
    yield
    for _attempt in range(10):
        status = on_air_status(console.station)
        if status is None or (status.playing is None and not status.queue):
            return
        ask(console.station, Stop())
        time.sleep(0.5)


# 3. the essential forms without JavaScript ------------------------------------------------------


@pytest.mark.usefixtures("quiet_after")
def test_the_essential_forms_work_as_plain_html(
    browser_without_js: Browser, console: Console
) -> None:
    browser = browser_without_js
    log_in(browser, console, "an", DESKTOP)
    browser.open(console("/announcements/new"), DESKTOP)
    browser.submit_form(
        "announcement-form",
        {"id": "khong-js", "title": "Không JavaScript", "text": "Loa nhà văn hóa đã sửa xong."},
    )
    assert browser.driver.find_elements(By.ID, "preview-audio"), "Listen first, as HTML"
    press(browser, "save-button")
    assert (console.station / "announcements" / "khong-js.yaml").exists()
    later = datetime.now(HANOI) + timedelta(days=30)
    browser.open(console("/schedule/new"), DESKTOP)
    browser.submit_form(
        "entry-form",
        {"id": "khong-js", "announcement": "khong-js", "date": f"{later:%d/%m/%Y}",
         "times": "07:15"},
    )  # fmt: skip
    assert browser.driver.find_elements(By.ID, "saved")

    browser.reset()
    log_in(browser, console, "binh", DESKTOP)
    browser.open(console("/approvals/khong-js"), DESKTOP)
    browser.submit_form("approve-form")
    assert browser.page_name() == "approvals"
    assert entry_status(console.station, "khong-js") == ("approved", "binh")

    browser.open(console("/emergency"), DESKTOP)
    browser.submit_form("emergency-form", {"text": "Thử phát khẩn cấp không JavaScript."})
    assert browser.driver.find_elements(By.ID, "emergency-confirm-form")
    browser.submit_form("emergency-confirm-form")
    assert browser.page_name() == "home"
    wait_until(
        lambda: (
            browser.open(console("/"), DESKTOP)
            or browser.driver.find_elements(By.ID, "emergency-banner")
        ),
        "the emergency on the air (reloading by hand)",
    )
    browser.submit_form("emergency-stop-form")
    assert browser.page_name() == "home"
    assert not browser.driver.find_elements(By.ID, "emergency-banner")


# 4. the emergency button on a phone ---------------------------------------------------------------

FULL_WIDTH_JS = """
const box = document.getElementById(arguments[0]).getBoundingClientRect();
return {width: box.width, top: box.top, screen: window.innerWidth, height: window.innerHeight};
"""


def emergency_rows(station: Path) -> list[Any]:
    log = AsRunLog.for_station(station)
    try:
        return [row for row in log.rows() if row.priority == "emergency"]
    finally:
        log.close()


@pytest.mark.usefixtures("quiet_after")
def test_the_emergency_button_on_a_phone_names_what_it_interrupts_and_stops(
    browser: Browser, console: Console
) -> None:
    queued = subprocess.run(
        loa("play", "bluezone"), env=console.env, capture_output=True, text=True, timeout=60
    )
    assert queued.returncode == 0, queued.stderr
    wait_until(
        lambda: (status := on_air_status(console.station)) and status.playing,
        "bluezone on the air",
    )
    log_in(browser, console, "an", PHONE)
    button = browser.driver.execute_script(FULL_WIDTH_JS, "emergency-button")
    assert button["width"] >= 0.9 * button["screen"], "full width"
    assert 0 <= button["top"] < button["height"], "on the first screen, without scrolling"
    browser.driver.find_element(By.ID, "emergency-button").click()
    WebDriverWait(browser.driver, LOAD_TIMEOUT_S).until(
        lambda _: browser.page_name() == "emergency"
    )
    browser.submit_form("emergency-form", {"text": "Cháy ở khu chợ xã, bà con tránh xa."})
    confirm = text_of(browser, "emergency-confirm-text")
    assert "bluezone" in confirm, f"the confirmation names what it interrupts: {confirm}"
    browser.screenshot("emergency-confirm-interrupts")
    assert not emergency_on_air(console.station), "nothing airs before the confirmation"
    browser.submit_form("emergency-confirm-form")
    assert browser.page_name() == "home"
    banner = text_of(browser, "emergency-banner")
    assert "ĐANG PHÁT KHẨN CẤP" in banner, banner
    assert text_of(browser, "emergency-stop-button") == "Dừng"
    browser.screenshot("emergency-on-air")
    browser.submit_form("emergency-stop-form")
    assert browser.page_name() == "home"
    assert not browser.driver.find_elements(By.ID, "emergency-banner")
    assert not emergency_on_air(console.station)
    assert emergency_rows(console.station)[-1].result == "interrupted"


@pytest.mark.usefixtures("quiet_after")
def test_an_emergency_from_elsewhere_shows_its_banner_on_an_open_page(
    browser: Browser, console: Console
) -> None:
    log_in(browser, console, "an", PHONE)
    browser.open(console("/week"), PHONE)
    assert not browser.driver.find_elements(By.ID, "emergency-banner")
    said = subprocess.run(
        loa("say", "Bão đổ bộ trong đêm nay, bà con chằng chống nhà cửa.", "--emergency"),
        env=console.env,
        capture_output=True,
        text=True,
        timeout=60,
    )  # as the province's emergency arrives: not through this page
    assert said.returncode == 0, said.stderr
    WebDriverWait(browser.driver, LOAD_TIMEOUT_S).until(
        lambda driver: driver.find_elements(By.ID, "emergency-banner")
    )
    assert browser.page_name() == "week", "the banner came without a reload"
    browser.submit_form("emergency-stop-form")
    assert not emergency_on_air(console.station)
    assert not browser.driver.find_elements(By.ID, "emergency-banner")


# 5. Vietnamese only, dates and times as Vietnam writes them --------------------------------------

VISIBLE_TEXT_JS = """
const data = Array.from(document.querySelectorAll('[translate=no]'));
for (const element of data) element.style.display = 'none';
const texts = [document.title, document.body.innerText];
for (const element of data) element.style.display = '';
for (const element of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
  for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
    texts.push(element.getAttribute(name) || '');
  }
}
for (const option of document.querySelectorAll('option')) texts.push(option.textContent);
return texts.join('\\n');
"""
PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)[sd]|%[sd]")
DATE_LIKE = re.compile(r"(?<![\d/-])\d{1,4}[/-]\d{1,2}[/-]\d{1,4}(?![\d/-])")
TIME_LIKE = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])|\b[AP]M\b")
DAY = re.compile(r"\d{2}/\d{2}/\d{4}")
CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")


def translated_msgids(folder: Path) -> set[str]:
    """The msgids that have a Vietnamese translation in the .po as it is now (compiled here, so
    a stale .mo cannot hide one; fuzzy and empty entries are not translations)."""
    compiled = folder / "loa.mo"
    subprocess.run(
        ["msgfmt", "-o", str(compiled), str(LOCALE_DIR / "vi" / "LC_MESSAGES" / "loa.po")],
        check=True,
    )
    with compiled.open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    found = set()
    for key, value in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and value and value != msgid:
            found.add(msgid)
    return found


def english_pattern(msgid: str) -> re.Pattern[str] | None:
    """The msgid as it would show on a page left in English (placeholders filled, spaces as
    the browser lays them out), or None if it has too few letters to tell. A word of it must
    stand on its own: not part of a name such as bluezone-sang, --by, a folder or a file name
    such as station.yaml."""
    parts = [part.split() for part in PLACEHOLDER.split(msgid)]
    if sum(ch.isalpha() for part in parts for word in part for ch in word) < 3:
        return None
    pattern = r"[^\n]+?".join(r"\s+".join(re.escape(word) for word in part) for part in parts)
    start = r"(?<![\w/-])" if msgid.strip()[:1].isalnum() else ""
    end = r"(?![\w/-]|\.\w)" if msgid.strip()[-1:].isalnum() else ""
    return re.compile(start + pattern.strip() + end)


def test_pages_show_no_english_the_catalogue_translates_and_vietnamese_dates(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    patterns = {
        msgid: pattern
        for msgid in translated_msgids(tmp_path)
        if (pattern := english_pattern(msgid)) is not None
    }
    seen: dict[str, str] = {}
    browser.open(console("/login"), DESKTOP)
    seen["/login"] = browser.driver.execute_script(VISIBLE_TEXT_JS)
    log_in(browser, console, "root", DESKTOP)
    for path in [page[1] for page in PAGES] + ["/announcements/khong-co"]:
        browser.open(console(path), DESKTOP)
        seen[path] = browser.driver.execute_script(VISIBLE_TEXT_JS)
    browser.open(console("/emergency"), DESKTOP)
    browser.submit_form("emergency-form", {"text": "Thử"})
    seen["/emergency (confirm)"] = browser.driver.execute_script(VISIBLE_TEXT_JS)

    english = {
        path: sorted(
            {
                f"{msgid} ({found[0]!r})"
                for msgid, pattern in patterns.items()
                if (found := pattern.search(text))
            }
        )
        for path, text in seen.items()
    }
    assert {path: found for path, found in english.items() if found} == {}
    dates = {
        path: [found for found in DATE_LIKE.findall(text) if not DAY.fullmatch(found)]
        + [found for found in TIME_LIKE.findall(text) if not CLOCK.fullmatch(found)]
        for path, text in seen.items()
    }
    assert {path: found for path, found in dates.items() if found} == {}
    assert DAY.search(seen["/week"]) and CLOCK.search(seen["/log"]), "the checks saw dates"


def test_the_checks_page_marks_what_passed(browser: Browser, console: Console) -> None:
    log_in(browser, console, "an", DESKTOP)
    browser.open(console("/doctor"), DESKTOP)
    marks = [
        cell.text.split()[0]
        for cell in browser.driver.find_elements(
            By.CSS_SELECTOR, "#doctor-results td:first-of-type"
        )
    ]
    assert "✓" in marks, f"a check that passed shows as passed: {marks}"
    assert set(marks) <= {"✓", "⚠", "✗"}
