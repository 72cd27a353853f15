"""What travels between the province and its stations: typed messages, one validator.

Each MQTT payload is one UTF-8 JSON object with `kind` and `v` (the wire version). `decode`
checks everything a station or the province must trust — size, kinds, ids, Unicode, numbers —
and raises `BadMessage` (logged and dropped by the receiver, never a crash). Shaped after CAP 1.2
(identifier, sender, sent, expires) so that a CAP export stays cheap.

Recordings travel inside the message (base64) with their sha256: a station airs exactly the
province's audio, and refuses audio that does not match or does not decode.
"""

import base64
import binascii
import hashlib
import json
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from broadcaster.core.models import Priority
from broadcaster.province.topics import is_name

WIRE_VERSION = 1
MAX_TEXT_CHARS = 20_000
"""About twenty minutes of speech: more is not a bulletin."""
MAX_RECORDING_BYTES = 8 * 1024 * 1024
"""A 15-minute MP3 at 64 kbit/s fits; the broker's `message_size_limit` allows its base64."""
MAX_MESSAGE_BYTES = MAX_RECORDING_BYTES * 4 // 3 + 64 * 1024
MAX_SMALL_MESSAGE_BYTES = 256 * 1024
"""Heartbeats, as-run rows, acks, desired states: nothing legitimate comes near this."""
RECORDING_SUFFIXES = (".mp3", ".wav", ".ogg", ".flac", ".m4a", ".aac", ".amr", ".opus")
MAX_EXPIRES_S = 24 * 3600
SCHEDULE_KEYS = (
    "times",
    "days",
    "from",
    "until",
    "date",
    "every",
    "except",
    "repeat",
    "gap",
    "start",
    "late_limit",
    "catch_up",
)
"""The schedule fields a campaign may carry: those of a schedule entry, but its id,
announcement, priority and status, which the station sets."""


class BadMessage(ValueError):
    """A payload that is not one of ours, or not whole: the reason, for the log."""


@dataclass(frozen=True)
class Content:
    """What airs: text for the station's voice, or a recording played as it is."""

    title: str = ""
    text: str | None = None
    recording: bytes | None = None
    suffix: str = ""
    """The recording's file suffix (`.mp3`…), which tells the decoder its format."""
    voice: str | None = None

    @property
    def sha256(self) -> str:
        payload = self.recording if self.recording is not None else (self.text or "").encode()
        return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class Campaign:
    """A normal or priority bulletin with its schedule; version n+1 replaces version n."""

    id: str
    version: int
    priority: Priority
    content: Content
    schedule: dict[str, Any]
    """Schedule-entry fields (SCHEDULE_KEYS), as YAML would give them: the station checks them
    with the same reader as its own files."""
    sent: str
    sender: str = ""


@dataclass(frozen=True)
class Desired:
    """The live campaigns of one target, as id → version: a campaign gone from it is
    cancelled. Retained, so a station rebuilt from scratch gets every live campaign."""

    version: int
    campaigns: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Emergency:
    """Airs at once, pre-empting what plays. The broker's message expiry is the deadline;
    `expires_s` and `sent` repeat it for brokers that deliver late (EMQX #14462)."""

    id: str
    content: Content
    sent: str
    expires_s: int
    sender: str = ""


@dataclass(frozen=True)
class StopEmergency:
    """Cancel an emergency: stop it if it is on the air, never start it."""

    id: str


@dataclass(frozen=True)
class Presence:
    online: bool
    connection: int = 0
    """Counts the station's connections: the province trusts the highest (retained messages
    can arrive out of order)."""
    at: str = ""
    software: str = ""


