"""What the province operator sends: campaigns (retained content on each target, then each
target's retained desired document), emergencies (on `cmd`, expiring at the broker) and their
cancellation. A campaign is checked first with the station's own readers, in a throw-away
station, so that what a station would refuse is refused here, named after the campaign."""

import re
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from broadcaster.core.models import Priority
from broadcaster.core.recurrence import Recurrence, occurrences
from broadcaster.errors import (
    AnnouncementError,
    AudioFileError,
    EmptyTextError,
    LoaError,
    ScheduleError,
    TextTooLongError,
    describe_os_error,
)
from broadcaster.files import read_text
from broadcaster.i18n import _
from broadcaster.province import landing, topics
from broadcaster.province.connection import Connection
from broadcaster.province.directory import (
    SENDER,
    Province,
    ProvinceError,
    UnknownTargetError,
)
from broadcaster.province.messages import (
    MAX_RECORDING_BYTES,
    MAX_TEXT_CHARS,
    RECORDING_SUFFIXES,
    Campaign,
    Content,
    Desired,
    Emergency,
    StopEmergency,
    encode,
)
from broadcaster.province.store import (
    CampaignRow,
    CampaignVersion,
    EmergencyRow,
    Store,
    iso,
    target_from_key,
    target_key,
)
from broadcaster.province.topics import Target
from broadcaster.station.announcements import load_announcement
from broadcaster.station.schedules import read_schedules
from broadcaster.station.station_file import load_station
from broadcaster.station.yamlfile import load_yaml

LONGEST_RECORDING_S = 60 * 60
"""A station refuses longer recordings by default (max_recording_minutes)."""
TEXT_SUFFIXES = (".txt",)
ANNOUNCEMENT_SUFFIXES = (".yaml", ".yml")


# Content ---------------------------------------------------------------------------------------


