"""The control protocol: what `loa` commands (and later the web console and the province link)
may ask a running station, and what it answers — typed, versioned, and checked in one place.

On the wire each message is one JSON object. A request names its `command` and may carry
`version` (absent means version 1). `parse_request` is the one validator of a request (types,
Unicode, bounds); `parse_reply` checks a reply the same way on the client's side, so a malformed
or spoofed reply becomes a clear DaemonError instead of a crash. What the station can refuse
only by looking at itself (an unknown announcement or voice, quiet hours) it refuses in its reply.
"""

import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from broadcaster.core.compose import DEFAULT_GAP_S, check_repeat
from broadcaster.core.models import Priority
from broadcaster.errors import DaemonError, ExitCode, LoaError
from broadcaster.i18n import _

VERSION = 1
"""Raised when a request or reply changes meaning; a station refuses requests of a later one."""
MAX_REQUEST_ID = 64
MAX_RELAY_S = 4 * 3600.0
"""No ad-hoc relay runs longer: a typing slip must not hold the loudspeakers for a day."""


class Command(StrEnum):
    SAY = "say"
    PLAY = "play"
    STOP = "stop"
    STATUS = "status"
    RELOAD = "reload"
    RELAY = "relay"


class ProtocolError(DaemonError):
    """A request that is not one of the protocol's, with the reason in the officer's words."""


# Requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Read `text` aloud. `request_id` makes a retry safe: the station queues it once."""

    text: str
    priority: Priority = Priority.PRIORITY
    repeat: int = 1
    gap_s: float = DEFAULT_GAP_S
    voice: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Play:
    """Play an announcement of the station's `announcements/` folder (text or recording)."""

    announcement: str
    priority: Priority = Priority.PRIORITY
    repeat: int = 1
    gap_s: float = DEFAULT_GAP_S
    voice: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class RelayNow:
    """Relay the station's source `source` now for `seconds` (`loa stop` ends it sooner)."""

    source: str
    seconds: float
    priority: Priority = Priority.PRIORITY
    request_id: str | None = None


@dataclass(frozen=True)
class Stop:
    """Stop what is on the air now."""


@dataclass(frozen=True)
class Status:
    """What plays, what waits, what comes next."""


@dataclass(frozen=True)
class Reload:
    """Read the station's files again now; answered once the reading is done."""


Request = Say | Play | RelayNow | Stop | Status | Reload
Broadcast = Say | Play