@dataclass(frozen=True)
class Heartbeat:
    at: str
    """The station's clock (UTC) when sent: the province computes the offset."""
    software: str
    connection: int
    on_air: str | None
    queue: int
    ready_48h: int
    """Broadcasts of the next 48 hours whose speech is rendered and cached…"""
    due_48h: int
    """…of this many."""
    last_asrun: dict[str, Any] | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class AsRun:
    """One as-run row; the province keeps it once per (station, entry, scheduled)."""

    entry_id: str
    scheduled: str
    announcement: str
    priority: str
    started: str | None
    ended: str | None
    result: str
    error: str = ""
    campaign: str | None = None
    heard: str = ""
    """What the station's on-air monitor heard: yes, partly, no, unknown; empty when not judged
    (no monitor). Sent only when judged, so that a province of an older Loa takes the rows of
    stations without a monitor; a row judged after it was sent is sent again."""
    heard_db: float | None = None
    heard_delay_ms: int | None = None
    heard_reason: str = ""


HEARD_VALUES = ("yes", "partly", "no", "unknown")
HEARD_FIELDS = ("heard", "heard_db", "heard_delay_ms", "heard_reason")


@dataclass(frozen=True)
class Ack:
    """What a station did with a bulletin: received, refused (with why) or expired."""

    id: str
    state: str
    version: int = 0
    detail: str = ""


