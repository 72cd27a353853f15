"""The as-run log's pages on a real SQLite log: the newest rows a page at a time with links to
older ones, the filters as plain GET forms, the CSV of every matching row in parts; the week's
clash marks; the doctor page's slow checks taken in the background."""

import csv
import html
import io
import random
import re
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from broadcaster.core.models import Occurrence, Priority, Result
from broadcaster.onair.asrun import AsRunLog
from broadcaster.web import pages
from tests.web.conftest import Login

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST = datetime(2026, 1, 5, 6, 30, tzinfo=HANOI)
ROW_TIME = re.compile(r"<tr><td>(\d\d/\d\d/\d{4} \d\d:\d\d)</td><td>([^<]*)</td>")


def write_rows(station: Path, occurrences: list[Occurrence], result: str = Result.MISSED) -> None:
    log = AsRunLog.for_station(station)
    try:
        log.decide_all(occurrences, result, "trễ 400 s")
    finally:
        log.close()


def three_entries_a_time(times: int) -> list[Occurrence]:
    """`times` moments an hour apart, three entries at each: a page boundary falls between rows
    of the same moment."""
    return [
        Occurrence(entry, FIRST + timedelta(hours=hour), "bluezone", Priority.NORMAL)
        for hour in range(times)
        for entry in ("a-sang", "b-trua", "c-chieu")
    ]


def shown(page: str) -> list[tuple[str, str]]:
    """(time, entry) of each row of the log's table, top to bottom."""
    return ROW_TIME.findall(page)


def older_link(page: str) -> str | None:
    found = re.search(r'<a href="(/log\?[^"]*)" class="button" id="log-older"', page)
    return html.unescape(found[1]) if found else None


def test_the_log_shows_the_newest_rows_first_and_links_to_the_older_ones(
    login: Login, console_station: Path
) -> None:
    occurrences = three_entries_a_time(150)  # 450 rows: pages of 200, 200 and 50
    write_rows(console_station, occurrences)
    client = login("an")
    seen: list[tuple[str, str]] = []
    path: str | None = "/log"
    sizes = []
    while path is not None:
        page = client.get(path)
        assert page.status_code == 200
        rows = shown(page.text)
        sizes.append(len(rows))
        seen += rows
        if path != "/log":
            assert 'id="log-newest"' in page.text, "a way back to the newest rows"
        path = older_link(page.text)
    assert sizes == [pages.LOG_PAGE_ROWS, pages.LOG_PAGE_ROWS, 50]
    expected = [
        (f"{o.scheduled:%d/%m/%Y %H:%M}", o.entry_id)
        for o in sorted(occurrences, key=lambda o: (o.scheduled, o.entry_id), reverse=True)
    ]
    assert seen == expected, "every row once, newest first, none lost at a page boundary"


def test_the_filters_pick_rows_by_dates_result_priority_and_text(
    login: Login, console_station: Path
) -> None:
    day = datetime(2026, 12, 1, 6, 30, tzinfo=HANOI)
    log = AsRunLog.for_station(console_station)
    try:
        plain = Occurrence("sang", day, "bluezone", Priority.NORMAL)
        log.begin(plain, day)
        log.finish(plain, Result.PLAYED, day + timedelta(seconds=40), "cache", "")
        power = Occurrence("say", day + timedelta(hours=2), "Mất điện từ 14 giờ.", "priority")
        log.begin(power, power.scheduled)
        log.finish(power, Result.PLAYED, power.scheduled + timedelta(seconds=9), "espeak", "")
        fire = Occurrence("say", day + timedelta(days=1), "Cháy ở chợ xã.", Priority.EMERGENCY)
        log.decide(fire, Result.FAILED, "không giọng nào đọc được")
    finally:
        log.close()
    client = login("an")

    def entries(**params: str) -> list[str]:
        page = client.get("/log", params=params)
        assert page.status_code == 200
        return [time for time, _entry in shown(page.text)]

    assert entries() == ["02/12/2026 06:30", "01/12/2026 08:30", "01/12/2026 06:30"]
    assert entries(priority="emergency") == ["02/12/2026 06:30"]
    assert entries(result="played") == ["01/12/2026 08:30", "01/12/2026 06:30"]
    assert entries(until="01/12/2026", priority="priority") == ["01/12/2026 08:30"]
    assert entries(since="02/12/2026") == ["02/12/2026 06:30"]
    typed = unicodedata.normalize("NFD", "MẤT ĐIỆN")  # any case, as a phone's keyboard writes it
    assert entries(q=typed) == ["01/12/2026 08:30"]
    assert entries(q="giọng nào") == ["02/12/2026 06:30"], "the reason is searched too"
    assert entries(q="bluezone", result="failed") == []

    page = client.get("/log", params={"priority": "priority", "q": "điện", "since": "01/12/2026"})
    assert '<option value="priority" selected>' in page.text, "the form keeps what was chosen"
    assert 'name="q" value="điện"' in page.text and 'value="01/12/2026"' in page.text
    download = re.search(r'href="(/log\.csv\?[^"]*)"', page.text)
    assert download is not None
    lines = client.get(html.unescape(download[1])).content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "Mất điện" in lines[1], "the CSV has the rows the page filters"


