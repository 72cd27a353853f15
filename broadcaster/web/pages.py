"""The console's pages: each one a task officers do with `loa` commands, as plain HTML forms."""

import asyncio
import contextlib
import hashlib
import io
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from broadcaster.control.channel import ask
from broadcaster.control.protocol import Play, Queued, Reload, Say, Stop, Stopped
from broadcaster.core.models import Announcement, Priority, StartPolicy
from broadcaster.core.settings import Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.station.holidays import as_date
from broadcaster.web.app import (
    COOKIE,
    MAX_UPLOAD_BYTES,
    Console,
    Page,
    forbidden,
    page,
    render,
    set_session_cookie,
)
from broadcaster.web.auth import AccountError, Role
from broadcaster.web.entry_form import (
    FIELDS,
    GENERAL,
    EntryForm,
    changed_since,
    check,
    edits,
    file_hash,
    findings_about,
    from_request,
    kind_of,
    raw_item,
    values_of,
)

if TYPE_CHECKING:
    from broadcaster.onair.asrun import Row, RowFilter

PREVIEW_DIR = "web-previews"
UPLOAD_SUFFIXES = (".m4a", ".mp3", ".aac", ".amr", ".wav", ".ogg", ".opus", ".3gp", ".flac")
PREVIEW_NAME = re.compile(r"[0-9a-f]{32}\.wav")
PREVIEWS_KEPT = 50
WEEK_DAYS = 7
SETTLE_S = 3.0


def _now(station: Station) -> datetime:
    return datetime.now(ZoneInfo(station.timezone))


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _local_path(target: str) -> str:
    """A `next=` target of this site only (never another host)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# login ----------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    target = _local_path(request.query_params.get("next", "/"))
    if request.method == "GET":
        return render(console, request, "login.html", None, next=target, error="", name="")
    from starlette.concurrency import run_in_threadpool

    from broadcaster.web.app import same_origin

    if not same_origin(request):
        return forbidden(console, request, None, _("This form came from another site."))
    form = await request.form()
    name = unicodedata.normalize("NFC", str(form.get("name", ""))).strip()
    password = str(form.get("password", ""))
    target = _local_path(str(form.get("next", "/")))
    address = request.client.host if request.client else ""
    accounts = console.accounts
    if accounts.too_many_attempts(name, address):
        accounts.audit(None, "login-blocked", name, address=address)
        return render(
            console,
            request,
            "login.html",
            None,
            429,
            next=target,
            name=name,
            error=_("Too many wrong passwords: wait 30 seconds and try again."),
        )
    session = await run_in_threadpool(accounts.log_in, name, password, address)
    if session is None:
        return render(
            console,
            request,
            "login.html",
            None,
            401,
            next=target,
            name=name,
            error=_("Wrong user name or password."),
        )
    accounts.audit(session.user, "login", name, address=address)
    response = _redirect(target)
    set_session_cookie(response, session.id, console.secure)
    return response


@page()
def logout(p: Page) -> Response:
    p.console.accounts.log_out(p.session.id)
    p.audit("logout", p.user.name)
    response = _redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


# on the air -----------------------------------------------------------------------------------


@page()
def home(p: Page) -> Response:
    from broadcaster.onair.asrun import LOG_FILE, PLAYED, PLAYING, AsRunLog

    station = p.console.station()
    now = _now(station)
    problems = []
    if (station.directory / LOG_FILE).exists():
        log = AsRunLog(station.directory / LOG_FILE)
        try:
            problems = [
                row
                for row in log.rows(now - timedelta(hours=24))
                if row.result not in (*PLAYED, PLAYING)
            ]
        finally:
            log.close()
    return p.render("home.html", problems=problems, drafts=_drafts(station), labels=_labels())


@page()
async def stop(p: Page) -> Response:
    try:
        reply = ask(p.console.station_dir, Stop())
    except LoaError as error:
        return p.render("error.html", 503, message=error.message)
    if reply is None:
        return p.render("error.html", 503, message=_("Loa is not running for this station."))
    stopped = reply.stopped if isinstance(reply, Stopped) else None
    p.audit("stop", stopped or "")
    if stopped:
        await _until_on_air(
            p.console.station_dir, lambda playing: playing is None or playing.id != stopped
        )
    return _redirect("/")


async def _until_on_air(station_dir: Path, shows: Callable[[Any], bool]) -> None:
    """The station answers a request once it is taken, and what is on the air changes a moment
    later (an emergency is rendered first; a stopped item ends with the chunk being played).
    Wait for the change, briefly, so that the page shown next shows it: the emergency banner
    after the confirmation, no banner after Stop."""
    from starlette.concurrency import run_in_threadpool

    from broadcaster.web.app import on_air

    deadline = monotonic() + SETTLE_S
    while monotonic() < deadline:
        status, _why = await run_in_threadpool(on_air, station_dir)
        if status is None or shows(status.playing):
            return
        await asyncio.sleep(0.1)


def _labels() -> dict[str, Any]:
    from broadcaster.onair.asrun import (
        NOT_TROUBLE,
        aired_label,
        alarm_label,
        entry_label,
        heard_label,
        hearing_note,
        priority_label,
        result_label,
    )
    from broadcaster.station.schedules import what_airs

    return {
        "entry": entry_label,
        "priority": priority_label,
        "result": result_label,
        "aired": aired_label,
        "airs": what_airs,
        "heard": heard_label,
        "hearing": hearing_note,
        "alarm": alarm_label,
        "not_trouble": NOT_TROUBLE,
    }


def _drafts(station: Station) -> list[Any]:
    from broadcaster.station.schedules import read_schedules, waits_for_approval

    try:
        return [e for e in read_schedules(station).entries if waits_for_approval(e)]
    except LoaError:
        return []


# the week ---------------------------------------------------------------------------------------


WeekItem = tuple[str, Markup, Markup, Markup, Markup]
"""A line of the phone's list: (HH:MM, entry id, what airs, priority or "", clash note or ""),
escaped. Plain tuples, each label made and escaped once per entry: a week of 200 entries has
about 800 items, shown twice, and the template's lookups, calls and escaping per item were most
of the page's time."""