ACK_STATES = ("received", "refused", "expired", "cancelled")
Message = Campaign | Desired | Emergency | StopEmergency | Presence | Heartbeat | AsRun | Ack
_KINDS: dict[str, type] = {
    "campaign": Campaign,
    "desired": Desired,
    "emergency": Emergency,
    "stop": StopEmergency,
    "presence": Presence,
    "heartbeat": Heartbeat,
    "asrun": AsRun,
    "ack": Ack,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# Encoding -------------------------------------------------------------------------------------


def encode(message: Message) -> bytes:
    body: dict[str, Any] = {"kind": _KIND_OF[type(message)], "v": WIRE_VERSION}
    for name, value in vars(message).items():
        body[name] = _encode_content(value) if isinstance(value, Content) else value
    if isinstance(message, Heartbeat):
        body["errors"] = list(message.errors)
    if isinstance(message, AsRun) and not message.heard:
        for name in HEARD_FIELDS:
            del body[name]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _encode_content(content: Content) -> dict[str, Any]:
    body: dict[str, Any] = {"title": content.title, "sha256": content.sha256}
    if content.text is not None:
        body["text"] = content.text
    if content.recording is not None:
        body["recording"] = base64.b64encode(content.recording).decode("ascii")
        body["suffix"] = content.suffix
    if content.voice:
        body["voice"] = content.voice
    return body


# Decoding -------------------------------------------------------------------------------------


def decode(payload: bytes) -> Message:
    """The message in `payload`, whole and valid, or BadMessage saying why not."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"{len(payload)} bytes: more than {MAX_MESSAGE_BYTES}")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadMessage(f"not UTF-8 JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadMessage("not a JSON object")
    kind = body.get("kind")
    if kind not in _KINDS:
        raise BadMessage(f"unknown kind {kind!r}")
    if body.get("v") != WIRE_VERSION:
        raise BadMessage(f"wire version {body.get('v')!r}, this Loa reads {WIRE_VERSION}")
    if kind not in ("campaign", "emergency") and len(payload) > MAX_SMALL_MESSAGE_BYTES:
        raise BadMessage(f"{len(payload)} bytes for a {kind}")
    fields = _Fields(body)
    decoded = _DECODERS[kind](fields)
    fields.no_others()
    return decoded


class _Fields:
    """Reads one JSON object's fields, each checked; `no_others` refuses unknown ones."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.seen = {"kind", "v"}

    def _get(self, name: str, required: bool) -> Any:
        self.seen.add(name)
        if name not in self.body:
            if required:
                raise BadMessage(f"{name} is missing")
            return None
        return self.body[name]

    def text(self, name: str, limit: int = 200, required: bool = True) -> str | None:
        value = self._get(name, required)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise BadMessage(f"{name} is not text")
        if len(value) > limit:
            raise BadMessage(f"{name} is longer than {limit} characters")
        if "\x00" in value:
            raise BadMessage(f"{name} contains NUL")
        return unicodedata.normalize("NFC", value)

    def name(self, name: str) -> str:
        value = self._get(name, True)
        if not is_name(value):
            raise BadMessage(f"{name} {value!r} is not an id (a-z, 0-9, inner dashes)")
        assert isinstance(value, str)
        return value

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int:
        value = self._get(name, default is None)
        if value is None:
            assert default is not None
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadMessage(f"{name} is not a whole number from {low} to {high}")
        return int(value)

    def number(self, name: str, low: float, high: float) -> float | None:
        """An optional finite number within [low, high]."""
        value = self._get(name, False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadMessage(f"{name} is not a number")
        if not (math.isfinite(value) and low <= value <= high):
            raise BadMessage(f"{name} is not a number from {low} to {high}")
        return float(value)

    def flag(self, name: str) -> bool:
        value = self._get(name, True)
        if not isinstance(value, bool):
            raise BadMessage(f"{name} is not true or false")
        return value

    def instant(self, name: str, required: bool = True) -> str | None:
        value = self.text(name, 64, required)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadMessage(f"{name} {value!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise BadMessage(f"{name} {value!r} has no UTC offset")
        return value

    def mapping(self, name: str, required: bool = True) -> dict[str, Any] | None:
        value = self._get(name, required)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise BadMessage(f"{name} is not an object")
        return value

    def no_others(self) -> None:
        others = sorted(set(self.body) - self.seen)
        if others:
            raise BadMessage(f"unknown fields: {', '.join(others)}")


def _content(fields: _Fields) -> Content:
    body = fields.mapping("content")
    assert body is not None
    inner = _Fields(body)
    inner.seen.clear()
    title = inner.text("title", 200, required=False) or ""
    text = inner.text("text", MAX_TEXT_CHARS, required=False)
    voice = inner.text("voice", 100, required=False)
    sha256 = inner.text("sha256", 64)
    encoded = inner.text("recording", MAX_MESSAGE_BYTES, required=False)
    suffix = inner.text("suffix", 8, required=False) or ""
    inner.no_others()
    if (text is None) == (encoded is None):
        raise BadMessage("content needs text or a recording, not both")
    recording = None
    if encoded is not None:
        if suffix not in RECORDING_SUFFIXES:
            raise BadMessage(f"recording suffix {suffix!r} is not one of {RECORDING_SUFFIXES}")
        try:
            recording = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadMessage("recording is not base64") from None
        if not recording or len(recording) > MAX_RECORDING_BYTES:
            raise BadMessage(f"recording is empty or larger than {MAX_RECORDING_BYTES} bytes")
    elif not (text or "").strip():
        raise BadMessage("text is empty")
    content = Content(title, text, recording, suffix if recording is not None else "", voice)
    if content.sha256 != sha256:
        raise BadMessage("content does not match its sha256: damaged on the way")
    return content


def _schedule(fields: _Fields) -> dict[str, Any]:
    schedule = fields.mapping("schedule")
    assert schedule is not None
    unknown = sorted(set(schedule) - set(SCHEDULE_KEYS))
    if unknown:
        raise BadMessage(f"schedule fields not allowed: {', '.join(map(str, unknown))}")
    for key, value in schedule.items():
        _check_plain(key, value)
    return schedule


def _check_plain(key: str, value: Any, depth: int = 0) -> None:
    """Schedule values are what YAML gives: text, numbers, booleans, short lists of them."""
    if isinstance(value, str):
        if len(value) > 200 or "\x00" in value:
            raise BadMessage(f"schedule {key} is too long or contains NUL")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadMessage(f"schedule {key} is not a finite number")
    elif isinstance(value, list) and depth == 0:
        if len(value) > 100:
            raise BadMessage(f"schedule {key} has more than 100 items")
        for item in value:
            _check_plain(key, item, depth + 1)
    elif not isinstance(value, bool | int) or value is None:
        raise BadMessage(f"schedule {key} is not text, a number or a list")


def _campaign(fields: _Fields) -> Campaign:
    priority = fields.text("priority", 20)
    if priority not in (Priority.NORMAL, Priority.PRIORITY):
        raise BadMessage(f"campaign priority {priority!r} is not normal or priority")
    return Campaign(
        id=fields.name("id"),
        version=fields.integer("version", 1, 2**53),
        priority=Priority(priority),
        content=_content(fields),
        schedule=_schedule(fields),
        sent=fields.instant("sent") or "",
        sender=fields.text("sender", 100, required=False) or "",
    )


def _desired(fields: _Fields) -> Desired:
    campaigns = fields.mapping("campaigns")
    assert campaigns is not None
    if len(campaigns) > 10_000:
        raise BadMessage("more than 10,000 live campaigns")
    for campaign_id, version in campaigns.items():
        if not is_name(campaign_id):
            raise BadMessage(f"campaign id {campaign_id!r} is not an id")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise BadMessage(f"campaign {campaign_id} has no version")
    return Desired(version=fields.integer("version", 0, 2**53), campaigns=dict(campaigns))


def _emergency(fields: _Fields) -> Emergency:
    return Emergency(
        id=fields.name("id"),
        content=_content(fields),
        sent=fields.instant("sent") or "",
        expires_s=fields.integer("expires_s", 1, MAX_EXPIRES_S),
        sender=fields.text("sender", 100, required=False) or "",
    )


def _stop(fields: _Fields) -> StopEmergency:
    return StopEmergency(fields.name("id"))


def _presence(fields: _Fields) -> Presence:
    return Presence(
        online=fields.flag("online"),
        connection=fields.integer("connection", 0, 2**53, default=0),
        at=fields.instant("at", required=False) or "",
        software=fields.text("software", 50, required=False) or "",
    )


def _heartbeat(fields: _Fields) -> Heartbeat:
    errors = fields._get("errors", False) or []
    if not isinstance(errors, list) or len(errors) > 20:
        raise BadMessage("errors is not a short list")
    for error in errors:
        if not isinstance(error, str) or len(error) > 1000:
            raise BadMessage("an error is not short text")
    return Heartbeat(
        at=fields.instant("at") or "",
        software=fields.text("software", 50) or "",
        connection=fields.integer("connection", 0, 2**53),
        on_air=fields.text("on_air", 200, required=False),
        queue=fields.integer("queue", 0, 1_000_000),
        ready_48h=fields.integer("ready_48h", 0, 1_000_000),
        due_48h=fields.integer("due_48h", 0, 1_000_000),
        last_asrun=fields.mapping("last_asrun", required=False),
        errors=tuple(errors),
    )


def _asrun(fields: _Fields) -> AsRun:
    return AsRun(
        entry_id=fields.text("entry_id", 200) or "",
        scheduled=fields.instant("scheduled") or "",
        announcement=fields.text("announcement", 300) or "",
        priority=fields.text("priority", 20) or "",
        started=fields.instant("started", required=False),
        ended=fields.instant("ended", required=False),
        result=fields.text("result", 30) or "",
        error=fields.text("error", 2000, required=False) or "",
        campaign=fields.text("campaign", 64, required=False),
        **_heard(fields),
    )


def _heard(fields: _Fields) -> dict[str, Any]:
    """The on-air monitor's verdict on an as-run row; absent from older stations' rows."""
    heard = fields.text("heard", 20, required=False) or ""
    if heard and heard not in HEARD_VALUES:
        raise BadMessage(f"heard {heard!r} is not one of {HEARD_VALUES}")
    delay = fields.number("heard_delay_ms", 0, 600_000)
    return {
        "heard": heard,
        "heard_db": fields.number("heard_db", -200, 50),
        "heard_delay_ms": None if delay is None else int(delay),
        "heard_reason": fields.text("heard_reason", 2000, required=False) or "",
    }


def _ack(fields: _Fields) -> Ack:
    state = fields.text("state", 20)
    if state not in ACK_STATES:
        raise BadMessage(f"ack state {state!r} is not one of {ACK_STATES}")
    return Ack(
        id=fields.name("id"),
        state=state,
        version=fields.integer("version", 0, 2**53, default=0),
        detail=fields.text("detail", 2000, required=False) or "",
    )


_DECODERS: dict[str, Callable[[_Fields], Message]] = {
    "campaign": _campaign,
    "desired": _desired,
    "emergency": _emergency,
    "stop": _stop,
    "presence": _presence,
    "heartbeat": _heartbeat,
    "asrun": _asrun,
    "ack": _ack,
}
