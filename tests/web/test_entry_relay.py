"""Relay entries (`relay: vov1` with `duration:` or `ends:`) in the console's entry form and on
the approval page, on real files: created, edited round-trip, approved by another officer, every
bad input answered with `loa schedule check`'s own message next to its field."""

import html
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from starlette.testclient import TestClient

from broadcaster.station.schedule_edit import find_entry
from broadcaster.station.schedules import read_schedules
from broadcaster.station.station_file import load_station
from tests.browser import (  # noqa: F401 (the fixtures, found by pytest by their names)
    DESKTOP,
    Browser,
    browser_fixture,
    browser_without_js_fixture,
    chromiums_fixture,
)
from tests.conftest import copy_example_station
from tests.mosquitto import free_port
from tests.web.conftest import Login, csrf_of
from tests.web.test_browser_pages import (
    PASSWORD,
    Console,
    answers,
    child_env,
    loa,
    log_in,
    stop,
    wait_until,
)

RELAYS = """
relay_sources:
  vov1:
    - http://127.0.0.1:9/vov1/playlist.m3u8
    - http://127.0.0.1:9/vov1-du-phong.m3u8
  tinh: http://127.0.0.1:9/tinh.mp3
relay:
  fallback: bluezone
"""
RELAY = {"id": "vov1-sang", "kind": "relay", "relay": "vov1", "times": "06:00", "duration": "30m"}


def with_relays(station: Path, require_approval: bool = False) -> None:
    config = station / "station.yaml"
    text = config.read_text(encoding="utf-8") + RELAYS
    if require_approval:
        text = text.replace("require_approval: false", "require_approval: true")
    config.write_text(text, encoding="utf-8")


