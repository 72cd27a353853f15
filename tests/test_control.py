"""The control channel between `loa` commands and a running `loa run`, over a Unix socket and over
the loopback TCP port with a token file (the Windows path, which runs on Linux too)."""

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broadcaster.control.channel import (
    MAX_REQUEST,
    MAX_UNIX_PATH,
    RUN_DIR,
    SOCKET_NAME,
    TOKEN_NAME,
    ControlServer,
    Handler,
    run_dir,
    send,
    socket_path,
    token_path,
)
from broadcaster.control.protocol import (
    Play,
    Queued,
    Say,
    Status,
    StatusReply,
    Stopped,
    Waiting,
    encode_reply,
    parse_request,
    refusal,
)
from broadcaster.errors import DaemonError, LoaError
from broadcaster.i18n import _
from tests.mosquitto import free_port

TOO_LONG = _("The request is too long.")
NOT_JSON = _("The request is not valid JSON.")
NO_COMMAND = _("The request names no command.")
WRONG_TOKEN = _("Wrong token: only Loa on this PC may ask.")
VIETNAMESE = "Kính thưa bà con! Bão số 3 đổ bộ lúc 14 giờ — nước dâng 2,5 m; sơ tán ngay."

Start = Callable[..., ControlServer]


class Echo:
    """A handler that checks each request with the protocol, records the good ones and answers
    as a station would: `status` lists the texts said so far."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            request = parse_request(message)
        except LoaError as error:
            return encode_reply(refusal(error))
        self.requests.append(dict(message))
        if isinstance(request, Say | Play):
            return encode_reply(Queued(len(self.requests) - 1))
        if isinstance(request, Status):
            return encode_reply(status_of(self.requests))
        return encode_reply(Stopped(None))


def status_of(requests: list[dict[str, Any]]) -> StatusReply:
    said = [r["text"] for r in requests if r["command"] == "say"]
    return StatusReply(
        pid=1,
        since="2026-12-01T09:00:00+07:00",
        station="x",
        playing=None,
        queue=tuple(Waiting("say", text, "2026-12-01T09:00:00+07:00", "priority") for text in said),
        next=(),
        reload_error=None,
        entries=0,
    )


def queued(ahead: int) -> dict[str, Any]:
    return encode_reply(Queued(ahead))


STOPPED = encode_reply(Stopped(None))


@pytest.fixture(params=[True, False], ids=["unix", "tcp"])
def unix(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(scope="module")
def closing() -> Iterator[list[threading.Thread]]:
    """Closing a server waits up to half a second for its loop: tests close theirs in threads."""
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(timeout=10)


@pytest.fixture
def start(closing: list[threading.Thread]) -> Iterator[Start]:
    """Start servers that are closed after the test."""
    servers: list[ControlServer] = []

    def start_server(station_dir: Path, handler: Handler, unix: bool) -> ControlServer:
        server = ControlServer(station_dir, handler, unix=unix)
        server.start()
        servers.append(server)
        return server

    yield start_server
    for server in servers:
        thread = threading.Thread(target=server.close)
        thread.start()
        closing.append(thread)


@pytest.fixture
def echo() -> Echo:
    return Echo()


@dataclass
class Served:
    """A running server shared by the tests that do not stop it."""

    station: Path
    unix: bool
    echo: Echo


def serve(tmp_path_factory: pytest.TempPathFactory, unix: bool) -> Iterator[Served]:
    station = tmp_path_factory.mktemp("station")
    echo = Echo()
    server = ControlServer(station, echo, unix=unix)
    server.start()
    yield Served(station, unix, echo)
    server.close()


@pytest.fixture(scope="module")
def unix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory, True)


@pytest.fixture(scope="module")
def tcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory, False)


@pytest.fixture(params=["unix", "tcp"])
def served(request: pytest.FixtureRequest) -> Served:
    """The shared server of each transport, with no requests recorded yet."""
    shared: Served = request.getfixturevalue(f"{request.param}_server")
    shared.echo.requests.clear()
    return shared


@pytest.fixture
def tcp(tcp_server: Served) -> Served:
    tcp_server.echo.requests.clear()
    return tcp_server


def refused(error: str) -> dict[str, Any]:
    return {"ok": False, "version": 1, "error": error, "exit_code": 18, "busy": False}


def token_details(station_dir: Path) -> dict[str, Any]:
    details = json.loads((run_dir(station_dir) / TOKEN_NAME).read_text(encoding="utf-8"))
    assert isinstance(details, dict)
    return details


def connect(station_dir: Path, unix: bool) -> socket.socket:
    if unix:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(socket_path(station_dir)))
    else:
        connection = socket.create_connection(("127.0.0.1", token_details(station_dir)["port"]))
    connection.settimeout(5)
    return connection


def raw(station_dir: Path, unix: bool, line: bytes) -> bytes:
    """Send `line` as is and return the reply line as is."""
    with connect(station_dir, unix) as connection:
        connection.sendall(line)
        connection.shutdown(socket.SHUT_WR)
        return connection.makefile("rb").readline()


def with_token(station_dir: Path, unix: bool, request: dict[str, Any]) -> dict[str, Any]:
    return request if unix else {**request, "token": token_details(station_dir)["token"]}


# --- a round trip -----------------------------------------------------------------------------


def test_a_request_gets_the_handlers_reply(served: Served) -> None:
    reply = send(served.station, {"command": "status", "detail": [1, 2]}, unix=served.unix)
    assert reply == encode_reply(status_of([]))
    # sent with the protocol's version, and no token in it
    assert served.echo.requests == [{"command": "status", "detail": [1, 2], "version": 1}]


def test_the_server_answers_request_after_request(served: Served) -> None:
    for n in range(20):
        reply = send(served.station, {"command": "say", "text": f"{n}"}, unix=served.unix)
        assert reply == queued(n)
    assert [request["text"] for request in served.echo.requests] == [f"{n}" for n in range(20)]


def test_the_server_answers_clients_at_once(served: Served) -> None:
    replies: dict[int, dict[str, Any] | None] = {}

    def ask(n: int) -> None:
        replies[n] = send(served.station, {"command": "say", "text": f"tin {n}"}, unix=served.unix)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(reply["ahead"] for reply in replies.values() if reply) == [0, 1, 2, 3]
    assert sorted(r["text"] for r in served.echo.requests) == [f"tin {n}" for n in range(4)]


def test_vietnamese_text_round_trips_intact(served: Served) -> None:
    station, unix = served.station, served.unix
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    assert decomposed != VIETNAMESE
    reply = send(station, {"command": "say", "text": VIETNAMESE, "nfd": decomposed}, unix=unix)
    assert reply == queued(0)
    assert served.echo.requests[0]["text"] == VIETNAMESE
    assert served.echo.requests[0]["nfd"] == decomposed  # not normalized on the way
    status = send(station, {"command": "status"}, unix=unix)
    assert status is not None and status["queue"][0]["announcement"] == VIETNAMESE
    # on the wire as UTF-8, not as \u escapes
    line = json.dumps(with_token(station, unix, {"command": "status"}))
    answer = raw(station, unix, line.encode() + b"\n")
    assert VIETNAMESE.encode() in answer
    assert json.loads(answer)["queue"][0]["announcement"] == VIETNAMESE


def test_a_handler_that_fails_still_answers_and_the_server_goes_on(
    station: Path, unix: bool, start: Start
) -> None:
    def handler(request: dict[str, Any]) -> dict[str, Any]:
        if request["command"] == "stop":
            raise RuntimeError("boom")
        return encode_reply(status_of([]))

    start(station, handler, unix)
    reply = send(station, {"command": "stop"}, unix=unix)
    assert reply is not None and reply["ok"] is False and "boom" in reply["error"]
    assert send(station, {"command": "status"}, unix=unix) == encode_reply(status_of([]))


# --- who may ask ------------------------------------------------------------------------------


def test_the_unix_socket_is_the_users_only(station: Path, start: Start, echo: Echo) -> None:
    previous = os.umask(0o022)
    try:
        start(station, echo, True)
        assert os.umask(0o022) == 0o022  # the server put the umask back
    finally:
        os.umask(previous)
    path = socket_path(station)
    assert path == station / RUN_DIR / SOCKET_NAME
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert not (run_dir(station) / TOKEN_NAME).exists()


def test_the_token_file_is_the_users_only(station: Path, start: Start, echo: Echo) -> None:
    previous = os.umask(0o022)
    try:
        start(station, echo, False)
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(previous)
    token_file = run_dir(station) / TOKEN_NAME
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    details = token_details(station)
    assert isinstance(details["port"], int)
    assert isinstance(details["token"], str)
    assert len(details["token"]) >= 32
    assert not socket_path(station).exists()
    with socket.create_connection(("127.0.0.1", details["port"]), timeout=5):
        pass  # listening on loopback


def test_each_tcp_server_has_its_own_token(tmp_path: Path, start: Start, echo: Echo) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    start(first, echo, False)
    start(second, echo, False)
    assert token_details(first)["token"] != token_details(second)["token"]


@pytest.mark.parametrize(
    "token",
    [None, "", "0" * 32, 12345],
    ids=["missing", "empty", "wrong", "not-a-string"],
)
def test_tcp_refuses_a_request_without_the_right_token(tcp: Served, token: object) -> None:
    request: dict[str, Any] = {"command": "stop"}
    if token is not None:
        request["token"] = token
    answer = json.loads(raw(tcp.station, False, json.dumps(request).encode() + b"\n"))
    assert answer == refused(WRONG_TOKEN)
    assert tcp.echo.requests == []
    # the right token passes, so the refusal above was about the token
    right = with_token(tcp.station, False, {"command": "stop"})
    answer = json.loads(raw(tcp.station, False, json.dumps(right).encode() + b"\n"))
    assert answer == STOPPED
    assert tcp.echo.requests == [{"command": "stop"}]


def test_a_token_from_an_earlier_run_is_refused(station: Path, start: Start, echo: Echo) -> None:
    old = start(station, echo, False)
    stale = token_details(station)["token"]
    old.close()
    start(station, echo, False)
    request = {"command": "stop", "token": stale}
    answer = json.loads(raw(station, False, json.dumps(request).encode() + b"\n"))
    assert answer == refused(WRONG_TOKEN)
    assert echo.requests == []


# --- bad requests -----------------------------------------------------------------------------

BAD_LINES: dict[str, tuple[bytes | dict[str, Any], str]] = {
    "not-json": (b"say hello\n", NOT_JSON),
    "empty-line": (b"\n", NOT_JSON),
    "truncated": (b'{"command": "say", "text": "x\n', NOT_JSON),
    "not-utf8": (b'{"command": "say", "text": "\xff\xfe"}\n', NOT_JSON),
    "a-list": (b'["status"]\n', NO_COMMAND),
    "a-string": (b'"status"\n', NO_COMMAND),
    "null": (b"null\n", NO_COMMAND),
    "no-command": ({"text": "xin chào"}, NO_COMMAND),
    "command-not-text": ({"command": 7}, NO_COMMAND),
    "too-long": ({"command": "say", "text": "x" * (MAX_REQUEST + 10)}, TOO_LONG),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_request_is_refused_and_the_server_goes_on(served: Served, case: str) -> None:
    station, unix, echo = served.station, served.unix, served.echo
    line, error = BAD_LINES[case]
    if isinstance(line, dict):
        line = json.dumps(with_token(station, unix, line)).encode() + b"\n"
    elif not unix and error == NO_COMMAND:
        error = WRONG_TOKEN  # JSON that is not an object carries no token
    assert json.loads(raw(station, unix, line)) == refused(error)
    assert echo.requests == []
    assert send(station, {"command": "status"}, unix=unix) == encode_reply(status_of([]))


def test_send_refuses_an_over_long_request_without_sending_it(served: Served) -> None:
    station, unix, echo = served.station, served.unix, served.echo
    with pytest.raises(DaemonError) as refused:
        send(station, {"command": "say", "text": "x" * (MAX_REQUEST + 30_000)}, unix=unix)
    assert refused.value.message == TOO_LONG
    assert echo.requests == []
    assert send(station, {"command": "status"}, unix=unix) is not None


def line_of(station: Path, unix: bool, size: int) -> bytes:
    """A valid request of exactly `size` bytes, newline not counted."""
    request = with_token(station, unix, {"command": "say", "text": ""})
    padding = size - len(json.dumps(request).encode())
    line = json.dumps({**request, "text": "x" * padding}).encode()
    assert len(line) == size
    return line + b"\n"


def test_a_request_just_under_the_limit_is_answered(served: Served) -> None:
    station, unix, echo = served.station, served.unix, served.echo
    answer = json.loads(raw(station, unix, line_of(station, unix, MAX_REQUEST - 1)))
    assert answer["ok"] is True
    assert len(echo.requests) == 1
    answer = json.loads(raw(station, unix, line_of(station, unix, MAX_REQUEST + 1)))
    assert answer == refused(TOO_LONG)


def test_a_request_of_exactly_the_limit_is_answered(served: Served) -> None:
    station, unix = served.station, served.unix
    answer = json.loads(raw(station, unix, line_of(station, unix, MAX_REQUEST)))
    assert answer["ok"] is True


# --- no server --------------------------------------------------------------------------------


def test_send_without_a_server_returns_none(station: Path, unix: bool) -> None:
    assert not run_dir(station).exists()
    assert send(station, {"command": "status"}, unix=unix) is None


def test_send_to_a_stale_socket_file_returns_none(station: Path) -> None:
    """A daemon killed with -9 leaves its socket file behind, with nobody listening."""
    run_dir(station).mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(socket_path(station)))
    assert socket_path(station).exists()
    assert send(station, {"command": "status"}, unix=True) is None


def test_send_to_a_stale_token_file_returns_none(station: Path) -> None:
    run_dir(station).mkdir()
    details = {"port": free_port(), "token": "0" * 32}
    (run_dir(station) / TOKEN_NAME).write_text(json.dumps(details), encoding="utf-8")
    assert send(station, {"command": "status"}, unix=False) is None


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"port": 1}', '{"token": "x"}', '{"port": "x", "token": 1}']
)
def test_send_with_an_unreadable_token_file_returns_none(station: Path, content: str) -> None:
    run_dir(station).mkdir()
    (run_dir(station) / TOKEN_NAME).write_text(content, encoding="utf-8")
    assert send(station, {"command": "status"}, unix=False) is None


def test_send_when_the_station_folder_is_missing_returns_none(tmp_path: Path, unix: bool) -> None:
    assert send(tmp_path / "nowhere", {"command": "status"}, unix=unix) is None


def test_send_to_a_server_that_answers_nonsense_raises(station: Path) -> None:
    answers = [b"garbage\n", b"[1, 2]\n", b""]
    with answering(station, answers):
        for _answer in answers:
            with pytest.raises(DaemonError):
                send(station, {"command": "status"}, unix=True)


# --- closing ----------------------------------------------------------------------------------


def test_close_removes_the_socket_or_token_file(
    station: Path, echo: Echo, unix: bool, start: Start
) -> None:
    server = start(station, echo, unix)
    left_behind = socket_path(station) if unix else run_dir(station) / TOKEN_NAME
    assert left_behind.exists()
    server.close()
    assert not left_behind.exists()
    assert send(station, {"command": "status"}, unix=unix) is None
    server.close()  # twice is harmless


def test_closing_a_server_never_started_is_harmless(station: Path, echo: Echo) -> None:
    server = ControlServer(station, echo)
    server.close()
    server.close()
    assert not socket_path(station).exists()
    assert send(station, {"command": "status"}) is None, "nothing answers: no station runs"


def test_a_new_server_replaces_a_stale_socket_file(station: Path, start: Start, echo: Echo) -> None:
    run_dir(station).mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(socket_path(station)))
    start(station, echo, True)
    assert send(station, {"command": "status"}, unix=True) == encode_reply(status_of([]))


def test_a_server_restarts_after_close(station: Path, echo: Echo, unix: bool, start: Start) -> None:
    start(station, echo, unix).close()
    start(station, echo, unix)
    assert send(station, {"command": "status"}, unix=unix) == encode_reply(status_of([]))


# --- long station paths -----------------------------------------------------------------------


def station_with_socket_path_of(tmp_path: Path, length: int) -> Path:
    """A station folder whose `.loa/control.sock` path is exactly `length` bytes long."""
    suffix = len(os.fsencode(Path(RUN_DIR) / SOCKET_NAME)) + 2  # two separators
    room = length - suffix - len(os.fsencode(tmp_path))
    assert room > 0
    station = tmp_path / ("đ" * (room // 2) + "x" * (room % 2))  # "đ" is two bytes in UTF-8
    assert len(os.fsencode(station / RUN_DIR / SOCKET_NAME)) == length
    return station


def test_the_socket_stays_in_the_station_up_to_the_limit(tmp_path: Path) -> None:
    station = station_with_socket_path_of(tmp_path, MAX_UNIX_PATH)
    assert socket_path(station) == station / RUN_DIR / SOCKET_NAME


def test_a_station_path_too_long_for_a_socket_uses_a_private_folder(tmp_path: Path) -> None:
    station = station_with_socket_path_of(tmp_path, MAX_UNIX_PATH + 1)
    path = socket_path(station, environ={})
    assert path.parent == Path(tempfile.gettempdir()) / f"loa-{os.geteuid()}"
    assert path.suffix == ".sock"
    assert len(os.fsencode(path)) <= MAX_UNIX_PATH
    assert socket_path(station, environ={}) == path  # the same every time
    other = station_with_socket_path_of(tmp_path / "khác", MAX_UNIX_PATH + 1)
    assert socket_path(other, environ={}) != path  # and each station its own
    runtime = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    assert socket_path(station, environ=runtime).parent == tmp_path / "run" / "loa"


def test_a_long_station_path_still_works(
    tmp_path: Path, echo: Echo, start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    station = tmp_path / ("Đài truyền thanh xã Hòa Bình " * 4).strip() / "trạm phát"
    station.mkdir(parents=True)
    assert len(os.fsencode(station / RUN_DIR / SOCKET_NAME)) > MAX_UNIX_PATH
    server = start(station, echo, True)
    path = socket_path(station)
    assert path.parent == tmp_path / "run" / "loa"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reply = send(station, {"command": "say", "text": VIETNAMESE}, unix=True)
    assert reply == queued(0)
    server.close()
    assert not path.exists()


@pytest.mark.parametrize("made_by", ["another-user", "open-to-all", "a-link"])
def test_a_socket_folder_someone_else_could_have_made_is_refused(
    tmp_path: Path, echo: Echo, monkeypatch: pytest.MonkeyPatch, made_by: str
) -> None:
    """A folder of a shared place that another user made first, or that others may enter, could
    hold an impostor's socket: the server refuses it rather than serve from it."""
    if made_by == "another-user" and os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root; CI runs as root")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    shared = tmp_path / "run" / "loa"
    if made_by == "a-link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        shared.symlink_to(tmp_path / "elsewhere")
    else:
        shared.mkdir(mode=0o700)
    if made_by == "another-user":
        os.chown(shared, NOBODY, NOBODY)
    if made_by == "open-to-all":
        shared.chmod(0o777)
    station = tmp_path / ("x" * 120)
    station.mkdir()
    server = ControlServer(station, echo, unix=True)
    with pytest.raises(DaemonError) as refused_error:
        server.start()
    assert str(shared) in refused_error.value.message
    assert send(station, {"command": "status"}, unix=True) is None