WeekCell = list[tuple[Markup, Markup]]
"""A cell of the wide screen's grid: (what airs, clash note or "") of each item at that time."""


def _clashes(items: list[Any], ends: list[datetime]) -> list[str]:
    """For each item (sorted by start), the entry id of the first other entry's item on the air
    at the same time, or "": a sweep over the items still on the air, not every pair (a week of
    200 entries has thousands of items)."""
    found = []
    on_air: list[int] = []
    for index, item in enumerate(items):
        on_air = [earlier for earlier in on_air if ends[earlier] > item.start]
        clash = next((items[i].entry.id for i in on_air if items[i].entry.id != item.entry.id), "")
        if not clash:
            for later in range(index + 1, len(items)):
                if items[later].start >= ends[index]:
                    break
                if items[later].entry.id != item.entry.id:
                    clash = items[later].entry.id
                    break
        found.append(clash)
        on_air.append(index)
    return found


def _week_ahead(station: Station, now: datetime) -> list[tuple[Any, str]]:
    """What airs in the next WEEK_DAYS days, each with the id of an entry it clashes with."""
    from broadcaster.station.lookahead import upcoming
    from broadcaster.station.schedule_check import measure, program_seconds

    items = upcoming(station, now, WEEK_DAYS * 24)
    timing = measure(station, [item.entry.announcement for item in items])
    entries = {item.entry.id: item.entry for item in items}
    lengths = {
        entry.id: timedelta(
            seconds=program_seconds(
                entry, timing.messages.get(entry.announcement, 0.0), timing.jingles
            )
        )
        for entry in entries.values()
    }
    ends = [item.start + lengths[item.entry.id] for item in items]
    return list(zip(items, _clashes(items, ends), strict=True))


@page()
def week(p: Page) -> Response:
    from broadcaster.onair.asrun import priority_label
    from broadcaster.station.holidays import load_holidays
    from broadcaster.station.schedules import WEEKDAY_NAMES, what_airs

    station = p.console.station()
    now = _now(station)
    days = [now.date() + timedelta(days=n) for n in range(WEEK_DAYS)]
    by_day: dict[date, list[WeekItem]] = {day: [] for day in days}
    cells: dict[str, list[WeekCell]] = {}
    labels: dict[str, tuple[Markup, Markup, Markup]] = {}
    notes: dict[str, Markup] = {"": Markup()}
    error = ""
    try:
        ahead = _week_ahead(station, now)
    except LoaError as problem:
        error, ahead = problem.message, []
    for item, clash in ahead:
        entry, day = item.entry, item.start.date()
        if day not in by_day:  # the morning of the eighth day
            continue
        if entry.id not in labels:
            normal = entry.priority == Priority.NORMAL
            priority = "" if normal else priority_label(entry.priority)
            labels[entry.id] = escape(entry.id), escape(what_airs(entry)), escape(priority)
        if clash not in notes:
            notes[clash] = escape(_("clashes with {id}").format(id=clash))
        entry_id, airs, priority = labels[entry.id]
        clock, note = f"{item.start.hour:02}:{item.start.minute:02}", notes[clash]
        by_day[day].append((clock, entry_id, airs, priority, note))
        if clock not in cells:
            cells[clock] = [[] for _day in days]
        cells[clock][(day - days[0]).days].append((airs, note))
    return p.render(
        "week.html",
        days=[(day, f"{WEEKDAY_NAMES[day.weekday()]} {day:%d/%m/%Y}") for day in days],
        by_day=by_day,
        grid=sorted(cells.items()),
        error=error,
        holidays=load_holidays(station),
    )


# announcements --------------------------------------------------------------------------------


@page()
def announcements(p: Page) -> Response:
    from broadcaster.station.announcements import list_announcements, list_recordings

    station = p.console.station()
    return p.render(
        "announcements.html",
        texts=list_announcements(station),
        recordings=list_recordings(station),
        message=p.request.query_params.get("saved", ""),
    )


