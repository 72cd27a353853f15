"""The browser rig itself, on stand-in pages served here: every check passes on a good page and
fails on a page with the one defect it is for, so a console page that passes them has been
looked at for real."""

import http.server
import logging
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import (  # noqa: F401 (the fixtures, found by pytest by their names)
    AXE,
    AXE_VERSION,
    DESKTOP,
    PHONE,
    SCREENSHOTS_ENV,
    Browser,
    Chromiums,
    browser_fixture,
    browser_without_js_fixture,
    chromiums_fixture,
    major,
    screenshots_folder,
    start_chromium,
)

HEADLINE = "Đài truyền thanh xã — ĐANG PHÁT KHẨN CẤP"
CSP = (
    '<meta http-equiv="Content-Security-Policy"'
    " content=\"default-src 'self'; img-src 'self' data:\">"
)
"""A policy as strict as the console's is expected to be: the rig must work under it (axe is
injected into the page, not loaded by it)."""
GOOD_HEAD = (
    '<meta charset="utf-8">'
    f"{CSP}"
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<link rel="icon" href="data:,">'
    "<title>Loa — trang thử</title>"
    '<link rel="stylesheet" href="/site.css">'
)
SITE_CSS = """body { font-family: "Noto Sans", sans-serif; margin: 1rem; color: #111 }
input, button { font-size: 1rem }
.wide { width: 480px }
.pale { color: #bbb }
"""
GOOD_BODY = f"""<main>
<h1>{HEADLINE}</h1>
<form id="say" method="post" action="/echo">
  <label for="text">Nội dung</label> <input id="text" name="text">
  <label><input type="checkbox" name="urgent" value="yes"> Khẩn cấp</label>
  <button>Gửi</button>
</form>
</main>
<script src="/app.js"></script>"""
OPEN_HEAD = GOOD_HEAD.replace(CSP, "")
"""For pages that load from elsewhere, which the policy would stop before the rig could."""
APP_JS = "document.body.dataset.js = 'on';"


def page(body: str = GOOD_BODY, head: str = GOOD_HEAD, html: str = '<html lang="vi">') -> str:
    return f'<!doctype html>{html}<head>{head}</head><body data-page="standin">{body}</body></html>'


class StandIn:
    """A loopback web server for the pages a test writes; POST /echo answers with what was
    sent, and every request's headers are kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.posts: list[dict[str, list[str]]] = []
        self.headers: list[dict[str, str]] = []
        site = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                site.headers.append(dict(self.headers))
                super().do_GET()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                site.posts.append(urllib.parse.parse_qs(self.rfile.read(length).decode()))
                answer = page("<main><h1>Đã nhận</h1></main>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        (folder / "app.js").write_text(APP_JS)
        (folder / "site.css").write_text(SITE_CSS)

    def add(self, name: str, html: str) -> str:
        (self.folder / name).write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[StandIn]:
    folder = tmp_path / "site"
    folder.mkdir()
    server = StandIn(folder)
    yield server
    server.close()


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_debian_chromium_and_its_driver_are_one_version(
    browser: Browser, chromiums: Chromiums
) -> None:
    print(f"Chromium {browser.version}, chromedriver {browser.driver_version}, axe {AXE_VERSION}")
    print(f"started in {chromiums.startup_s[True]:.2f} s")
    assert major(browser.version) == major(browser.driver_version)
    assert AXE.read_text(encoding="utf-8").startswith(f"/*! axe v{AXE_VERSION}\n")


def test_selenium_manager_is_never_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Selenium Manager would download a driver and a browser: it must not even start. With
    SE_MANAGER_PATH naming no file, any attempt to run it would raise."""
    monkeypatch.setenv("SE_MANAGER_PATH", str(tmp_path / "no-selenium-manager"))
    caplog.set_level(logging.DEBUG, logger="selenium.webdriver.common.driver_finder")
    with Chromiums(tmp_path) as chromiums:
        driver = chromiums.get(javascript=True)
        assert driver.execute_script("return 1 + 1") == 2
    assert "Skipping Selenium Manager; path to chrome driver specified" in caplog.text