NOBODY = 65534


def test_the_client_refuses_a_socket_owned_by_another_user(
    station: Path, echo: Echo, start: Start
) -> None:
    """An impostor's socket (here: the real one given to `nobody`) gets no request."""
    if os.geteuid() != 0:
        pytest.skip("giving a socket to another user needs root; CI runs as root")
    start(station, echo, True)
    os.chown(socket_path(station), NOBODY, NOBODY)
    with pytest.raises(DaemonError) as refused_error:
        send(station, {"command": "say", "text": "Cháy!", "priority": "emergency"}, unix=True)
    assert str(socket_path(station)) in refused_error.value.message
    assert echo.requests == []


CALLER = """
import socket, sys
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connection.connect(sys.argv[1])
connection.sendall(b'{"command": "stop"}\\n')
sys.stdout.write(connection.makefile("rb").readline().decode())
"""


def test_the_server_refuses_a_caller_of_another_user(
    echo: Echo, start: Start, request: pytest.FixtureRequest
) -> None:
    """Even with the folder and socket opened to all, the server checks who calls (SO_PEERCRED)."""
    if os.geteuid() != 0:
        pytest.skip("calling as another user needs root; CI runs as root")
    station = Path(tempfile.mkdtemp(prefix="loa-open-"))
    request.addfinalizer(lambda: shutil.rmtree(station, ignore_errors=True))
    station.chmod(0o755)
    start(station, echo, True)
    run_dir(station).chmod(0o755)
    socket_path(station).chmod(0o777)
    caller = subprocess.run(
        ["python3", "-c", CALLER, str(socket_path(station))],
        capture_output=True,
        text=True,
        timeout=30,
        user=NOBODY,
        check=False,
    )
    assert caller.returncode == 0, caller.stderr
    reply = json.loads(caller.stdout)
    assert reply["ok"] is False and reply["error"] == _(
        "Only the station's own user may ask the running Loa."
    )
    assert echo.requests == []


