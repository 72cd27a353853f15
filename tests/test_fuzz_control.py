"""Property-based fuzzing of the control channel (issue 7, item 3): a real ControlServer whose
handler is a real, opened Daemon (never started: no scheduler, no player thread), and
`Daemon.answer` called directly.

Whatever arrives, every reply is a JSON object saying `ok`, with the reason when not; the server
keeps serving; a refused request queues nothing, an accepted say/play queues exactly one item.
"""

import json
import os
import socket
import threading
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from broadcaster.control.channel import (
    MAX_REQUEST,
    TOKEN_NAME,
    ControlServer,
    run_dir,
    send,
    socket_path,
)
from broadcaster.core.playout import in_quiet_hours
from broadcaster.core.voices import all_voices
from broadcaster.onair.daemon import Daemon
from broadcaster.station.schedules import PRIORITIES

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CLOSED_EDGE_ENDPOINT = "ws://127.0.0.1:9/x?y"
FUZZ = settings(
    max_examples=int(os.environ.get("LOA_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Bounded: the whole file runs in seconds (LOA_FUZZ_EXAMPLES=5000 fuzzes deeper). One daemon
and one server per test serve every example; each example starts on a day of its own."""
RECORDING = "ghi-am.wav"
COMMANDS = ("say", "play", "status", "reload", "stop")


@dataclass
class Clock:
    """The daemon's wall clock, set by each example."""

    moment: datetime

    def __call__(self, zone: ZoneInfo) -> datetime:
        return self.moment.astimezone(zone)


class Recorder:
    """An output that plays nothing: it takes the segments and keeps their lengths."""

    def __init__(self) -> None:
        self.programs: list[list[int]] = []

    def play(
        self,
        segments: Iterable[Any],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        self.programs.append([len(segment) for segment in segments])


@dataclass
class Opened:
    daemon: Daemon
    clock: Clock
    directory: Path
    days: int = 0

    def new_day(self, at: time) -> None:
        """A day no earlier example used, so ad-hoc requests never share a moment."""
        self.days += 1
        day = datetime(2026, 12, 1, tzinfo=HANOI) + timedelta(days=self.days)
        self.clock.moment = datetime.combine(day.date(), at, tzinfo=HANOI)
        while self.daemon.queue.pop() is not None:
            pass


@pytest.fixture
def opened(station: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Opened]:
    """The example station reading with espeak-ng, a short recording in it, no schedule; opened
    as `loa run` opens it, but never started."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi"))
    (station / "schedules").mkdir()
    with wave.open(str(station / "announcements" / RECORDING), "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\0\0" * 800)
    clock = Clock(datetime(2026, 12, 1, 9, tzinfo=HANOI))
    daemon = Daemon(station, now=clock, output=lambda _station: Recorder())
    daemon.open()
    yield Opened(daemon, clock, station)
    daemon.shutdown()


@pytest.fixture
def served(opened: Opened) -> Iterator[tuple[Opened, bool]]:
    """A real control server in front of the opened daemon, on the Unix socket."""
    server = ControlServer(opened.directory, opened.daemon.answer, unix=True)
    server.start()
    yield opened, True
    server.close()


@pytest.fixture(params=[True, False], ids=["unix", "tcp"])
def served_both(opened: Opened, request: pytest.FixtureRequest) -> Iterator[tuple[Opened, bool]]:
    """The same, on the Unix socket and on the loopback port with its token."""
    server = ControlServer(opened.directory, opened.daemon.answer, unix=request.param)
    server.start()
    yield opened, bool(request.param)
    server.close()


# --- requests ---------------------------------------------------------------------------------

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Anything JSON carries, NaN and Infinity included: Python's json reads them."""
texts = st.one_of(
    st.sampled_from(
        [
            "Kính thưa bà con, chiều nay họp tổ dân phố lúc 14h30.",
            "Kính thưa bà con, chiều nay họp tổ dân phố lúc 14h30.".encode().decode(),
            "Ủy ban nhân dân xã thông báo",
            "UBND xã: 1.500.000đ, 0912 345 678, 01/12/2026",
            "",
            "   \t\n",
            "\ufeff\u200b",
            "...!!!",
            "x" * 5001,
        ]
    ),
    st.text(max_size=60),
    st.text(max_size=60).map(lambda t: "Xin chào " + t),
)
"""What a `say` reads: Vietnamese (composed or not), empty, invisible, overlong, or anything."""
announcements = st.sampled_from(
    [
        "bluezone",
        "hop-to-dan-pho",
        RECORDING,
        "ghi-am",
        "khong-co",
        "lexicon",
        "../station.yaml",
        "/etc/passwd.wav",
        "..",
        "",
        "\x00.wav",
        "a" * 300 + ".mp3",
    ]
) | st.text(max_size=30)
good_texts = st.sampled_from(
    [
        "Kính thưa bà con, chiều nay họp tổ dân phố lúc 14h30.",
        "Ủy ban nhân dân xã thông báo",
        "UBND xã: 1.500.000đ, 0912 345 678, 01/12/2026",
    ]
) | st.text(max_size=60).map(lambda t: "Xin chào " + t)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "text": good_texts,
    "announcement": st.sampled_from(["bluezone", "hop-to-dan-pho", RECORDING]),
    "repeat": st.integers(1, 10),
    "gap": st.integers(1, 7200) | st.floats(1, 7200),
    "priority": st.sampled_from(PRIORITIES),
    "voice": st.sampled_from(all_voices()),
}
"""Each field as `loa say|play` sends it."""
WILD: dict[str, st.SearchStrategy[Any]] = {
    "text": texts | json_values,
    "announcement": announcements | json_values,
    "repeat": st.integers(-2, 12) | json_values,
    "gap": st.integers(-5, 8000) | st.floats() | json_values,
    "priority": st.sampled_from(["urgent", "Emergency", ""]) | json_values,
    "voice": st.sampled_from(["vi-VN-Unknown", "", "VI"]) | json_values,
    "token": st.text(max_size=40),
    "extra": json_values,
}
"""Each field as any other local program might send it."""


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """What `loa say|play|stop|status|reload` sends, with a few fields (or the command) of any
    other value or type."""
    command = draw(st.sampled_from([*COMMANDS, None])) or draw(st.text(max_size=12))
    request: dict[str, Any] = {"command": command}
    for key in draw(st.lists(st.sampled_from(sorted(GOOD)), unique=True)):
        request[key] = draw(GOOD[key])
    for key in draw(st.lists(st.sampled_from(sorted(WILD)), unique=True, max_size=2)):
        request[key] = draw(WILD[key])
    if draw(st.sampled_from(range(10))) == 0:  # text sent from a terminal in another encoding
        key = draw(st.sampled_from(["command", "text", "announcement", "voice", "priority"]))
        request[key] = str(request.get(key, "")) + draw(surrogates)
    return request


def has_surrogates(value: Any) -> bool:
    """Whether a lone surrogate is anywhere in the request (it cannot be sent as UTF-8 JSON
    unescaped)."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(value, ensure_ascii=False))


def status_serialises(opened: Opened) -> None:
    """`loa status` can still be answered: nothing queued holds text that is not Unicode."""
    status = opened.daemon.answer({"command": "status"})
    assert status["ok"] is True
    json.dumps(status, ensure_ascii=False).encode()


def expect_quiet(opened: Opened, request: dict[str, Any]) -> bool:
    quiet = opened.daemon.station.quiet_hours
    return request.get("priority", "priority") != "emergency" and in_quiet_hours(
        quiet, opened.clock.moment.time()
    )


def check_reply(opened: Opened, request: dict[str, Any], reply: Any, queued_before: int) -> None:
    """What every reply promises, and what it did to the queue."""
    assert isinstance(reply, dict), reply
    assert isinstance(reply.get("ok"), bool), reply
    event(f"{request['command'] if request['command'] in COMMANDS else 'other'}: ok={reply['ok']}")
    queue = opened.daemon.queue
    if not reply["ok"]:
        assert isinstance(reply.get("error"), str) and reply["error"].strip(), reply
        assert len(queue) == queued_before, f"a refused request was queued: {request}"
        return
    command = request["command"]
    assert command in COMMANDS, reply
    if command in ("say", "play"):
        assert len(queue) == queued_before + 1, f"not queued: {request}"
        assert not expect_quiet(opened, request), f"queued in quiet hours: {request}"
        item = next(i for i in queue.items() if i.occurrence.scheduled == opened.clock.moment)
        assert item.occurrence.entry_id == command
        assert item.priority == request.get("priority", "priority")
        assert item.repeat == int(request.get("repeat", 1))
        assert item.voice == request.get("voice")
        if command == "say":
            assert item.text == str(request.get("text", ""))
        else:
            assert item.text is None
            assert item.occurrence.announcement == str(request.get("announcement", ""))
        assert isinstance(reply.get("ahead"), int)
    else:
        assert len(queue) == queued_before
    if command == "status":
        assert reply["reload_error"] is None and reply["entries"] == 0


times_of_day = st.one_of(st.times(time(6), time(20, 59, 59)), st.times()).map(
    lambda t: t.replace(microsecond=0)
)
"""Mostly by day; quiet hours (21:00-06:00) too, when only emergencies are taken."""


# --- Daemon.answer, directly --------------------------------------------------------------------


@given(request=requests(), at=times_of_day)
@FUZZ
@example(request={"command": "say", "text": "Họp lúc 14h30", "repeat": 3, "gap": 10}, at=time(9))
@example(
    request={"command": "play", "announcement": RECORDING, "priority": "emergency"}, at=time(23)
)
@example(request={"command": "play", "announcement": "bluezone", "voice": "vi"}, at=time(9))
@example(request={"command": "say", "text": "x", "repeat": 2.9, "gap": True}, at=time(9))
@example(request={"command": "say", "text": "x", "voice": ["vi"]}, at=time(9))
@example(request={"command": "say", "text": None}, at=time(9))
@example(request={"command": "status"}, at=time(9))
def test_answer_replies_ok_or_why_not_and_never_raises(
    opened: Opened, request: dict[str, Any], at: time
) -> None:
    opened.new_day(at)
    before = len(opened.daemon.queue)
    reply = opened.daemon.answer(dict(request))
    check_reply(opened, request, reply, before)
    if reply["ok"]:  # a refusal may quote the bad text: the channel escapes it (see below)
        json.dumps(reply, ensure_ascii=False).encode()
    status_serialises(opened)


WRONG_TYPES = {
    "repeat-word": {"repeat": "hai"},
    "repeat-null": {"repeat": None},
    "repeat-list": {"repeat": [2]},
    "repeat-object": {"repeat": {"n": 2}},
    "repeat-nan": {"repeat": float("nan")},
    "repeat-infinity": {"repeat": float("inf")},
    "gap-word": {"gap": "ba mươi giây"},
    "gap-null": {"gap": None},
    "gap-list": {"gap": [30]},
    "voice-list": {"voice": ["vi"]},
    "voice-object": {"voice": {"name": "vi"}},
}


@pytest.mark.parametrize(
    ("command", "wrong"),
    [("say", wrong) for wrong in WRONG_TYPES.values()] + [("play", WRONG_TYPES["gap-word"])],
    ids=[*WRONG_TYPES, "play-gap-word"],
)
def test_a_field_of_the_wrong_type_is_refused(
    opened: Opened, command: str, wrong: dict[str, Any]
) -> None:
    request = {"command": command, "text": "Họp tổ dân phố", "announcement": "bluezone", **wrong}
    reply = opened.daemon.answer(request)
    assert reply["ok"] is False and reply["error"]
    assert len(opened.daemon.queue) == 0


# --- over the socket ----------------------------------------------------------------------------


def raw(directory: Path, unix: bool, line: bytes) -> bytes:
    """Send `line` as it is; the reply line as it is (empty when the server gave none)."""
    if unix:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(10)
        connection.connect(str(socket_path(directory)))
    else:
        port = json.loads((run_dir(directory) / TOKEN_NAME).read_text())["port"]
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    with connection:
        connection.sendall(line)
        connection.shutdown(socket.SHUT_WR)
        return connection.makefile("rb").readline()


def token(directory: Path, unix: bool) -> dict[str, str]:
    if unix:
        return {}
    return {"token": json.loads((run_dir(directory) / TOKEN_NAME).read_text())["token"]}


def still_serving(directory: Path, unix: bool) -> None:
    reply = send(directory, {"command": "status"}, unix=unix)
    assert reply is not None and reply["ok"] is True, reply


def parsed(line: bytes) -> Any:
    """The reply as JSON: one line, ending in a newline."""
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line
    return json.loads(line)


@given(
    line=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.text(alphabet='{}[]":,0123456789.-eE tfnrulasyd\\\n', max_size=80).map(str.encode),
        json_values.map(lambda v: json.dumps(v).encode()),
    ),
    newline=st.booleans(),
)
@FUZZ
@example(line=b'{"command": "status"', newline=True)
@example(line=b"\xff\xfe{}", newline=True)
@example(line=b"x" * (MAX_REQUEST + 5), newline=False)
@example(line=b'{"command": "say", "text": "a\nb"}', newline=True)
@example(line=b'{"command": "stop"}\n{"command": "say", "text": "hai"}', newline=True)
def test_any_bytes_get_a_json_reply_and_the_server_goes_on(
    served: tuple[Opened, bool], line: bytes, newline: bool
) -> None:
    opened, unix = served
    opened.new_day(time(9))
    before = len(opened.daemon.queue)
    reply = parsed(raw(opened.directory, unix, line + (b"\n" if newline else b"")))
    first = line.split(b"\n", 1)[0]
    try:
        request = json.loads(first)
    except ValueError:
        request = None
    if isinstance(request, dict) and isinstance(request.get("command"), str):
        check_reply(opened, request, reply, before)
    else:
        assert reply["ok"] is False and reply["error"], reply
        assert len(opened.daemon.queue) == before
    still_serving(opened.directory, unix)


@given(request=requests(), at=times_of_day, ascii_only=st.booleans())
@FUZZ
@example(
    request={"command": "say", "text": "Kính thưa bà con", "priority": "emergency"},
    at=time(23),
    ascii_only=False,
)
@example(request={"command": "play", "announcement": "hop-to-dan-pho"}, at=time(9), ascii_only=True)
@example(request={"command": "reload"}, at=time(9), ascii_only=False)
@example(request={"command": "stop", "text": None}, at=time(9), ascii_only=False)
def test_any_request_gets_a_json_reply_and_the_server_goes_on(
    served_both: tuple[Opened, bool], request: dict[str, Any], at: time, ascii_only: bool
) -> None:
    opened, unix = served_both
    opened.new_day(at)
    before = len(opened.daemon.queue)
    sent = {**request, **token(opened.directory, unix)}
    line = json.dumps(sent, ensure_ascii=ascii_only or has_surrogates(sent)).encode() + b"\n"
    check_reply(opened, request, parsed(raw(opened.directory, unix, line)), before)
    status_serialises(opened)
    still_serving(opened.directory, unix)


@pytest.mark.parametrize(
    "request_line",
    [
        b'{"command": "\\ud800"}',
        b'{"command": "say", "text": "x", "priority": "\\udcff"}',
        b'{"command": "play", "announcement": "\\udc80"}',
    ],
    ids=["command", "priority", "announcement"],
)
def test_a_reply_quoting_a_lone_surrogate_is_still_sent(
    served: tuple[Opened, bool], request_line: bytes
) -> None:
    opened, unix = served
    reply = parsed(raw(opened.directory, unix, request_line + b"\n"))
    assert reply["ok"] is False and reply["error"]
    assert len(opened.daemon.queue) == 0
    still_serving(opened.directory, unix)


def test_a_say_holding_a_lone_surrogate_is_refused_and_breaks_nothing(
    opened: Opened,
) -> None:
    reply = opened.daemon.answer({"command": "say", "text": "Xin chào \ud800 bà con"})
    assert reply["ok"] is False and reply["error"], reply
    assert len(opened.daemon.queue) == 0
    status_serialises(opened)
    assert opened.daemon.play_next(timeout=0) is False  # nothing for the player thread


def test_send_with_text_from_a_terminal_in_another_encoding_does_not_crash(
    served: tuple[Opened, bool],
) -> None:
    opened, unix = served
    text = b"Ch\xe0o b\xe0 con".decode("utf-8", "surrogateescape")  # Latin-1 bytes in argv
    reply = send(opened.directory, {"command": "say", "text": text}, unix=unix)
    assert reply is not None and reply["ok"] is False and reply["error"], reply
    assert len(opened.daemon.queue) == 0
    still_serving(opened.directory, unix)


def test_a_wrong_repeat_over_the_socket_gets_a_refusal(served: tuple[Opened, bool]) -> None:
    opened, unix = served
    reply = send(opened.directory, {"command": "say", "text": "x", "repeat": "hai"}, unix=unix)
    assert reply is not None and reply["ok"] is False and reply["error"]
    still_serving(opened.directory, unix)