def _announcement_form(station: Station, announcement_id: str) -> dict[str, str]:
    from broadcaster.station.announcement_edit import announcement_file
    from broadcaster.station.announcement_edit import file_hash as announcement_hash
    from broadcaster.station.announcements import load_announcement

    if not announcement_id:
        return {"id": "", "title": "", "text": "", "voice": "", "file_hash": "", "new": "1"}
    found = load_announcement(station, announcement_id)
    return {
        "id": found.id,
        "title": found.title,
        "text": found.text,
        "voice": found.voice or "",
        "file_hash": announcement_hash(announcement_file(station, found.id)),
        "new": "",
    }


@page()
def announcement_edit(p: Page) -> Response:
    station = p.console.station()
    announcement_id = p.request.path_params.get("id", "")
    try:
        values = _announcement_form(station, announcement_id)
    except LoaError as error:
        return p.render("error.html", 404, message=error.message)
    return _announcement_page(p, station, values, {})


def _announcement_page(
    p: Page,
    station: Station,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    from broadcaster.core.voices import all_voices

    return p.render(
        "announcement.html",
        status_code,
        values=values,
        errors=errors,
        voices=all_voices(),
        default_voice=station.speech.voice,
        preview=extra.get("preview", ""),
        readings=extra.get("readings", []),
        warnings=extra.get("warnings", []),
        saved=extra.get("saved", False),
    )


@page()
async def announcement_save(p: Page) -> Response:
    from broadcaster.station.announcement_edit import (
        announcement_file,
        check_announcement_id,
        save_announcement,
    )
    from broadcaster.station.announcement_edit import file_hash as announcement_hash

    station = p.console.station()
    values = {key: p.field(key) for key in ("id", "title", "text", "voice", "file_hash", "new")}
    values["text"] = unicodedata.normalize("NFC", str(p.form.get("text", "")) if p.form else "")
    errors: dict[str, str] = {}
    try:
        wanted = check_announcement_id(values["id"])
    except LoaError as error:
        errors["id"] = error.message
        return _announcement_page(p, station, values, errors, 400)
    path = announcement_file(station, wanted)
    if values["new"] and path is not None:
        errors["id"] = _("An announcement '{id}' exists already: choose another name.").format(
            id=wanted
        )
    elif not values["new"] and announcement_hash(path) != values["file_hash"]:
        errors["form"] = _(
            "Someone else saved this announcement while you edited it: your text was not saved. "
            "Open it again to see theirs."
        )
    if p.field("action") == "preview" and not errors:
        return await _preview(p, station, values)
    if errors:
        return _announcement_page(p, station, values, errors, 409 if "form" in errors else 400)
    try:
        saved = save_announcement(station, wanted, values["title"], values["text"], values["voice"])
    except LoaError as error:
        errors["text"] = error.message
        return _announcement_page(p, station, values, errors, 400)
    digest = hashlib.sha256(saved.text.encode()).hexdigest()
    p.audit("announcement-save", wanted, sha256=digest, detail={"title": saved.title})
    values.update(
        id=wanted, new="", file_hash=announcement_hash(announcement_file(station, wanted))
    )
    return _announcement_page(p, station, values, {}, saved=True)


async def _preview(p: Page, station: Station, values: dict[str, str]) -> Response:
    """Render the text through the same chain as a broadcast into a WAV the page plays, and
    show what each voice will read."""
    from starlette.concurrency import run_in_threadpool

    from broadcaster.core.compose import clean_text
    from broadcaster.core.voices import VOICES_BY_ENGINE
    from broadcaster.speech import Speaker

    readings: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    try:
        speaker = Speaker.for_station(station)
        cleaned = clean_text(values["text"])
        readings = [(name, speaker.prepared_text(cleaned, name)) for name in VOICES_BY_ENGINE]
        announcement = Announcement(
            values["id"] or "preview", values["text"], values["title"], values["voice"] or None
        )
        name, warnings = await run_in_threadpool(_render_preview, station, announcement)
    except LoaError as error:
        errors["text"] = error.message
        return _announcement_page(p, station, values, errors, 400, readings=readings)
    p.audit("preview", values["id"], sha256=hashlib.sha256(values["text"].encode()).hexdigest())
    return _announcement_page(
        p, station, values, {}, preview=name, readings=readings, warnings=warnings
    )


def _preview_dir(station: Station) -> Path:
    folder = station.directory / ".loa" / PREVIEW_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept = sorted(folder.glob("*.wav"), key=lambda path: path.stat().st_mtime)
    for old in kept[:-PREVIEWS_KEPT]:
        old.unlink(missing_ok=True)
    return folder


def _render_preview(station: Station, announcement: Announcement) -> tuple[str, list[str]]:
    """The broadcast as it would air (chimes, speech, levelling) in a WAV file; the voices that
    failed on the way are returned as warnings."""
    from broadcaster.broadcast import broadcast

    name = f"{uuid.uuid4().hex}.wav"
    result = broadcast(station, announcement, out=_preview_dir(station) / name)
    warnings = [reason for speech in result.speech for reason in speech.failures]
    return name, warnings


@page()
def preview_file(p: Page) -> Response:
    name = p.request.path_params["name"]
    path = p.console.station_dir / ".loa" / PREVIEW_DIR / name
    if not PREVIEW_NAME.fullmatch(name) or not path.is_file():
        return p.render("error.html", 404, message=_("This preview is no longer kept."))
    return FileResponse(path, media_type="audio/wav")


@page()
def recording_file(p: Page) -> Response:
    from broadcaster.station.announcements import list_recordings

    station = p.console.station()
    name = p.request.path_params["name"]
    if name not in list_recordings(station):
        return p.render("error.html", 404, message=_("No audio file {file}.").format(file=name))
    return FileResponse(station.announcements_dir / name)


# recordings from a phone ------------------------------------------------------------------------


@page(max_bytes=MAX_UPLOAD_BYTES + 64 * 1024)
async def upload(p: Page) -> Response:
    from starlette.concurrency import run_in_threadpool

    station = p.console.station()
    upload = p.form.get("recording") if p.form else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(p, _("Choose a recording to upload."), 400)
    name = unicodedata.normalize("NFC", upload.filename)
    if "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        return _upload_page(
            p, _("The file name must not hold a folder: {name}.").format(name=name), 400
        )
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return _upload_page(
            p,
            _(
                "{name} is not a recording Loa takes: m4a, mp3, aac, amr, wav, ogg, opus, 3gp "
                "or flac."
            ).format(name=name),
            400,
        )
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return _upload_page(
            p,
            _("The upload is too large (at most {size} MB).").format(
                size=MAX_UPLOAD_BYTES // 2**20
            ),
            413,
        )
    if not data:
        return _upload_page(p, _("The file {name} is empty.").format(name=name), 400)
    try:
        saved, preview = await run_in_threadpool(_import_recording, station, name, data)
    except LoaError as error:
        return _upload_page(p, error.message, 400)
    p.audit("upload", saved, sha256=hashlib.sha256(data).hexdigest(), detail={"from": name})
    return _upload_page(p, "", 200, saved=saved, preview=preview)