def read_content(path: Path) -> Content:
    """A .txt (its text), an announcement .yaml (title, text, voice) or a recording, checked as a
    station would check it: text not empty nor too long, audio that decodes."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise AnnouncementError(_("{file} does not exist.").format(file=path))
    if suffix in TEXT_SUFFIXES:
        return Content(
            title=path.stem, text=_checked_text(read_text(path, AnnouncementError), path)
        )
    if suffix in ANNOUNCEMENT_SUFFIXES:
        data = load_yaml(path, AnnouncementError)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise AnnouncementError(
                _(
                    "{file}: an announcement needs 'text:' (and may have 'title:' and 'voice:')."
                ).format(file=path)
            )
        unknown = sorted(set(data) - {"title", "text", "voice"})
        if unknown:
            raise AnnouncementError(
                _(
                    "{file}: unknown settings {keys}; an announcement has title, text, voice."
                ).format(file=path, keys=", ".join(map(str, unknown)))
            )
        voice = data.get("voice")
        return Content(
            title=str(data.get("title") or path.stem),
            text=_checked_text(data["text"], path),
            voice=str(voice) if voice else None,
        )
    if suffix in RECORDING_SUFFIXES:
        try:
            size = path.stat().st_size
        except OSError as error:
            raise AudioFileError(
                _("Cannot read {file}: {reason}.").format(
                    file=path, reason=describe_os_error(error)
                )
            ) from error
        if size > MAX_RECORDING_BYTES:
            raise AudioFileError(
                _(
                    "{file} is {size} MB: a recording sent to the stations may have at most "
                    "{limit} MB; cut it or save it at a lower bit rate (64 kbit/s MP3)."
                ).format(file=path, size=size // 2**20, limit=MAX_RECORDING_BYTES // 2**20)
            )
        # miniaudio and numpy load only for a recording: 90 ms off every text emergency
        from broadcaster.audio.decode import probe_audio

        probe_audio(path, LONGEST_RECORDING_S)
        return Content(title=path.stem, recording=path.read_bytes(), suffix=suffix)
    raise AnnouncementError(
        _("{file}: send a .txt, an announcement .yaml or a recording ({suffixes}).").format(
            file=path, suffixes=" ".join(RECORDING_SUFFIXES)
        )
    )


def text_content(text: str) -> Content:
    return Content(title=_("Emergency"), text=_checked_text(text, None))


def _checked_text(text: str, path: Path | None) -> str:
    text = unicodedata.normalize("NFC", text).strip()
    where = f"{path}: " if path is not None else ""
    if not text:
        raise EmptyTextError(where + _("the text is empty: there is nothing to read."))
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLongError(
            where
            + _("the text has {count} characters; a bulletin may have at most {limit}.").format(
                count=len(text), limit=MAX_TEXT_CHARS
            )
        )
    return text


def campaign_id_from(path: Path, now: datetime) -> str:
    """An id from the file name without diacritics (`Tiêm chủng.txt` → `tiem-chung`)."""
    name = path.stem.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:63].strip("-")
    return slug if topics.is_name(slug) else f"tin-{now:%Y%m%d-%H%M%S}"


# Checking with the station's readers -------------------------------------------------------------


def check_campaign(campaign: Campaign, timezone: str) -> Recurrence:
    """The campaign as a station would read it, or the station's own message, naming the
    campaign instead of the throw-away file; its recurrence, for the monthly report."""
    label = _("campaign {id}").format(id=campaign.id)
    with tempfile.TemporaryDirectory(prefix="loa-campaign-") as folder:
        root = Path(folder)
        (root / "station.yaml").write_text(
            f"timezone: {timezone}\nrequire_approval: false\n", encoding="utf-8"
        )
        (root / "announcements").mkdir()
        (root / "schedules").mkdir()
        announcement = root / "announcements" / landing.announcement_file(campaign)
        schedule = root / "schedules" / f"{landing.local_id(campaign.id)}.yaml"
        if campaign.content.recording is not None:
            announcement.write_bytes(campaign.content.recording)
        else:
            announcement.write_text(landing.announcement_document(campaign), encoding="utf-8")
        schedule.write_text(landing.schedule_document(campaign, approved=True), encoding="utf-8")
        station = load_station(root)
        try:
            if campaign.content.recording is None:
                load_announcement(station, landing.local_id(campaign.id))
            found = read_schedules(station)
        except LoaError as error:
            raise type(error)(_relabel(error.message, root, announcement, label)) from None
        if found.problems:
            raise ScheduleError(
                "\n".join(_relabel(problem, root, schedule, label) for problem in found.problems)
            )
        return found.entries[0].rule


def _relabel(message: str, root: Path, file: Path, label: str) -> str:
    return message.replace(str(file), label).replace(str(root), label)


def schedule_of(
    times: str | None,
    days: str | None,
    first: str | None,
    until: str | None,
    repeat: int | None,
    gap: str | None,
    date: str | None = None,
) -> dict[str, Any]:
    """The schedule fields of a campaign from the command's options, as a schedule file has
    them; the station's reader checks them."""
    if not times:
        raise ScheduleError(_("A campaign needs --times, e.g. --times 06:30,17h."))
    schedule: dict[str, Any] = {"times": _listed(times)}
    for key, value in (("days", days), ("from", first), ("until", until), ("date", date)):
        if value:
            schedule[key] = _listed(value) if key == "days" else value
    if repeat is not None:
        schedule["repeat"] = repeat
    if gap:
        schedule["gap"] = gap
    return schedule


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# Sending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    id: str
    version: int
    targets: tuple[Target, ...]
    stations: tuple[str, ...]


def reached(province: Province, targets: Sequence[Target]) -> tuple[str, ...]:
    stations = sorted({s for target in targets for s in province.members(target)})
    if not stations:
        raise UnknownTargetError(
            _(
                "No station would receive this: add stations first with 'loa province station "
                "add ID --group GROUP'."
            )
        )
    return tuple(stations)


def send_campaign(
    province: Province,
    passwords: Mapping[str, str],
    store: Store,
    content: Content,
    to: str,
    priority: Priority,
    schedule: dict[str, Any],
    campaign_id: str,
    now: datetime,
) -> Sent:
    if not topics.is_name(campaign_id):
        raise ProvinceError(
            _(
                "'{id}' cannot be a campaign id: use lower-case letters without diacritics, "
                "digits and inner dashes."
            ).format(id=campaign_id)
        )
    targets = province.targets(to)
    stations = reached(province, targets)
    previous = store.campaign(campaign_id)
    version = previous.version + 1 if previous else 1
    campaign = Campaign(
        id=campaign_id,
        version=version,
        priority=priority,
        content=content,
        schedule=schedule,
        sent=iso(now),
        sender=province.name,
    )
    check_campaign(campaign, province.timezone)
    keys = tuple(target_key(t) for t in targets)
    dropped = [k for k in (previous.targets if previous else ()) if k not in keys]
    desired: dict[str, dict[str, int]] = {}
    for key in (*keys, *dropped):
        live = {k: v for k, v in store.live_on(key).items() if k != campaign_id}
        desired[key] = {**live, campaign_id: version} if key in keys else live
    row = CampaignRow(
        id=campaign_id,
        version=version,
        priority=str(priority),
        title=content.title,
        targets=keys,
        state="pending",
        first_sent=previous.first_sent if previous else campaign.sent,
        sent=campaign.sent,
        cancelled=None,
    )
    versions = store.reserve(row, schedule, stations, desired)
    with Connection(province, SENDER, passwords[SENDER]).connect() as link:
        payload = encode(campaign)
        link.wait(
            [
                (link.publish(t.campaign(campaign_id), payload, True), t.campaign(campaign_id))
                for t in targets
            ]
        )
        cleared = [target_from_key(k).campaign(campaign_id) for k in dropped]
        link.wait([(link.publish(topic, b"", True), topic) for topic in cleared])
        _publish_desired(link, desired, versions)
    store.set_state(campaign_id, "live")
    return Sent(campaign_id, version, targets, stations)


