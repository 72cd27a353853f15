"""The control channel between `loa` commands and a running `loa run`, over a Unix socket and over
the loopback TCP port with a token file (the Windows path, which runs on Linux too)."""

import json
import os
import socket
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
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
)
from broadcaster.errors import DaemonError
from broadcaster.i18n import _

TOO_LONG = _("The request is too long.")
NOT_JSON = _("The request is not valid JSON.")
NO_COMMAND = _("The request names no command.")
WRONG_TOKEN = _("Wrong token: only Loa on this PC may ask.")
VIETNAMESE = "Kính thưa bà con! Bão số 3 đổ bộ lúc 14 giờ — nước dâng 2,5 m; sơ tán ngay."

Start = Callable[..., ControlServer]


class Echo:
    """A handler that records each request and echoes it back."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(dict(request))
        return {"ok": True, "echo": request}


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- a round trip -----------------------------------------------------------------------------


def test_a_request_gets_the_handlers_reply(served: Served) -> None:
    reply = send(served.station, {"command": "status", "detail": [1, 2]}, unix=served.unix)
    assert reply == {"ok": True, "echo": {"command": "status", "detail": [1, 2]}}
    assert served.echo.requests == [{"command": "status", "detail": [1, 2]}]  # no token in it


def test_the_server_answers_request_after_request(served: Served) -> None:
    for n in range(20):
        assert send(served.station, {"command": "status", "n": n}, unix=served.unix) == {
            "ok": True,
            "echo": {"command": "status", "n": n},
        }
    assert [request["n"] for request in served.echo.requests] == list(range(20))


def test_the_server_answers_clients_at_once(served: Served) -> None:
    replies: dict[int, dict[str, Any] | None] = {}

    def ask(n: int) -> None:
        replies[n] = send(served.station, {"command": "say", "text": f"tin {n}"}, unix=served.unix)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert replies == {
        n: {"ok": True, "echo": {"command": "say", "text": f"tin {n}"}} for n in range(4)
    }


def test_vietnamese_text_round_trips_intact(served: Served) -> None:
    station, unix = served.station, served.unix
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    assert decomposed != VIETNAMESE
    reply = send(station, {"command": "say", "text": VIETNAMESE, "nfd": decomposed}, unix=unix)
    assert reply is not None
    assert reply["echo"]["text"] == VIETNAMESE
    assert reply["echo"]["nfd"] == decomposed  # not normalized on the way
    assert served.echo.requests[0]["text"] == VIETNAMESE
    # on the wire as UTF-8, not as \u escapes
    line = json.dumps(with_token(station, unix, {"command": "say", "text": VIETNAMESE}))
    answer = raw(station, unix, line.encode() + b"\n")
    assert VIETNAMESE.encode() in answer
    assert json.loads(answer)["echo"]["text"] == VIETNAMESE


def test_a_handler_that_fails_still_answers_and_the_server_goes_on(
    station: Path, unix: bool, start: Start
) -> None:
    def handler(request: dict[str, Any]) -> dict[str, Any]:
        if request["command"] == "crash":
            raise RuntimeError("boom")
        return {"ok": True}

    start(station, handler, unix)
    reply = send(station, {"command": "crash"}, unix=unix)
    assert reply is not None and reply["ok"] is False and "boom" in reply["error"]
    assert send(station, {"command": "status"}, unix=unix) == {"ok": True}


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
    assert answer == {"ok": False, "error": WRONG_TOKEN}
    assert tcp.echo.requests == []
    # the right token passes, so the refusal above was about the token
    right = with_token(tcp.station, False, {"command": "stop"})
    answer = json.loads(raw(tcp.station, False, json.dumps(right).encode() + b"\n"))
    assert answer == {"ok": True, "echo": {"command": "stop"}}
    assert tcp.echo.requests == [{"command": "stop"}]


def test_a_token_from_an_earlier_run_is_refused(station: Path, start: Start, echo: Echo) -> None:
    old = start(station, echo, False)
    stale = token_details(station)["token"]
    old.close()
    start(station, echo, False)
    request = {"command": "stop", "token": stale}
    answer = json.loads(raw(station, False, json.dumps(request).encode() + b"\n"))
    assert answer == {"ok": False, "error": WRONG_TOKEN}
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
    assert json.loads(raw(station, unix, line)) == {"ok": False, "error": error}
    assert echo.requests == []
    assert send(station, {"command": "status"}, unix=unix) == {
        "ok": True,
        "echo": {"command": "status"},
    }


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
    assert answer == {"ok": False, "error": TOO_LONG}


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
    run_dir(station).mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path(station)))
    listener.listen()
    answers = [b"garbage\n", b"[1, 2]\n", b""]

    def serve() -> None:
        for answer in answers:
            connection, _address = listener.accept()
            with connection:
                connection.makefile("rb").readline()
                connection.sendall(answer)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        for _answer in answers:
            with pytest.raises(DaemonError):
                send(station, {"command": "status"}, unix=True)
    finally:
        server.join(timeout=5)
        listener.close()


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
    ControlServer(station, echo).close()


def test_a_new_server_replaces_a_stale_socket_file(station: Path, start: Start, echo: Echo) -> None:
    run_dir(station).mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(socket_path(station)))
    start(station, echo, True)
    assert send(station, {"command": "status"}, unix=True) == {
        "ok": True,
        "echo": {"command": "status"},
    }


def test_a_server_restarts_after_close(station: Path, echo: Echo, unix: bool, start: Start) -> None:
    start(station, echo, unix).close()
    start(station, echo, unix)
    assert send(station, {"command": "status"}, unix=unix) == {
        "ok": True,
        "echo": {"command": "status"},
    }


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


def test_a_station_path_too_long_for_a_socket_uses_the_temp_folder(tmp_path: Path) -> None:
    station = station_with_socket_path_of(tmp_path, MAX_UNIX_PATH + 1)
    path = socket_path(station)
    assert path.parent == Path(tempfile.gettempdir())
    assert path.name.startswith("loa-")
    assert path.suffix == ".sock"
    assert len(os.fsencode(path)) <= MAX_UNIX_PATH
    assert socket_path(station) == path  # the same every time
    other = station_with_socket_path_of(tmp_path / "khác", MAX_UNIX_PATH + 1)
    assert socket_path(other) != path  # and each station its own


def test_a_long_station_path_still_works(tmp_path: Path, echo: Echo, start: Start) -> None:
    station = tmp_path / ("Đài truyền thanh xã Hòa Bình " * 4).strip() / "trạm phát"
    station.mkdir(parents=True)
    assert len(os.fsencode(station / RUN_DIR / SOCKET_NAME)) > MAX_UNIX_PATH
    server = start(station, echo, True)
    path = socket_path(station)
    assert path.parent == Path(tempfile.gettempdir())
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reply = send(station, {"command": "say", "text": VIETNAMESE}, unix=True)
    assert reply == {"ok": True, "echo": {"command": "say", "text": VIETNAMESE}}
    server.close()
    assert not path.exists()