def _upload_page(p: Page, error: str, status_code: int, **extra: Any) -> Response:
    return p.render(
        "upload.html",
        status_code,
        error=error,
        saved=extra.get("saved", ""),
        preview=extra.get("preview", ""),
    )


@page()
def upload_form(p: Page) -> Response:
    return _upload_page(p, "", 200)


def _import_recording(station: Station, name: str, data: bytes) -> tuple[str, str]:
    """Check the recording as a broadcast would (decoded with ffmpeg, levelled; damaged, silent
    or too long is refused) by rendering its preview; only then is it copied into
    announcements/ under a plain name no announcement has. Nothing is written when refused."""
    from broadcaster.station.recordings import copy_into_station

    folder = station.directory / ".loa" / "web-uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    temporary = folder / f"{secrets.token_hex(16)}{suffix}"
    temporary.write_bytes(data)
    try:
        preview, _warnings = _render_preview(
            station, Announcement(id=Path(name).stem, text="", recording=temporary)
        )
        return copy_into_station(station, temporary, name).name, preview
    finally:
        temporary.unlink(missing_ok=True)


# schedule entries -------------------------------------------------------------------------------


@page()
def schedule(p: Page) -> Response:
    from broadcaster.station.schedules import read_schedules

    station = p.console.station()
    found = read_schedules(station)
    return p.render(
        "schedule.html",
        entries=found.entries,
        problems=found.problems,
        labels=_labels(),
        times_of=lambda entry: ", ".join(f"{t:%H:%M}" for t in entry.rule.times),
    )


def _entry_choices(station: Station) -> dict[str, Any]:
    from broadcaster.station.announcements import list_announcements, list_recordings

    return {
        "announcements": [*list_announcements(station), *list_recordings(station)],
        "relay_sources": sorted(station.relay_sources),
        "station_fallback": station.relay_fallback,
        "priorities": [priority.value for priority in Priority],
        "starts": [policy.value for policy in StartPolicy],
        "labels": _labels(),
    }


@page()
def entry_edit(p: Page) -> Response:
    from broadcaster.station.schedule_edit import PROVINCE_PREFIX, find_entry

    station = p.console.station()
    entry_id = p.request.path_params.get("id", "")
    if not entry_id:
        form = EntryForm("", {key: "" for key in FIELDS} | {"enabled": "on"})
        return p.render("entry.html", form=form, new=True, findings=[], **_entry_choices(station))
    try:
        entry = find_entry(station, entry_id)
    except LoaError as error:
        return p.render("error.html", 404, message=error.message)
    assert entry.file is not None
    item = raw_item(entry.file, entry.id) or {}
    values = values_of(item)
    form = EntryForm(
        entry.id,
        values,
        file_hash=file_hash(entry.file),
        original=dict(values),
        kind=kind_of(item),
    )
    return p.render(
        "entry.html",
        form=form,
        new=False,
        entry=entry,
        read_only=entry.id.startswith(PROVINCE_PREFIX),
        findings=findings_about(station, entry),
        **_entry_choices(station),
    )


