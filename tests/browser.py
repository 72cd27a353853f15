"""The real-browser rig: Debian's Chromium driven by Debian's chromedriver through Selenium, so
nothing is downloaded and the two can never disagree on a version (both come from one source
package). Pages open as an officer's phone (375x667, DPR 2, touch, mobile user agent) or the
station PC (1280x800), in Vietnamese and Vietnam's time zone, and every page can be checked for
what makes a console unusable there: console errors, failed requests, sideways scrolling, inputs
without labels, a missing `lang`, blocked zoom, and axe-core's serious and critical findings.

Chromium tries to reach Google and its search engine on its own even with background networking
off, so all its traffic beyond loopback goes to a proxy of ours on loopback that refuses it
(Chromium never proxies loopback): nothing leaves the machine, and what a page itself asked for
outside shows up among its failed requests.

Use from a test module: import `chromiums_fixture`, `browser_fixture` and
`browser_without_js_fixture` (`# noqa: F401`: pytest finds them in the module), then take
`browser` or `browser_without_js` as test arguments.
"""

import base64
import json
import os
import socketserver
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
AXE_VERSION = "4.14.1"
"""npm `axe-core`, vendored as its axe.min.js and LICENSE (MPL-2.0); the file's banner says it."""
SCREENSHOTS_ENV = "LOA_SCREENSHOTS"
"""A folder to keep the screenshots in (for docs/huong-dan.md, or as CI artifacts)."""
TIME_ZONE = "Asia/Ho_Chi_Minh"
LANGUAGES = "vi-VN,vi"
SERIOUS = ("serious", "critical")
LOAD_TIMEOUT_S = 30

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--no-pings",
    "--lang=vi-VN",
)


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    scale: float
    mobile: bool


PHONE = Viewport("phone", 375, 667, 2, mobile=True)
DESKTOP = Viewport("desktop", 1280, 800, 1, mobile=False)
VIEWPORTS = (PHONE, DESKTOP)


class OutsideRefuser:
    """The proxy Chromium is told to use for everything beyond loopback: it notes the request
    line and answers 403, so nothing reaches the Internet whatever a page or Chromium tries."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        attempts = self.attempts

        class Refuse(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                attempts.append(self.rfile.readline(4096).decode(errors="replace").strip())
                self.wfile.write(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Refuse)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def missing_browser_reason() -> str | None:
    """Why the rig cannot run here, or None. setup.sh installs both, so CI always runs it."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    return None


def start_chromium(
    user_data_dir: Path, proxy_port: int, *, javascript: bool = True
) -> webdriver.Chrome:
    """Debian's Chromium through Debian's chromedriver: the driver's path is given, so Selenium
    Manager (which would download a driver and a browser) is never run."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--proxy-server=http://127.0.0.1:{proxy_port}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    prefs: dict[str, Any] = {"intl.accept_languages": LANGUAGES}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    env = {**os.environ, "TZ": TIME_ZONE, "LANGUAGE": "vi", "LANG": "C.UTF-8"}
    service = Service(executable_path=str(CHROMEDRIVER), env=env)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(LOAD_TIMEOUT_S)
    driver.set_script_timeout(LOAD_TIMEOUT_S)
    return driver


def major(version: str) -> int:
    return int(version.split(".")[0])


UNLABELLED_INPUTS_JS = """
const named = (el) => (el.textContent || '').trim() !== '';
const labelled = (el) =>
  Array.from(el.labels || []).some(named)
  || (el.getAttribute('aria-label') || '').trim() !== ''
  || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(
       (id) => id && document.getElementById(id) && named(document.getElementById(id)));
const exempt = ['hidden', 'submit', 'button', 'reset', 'image'];
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((el) => !exempt.includes((el.getAttribute('type') || '').toLowerCase()))
  .filter((el) => !labelled(el))
  .map((el) => `<${el.tagName.toLowerCase()}` + (el.id ? ` id=${el.id}` : '')
               + (el.name ? ` name=${el.name}` : '') + '>');
"""

AXE_RUN_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  (result) => done(result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((node) => node.target.join(' ')),
  }))),
  (error) => done({error: String(error)}));
"""