def test_a_phone_and_the_station_pc_in_vietnamese_and_vietnam_time(
    browser: Browser, site: StandIn
) -> None:
    url = site.add("index.html", page())
    seen = {}
    for viewport in (PHONE, DESKTOP):
        browser.open(url, viewport)
        seen[viewport.name] = browser.driver.execute_script(
            "return [innerWidth, innerHeight, devicePixelRatio, navigator.maxTouchPoints > 0,"
            " /Mobile/.test(navigator.userAgent), navigator.language,"
            " Intl.DateTimeFormat().resolvedOptions().timeZone,"
            " new Date(Date.UTC(2026, 0, 1, 17)).getHours()]"
        )
    assert seen["phone"][:5] == [375, 667, 2, True, True]
    assert seen["desktop"][:5] == [1280, 800, 1, False, False]
    for facts in seen.values():
        assert facts[5] == "vi-VN"
        assert facts[6] in ("Asia/Ho_Chi_Minh", "Asia/Saigon")  # ICU's older name for it
        assert facts[7] == 0  # 17:00 UTC is midnight in Hà Nội
    assert site.headers[0]["Accept-Language"].startswith("vi-VN")


def test_the_good_page_passes_every_check_on_both_screens(browser: Browser, site: StandIn) -> None:
    url = site.add("index.html", page())
    assert browser.check_page(url, "good") == []
    assert browser.page_name() == "standin"
    assert browser.driver.execute_script("return document.body.dataset.js") == "on"
    assert png_size(browser.screenshots / "good-phone.png")[0] == 375 * 2
    assert png_size(browser.screenshots / "good-desktop.png")[0] == 1280


PIXEL_GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
BAD_PAGES = {
    "console-error": (
        page(GOOD_BODY + '<script src="/broken.js"></script>'),
        "console: http://127.0.0.1",  # then: broken.js … Uncaught Error: hỏng
    ),
    "missing-image": (page(GOOD_BODY + '<img src="/logo.png" alt="Logo">'), "request failed: 404"),
    "image-from-the-internet": (
        page(GOOD_BODY + '<img src="http://example.com/logo.png" alt="Logo">', OPEN_HEAD),
        "request failed: 403 http://example.com/logo.png",
    ),
    "wide-table": (
        page(GOOD_BODY + '<div class="wide">Bảng lịch phát</div>'),
        "121 px wider than the 375 px screen",
    ),
    "placeholder-only": (
        page(GOOD_BODY.replace("<button>", '<input name="q" placeholder="Tìm"><button>')),
        "no label: <input name=q>",
    ),
    "no-lang": (page(html="<html>"), "<html> has no lang"),
    "no-zoom": (
        page(head=GOOD_HEAD.replace("initial-scale=1", "initial-scale=1, user-scalable=no")),
        "zoom blocked: user-scalable=no",
    ),
    "zoom-capped": (
        page(head=GOOD_HEAD.replace("initial-scale=1", "maximum-scale=1")),
        "zoom blocked: maximum-scale=1",
    ),
    "image-without-alt": (
        page(GOOD_BODY + f'<img src="data:image/gif;base64,{PIXEL_GIF}">'),
        "axe: image-alt (critical)",
    ),
    "pale-text": (
        page(GOOD_BODY + '<p class="pale">Lịch phát tuần này</p>'),
        "axe: color-contrast (serious)",
    ),
}


@pytest.mark.parametrize("defect", BAD_PAGES)
def test_each_check_fails_on_a_page_with_its_defect(
    browser: Browser, site: StandIn, defect: str
) -> None:
    html, expected = BAD_PAGES[defect]
    (site.folder / "broken.js").write_text("throw new Error('hỏng');")
    browser.open(site.add(f"{defect}.html", html), PHONE)
    problems = browser.problems()
    assert any(problem.startswith(expected) for problem in problems), problems