def test_callers_beyond_the_cap_hear_busy_and_the_server_goes_on(
    station: Path, start: Start, unix: bool
) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow(request: dict[str, Any]) -> dict[str, Any]:
        entered.release()
        release.wait(20)
        return encode_reply(status_of([]))

    server = ControlServer(station, slow, unix=unix, max_connections=2)
    server.start()
    try:
        waiting = [
            threading.Thread(target=send, args=(station, {"command": "status"}, unix))
            for _ in range(2)
        ]
        for thread in waiting:
            thread.start()
        assert entered.acquire(timeout=10) and entered.acquire(timeout=10)
        with pytest.raises(DaemonError) as busy:
            ask_or_raise(station, unix)
        assert "busy" in busy.value.message or "bận" in busy.value.message
        release.set()
        for thread in waiting:
            thread.join(20)
        assert send(station, {"command": "status"}, unix=unix) == encode_reply(status_of([]))
    finally:
        release.set()
        server.close()


def ask_or_raise(station: Path, unix: bool) -> dict[str, Any]:
    """What the CLI does with a reply: a refusal is an error."""
    reply = send(station, {"command": "status"}, unix=unix)
    assert reply is not None
    if not reply["ok"]:
        raise DaemonError(reply["error"])
    return reply


def test_on_windows_the_token_lives_in_the_users_profile(tmp_path: Path) -> None:
    """Tested here by its rule only: the ACL of %LOCALAPPDATA% is Windows' own."""
    station = tmp_path / "station"
    profile = {"LOCALAPPDATA": str(tmp_path / "AppData" / "Local")}
    path = token_path(station, windows=True, environ=profile)
    assert path.parent == tmp_path / "AppData" / "Local" / "Loa"
    assert token_path(tmp_path / "other", windows=True, environ=profile) != path
    assert token_path(station, windows=False, environ=profile) == run_dir(station) / TOKEN_NAME