# Replies --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """A say or play accepted: it will air once. `already_queued`: this very request (same
    occurrence or same request id) was accepted before, and is not queued a second time."""

    ahead: int
    already_queued: bool = False
    sound: str | None = None
    """Why the station's sound device does not open, if it does not: the item will not be
    heard."""


@dataclass(frozen=True)
class Stopped:
    stopped: str | None
    """The id of what was stopped; None when nothing was on the air."""


@dataclass(frozen=True)
class Reloaded:
    entries: int


@dataclass(frozen=True)
class Waiting:
    id: str
    announcement: str
    scheduled: str
    priority: str


@dataclass(frozen=True)
class OnAir:
    id: str
    announcement: str
    scheduled: str
    priority: str
    started: str


@dataclass(frozen=True)
class Upcoming:
    id: str
    announcement: str
    start: str


@dataclass(frozen=True)
class MonitorAlarm:
    kind: str
    """An AlarmKind: dead-air, off-air, unexpected-sound, too-loud, device, audio-log."""
    started: str
    detail: str


@dataclass(frozen=True)
class MonitorStatus:
    """The on-air monitor of a running station."""

    device: str
    problem: str | None
    """Why it does not listen (starting, device missing or gone); None: it listens."""
    alarms: tuple[MonitorAlarm, ...] = ()
    """The alarms that last now."""


@dataclass(frozen=True)
class StatusReply:
    pid: int
    since: str
    station: str
    playing: OnAir | None
    queue: tuple[Waiting, ...]
    next: tuple[Upcoming, ...]
    reload_error: str | None
    entries: int
    sound: str | None = None
    """Why the sound device does not open (at start or at the last broadcast), if it does not."""
    speech_ready: tuple[int, int] | None = None
    """Online speech of the next 48 hours already rendered, of how many (at the last cache
    round); None before the first round."""
    monitor: MonitorStatus | None = None
    """The on-air monitor; None: the station has none."""


@dataclass(frozen=True)
class Refused:
    """Not done, and why. `busy`: the station had too many callers at once; ask again."""

    error: str
    exit_code: int = int(ExitCode.DAEMON)
    busy: bool = False


Reply = Queued | Stopped | Reloaded | StatusReply | Refused


# To and from the wire ---------------------------------------------------------------------------


def encode_request(request: Request) -> dict[str, Any]:
    message: dict[str, Any] = {"command": _command_of(request), "version": VERSION}
    if isinstance(request, Say | Play):
        message.update(asdict(request))
        message["gap"] = message.pop("gap_s")
        message["priority"] = str(request.priority)
        message = {key: value for key, value in message.items() if value is not None}
    if isinstance(request, RelayNow):
        message.update(asdict(request), priority=str(request.priority))
        message = {key: value for key, value in message.items() if value is not None}
    return message


def encode_reply(reply: Reply) -> dict[str, Any]:
    content = asdict(reply)
    if isinstance(reply, StatusReply):
        content["queue"] = list(content["queue"])
        content["next"] = list(content["next"])
        if reply.speech_ready is not None:
            content["speech_ready"] = list(reply.speech_ready)
        if reply.monitor is not None:
            content["monitor"]["alarms"] = list(content["monitor"]["alarms"])
    return {"ok": not isinstance(reply, Refused), "version": VERSION, **content}


def refusal(error: LoaError) -> Refused:
    return Refused(error.message, int(error.exit_code))


def parse_request(message: Any) -> Request:
    """The one check of a request; ProtocolError (or RepeatError, as `loa say` gives it) says
    what is wrong."""
    if not isinstance(message, dict) or not isinstance(message.get("command"), str):
        raise ProtocolError(_("The request names no command."))
    _check_unicode(message)
    version = message.get("version", VERSION)
    if not _is_whole(version):
        raise _invalid()
    if version > VERSION:
        raise ProtocolError(
            _(
                "This station speaks control protocol version {ours}, the request version "
                "{theirs}: use the same version of Loa on both sides."
            ).format(ours=VERSION, theirs=version)
        )
    command = message["command"]
    if command == Command.STOP:
        return Stop()
    if command == Command.STATUS:
        return Status()
    if command == Command.RELOAD:
        return Reload()
    if command == Command.RELAY:
        return _relay_now(message)
    if command not in (Command.SAY, Command.PLAY):
        raise ProtocolError(_("Unknown command: {command}.").format(command=command))
    priority = message.get("priority", Priority.PRIORITY)
    if priority not in tuple(Priority):
        raise ProtocolError(_("Unknown priority: {value}.").format(value=priority))
    repeat, gap_s = message.get("repeat", 1), message.get("gap", DEFAULT_GAP_S)
    voice, request_id = message.get("voice"), message.get("request_id")
    subject = message.get("text" if command == Command.SAY else "announcement", "")
    if not (
        isinstance(subject, str)
        and (voice is None or isinstance(voice, str))
        and (request_id is None or isinstance(request_id, str))
        and _is_whole(repeat)
        and isinstance(gap_s, int | float)
        and not isinstance(gap_s, bool)
        and math.isfinite(gap_s)
    ):
        raise _invalid()
    if request_id is not None and not 0 < len(request_id) <= MAX_REQUEST_ID:
        raise _invalid()
    check_repeat(repeat, gap_s)
    details = {
        "priority": Priority(priority),
        "repeat": repeat,
        "gap_s": float(gap_s),
        "voice": voice,
        "request_id": request_id,
    }
    if command == Command.SAY:
        return Say(subject, **details)
    return Play(subject, **details)


def _relay_now(message: dict[str, Any]) -> RelayNow:
    source, seconds = message.get("source"), message.get("seconds")
    priority, request_id = message.get("priority", Priority.PRIORITY), message.get("request_id")
    if priority not in tuple(Priority):
        raise ProtocolError(_("Unknown priority: {value}.").format(value=priority))
    if not (
        isinstance(source, str)
        and source
        and isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and math.isfinite(seconds)
        and (request_id is None or (isinstance(request_id, str) and request_id))
    ) or (request_id is not None and len(request_id) > MAX_REQUEST_ID):
        raise _invalid()
    if not 0 < seconds <= MAX_RELAY_S:
        raise ProtocolError(
            _("A relay lasts from a second to {hours} hours, not {seconds} s.").format(
                hours=round(MAX_RELAY_S / 3600), seconds=seconds
            )
        )
    return RelayNow(source, float(seconds), Priority(priority), request_id)


def parse_reply(command: object, message: Any) -> Reply:
    """The reply to a request of `command`, checked as strictly as a request: anything else is
    a DaemonError."""
    try:
        if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
            raise ValueError
        _check_unicode(message)
        if not message["ok"]:
            error, code = message.get("error"), message.get("exit_code", int(ExitCode.DAEMON))
            if not (isinstance(error, str) and error.strip() and _is_whole(code)):
                raise ValueError
            if code not in tuple(ExitCode) or code == ExitCode.OK:
                code = int(ExitCode.DAEMON)
            return Refused(error, code, message.get("busy") is True)
        if command in (Command.SAY, Command.PLAY, Command.RELAY):
            ahead = message.get("ahead")
            if not isinstance(ahead, int) or isinstance(ahead, bool) or ahead < 0:
                raise ValueError
            return Queued(
                ahead,
                message.get("already_queued") is True,
                _optional_text(message.get("sound")),
            )
        if command == Command.STOP:
            return Stopped(_optional_text(message.get("stopped")))
        if command == Command.RELOAD:
            entries = message.get("entries", 0)
            if not _is_whole(entries):
                raise ValueError
            return Reloaded(entries)
        if command == Command.STATUS:
            return _parse_status(message)
        raise ValueError  # "ok" to a command the protocol does not have

    except (ValueError, TypeError, KeyError) as error:
        raise DaemonError(
            _("The running Loa gave an answer this Loa does not understand; see its log.")
        ) from error


def _parse_status(message: dict[str, Any]) -> StatusReply:
    playing = message["playing"]
    if not isinstance(message["queue"], list) or not isinstance(message["next"], list):
        raise ValueError
    pid, entries = message["pid"], message["entries"]
    if not (_is_whole(pid) and _is_whole(entries)):
        raise ValueError
    return StatusReply(
        pid=pid,
        since=_text(message["since"]),
        station=_text(message["station"]),
        playing=None if playing is None else OnAir(**_texts(playing, OnAir)),
        queue=tuple(Waiting(**_texts(item, Waiting)) for item in message["queue"]),
        next=tuple(Upcoming(**_texts(item, Upcoming)) for item in message["next"]),
        reload_error=_optional_text(message["reload_error"]),
        entries=entries,
        sound=_optional_text(message.get("sound")),
        speech_ready=_pair(message.get("speech_ready")),
        monitor=_monitor(message.get("monitor")),
    )


def _monitor(value: Any) -> MonitorStatus | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("alarms", []), list):
        raise ValueError
    return MonitorStatus(
        device=_text(value["device"]),
        problem=_optional_text(value.get("problem")),
        alarms=tuple(
            MonitorAlarm(**_texts(alarm, MonitorAlarm)) for alarm in value.get("alarms", [])
        ),
    )


def _pair(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if not (isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_whole, value))):
        raise ValueError
    return int(value[0]), int(value[1])


def _texts(value: Any, kind: type) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError
    return {name.name: _text(value[name.name]) for name in fields(kind)}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_unicode(message: dict[str, Any]) -> None:
    """Text that can be stored and shown: a lone surrogate cannot go into the as-run log."""
    for key, value in message.items():
        for text in (key, value):
            if isinstance(text, str) and not _encodes(text):
                raise ProtocolError(_("The request holds text that is not valid Unicode."))


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _invalid() -> ProtocolError:
    return ProtocolError(
        _(
            "The request is not valid: text, announcement and voice are text, repeat is a whole "
            "number and gap a number of seconds."
        )
    )


def _command_of(request: Request) -> Command:
    return {
        Say: Command.SAY,
        Play: Command.PLAY,
        RelayNow: Command.RELAY,
        Stop: Command.STOP,
        Status: Command.STATUS,
        Reload: Command.RELOAD,
    }[type(request)]