def _publish_desired(
    link: Connection, desired: Mapping[str, dict[str, int]], versions: Mapping[str, int]
) -> None:
    mids = []
    for key, campaigns in desired.items():
        topic = target_from_key(key).desired
        document = encode(Desired(version=versions[key], campaigns=campaigns))
        mids.append((link.publish(topic, document, True), topic))
    link.wait(mids)


def send_emergency(
    province: Province,
    passwords: Mapping[str, str],
    store: Store,
    content: Content,
    to: str,
    expires_s: int,
    emergency_id: str,
    now: datetime,
) -> Sent:
    targets = province.targets(to)
    stations = reached(province, targets)
    message = Emergency(
        id=emergency_id, content=content, sent=iso(now), expires_s=expires_s, sender=province.name
    )
    payload = encode(message)
    with Connection(province, SENDER, passwords[SENDER]).connect() as link:
        link.wait([(link.publish(t.cmd, payload, False, expires_s), t.cmd) for t in targets])
    store.add_emergency(
        EmergencyRow(
            emergency_id,
            content.title,
            tuple(target_key(t) for t in targets),
            message.sent,
            expires_s,
            None,
        )
    )
    return Sent(emergency_id, 1, targets, stations)


def cancel(
    province: Province, passwords: Mapping[str, str], store: Store, item_id: str, now: datetime
) -> str:
    """Cancel a campaign (gone from its targets' desired documents, its retained content
    cleared) or stop an emergency; which of the two it was."""
    campaign = store.campaign(item_id)
    if campaign is not None:
        desired = {
            key: {k: v for k, v in store.live_on(key).items() if k != item_id}
            for key in campaign.targets
        }
        versions = store.cancel(item_id, iso(now), desired)
        with Connection(province, SENDER, passwords[SENDER]).connect() as link:
            cleared = [target_from_key(k).campaign(item_id) for k in campaign.targets]
            link.wait([(link.publish(topic, b"", True), topic) for topic in cleared])
            _publish_desired(link, desired, versions)
        return "campaign"
    emergency = store.emergency(item_id)
    if emergency is not None:
        payload = encode(StopEmergency(item_id))
        commands = [target_from_key(k).cmd for k in emergency.targets]
        with Connection(province, SENDER, passwords[SENDER]).connect() as link:
            link.wait([(link.publish(topic, payload, False), topic) for topic in commands])
        store.stop_emergency(item_id, iso(now))
        return "emergency"
    live = [c.id for c in store.campaigns() if c.state == "live"]
    raise UnknownTargetError(
        _("No campaign or emergency '{id}' was sent. Live campaigns: {live}.").format(
            id=item_id, live=", ".join(live) or "—"
        )
    )


# The monthly report -----------------------------------------------------------------------------


def expected(
    versions: Sequence[CampaignVersion],
    cancelled: str | None,
    station: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> int:
    """How many times the campaign was due at `station` in [start, end): each version's
    schedule from when it was sent until the next version (or the cancellation)."""
    count = 0
    for index, version in enumerate(versions):
        if station not in version.stations:
            continue
        following = versions[index + 1].sent if index + 1 < len(versions) else cancelled
        live_from = max(start, datetime.fromisoformat(version.sent).astimezone(zone))
        live_until = (
            min(end, datetime.fromisoformat(following).astimezone(zone)) if following else end
        )
        if live_from >= live_until:
            continue
        rule = rule_of(version)
        count += sum(1 for _at in occurrences(rule, live_from, live_until))
    return count


_RULES: dict[tuple[str, int], Recurrence] = {}


def rule_of(version: CampaignVersion) -> Recurrence:
    key = (version.id, version.version)
    if key not in _RULES:
        probe = Campaign(
            version.id,
            version.version,
            Priority.NORMAL,
            Content(text="."),
            version.schedule,
            version.sent,
        )
        _RULES[key] = check_campaign(probe, "UTC")
    return _RULES[key]