class _FormReader(HTMLParser):
    """What a browser sends for one form: its enabled fields, the checked radios and boxes, each
    select's chosen option (else its first)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self.select: str | None = None
        self.first: dict[str, str] = {}

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attributes}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside or "disabled" in found:
            return
        name = found.get("name", "")
        if tag == "input" and name:
            kind = found.get("type", "text")
            if kind not in ("radio", "checkbox") or "checked" in found:
                self.values[name] = found.get("value", "on")
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select:
            self.first.setdefault(self.select, found["value"])
            if "selected" in found:
                self.values[self.select] = found["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            if self.select in self.first:
                self.values.setdefault(self.select, self.first[self.select])
            self.select = None


def form_values(page: str, form_id: str = "entry-form") -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(page)
    return dict(reader.values)


def error_of(page: str, key: str) -> str:
    found = re.search(rf'<p class="error" id="{key}-error">(.*?)</p>', page)
    return html.unescape(found[1]) if found else ""


def post_new(client: TestClient, values: dict[str, str]) -> Any:
    data = {"csrf": csrf_of(client, "/schedule/new"), "new": "1", "enabled": "on", **values}
    return client.post("/schedule/save", data=data)


def schedule_text(station: Path, name: str = "lich.yaml") -> str:
    return (station / "schedules" / name).read_text(encoding="utf-8-sig")


def test_a_relay_is_created_edited_and_approved_by_another_officer(
    login: Login, console_station: Path
) -> None:
    with_relays(console_station, require_approval=True)
    an = login("an")
    answer = post_new(an, {**RELAY, "times": "06:00, 18h", "fallback": "hop-to-dan-pho"})
    assert answer.status_code == 303, error_of(answer.text, "form")
    text = schedule_text(console_station)
    assert "relay: vov1" in text and "duration: 30m" in text and "fallback: hop-to-dan-pho" in text
    assert "announcement:" not in text and "status: draft" in text

    page = an.get("/schedule/vov1-sang").text
    values = form_values(page)
    assert values["kind"] == "relay" and values["relay"] == "vov1"
    assert values["times"] == "06:00, 18h" and values["duration"] == "30m"
    assert values["fallback"] == "hop-to-dan-pho"
    assert "repeat" in values, "the other kind's fields are there, hidden only by CSS"
    # one time, ended at 06:30 instead of lasting 30 minutes; the fallback: the station's
    edited = {**values, "times": "06:00", "duration": "", "ends": "06:30", "fallback": ""}
    answer = an.post("/schedule/save", data=edited)
    assert answer.status_code == 303, error_of(answer.text, "form")
    text = schedule_text(console_station)
    assert 'ends: "06:30"' in text and "duration:" not in text and "fallback:" not in text
    entry = find_entry(load_station(console_station), "vov1-sang")
    assert (entry.relay, entry.duration_s, entry.fallback, entry.status) == (
        "vov1",
        1800.0,
        None,
        "draft",
    )

    assert 'id="own-draft"' in an.get("/approvals/vov1-sang").text
    binh = login("binh")
    page = html.unescape(binh.get("/approvals/vov1-sang").text)
    assert re.search(r'id="relay-source">vov1<', page)
    urls = re.findall(r"<li><code>([^<]+)</code></li>", page.split('id="relay-urls"')[1])
    assert urls == [
        "http://127.0.0.1:9/vov1/playlist.m3u8",
        "http://127.0.0.1:9/vov1-du-phong.m3u8",
    ]
    slots = page.split('id="relay-slots">')[1].split("</dd>")[0]
    assert slots.startswith("06:00-06:30") and "30m" in slots
    fallback = page.split('id="relay-fallback">')[1].split("</dd>")[0]
    assert "bluezone" in fallback and "1m" in fallback, "the station's, after 60 s"
    assert "Bluezone" in page.split('id="fallback-text">')[1].split("</blockquote>")[0]
    sha256 = re.search(r'id="approval-sha256">([0-9a-f]{64})<', page)[1]  # type: ignore[index]
    answer = binh.post("/approvals/vov1-sang", data={"csrf": csrf_of(binh), "sha256": sha256})
    assert answer.status_code == 303
    entry = find_entry(load_station(console_station), "vov1-sang")
    assert (entry.status, entry.approved_by) == ("approved", "binh")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, path
    path.write_text(text.replace(old, new), encoding="utf-8")


CHANGES = {
    "url": ("station.yaml", "vov1-du-phong", "vov1-khac"),
    "line-in": ("station.yaml", "tinh: http://127.0.0.1:9/tinh.mp3", "tinh:\n    line_in: fm"),
    "station-fallback": ("station.yaml", "fallback: bluezone", "fallback: hop-to-dan-pho"),
    "fallback-text": ("announcements/bluezone.yaml", "Bluezone", "BlueZone"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_what_a_relay_airs_changed_since_it_was_opened_is_not_approved(
    login: Login, console_station: Path, change: str
) -> None:
    with_relays(console_station, require_approval=True)
    source = "tinh" if change == "line-in" else "vov1"
    assert post_new(login("an"), {**RELAY, "relay": source}).status_code == 303
    binh = login("binh")
    page = binh.get("/approvals/vov1-sang").text
    sha256 = re.search(r'id="approval-sha256">([0-9a-f]{64})<', page)[1]  # type: ignore[index]
    file, old, new = CHANGES[change]
    replace_in(console_station / file, old, new)
    answer = binh.post("/approvals/vov1-sang", data={"csrf": csrf_of(binh), "sha256": sha256})
    assert answer.status_code == 409
    assert find_entry(load_station(console_station), "vov1-sang").status == "draft"


def test_an_edit_of_a_relay_keeps_the_comments_the_bom_and_windows_line_ends(
    login: Login, console_station: Path
) -> None:
    with_relays(console_station)
    schedule = console_station / "schedules" / "tiep-song.yaml"
    written = (
        "# Tiếp sóng VOV1: thời sự buổi sáng\n"
        "- id: vov1-sang\n"
        "  relay: vov1        # nguồn trong station.yaml\n"
        '  times: ["06:00"]\n'
        "  duration: 30m      # nửa giờ\n"
    )
    schedule.write_bytes(b"\xef\xbb\xbf" + written.replace("\n", "\r\n").encode())
    client = login("an")
    values = form_values(client.get("/schedule/vov1-sang").text)
    answer = client.post("/schedule/save", data={**values, "duration": "45m", "relay": "tinh"})
    assert answer.status_code == 303, error_of(answer.text, "form")
    raw = schedule.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8-sig")
    assert "# Tiếp sóng VOV1: thời sự buổi sáng" in text and "# nguồn trong station.yaml" in text
    assert "relay: tinh" in text and "duration: 45m" in text and "# nửa giờ" in text


def test_an_announcement_entry_becomes_a_relay_once_repeat_and_gap_are_removed(
    login: Login, console_station: Path
) -> None:
    with_relays(console_station)
    client = login("an")
    values = form_values(client.get("/schedule/bluezone-sang").text)
    assert values["kind"] == "announcement" and values["announcement"] == "bluezone"
    relay = {**values, "kind": "relay", "relay": "vov1", "duration": "15m"}
    answer = client.post("/schedule/save", data=relay)
    assert answer.status_code == 400
    assert "'repeat'" in error_of(answer.text, "repeat")
    again = form_values(answer.text)
    assert again["kind"] == "relay" and again["duration"] == "15m" and again["repeat"] == "2"
    assert 'class="only-announcement keep"' in answer.text, "a refused field is never hidden"
    answer = client.post("/schedule/save", data={**again, "repeat": "", "gap": ""})
    assert answer.status_code == 303, error_of(answer.text, "form")
    text = schedule_text(console_station, "bluezone.yaml")
    assert "relay: vov1" in text and "duration: 15m" in text and "# Thứ Hai … Thứ Sáu" in text
    assert "announcement:" not in text and "repeat:" not in text and "gap:" not in text
    assert text.index("relay:") < text.index("duration:") < text.index("times:"), "form order"
    entry = find_entry(load_station(console_station), "bluezone-sang")
    assert entry.relay == "vov1" and entry.duration_s == 900


BAD = [
    # (the form's changes to RELAY, the same entry written by hand, the field of the message)
    pytest.param({"relay": "vov9"}, "relay: vov9", "relay", id="unknown-source"),
    pytest.param(
        {"ends": "06:30"},
        'relay: vov1\n  duration: 30m\n  ends: "06:30"',
        "ends",
        id="duration-and-ends",
    ),
    pytest.param(
        {"repeat": "2"}, "relay: vov1\n  duration: 30m\n  repeat: 2", "repeat", id="repeat"
    ),
    pytest.param({"gap": "30s"}, "relay: vov1\n  duration: 30m\n  gap: 30s", "gap", id="gap"),
    pytest.param({"duration": ""}, "relay: vov1", "duration", id="no-duration"),
    pytest.param({"duration": "25h"}, "relay: vov1\n  duration: 25h", "duration", id="over-24h"),
    pytest.param(
        {"duration": "", "ends": "05:30"}, 'relay: vov1\n  ends: "05:30"', "ends", id="ends-before"
    ),
    pytest.param(
        {"times": "06:00, 18h", "duration": "", "ends": "06:30"},
        'relay: vov1\n  ends: "06:30"',
        "ends",
        id="ends-two-times",
    ),
    pytest.param(
        {"fallback": "khong-co"},
        "relay: vov1\n  duration: 30m\n  fallback: khong-co",
        "fallback",
        id="unknown-fallback",
    ),
    pytest.param(
        {"until": "06:30"},
        'relay: vov1\n  duration: 30m\n  until: "06:30"',
        "until",
        id="until-a-time",
    ),
    pytest.param(
        {"kind": "announcement", "announcement": "bluezone"},
        "announcement: bluezone\n  duration: 30m",
        "duration",
        id="duration-on-an-announcement",
    ),
]


@pytest.mark.parametrize(("typed", "by_hand", "key"), BAD)
def test_each_bad_relay_input_gets_the_checks_message_next_to_its_field(
    login: Login, console_station: Path, typed: dict[str, str], by_hand: str, key: str
) -> None:
    with_relays(console_station)
    client = login("an")
    times = typed.get("times", "06:00")
    hand = console_station / "schedules" / "viet-tay.yaml"
    listed = ", ".join(f'"{time.strip()}"' for time in times.split(","))
    hand.write_text(f"- id: viet-tay\n  {by_hand}\n  times: [{listed}]\n", encoding="utf-8")
    [problem] = read_schedules(load_station(console_station), [hand]).problems
    hand.unlink()
    expected = re.sub(r"^.*?:\d+: ", "", problem)

    answer = post_new(client, {**RELAY, **typed})
    assert answer.status_code == 400
    page = answer.text
    assert error_of(page, key) == f"⚠ {expected}"
    kept = form_values(page)
    assert all(kept.get(name) == value for name, value in typed.items()), "as typed"
    assert not (console_station / "schedules" / "lich.yaml").exists(), "nothing saved"


def test_a_relay_longer_than_a_session_is_saved_with_the_checks_warning(
    login: Login, console_station: Path
) -> None:
    with_relays(console_station)
    client = login("an")
    answer = post_new(client, {**RELAY, "duration": "1h"})
    assert answer.status_code == 303
    page = html.unescape(client.get(answer.headers["location"]).text)
    findings = re.findall(r'<p class="warning finding">⚠ (.*?)</p>', page)
    assert any("vov1-sang" in found and "60" in found and "45" in found for found in findings), (
        findings
    )


def test_two_officers_editing_one_relay_the_second_is_shown_what_changed(
    login: Login, console_station: Path
) -> None:
    with_relays(console_station)
    an, binh = login("an"), login("binh")
    assert post_new(an, RELAY).status_code == 303
    first = form_values(an.get("/schedule/vov1-sang").text)
    second = form_values(binh.get("/schedule/vov1-sang").text)
    assert an.post("/schedule/save", data={**first, "duration": "45m"}).status_code == 303
    answer = binh.post("/schedule/save", data={**second, "fallback": "hop-to-dan-pho"})
    assert answer.status_code == 409
    conflicts = html.unescape(answer.text.split('id="conflicts"')[1].split("</ul>")[0])
    assert "duration: «30m» → «45m»" in conflicts
    text = schedule_text(console_station)
    assert "duration: 45m" in text and "hop-to-dan-pho" not in text
    assert form_values(answer.text)["fallback"] == "hop-to-dan-pho", "what binh chose is kept"


def test_without_relay_sources_the_relay_choice_is_disabled_with_a_hint(login: Login) -> None:
    client = login("an")
    for path in ("/schedule/new", "/schedule/bluezone-sang"):
        page = client.get(path).text
        relay = re.search(r'<input type="radio" value="relay"[^>]*>', page)
        assert relay and "disabled" in relay[0], path
        assert (
            'aria-describedby="hint-kind"' in page
            and "relay_sources:" in page.split('id="hint-kind">')[1].split("</small>")[0]
        )
        assert form_values(page)["kind"] == "announcement"


# in a real Chromium: the pages pass the rig's checks, the form works without JavaScript -------


@pytest.fixture(scope="module")
def relay_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`loa web` on a station with relay sources, approvals and a relay draft waiting."""
    home = tmp_path_factory.mktemp("relay-console")
    station = copy_example_station(home / "station")
    with_relays(station, require_approval=True)
    (station / "schedules" / "tiep-song.yaml").write_text(
        '- id: vov1-sang\n  relay: vov1\n  times: ["06:00"]\n  duration: 30m\n'
        "  fallback: hop-to-dan-pho\n  created_by: an\n",
        encoding="utf-8",
    )
    env = child_env(station, home)
    for name, role in (("an", "officer"), ("binh", "approver")):
        subprocess.run(
            loa("user", "add", name, "--role", role),
            input=f"{PASSWORD}\n",
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    port = free_port()
    with (home / "web.txt").open("wb") as web_out:
        web = subprocess.Popen(
            loa("web", "--listen", f"127.0.0.1:{port}"), env=env, cwd=home, stderr=web_out
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers(url + "/login") or web.poll() is not None, "loa web")
            assert web.poll() is None, (home / "web.txt").read_text()
            yield Console(url, station, env)
        finally:
            stop(web)


@pytest.mark.parametrize(
    ("name", "path", "user"),
    [
        ("entry-relay", "/schedule/vov1-sang", "an"),
        ("entry-new-relays", "/schedule/new", "an"),
        ("approval-relay", "/approvals/vov1-sang", "binh"),
    ],
)
def test_the_relay_pages_pass_every_check_on_a_phone_and_the_pc(
    browser: Browser, relay_console: Console, name: str, path: str, user: str
) -> None:
    log_in(browser, relay_console, user)
    assert browser.check_page(relay_console(path), name) == []
    assert browser.page_name() == ("approval" if "approvals" in path else "entry")


def test_the_kind_shows_its_own_fields_and_a_relay_is_saved_without_javascript(
    browser: Browser, browser_without_js: Browser, relay_console: Console
) -> None:
    log_in(browser, relay_console, "an", DESKTOP)
    browser.open(relay_console("/schedule/new"), DESKTOP)

    def shown() -> set[str]:
        return {
            key
            for key in ("announcement", "relay", "duration", "ends", "fallback", "repeat", "gap")
            if browser.driver.find_element(By.ID, f"field-{key}").is_displayed()
        }

    assert shown() == {"announcement", "repeat", "gap"}
    browser.driver.find_element(By.ID, "kind-relay").click()
    assert shown() == {"relay", "duration", "ends", "fallback"}

    later = datetime.now() + timedelta(days=30)
    log_in(browser_without_js, relay_console, "an", DESKTOP)
    browser_without_js.open(relay_console("/schedule/new"), DESKTOP)
    browser_without_js.submit_form(
        "entry-form",
        {
            "id": "dai-tinh-toi",
            "kind": "relay",
            "relay": "tinh",
            "times": "19h",
            "date": f"{later:%d/%m/%Y}",
            "duration": "20m",
        },
    )
    assert browser_without_js.driver.find_elements(By.ID, "saved"), "saved as plain HTML"
    entry = find_entry(load_station(relay_console.station), "dai-tinh-toi")
    assert (entry.relay, entry.duration_s, entry.status) == ("tinh", 1200.0, "draft")