UNRENDERABLE_JS = """
const [text, font] = arguments;
const canvas = document.createElement('canvas');
canvas.width = 96;
canvas.height = 96;
const pen = canvas.getContext('2d', {willReadFrequently: true});
const draw = (ch) => {
  pen.clearRect(0, 0, 96, 96);
  pen.font = font;
  pen.fillText(ch, 16, 64);
  return pen.getImageData(0, 0, 96, 96).data.filter((_, i) => i % 4 === 3).join();
};
const blank = draw('');
const noGlyph = draw('\\uE000');
return Array.from(new Set(text)).filter((ch) => ch.trim() !== '').filter((ch) => {
  const drawn = draw(ch);
  const bare = ch.normalize('NFD')[0];
  return drawn === blank || drawn === noGlyph || (bare !== ch && drawn === draw(bare));
});
"""


class Browser:
    """One Chromium, opened on a page at a viewport; the checks read that page."""

    def __init__(
        self, driver: webdriver.Chrome, screenshots: Path, javascript: bool = True
    ) -> None:
        self.driver = driver
        self.javascript = javascript
        self.screenshots = screenshots
        self.viewport = DESKTOP
        self._console: list[dict[str, Any]] = []
        self._network: list[dict[str, Any]] = []

    @property
    def version(self) -> str:
        return str(self.driver.capabilities["browserVersion"])

    @property
    def driver_version(self) -> str:
        return str(self.driver.capabilities["chrome"]["chromedriverVersion"]).split(" ")[0]

    def user_agent(self, viewport: Viewport) -> str:
        platform = "Linux; Android 14; K" if viewport.mobile else "X11; Linux x86_64"
        mobile = " Mobile" if viewport.mobile else ""
        return (
            f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major(self.version)}.0.0.0{mobile} Safari/537.36"
        )

    def emulate(self, viewport: Viewport) -> None:
        """Size, pixel ratio, touch and user agent of a phone or the station PC; they hold for
        every page opened after, until the next call."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": viewport.scale,
                "mobile": viewport.mobile,
            },
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setTouchEmulationEnabled",
            {"enabled": viewport.mobile, "maxTouchPoints": 5 if viewport.mobile else 1},
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setUserAgentOverride",
            {"userAgent": self.user_agent(viewport), "acceptLanguage": LANGUAGES},
        )
        self.viewport = viewport

    def open(self, url: str, viewport: Viewport = PHONE) -> None:
        """Load `url` (until its load event) as seen on `viewport`; the logs start afresh."""
        self.emulate(viewport)
        self._drain()
        self._console.clear()
        self._network.clear()
        self.driver.get(url)

    def _drain(self) -> None:
        self._console += self.driver.get_log("browser")
        self._network += [
            json.loads(entry["message"])["message"] for entry in self.driver.get_log("performance")
        ]

    def page_name(self) -> str | None:
        """The console's name for the page on screen: `<body data-page>`."""
        name = self.driver.execute_script("return document.body.dataset.page")
        return None if name is None else str(name)

    # The checks: each returns what is wrong, empty on a good page.

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and resources that failed to load."""
        self._drain()
        return [entry["message"] for entry in self._console if entry["level"] == "SEVERE"]

    def failed_requests(self) -> list[str]:
        """Every request of the page that got no answer or an HTTP error (requests beyond
        loopback fail at the refusing proxy)."""
        self._drain()
        urls: dict[str, str] = {}
        failed: list[str] = []
        for event in self._network:
            params = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            elif event["method"] == "Network.responseReceived":
                response = params["response"]
                if response["status"] >= 400 and not response["url"].startswith("chrome"):
                    failed.append(f"{response['status']} {response['url']}")
            elif event["method"] == "Network.loadingFailed" and not params.get("canceled"):
                url = urls.get(params["requestId"], "?")
                if not url.startswith("chrome"):
                    failed.append(f"{params['errorText']} {url}")
        return failed

    def horizontal_overflow(self) -> int:
        """CSS pixels the page is wider than the screen: a phone user would scroll sideways.
        Measured against the emulated screen, not `innerWidth`, which a phone widens to the
        content (zoomed out) when the page overflows or has no viewport meta."""
        width = self.driver.execute_script("return document.documentElement.scrollWidth")
        return int(width) - self.viewport.width

    def unlabelled_inputs(self) -> list[str]:
        """Form fields with no <label>, aria-label or aria-labelledby (a placeholder is not one:
        it vanishes as the officer types)."""
        return list(self.driver.execute_script(UNLABELLED_INPUTS_JS))

    def page_language(self) -> str:
        return str(self.driver.execute_script("return document.documentElement.lang"))

    def zoom_blockers(self) -> list[str]:
        """What in the viewport meta stops a phone user from zooming in."""
        content = self.driver.execute_script(
            "const m = document.querySelector('meta[name=viewport]');"
            "return m ? m.getAttribute('content') : '';"
        )
        blockers = []
        for part in str(content).replace(";", ",").split(","):
            key, _, value = (s.strip().lower() for s in part.partition("="))
            no_zoom = key == "user-scalable" and value in ("no", "0")
            capped = key == "maximum-scale" and value != "" and float(value) < 2
            if no_zoom or capped:
                blockers.append(part.strip())
        return blockers

    def axe_violations(self, impacts: tuple[str, ...] = SERIOUS) -> list[str]:
        """axe-core's findings of these impacts, run inside the page as it is now."""
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        found = self.driver.execute_async_script(AXE_RUN_JS)
        if isinstance(found, dict):
            raise RuntimeError(f"axe-core failed in {self.driver.current_url}: {found['error']}")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'][:5])}"
            for v in found
            if v["impact"] in impacts
        ]

    def problems(self) -> list[str]:
        """Every check on the page as it is now, as sentences; empty when it passes them all
        (without JavaScript, all but axe)."""
        found = [f"console: {message}" for message in self.console_errors()]
        found += [f"request failed: {request}" for request in self.failed_requests()]
        if (overflow := self.horizontal_overflow()) > 0:
            found.append(f"{overflow} px wider than the {self.viewport.width} px screen")
        found += [f"no label: {field}" for field in self.unlabelled_inputs()]
        if not self.page_language():
            found.append("<html> has no lang")
        found += [f"zoom blocked: {blocker}" for blocker in self.zoom_blockers()]
        if self.javascript:  # axe needs the page's timers, which run only with JavaScript
            found += [f"axe: {violation}" for violation in self.axe_violations()]
        return found

    def check_page(self, url: str, name: str) -> list[str]:
        """Open `url` on a phone then on the PC, screenshot both, and return what is wrong on
        each (prefixed with the viewport's name)."""
        found = []
        for viewport in VIEWPORTS:
            self.open(url, viewport)
            found += [f"{viewport.name}: {problem}" for problem in self.problems()]
            self.screenshot(name)
        return found

    # Helpers for what the checks cannot see.

    def screenshot(self, name: str) -> Path:
        """The whole page (not only what fits the screen) as `<name>-<viewport>.png`."""
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path = self.screenshots / f"{name}-{self.viewport.name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def unrenderable_characters(self, text: str, font: str = "32px sans-serif") -> list[str]:
        """Characters of `text` the installed fonts cannot draw: drawn as nothing, as the
        missing-glyph box, or with their accent lost (as the bare letter)."""
        return list(self.driver.execute_script(UNRENDERABLE_JS, text, font))

    def fonts_used(self, css_selector: str) -> dict[str, int]:
        """The installed fonts that drew the text of an element, and how many glyphs each."""
        self.driver.execute_cdp_cmd("DOM.enable", {})
        self.driver.execute_cdp_cmd("CSS.enable", {})
        root = self.driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = self.driver.execute_cdp_cmd(
            "DOM.querySelector", {"nodeId": root, "selector": css_selector}
        )["nodeId"]
        fonts = self.driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})
        return {font["familyName"]: font["glyphCount"] for font in fonts["fonts"]}

    def submit_form(
        self,
        form_id: str,
        values: Mapping[str, str | Path] | None = None,
        wait_s: float = LOAD_TIMEOUT_S / 3,
    ) -> None:
        """Fill the fields of form `form_id` by name (a Path goes to a file input), press its
        submit button as a user would, and wait up to `wait_s` for the page that answers. With
        `browser_without_js` this proves the form works as plain HTML."""
        form = self.driver.find_element(By.ID, form_id)
        for name, value in (values or {}).items():
            field = form.find_element(By.NAME, name)
            kind = (field.get_attribute("type") or "").lower()
            if field.tag_name == "select":
                Select(field).select_by_value(str(value))
            elif kind in ("checkbox", "radio"):
                form.find_element(By.CSS_SELECTOR, f"[name='{name}'][value='{value}']").click()
            else:
                if kind != "file":
                    field.clear()
                field.send_keys(str(value))
        try:
            button = form.find_element(
                By.CSS_SELECTOR, "button:not([type]), button[type=submit], input[type=submit]"
            )
        except NoSuchElementException:
            raise AssertionError(f"form #{form_id} has no submit button") from None
        page = self.driver.find_element(By.TAG_NAME, "html")
        self._drain()
        self._console.clear()
        self._network.clear()
        button.click()
        try:
            WebDriverWait(self.driver, wait_s).until(lambda _: is_stale(page))
            WebDriverWait(self.driver, LOAD_TIMEOUT_S).until(
                lambda driver: driver.execute_script("return document.readyState") == "complete"
            )
        except TimeoutException:
            raise AssertionError(
                f"pressing submit on form #{form_id} loaded no new page "
                f"(still {self.driver.current_url})"
            ) from None

    def reset(self) -> None:
        """Forget the last test's page, cookies, cache and logs."""
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        self._drain()
        self._console.clear()
        self._network.clear()