def test_overflow_is_measured_at_each_width(browser: Browser, site: StandIn) -> None:
    url = site.add("wide.html", page(GOOD_BODY + '<div class="wide">Bảng</div>'))
    problems = browser.check_page(url, "wide")
    assert [p for p in problems if "wider" in p] == ["phone: 121 px wider than the 375 px screen"]


def test_an_uncaught_error_is_a_console_error(browser: Browser, site: StandIn) -> None:
    (site.folder / "broken.js").write_text("throw new Error('hỏng');")
    browser.open(site.add("broken.html", page(GOOD_BODY + '<script src="/broken.js"></script>')))
    assert [e for e in browser.console_errors() if "Uncaught Error: hỏng" in e]


def test_a_page_that_reaches_outside_is_refused_at_the_proxy(
    browser: Browser, site: StandIn, chromiums: Chromiums
) -> None:
    browser.open(
        site.add("cdn.html", page(GOOD_BODY + '<img src="http://example.com/a.png">', OPEN_HEAD))
    )
    assert "GET http://example.com/a.png HTTP/1.1" in chromiums.refuser.attempts


def test_a_form_is_sent_without_javascript(
    browser_without_js: Browser, site: StandIn, tmp_path: Path
) -> None:
    browser_without_js.open(site.add("index.html", page()))
    assert browser_without_js.driver.execute_script("return document.body.dataset.js") is None
    browser_without_js.submit_form("say", {"text": "Cúp nước sáng mai", "urgent": "yes"})
    assert site.posts == [{"text": ["Cúp nước sáng mai"], "urgent": ["yes"]}]
    assert browser_without_js.driver.find_element("tag name", "h1").text == "Đã nhận"
    assert browser_without_js.problems() == []


def test_a_form_that_needs_javascript_is_caught(
    browser: Browser, browser_without_js: Browser, site: StandIn
) -> None:
    """Sent by script only: with JavaScript the page never changes (the rig says so), and
    without it there is no button to press."""
    (site.folder / "send.js").write_text(
        "document.getElementById('say').addEventListener('submit', (event) => {"
        " event.preventDefault(); fetch('/echo', {method: 'POST'}); });"
    )
    script_form = page(GOOD_BODY + '<script src="/send.js"></script>')
    browser.open(site.add("fetch.html", script_form))
    with pytest.raises(AssertionError, match="loaded no new page"):
        browser.submit_form("say", {"text": "x"}, wait_s=1)
    button_only = GOOD_BODY.replace("<button>", '<button type="button" onclick="send()">')
    browser_without_js.open(site.add("button.html", page(button_only)))
    with pytest.raises(AssertionError, match="has no submit button"):
        browser_without_js.submit_form("say", {"text": "x"})


def test_vietnamese_is_drawn_with_its_accents(browser: Browser, site: StandIn) -> None:
    """Each letter is drawn, and drawn unlike its bare letter (Ấ is not A) and unlike the box of
    a missing glyph; a private-use character, which no font draws, is caught."""
    blank = site.add("blank.html", page(GOOD_BODY.replace(HEADLINE, "")))
    url = site.add("headline.html", page())
    browser.open(url, PHONE)
    assert browser.unrenderable_characters(HEADLINE) == []
    assert browser.unrenderable_characters(HEADLINE + "\ue001") == ["\ue001"]
    fonts = browser.fonts_used("h1")
    print(f"the headline is drawn with {fonts} (font: glyphs)")
    assert fonts
    with_headline = browser.screenshot("headline").read_bytes()
    browser.open(blank, PHONE)
    assert browser.screenshot("headline").read_bytes() != with_headline


def test_screenshots_are_kept_where_loa_screenshots_says(
    chromiums: Chromiums, site: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "kept"
    monkeypatch.setenv(SCREENSHOTS_ENV, str(kept))
    browser = Browser(chromiums.get(javascript=True), screenshots_folder(tmp_path))
    browser.check_page(site.add("index.html", page()), "trang-chu")
    assert sorted(path.name for path in kept.iterdir()) == [
        "trang-chu-desktop.png",
        "trang-chu-phone.png",
    ]