@page()
def entry_save(p: Page) -> Response:
    from broadcaster.station.schedule_edit import (
        PROVINCE_PREFIX,
        add_entry,
        change_entry,
        find_entry,
        schedule_path,
    )
    from broadcaster.station.schedules import read_schedules

    station = p.console.station()
    assert p.form is not None
    form = from_request(p.form)
    new = p.field("new") == "1"
    choices = _entry_choices(station)

    def again(status_code: int, **extra: Any) -> Response:
        return p.render(
            "entry.html", status_code, form=form, new=new, findings=[], **choices, **extra
        )

    if form.entry_id.startswith(PROVINCE_PREFIX):
        return again(403, read_only=True)
    existing = None
    if new:
        path = schedule_path(station, None)
        written: dict[str, Any] = {}
        if form.entry_id in {entry.id for entry in read_schedules(station).entries}:
            form.add(
                "id",
                _("the id '{id}' is already used: give each entry its own id.").format(
                    id=form.entry_id
                ),
            )
            return again(400)
    else:
        try:
            existing = find_entry(station, form.entry_id)
        except LoaError as error:
            form.add(GENERAL, error.message)
            return again(404)
        assert existing.file is not None
        path = existing.file
        written = raw_item(path, existing.id) or {}
        if file_hash(path) != form.file_hash:
            now = values_of(written)
            conflicts = changed_since(form, now)
            form.add(
                GENERAL,
                _(
                    "Someone else saved this entry while you edited it; nothing of yours was "
                    "saved. Their changes are listed below: check them, then save again."
                ),
            )
            form.file_hash, form.original = file_hash(path), now
            return again(409, conflicts=conflicts)
    check(station, path, form, written)
    if form.errors:
        return again(400)
    changes = edits(form, new, written)
    if station.require_approval:
        changes.update(status="draft", approved_by=None, created_by=p.user.name)
    try:
        if new:
            fields = {
                **changes,
                "id": form.entry_id,
                "enabled": changes.get("enabled"),
                "created_by": p.user.name,
                "status": "draft" if station.require_approval else None,
            }
            entry = add_entry(station, fields, path)
        else:
            entry = change_entry(station, form.entry_id, changes)
    except LoaError as error:
        form.add(GENERAL, error.message)
        return again(400)
    p.audit("entry-save", entry.id, sha256=_entry_hash(station, entry), detail=form.values)
    _reload(p.console.station_dir)
    return _redirect(f"/schedule/{entry.id}?saved=1")


def _reload(station_dir: Path) -> None:
    """Tell a running station to read its files now (it would within seconds anyway)."""
    with contextlib.suppress(LoaError):
        ask(station_dir, Reload())


# approvals --------------------------------------------------------------------------------------


def _entry_hash(station: Station, entry: Any) -> str:
    """The SHA-256 of exactly what airs: the entry's settings, the announcement's text and the
    bytes of any recording; for a relay, its source's addresses (or line-in) and what plays
    while the source is gone."""
    digest = hashlib.sha256()
    settings = {
        key: str(value)
        for key, value in entry.__dict__.items()
        if key not in ("file", "line", "status", "approved_by")
    }
    digest.update(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode())
    if entry.relay is None:
        _hash_announcement(digest, station, entry.announcement)
        return digest.hexdigest()
    source = station.relay_sources[entry.relay]  # the reader keeps only relays of known sources
    fallback = _fallback_of(station, entry)
    relayed = {
        "urls": list(source.urls),
        "line_in": source.line_in,
        "fallback": fallback,
        "fallback_after_s": station.relay_fallback_after_s,
    }
    digest.update(json.dumps(relayed, sort_keys=True, ensure_ascii=False).encode())
    if fallback is not None:
        _hash_announcement(digest, station, fallback)
    return digest.hexdigest()


def _hash_announcement(digest: Any, station: Station, announcement_id: str) -> None:
    from broadcaster.station.announcements import announcement_or_recording

    try:
        announcement = announcement_or_recording(station, announcement_id)
    except LoaError as error:
        digest.update(error.message.encode())
        return
    digest.update(announcement.text.encode())
    if announcement.recording is not None:
        digest.update(Path(announcement.recording).read_bytes())


def _fallback_of(station: Station, entry: Any) -> str | None:
    """What a relay plays while its source is gone: its own fallback, else the station's."""
    return str(entry.fallback or station.relay_fallback or "") or None


@page()
def approvals(p: Page) -> Response:
    station = p.console.station()
    return p.render("approvals.html", drafts=_drafts(station), labels=_labels())


def _what_airs(station: Station, entry: Any) -> dict[str, Any]:
    """An announcement's text or recording; for a relay, its source with its addresses, each
    slot from start to end, and what plays while the source is gone."""
    from broadcaster.station.station_file import length_text

    if entry.relay is None:
        return {**_announcement_shown(station, entry.announcement), "relay": None}
    source = station.relay_sources[entry.relay]
    fallback = _fallback_of(station, entry)
    slots = []
    for start in entry.rule.times:
        ends = datetime.combine(date.min, start) + timedelta(seconds=entry.duration_s)
        slots.append(f"{start:%H:%M}-{ends:%H:%M}")
    return {
        "relay": entry.relay,
        "urls": list(source.urls),
        "line_in": source.line_in,
        "problem": "",
        "slots": slots,
        "length": length_text(entry.duration_s),
        "fallback": fallback,
        "fallback_is_the_stations": fallback is not None and not entry.fallback,
        "fallback_after": length_text(station.relay_fallback_after_s),
        "shown": _announcement_shown(station, fallback) if fallback else None,
    }