# --- replies checked by the protocol -----------------------------------------------------------

SPOOFED: dict[str, tuple[dict[str, Any], bytes]] = {
    "queued-without-ahead": ({"command": "say", "text": "x"}, b'{"ok": true}\n'),
    "negative-ahead": ({"command": "say", "text": "x"}, b'{"ok": true, "ahead": -1}\n'),
    "ahead-as-text": ({"command": "play", "announcement": "x"}, b'{"ok": true, "ahead": "0"}\n'),
    "refusal-without-reason": ({"command": "say", "text": "x"}, b'{"ok": false}\n'),
    "exit-code-as-text": (
        {"command": "say", "text": "x"},
        b'{"ok": false, "error": "no", "exit_code": "7"}\n',
    ),
    "status-half": ({"command": "status"}, b'{"ok": true, "pid": 1}\n'),
    "status-bad-queue": (
        {"command": "status"},
        b'{"ok": true, "pid": 1, "since": "", "station": "", "playing": null, '
        b'"queue": [{"id": 1}], "next": [], "reload_error": null, "entries": 0}\n',
    ),
    "ok-to-an-unknown-command": ({"command": "dance"}, b'{"ok": true}\n'),
    "ok-as-text": ({"command": "stop"}, b'{"ok": "yes"}\n'),
}


