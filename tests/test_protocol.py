"""The control protocol: one validator for requests, the same strictness for replies."""

from typing import Any

import pytest

from broadcaster.control.protocol import (
    VERSION,
    OnAir,
    Play,
    ProtocolError,
    Queued,
    Refused,
    RelayNow,
    Reload,
    Reloaded,
    Request,
    Say,
    Status,
    StatusReply,
    Stop,
    Stopped,
    Upcoming,
    Waiting,
    encode_reply,
    encode_request,
    parse_reply,
    parse_request,
)
from broadcaster.core.models import Priority
from broadcaster.errors import DaemonError, ExitCode, LoaError, RepeatError

REQUESTS: list[Request] = [
    Say("Họp tổ dân phố lúc 14h30."),
    Say("Cháy!", Priority.EMERGENCY, repeat=3, gap_s=10.0, voice="vi", request_id="r-1"),
    Play("hop-to-dan-pho", Priority.NORMAL, voice="vi-VN-NamMinhNeural"),
    RelayNow("vov1", 1800.0),
    RelayNow("vov1", 90.0, Priority.NORMAL, request_id="r-2"),
    Stop(),
    Status(),
    Reload(),
]
STATUS = StatusReply(
    pid=42,
    since="2026-12-01T06:00:00+07:00",
    station="/srv/loa",
    playing=OnAir(
        "sang", "hop", "2026-12-01T06:30:00+07:00", "normal", "2026-12-01T06:30:01+07:00"
    ),
    queue=(Waiting("say", "Cháy!", "2026-12-01T06:31:00+07:00", "emergency"),),
    next=(Upcoming("toi", "hop", "2026-12-01T19:00:00+07:00"),),
    reload_error=None,
    entries=2,
)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_every_request_survives_the_wire(request_: Request) -> None:
    message = encode_request(request_)
    assert message["version"] == VERSION
    assert parse_request(message) == request_


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("say", Queued(2)),
        ("play", Queued(0, already_queued=True)),
        ("relay", Queued(1)),
        ("stop", Stopped("sang")),
        ("stop", Stopped(None)),
        ("reload", Reloaded(12)),
        ("status", STATUS),
        ("say", Refused("quiet hours", int(ExitCode.QUIET_HOURS))),
        ("status", Refused("busy", busy=True)),
    ],
)
def test_every_reply_survives_the_wire(command: str, reply: Any) -> None:
    assert parse_reply(command, encode_reply(reply)) == reply


BAD: dict[str, tuple[dict[str, Any], type[LoaError]]] = {
    "text-not-text": ({"command": "say", "text": 5}, ProtocolError),
    "repeat-bool": ({"command": "say", "text": "x", "repeat": True}, ProtocolError),
    "repeat-float": ({"command": "say", "text": "x", "repeat": 2.0}, ProtocolError),
    "gap-nan": ({"command": "say", "text": "x", "gap": float("nan")}, ProtocolError),
    "voice-list": ({"command": "play", "announcement": "x", "voice": ["vi"]}, ProtocolError),
    "surrogate": ({"command": "say", "text": "a\udc80"}, ProtocolError),
    "priority": ({"command": "say", "text": "x", "priority": "vip"}, ProtocolError),
    "unknown-command": ({"command": "dance"}, ProtocolError),
    "no-command": ({"text": "x"}, ProtocolError),
    "later-version": ({"command": "status", "version": VERSION + 1}, ProtocolError),
    "version-text": ({"command": "status", "version": "1"}, ProtocolError),
    "request-id-long": ({"command": "say", "text": "x", "request_id": "x" * 65}, ProtocolError),
    "repeat-too-many": ({"command": "say", "text": "x", "repeat": 11}, RepeatError),
    "gap-too-short": ({"command": "say", "text": "x", "repeat": 2, "gap": 0.5}, RepeatError),
    "relay-no-source": ({"command": "relay", "seconds": 60}, ProtocolError),
    "relay-seconds-text": ({"command": "relay", "source": "vov1", "seconds": "60"}, ProtocolError),
    "relay-zero": ({"command": "relay", "source": "vov1", "seconds": 0}, ProtocolError),
    "relay-a-day": ({"command": "relay", "source": "vov1", "seconds": 86400}, ProtocolError),
    "relay-priority": (
        {"command": "relay", "source": "v", "seconds": 9, "priority": "x"},
        ProtocolError,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_request_is_refused_with_the_reason(case: str) -> None:
    message, error = BAD[case]
    with pytest.raises(error) as refused:
        parse_request(message)
    assert refused.value.message.strip()


def test_a_refusal_from_the_protocol_has_the_daemon_exit_code() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_request({"command": "dance"})
    assert refused.value.exit_code == ExitCode.DAEMON
    assert isinstance(refused.value, DaemonError)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("say", {"ok": True, "ahead": True}),
        ("say", {"ok": True, "ahead": 1.5}),
        ("stop", {"ok": True, "stopped": 3}),
        ("reload", {"ok": True, "entries": "3"}),
        ("status", {**encode_reply(STATUS), "playing": {"id": "x"}}),
        ("status", {**encode_reply(STATUS), "reload_error": ["x"]}),
        ("status", {**encode_reply(STATUS), "station": "\udc80"}),
        ("say", {"ok": False, "error": "  "}),
        ("say", []),
        ("say", None),
    ],
)
def test_a_malformed_reply_is_a_daemon_error(command: str, message: Any) -> None:
    with pytest.raises(DaemonError):
        parse_reply(command, message)