def _announcement_shown(station: Station, announcement_id: str) -> dict[str, str]:
    from broadcaster.station.announcements import announcement_or_recording

    try:
        announcement = announcement_or_recording(station, announcement_id)
    except LoaError as error:
        return {"text": "", "title": "", "recording": "", "problem": error.message}
    recording = Path(announcement.recording).name if announcement.recording else ""
    return {
        "text": announcement.text,
        "title": announcement.title,
        "recording": recording,
        "problem": "",
    }


@page()
def approval(p: Page) -> Response:
    from broadcaster.station.schedule_edit import find_entry

    station = p.console.station()
    try:
        entry = find_entry(station, p.request.path_params["id"])
    except LoaError as error:
        return p.render("error.html", 404, message=error.message)
    assert entry.file is not None
    return p.render(
        "approval.html",
        entry=entry,
        values=values_of(raw_item(entry.file, entry.id) or {}),
        airs=_what_airs(station, entry),
        digest=_entry_hash(station, entry),
        own=entry.created_by == p.user.name,
        labels=_labels(),
        findings=findings_about(station, entry),
    )


@page(role=Role.APPROVER)
def approve(p: Page) -> Response:
    from broadcaster.station.schedule_edit import change_entry, find_entry

    station = p.console.station()
    try:
        entry = find_entry(station, p.request.path_params["id"])
    except LoaError as error:
        return p.render("error.html", 404, message=error.message)
    if entry.created_by == p.user.name:
        p.audit("approve-refused", entry.id, detail=_("own draft"))
        return forbidden(
            p.console,
            p.request,
            p.session,
            _("You wrote this draft: another approver must approve it."),
        )
    digest = _entry_hash(station, entry)
    if not hmac_equal(digest, p.field("sha256")):
        return p.render(
            "error.html",
            409,
            message=_(
                "The entry or its announcement changed since you opened it: nothing was "
                "approved. Open it again and check what will air."
            ),
        )
    change_entry(station, entry.id, {"status": "approved", "approved_by": p.user.name})
    p.audit("approve", entry.id, sha256=digest)
    _reload(p.console.station_dir)
    return _redirect("/approvals")


def hmac_equal(one: str, other: str) -> bool:
    return secrets.compare_digest(one.encode(), other.encode())


# the emergency button --------------------------------------------------------------------------


@page()
def emergency_form(p: Page) -> Response:
    from broadcaster.station.announcements import list_announcements, list_recordings

    station = p.console.station()
    return p.render(
        "emergency.html",
        step="choose",
        text="",
        announcement="",
        error="",
        choices=[*list_announcements(station), *list_recordings(station)],
        labels=_labels(),
    )


@page()
async def emergency(p: Page) -> Response:
    """Step one shows what will be interrupted; step two (confirm=yes) puts it on the air."""
    from broadcaster.station.announcements import list_announcements, list_recordings

    station = p.console.station()
    text = unicodedata.normalize("NFC", str(p.form.get("text", "")) if p.form else "").strip()
    announcement = p.field("announcement")
    choices = [*list_announcements(station), *list_recordings(station)]

    def again(step: str, error: str = "", status_code: int = 200) -> Response:
        return p.render(
            "emergency.html",
            status_code,
            step=step,
            text=text,
            announcement=announcement,
            error=error,
            choices=choices,
            labels=_labels(),
        )

    if not text and not announcement:
        return again("choose", _("Write the message or choose a recording."), 400)
    if announcement and announcement not in choices:
        return again("choose", _("No announcement '{id}'.").format(id=announcement), 400)
    if p.field("confirm") != "yes":
        return again("confirm")
    request: Say | Play
    if text:
        request = Say(text, priority=Priority.EMERGENCY, request_id=uuid.uuid4().hex)
    else:
        request = Play(announcement, priority=Priority.EMERGENCY, request_id=uuid.uuid4().hex)
    try:
        reply = ask(p.console.station_dir, request)
    except LoaError as error:
        return again("choose", error.message, 503)
    if reply is None:
        return again(
            "choose",
            _(
                "Loa is NOT running for this station: nothing can be broadcast. Start it "
                "with: loa run."
            ),
            503,
        )
    if not isinstance(reply, Queued):
        return again("choose", getattr(reply, "error", ""), 409)
    p.audit(
        "emergency",
        announcement or "say",
        sha256=hashlib.sha256((text or announcement).encode()).hexdigest(),
        detail=text or announcement,
    )
    await _until_on_air(
        p.console.station_dir,
        lambda playing: playing is not None and playing.priority == Priority.EMERGENCY,
    )
    return _redirect("/?emergency=1")


# the as-run log, the report, the doctor --------------------------------------------------------