def is_stale(element: Any) -> bool:
    """Whether `element`'s page is gone. While the old document is torn down, chromedriver may
    answer "does not belong to the document" (a plain WebDriverException) instead of "stale"."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def screenshots_folder(tmp_path: Path) -> Path:
    kept = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(kept) if kept else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Chromiums:
    """A test module's browsers, started on first use (about a second each) and kept until the
    module ends: one with JavaScript, one without. Not the whole session's, as a Chromium holds
    several hundred MB that the rest of the suite would go without."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.refuser = OutsideRefuser()
        self.drivers: dict[bool, webdriver.Chrome] = {}
        self.startup_s: dict[bool, float] = {}

    def get(self, javascript: bool) -> webdriver.Chrome:
        driver = self.drivers.get(javascript)
        if driver is not None:
            try:
                driver.execute_script("return 1")
                return driver
            except WebDriverException:  # a test crashed it: start another
                self.drivers.pop(javascript)
        profile = Path(tempfile.mkdtemp(prefix="profile-", dir=self.folder))
        started = time.monotonic()
        driver = start_chromium(profile, self.refuser.port, javascript=javascript)
        self.startup_s[javascript] = time.monotonic() - started
        self.drivers[javascript] = driver
        return driver

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.quit()
        self.refuser.close()

    def __enter__(self) -> "Chromiums":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(scope="module", name="chromiums")
def chromiums_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromiums]:
    if reason := missing_browser_reason():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    with Chromiums(tmp_path_factory.mktemp("chromium")) as browsers:
        yield browsers


@pytest.fixture(name="browser")
def browser_fixture(chromiums: Chromiums, tmp_path: Path) -> Iterator[Browser]:
    """Chromium with JavaScript, on a blank page with no cookies; screenshots go to the test's
    tmp_path, or to LOA_SCREENSHOTS."""
    browser = Browser(chromiums.get(javascript=True), screenshots_folder(tmp_path))
    browser.reset()
    yield browser


@pytest.fixture(name="browser_without_js")
def browser_without_js_fixture(chromiums: Chromiums, tmp_path: Path) -> Iterator[Browser]:
    """Chromium whose profile runs no page script: essential actions must work as HTML forms."""
    browser = Browser(chromiums.get(javascript=False), screenshots_folder(tmp_path), False)
    browser.reset()
    yield browser