@pytest.mark.parametrize("case", list(SPOOFED))
def test_a_malformed_or_spoofed_reply_is_a_clear_error(station: Path, case: str) -> None:
    request, answer = SPOOFED[case]
    with answering(station, [answer]), pytest.raises(DaemonError) as error:
        send(station, request, unix=True)
    assert error.value.message == _(
        "The running Loa gave an answer this Loa does not understand; see its log."
    )


def test_an_unknown_exit_code_in_a_refusal_becomes_the_daemons(station: Path) -> None:
    answer = b'{"ok": false, "error": "no", "exit_code": 999}\n'
    with answering(station, [answer]):
        reply = send(station, {"command": "say", "text": "x"}, unix=True)
    assert reply is not None and reply["exit_code"] == 18 and reply["error"] == "no"


@contextmanager
def answering(station: Path, answers: list[bytes]) -> Iterator[None]:
    """A listener on the station's socket that gives each caller the next canned answer."""
    run_dir(station).mkdir(exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path(station)))
    listener.listen()

    def serve() -> None:
        for answer in answers:
            connection, _address = listener.accept()
            with connection:
                connection.makefile("rb").readline()
                connection.sendall(answer)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield
    finally:
        server.join(timeout=5)
        listener.close()


def test_a_request_of_a_later_protocol_version_is_refused(served: Served) -> None:
    reply = send(served.station, {"command": "status", "version": 2}, unix=served.unix)
    assert reply is not None and reply["ok"] is False
    assert "version 1" in reply["error"] or "phiên bản 1" in reply["error"]
    assert served.echo.requests == []