def test_a_cursor_that_is_not_one_shows_the_newest_rows(
    login: Login, console_station: Path
) -> None:
    write_rows(console_station, three_entries_a_time(2))
    client = login("an")
    for cursor in ("x", "nan-ish:e1", ":", "1e400x:a"):
        page = client.get("/log", params={"older": cursor})
        assert page.status_code == 200 and len(shown(page.text)) == 6, cursor
    before_all = client.get("/log", params={"older": "12.5:a-sang"})
    assert shown(before_all.text) == [] and 'id="log-newest"' in before_all.text
    bad = client.get("/log.csv", params={"since": "32/13/2026"})
    assert bad.status_code == 400 and "32/13/2026" in bad.text


def test_the_csv_has_every_matching_row_once_oldest_first_in_parts(
    login: Login, console_station: Path
) -> None:
    rng = random.Random(4)
    occurrences = [
        Occurrence(
            f"e{index % 7}",
            FIRST + timedelta(minutes=10 * (index // 7)),
            "bluezone",
            rng.choice(list(Priority)),
        )
        for index in range(2 * pages.CSV_BATCH_ROWS + 345)
    ]
    write_rows(console_station, occurrences)
    client = login("an")
    answer = client.get("/log.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert (
        answer.content.startswith("\ufeff".encode()) and answer.content.count(b"\xef\xbb\xbf") == 1
    )
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    heading, rows = table[0], table[1:]
    assert len(heading) == 9 and "bluezone" not in heading
    expected = sorted(occurrences, key=lambda o: (o.scheduled, o.entry_id))
    assert [(row[0], row[1]) for row in rows] == [
        (f"{o.scheduled:%d/%m/%Y %H:%M:%S}", o.entry_id) for o in expected
    ]
    emergencies = client.get("/log.csv", params={"priority": "emergency"}).content
    count = len(list(csv.reader(io.StringIO(emergencies.decode("utf-8-sig"))))) - 1
    assert count == sum(1 for o in occurrences if o.priority == Priority.EMERGENCY)


def test_a_week_of_clashes_is_marked_as_every_pair_would_mark_it() -> None:
    """The sweep finds, for each item, the same first clashing entry as comparing every pair."""

    class Item:
        def __init__(self, entry_id: str, start: datetime) -> None:
            self.entry = type("Entry", (), {"id": entry_id})()
            self.start = start

    rng = random.Random(9)
    for _week in range(30):
        items = sorted(
            (
                Item(f"e{rng.randrange(12)}", FIRST + timedelta(minutes=rng.randrange(600)))
                for _ in range(rng.randrange(1, 80))
            ),
            key=lambda item: (item.start, item.entry.id),
        )
        ends = [item.start + timedelta(seconds=rng.uniform(1, 3000)) for item in items]
        pairwise = [
            next(
                (
                    other.entry.id
                    for j, other in enumerate(items)
                    if j != i
                    and other.entry.id != item.entry.id
                    and other.start < ends[i]
                    and item.start < ends[j]
                ),
                "",
            )
            for i, item in enumerate(items)
        ]
        assert pages._clashes(items, ends) == pairwise


def test_the_doctor_page_shows_the_slow_checks_last_results_and_takes_them_again_on_demand(
    login: Login, console_station: Path
) -> None:
    client = login("an")
    first = client.get("/doctor")
    assert first.status_code == 200
    assert "ffmpeg" in first.text and 'class="checked-at"' in first.text
    assert 'id="doctor-again"' in first.text
    console = client.app.state.console  # type: ignore[attr-defined]
    taken = console.slow_checks.results(datetime.now(HANOI))
    assert len(taken.results) == 6 and all(result.what for result in taken.results)
    assert client.get("/doctor").status_code == 200
    assert console.slow_checks.results(datetime.now(HANOI)) is taken, "kept, not taken again"
    again = client.get("/doctor", params={"fresh": "1"})
    assert again.status_code == 200
    assert console.slow_checks.results(datetime.now(HANOI)) is not taken, "taken again"
    rows = re.findall(r'<th scope="row">', again.text)
    assert len(rows) == 11, "every check but the sound, in loa doctor's order"


def test_a_page_handler_runs_in_the_thread_pool_and_the_emergency_one_on_the_loop() -> None:
    """Reading files and rendering (every page) happen off the event loop, so that a heavy page
    never holds up the emergency button; the handlers that wait for the station stay on it."""
    import inspect

    waiting = {"stop", "announcement_save", "upload", "emergency"}
    for name, value in vars(pages).items():
        handler = getattr(value, "__wrapped__", None)
        if handler is None:
            continue
        assert inspect.iscoroutinefunction(handler) == (name in waiting), name


def test_the_audit_trail_shows_its_newest_rows_and_links_to_the_older_ones(
    login: Login, console_station: Path
) -> None:
    from broadcaster.web.auth import Accounts

    accounts = Accounts.for_station(console_station)
    root = accounts.user("root")
    for number in range(2 * pages.AUDIT_PAGE_ROWS + 50):
        accounts.audit(root, "entry-save", f"muc-{number:04d}", address="127.0.0.1")
    client = login("root")
    seen: list[str] = []
    path: str | None = "/audit"
    while path is not None:
        page = client.get(path)
        assert page.status_code == 200
        seen += re.findall(r'<td translate="no">(muc-\d{4})</td>', page.text)
        found = re.search(
            r'<a href="(/audit\?older=\d+)" class="button" id="audit-older"', page.text
        )
        path = found[1] if found else None
    expected = [f"muc-{number:04d}" for number in reversed(range(2 * pages.AUDIT_PAGE_ROWS + 50))]
    assert seen == expected, "every row once, newest first"