def _day_param(p: Page, name: str) -> tuple[date | None, str]:
    value = p.request.query_params.get(name, "").strip()
    if not value:
        return None, ""
    found = as_date(value)
    return (
        (found, "")
        if found
        else (None, _("'{value}' is not a date: write it as 01/12/2026.").format(value=value))
    )


LOG_PAGE_ROWS = 200
"""Rows per page of the as-run log: a day is a few dozen, so this is about a week."""
AUDIT_PAGE_ROWS = 200
"""Rows per page of the audit trail, which only grows."""
CSV_BATCH_ROWS = 1000
"""Rows read and written per part of the CSV download."""
LOG_FILTERS = ("since", "until", "result", "priority", "q")


def _log_filter(p: Page) -> tuple["RowFilter", dict[str, str]]:
    """The filters of the log's form as the as-run log's RowFilter, and the problems with the
    dates typed, per field."""
    from broadcaster.onair.asrun import RowFilter

    zone = ZoneInfo(p.console.station().timezone)
    since, since_error = _day_param(p, "since")
    until, until_error = _day_param(p, "until")
    params = p.request.query_params
    wanted = RowFilter(
        since=datetime.combine(since, time(), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        result=params.get("result", ""),
        priority=params.get("priority", ""),
        text=unicodedata.normalize("NFC", params.get("q", "")).strip(),
    )
    return wanted, {"since": since_error, "until": until_error}


def _cursor(text: str) -> tuple[float, str] | None:
    """An "older" link's cursor, `scheduled_ts:entry_id`; None for anything else (the newest
    rows are shown)."""
    moment, colon, entry_id = text.partition(":")
    try:
        return (float(moment), entry_id) if colon else None
    except ValueError:
        return None


@page()
def log(p: Page) -> Response:
    """The newest LOG_PAGE_ROWS rows that match the filters, and a link to the older ones."""
    from urllib.parse import urlencode

    from broadcaster.core.models import Result
    from broadcaster.onair.asrun import LOG_FILE, AsRunLog, aired_at

    wanted, errors = _log_filter(p)
    cursor = _cursor(p.request.query_params.get("older", ""))
    rows: list[Row] = []
    older = None
    log_file = p.console.station_dir / LOG_FILE
    if log_file.exists() and not any(errors.values()):
        store = AsRunLog(log_file)
        try:
            rows, older = store.matching(wanted, LOG_PAGE_ROWS, cursor)
        finally:
            store.close()
    params = p.request.query_params
    filters = {name: params[name] for name in LOG_FILTERS if params.get(name)}
    return p.render(
        "log.html",
        rows=rows,
        monitored=any(row.heard for row in rows),
        since=params.get("since", ""),
        until=params.get("until", ""),
        result=wanted.result,
        results=[r.value for r in Result],
        priority=wanted.priority,
        priorities=[priority.value for priority in Priority],
        text=params.get("q", ""),
        errors=errors,
        aired_at=lambda row: f"{datetime.fromisoformat(aired_at(row)):%d/%m/%Y %H:%M}",
        labels=_labels(),
        query=urlencode(filters),
        older=urlencode({**filters, "older": f"{older[0]!r}:{older[1]}"}) if older else "",
        paged=cursor is not None,
    )


@page()
def log_csv(p: Page) -> Response:
    """The rows that match the filters, oldest first, as a download written in parts: a year
    of rows never sits in memory at once, and the first bytes leave at once."""
    from starlette.responses import StreamingResponse

    from broadcaster.onair.asrun import LOG_FILE, AsRunLog, write_csv

    wanted, errors = _log_filter(p)
    if any(errors.values()):
        return p.render("error.html", 400, message=" ".join(e for e in errors.values() if e))
    log_file = p.console.station_dir / LOG_FILE

    def parts() -> Iterator[bytes]:
        out = io.StringIO()
        write_csv([], out)
        yield out.getvalue().encode("utf-8")
        if not log_file.exists():
            return
        store = AsRunLog(log_file)
        try:
            cursor = None
            while True:
                rows, cursor = store.matching(wanted, CSV_BATCH_ROWS, cursor, newest_first=False)
                out = io.StringIO()
                write_csv(rows, out, heading=False)
                yield out.getvalue().encode("utf-8")
                if cursor is None:
                    return
        finally:
            store.close()

    return StreamingResponse(
        parts(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="phat-song.csv"'},
    )


@page()
def report(p: Page) -> Response:
    from broadcaster.onair.asrun import LOG_FILE, AsRunLog

    station = p.console.station()
    zone = ZoneInfo(station.timezone)
    text = p.request.query_params.get("month", "").strip()
    month = as_date(f"1/{text}") if "/" in text else as_date(f"{text}-01") if text else None
    error = (
        _("'{value}' is not a month: write it as 12/2026 or 2026-12.").format(value=text)
        if text and month is None
        else ""
    )
    month = month or _now(station).date().replace(day=1)
    first = datetime.combine(month, time(), tzinfo=zone)
    last = datetime.combine((first + timedelta(days=32)).replace(day=1), time(), tzinfo=zone)
    items = []
    if (station.directory / LOG_FILE).exists():
        store = AsRunLog(station.directory / LOG_FILE)
        try:
            items = store.report(first, last)
        finally:
            store.close()
    return p.render(
        "report.html",
        items=items,
        month=f"{first:%m/%Y}",
        error=error,
        played=sum(i.played for i in items),
        total=sum(i.total for i in items),
        labels=_labels(),
    )


@page()
def doctor(p: Page) -> Response:
    """`loa doctor`'s checks, but the sound check: it would play a tone on the loudspeakers. The
    slow ones show their last results (web/checks.py); "Check again" takes them now."""
    from broadcaster.system.doctor import CHECKS, run_checks
    from broadcaster.web.checks import SLOW_CHECKS

    station = p.console.station()
    fresh = p.request.query_params.get("fresh") == "1"
    taken = p.console.slow_checks.results(_now(station), fresh)
    checks = [check for check in CHECKS if check.name != "sound"]
    now = iter(run_checks(station, [check for check in checks if check.name not in SLOW_CHECKS]))
    slow = iter(taken.results)
    results = [
        (next(slow), True) if check.name in SLOW_CHECKS else (next(now), False) for check in checks
    ]
    return p.render("doctor.html", results=results, taken_at=taken.at)


# users and the audit trail ------------------------------------------------------------------------


@page(role=Role.ADMIN)
def users(p: Page) -> Response:
    return _users_page(p, "", 200)


def _users_page(p: Page, error: str, status_code: int, message: str = "") -> Response:
    return p.render(
        "users.html",
        status_code,
        users=p.console.accounts.users(),
        roles=[role.value for role in Role],
        error=error,
        message=message,
    )


@page(role=Role.ADMIN)
def user_change(p: Page) -> Response:
    accounts = p.console.accounts
    action, name = p.field("action"), p.field("name")
    password = str(p.form.get("password", "")) if p.form else ""
    try:
        if action == "add":
            accounts.add_user(name, Role(p.field("role") or "officer"), password)
            done = _("Account {name} added.")
        elif action == "passwd":
            accounts.set_password(name, password)
            done = _("Password of {name} changed; their sessions ended.")
        elif action == "remove":
            if name == p.user.name:
                return _users_page(p, _("You cannot remove your own account."), 400)
            accounts.remove_user(name)
            done = _("Account {name} removed.")
        else:
            return _users_page(p, _("Unknown action."), 400)
    except (AccountError, ValueError) as error:
        return _users_page(p, getattr(error, "message", str(error)), 400)
    p.audit(f"user-{action}", name, detail={"role": p.field("role")} if action == "add" else "")
    return _users_page(p, "", 200, done.format(name=name))


def _audit_actions() -> dict[str, str]:
    """The actions of the audit trail in the officer's words (the buttons' own, where one
    exists)."""
    return {
        "login": _("Log in"),
        "login-blocked": _("login blocked: too many wrong passwords"),
        "logout": _("Log out"),
        "stop": _("Stop"),
        "announcement-save": _("saved an announcement"),
        "preview": _("Listen first"),
        "upload": _("Upload"),
        "entry-save": _("saved a schedule entry"),
        "approve-refused": _("approval refused"),
        "approve": _("approved"),
        "emergency": _("Emergency broadcast"),
        "user-add": _("Add a user"),
        "user-passwd": _("Change the password"),
        "user-remove": _("Remove"),
    }


@page(role=Role.ADMIN)
def audit(p: Page) -> Response:
    older_than = p.request.query_params.get("older", "")
    cursor = int(older_than) if older_than.isdigit() else None
    rows, older = p.console.accounts.audit_page(AUDIT_PAGE_ROWS, cursor)
    actions = _audit_actions()
    return p.render(
        "audit.html",
        rows=rows,
        older=older,
        paged=cursor is not None,
        action=lambda code: actions.get(code, code),
        when=lambda at: f"{datetime.fromtimestamp(at):%d/%m/%Y %H:%M:%S}",
    )


ROUTES = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/", home),
    Route("/stop", stop, methods=["POST"]),
    Route("/week", week),
    Route("/announcements", announcements),
    Route("/announcements/new", announcement_edit),
    Route("/announcements/save", announcement_save, methods=["POST"]),
    Route("/announcements/{id}", announcement_edit),
    Route("/previews/{name}", preview_file),
    Route("/recordings/upload", upload_form),
    Route("/recordings/upload", upload, methods=["POST"]),
    Route("/recordings/{name}", recording_file),
    Route("/schedule", schedule),
    Route("/schedule/new", entry_edit),
    Route("/schedule/save", entry_save, methods=["POST"]),
    Route("/schedule/{id}", entry_edit),
    Route("/approvals", approvals),
    Route("/approvals/{id}", approval),
    Route("/approvals/{id}", approve, methods=["POST"]),
    Route("/emergency", emergency_form),
    Route("/emergency", emergency, methods=["POST"]),
    Route("/log", log),
    Route("/log.csv", log_csv),
    Route("/report", report),
    Route("/doctor", doctor),
    Route("/users", users),
    Route("/users", user_change, methods=["POST"]),
    Route("/audit", audit),
]
