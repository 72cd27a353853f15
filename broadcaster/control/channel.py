"""The local transport of the control protocol between `loa` commands and a running `loa run`.

One JSON object per line each way (see `protocol` for what they say). On Linux a Unix socket in
the station's `.loa/` folder (mode 0700), or — when that path is too long for a socket — in the
user's private runtime folder (`$XDG_RUNTIME_DIR/loa/`, else a 0700 `loa-<uid>` folder of the
temporary folder). The socket is created with mode 0600; each side checks the other's user
(SO_PEERCRED): the same user, or root. Where there are no Unix sockets (Windows) a loopback TCP
port, whose number and a random token are kept in a file only the user reads (under
%LOCALAPPDATA% on Windows). At most MAX_CONNECTIONS callers are served at once; more are told the
station is busy.
"""

import contextlib
import json
import os
import socket
import socketserver
import stat
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from broadcaster.control.protocol import (
    VERSION,
    Refused,
    Reply,
    Request,
    encode_reply,
    encode_request,
    parse_reply,
)
from broadcaster.errors import DaemonError
from broadcaster.files import write_atomically
from broadcaster.i18n import _

RUN_DIR = ".loa"
SOCKET_NAME = "control.sock"
TOKEN_NAME = "control.json"
MAX_REQUEST = 64 * 1024
"""A request is a command and its text (at most 5,000 characters): anything longer is refused."""
TIMEOUT_S = 10.0
UNIX = hasattr(socket, "AF_UNIX") and os.name != "nt"
MAX_UNIX_PATH = 100
"""Unix socket paths are limited to about 108 bytes."""
MAX_CONNECTIONS = 16
"""Callers served at once; a local program cannot tie up the station with open connections."""

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def run_dir(station_dir: Path) -> Path:
    return station_dir / RUN_DIR


def private_run_dir(station_dir: Path) -> Path:
    """The station's `.loa/` folder, readable by its user only: the socket, the token file and
    the daemon's lock live there."""
    folder = run_dir(station_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def socket_path(station_dir: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The socket in the station's `.loa/`, or in the user's private folder under a name made
    from the station's path when that path is too long for a Unix socket."""
    path = run_dir(station_dir) / SOCKET_NAME
    if len(os.fsencode(path)) <= MAX_UNIX_PATH:
        return path
    import hashlib  # here: only stations at a long path need it

    digest = hashlib.sha256(os.fsencode(station_dir.resolve())).hexdigest()[:16]
    return private_socket_dir(environ) / f"{digest}.sock"


def private_socket_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_RUNTIME_DIR/loa` (made private by the system), else `loa-<uid>` in the temporary
    folder: never a name another user could have made first and still pass `check_private`."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "loa"
    import tempfile  # here: only without XDG_RUNTIME_DIR

    return Path(tempfile.gettempdir()) / f"loa-{os.geteuid()}"


def check_private(folder: Path) -> None:
    """A folder that is ours alone, made if missing; a folder another user made, a link, or one
    others can enter is refused: a socket in it could be replaced by an impostor."""
    try:
        folder.mkdir(mode=0o700, parents=False, exist_ok=True)
        found = os.lstat(folder)
    except OSError as error:
        raise DaemonError(
            _("Cannot make the folder {folder} for the control socket: {reason}.").format(
                folder=folder, reason=error.strerror
            )
        ) from error
    if (
        not stat.S_ISDIR(found.st_mode)
        or found.st_uid != os.geteuid()
        or stat.S_IMODE(found.st_mode) & 0o077
    ):
        raise DaemonError(
            _(
                "The folder {folder} for the control socket is not private to this user: "
                "remove it and start Loa again."
            ).format(folder=folder)
        )


def token_path(
    station_dir: Path, windows: bool = os.name == "nt", environ: Mapping[str, str] = os.environ
) -> Path:
    """Where the port and token are kept: on Windows under the user's own profile
    (%LOCALAPPDATA%), whose ACL keeps other accounts out; elsewhere in the station's `.loa/`."""
    if windows and environ.get("LOCALAPPDATA"):
        import hashlib

        digest = hashlib.sha256(os.fsencode(station_dir.resolve())).hexdigest()[:16]
        return Path(environ["LOCALAPPDATA"]) / "Loa" / f"control-{digest}.json"
    return run_dir(station_dir) / TOKEN_NAME


def peer_uid(connection: socket.socket) -> int | None:
    """The user id of the process at the other end of a Unix socket (Linux); None elsewhere."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def trusted_uid(uid: int | None) -> bool:
    """The same user as this process, or root."""
    return uid is None or uid in (os.geteuid(), 0)


class _CappedMixin:
    """At most MAX_CONNECTIONS requests in their threads; the next caller hears "busy" at once."""

    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(_encode(encode_reply(_busy())))
            except OSError:
                pass
            self.shutdown_request(request)  # type: ignore[attr-defined]
            return
        super().process_request(request, client_address)  # type: ignore[misc]

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            self.slots.release()


class _UnixServer(_CappedMixin, socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class _TcpServer(_CappedMixin, socketserver.ThreadingTCPServer):
    daemon_threads = True


class ControlServer:
    """Answers requests in threads of its own; `handler` turns a request into a reply (the
    daemon's `answer`, which checks it with the protocol)."""

    def __init__(
        self,
        station_dir: Path,
        handler: Handler,
        unix: bool = UNIX,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.station_dir = station_dir
        self.handler = handler
        self.unix = unix
        self.max_connections = max_connections
        self._server: _UnixServer | _TcpServer | None = None
        import secrets  # the server's: the CLI's import stays light

        self._token = secrets.token_hex(16)

    def start(self) -> None:
        outer = self

        class Connection(socketserver.StreamRequestHandler):
            timeout = TIMEOUT_S

            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST + 2).rstrip(b"\n")
                if outer.unix and not trusted_uid(peer_uid(self.connection)):
                    refused = Refused(_("Only the station's own user may ask the running Loa."))
                    self.wfile.write(_encode(encode_reply(refused)))
                    return
                self.wfile.write(_encode(outer._answer(line)))

        private_run_dir(self.station_dir)
        server: _UnixServer | _TcpServer
        if self.unix:
            path = socket_path(self.station_dir)
            if path.parent != run_dir(self.station_dir):
                check_private(path.parent)
            path.unlink(missing_ok=True)  # left by a daemon that died; the lock says none runs
            mask = os.umask(0o177)  # the socket is 0600 from its first moment
            try:
                server = _UnixServer(str(path), Connection)
            finally:
                os.umask(mask)
        else:
            server = _TcpServer(("127.0.0.1", 0), Connection)
            port = server.server_address[1]
            token_file = token_path(self.station_dir)
            token_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(token_file, json.dumps({"port": port, "token": self._token}).encode())
            os.chmod(token_file, 0o600)
        server.slots = threading.BoundedSemaphore(self.max_connections)
        self._server = server
        threading.Thread(target=server.serve_forever, name="loa-control", daemon=True).start()

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self.unix:
            socket_path(self.station_dir).unlink(missing_ok=True)
        else:
            token_path(self.station_dir).unlink(missing_ok=True)

    def _answer(self, line: bytes) -> dict[str, Any]:
        if len(line) > MAX_REQUEST:
            return encode_reply(Refused(_("The request is too long.")))
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return encode_reply(Refused(_("The request is not valid JSON.")))
        if not self.unix:
            import hmac

            token = request.pop("token", None) if isinstance(request, dict) else None
            if not (isinstance(token, str) and hmac.compare_digest(token, self._token)):
                return encode_reply(Refused(_("Wrong token: only Loa on this PC may ask.")))
        try:
            return self.handler(request)
        except Exception as error:  # the channel answers whatever happens behind it
            import logging

            logging.getLogger("loa").exception("%r", request)
            return encode_reply(
                Refused(_("Unexpected error: {error}; see Loa's log.").format(error=repr(error)))
            )


def ask(station_dir: Path, request: Request, unix: bool = UNIX) -> Reply | None:
    """Ask the station's running daemon; None when no daemon listens. The reply is checked by
    the protocol: a malformed one is a DaemonError."""
    message = encode_request(request)
    answer = _exchange(station_dir, message, unix)
    return None if answer is None else parse_reply(message["command"], answer)


def send(station_dir: Path, request: dict[str, Any], unix: bool = UNIX) -> dict[str, Any] | None:
    """`ask` for a request given as its wire form (as the CLI builds it): the reply as checked by
    the protocol, in its wire form; None when no daemon listens."""
    message = {"version": VERSION, **request}
    answer = _exchange(station_dir, message, unix)
    if answer is None:
        return None
    return encode_reply(parse_reply(request.get("command"), answer))


def _exchange(station_dir: Path, request: dict[str, Any], unix: bool) -> Any:
    encoded = _encode(request)
    if len(encoded) > MAX_REQUEST + 1:
        raise DaemonError(_("The request is too long."))
    try:
        if unix:
            address: Any = str(socket_path(station_dir))
            owner = os.stat(address).st_uid
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            details = json.loads(token_path(station_dir).read_text(encoding="utf-8"))
            encoded = _encode({**request, "token": details["token"]})
            address = ("127.0.0.1", int(details["port"]))
            connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with connection:
        connection.settimeout(TIMEOUT_S)
        try:
            connection.connect(address)
        except OSError:
            return None
        if unix and not (trusted_uid(owner) and trusted_uid(peer_uid(connection))):
            raise DaemonError(
                _(
                    "The control socket {socket} belongs to another user: it is not this "
                    "station's Loa. Stop whatever made it, remove it and start Loa again."
                ).format(socket=address)
            )
        try:
            # A busy station answers before reading, and closes: its answer still waits.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.sendall(encoded)
            reply = connection.makefile("rb").readline()
        except OSError as error:
            raise DaemonError(
                _("The running Loa did not answer: {reason}.").format(reason=error)
            ) from error
    try:
        return json.loads(reply)
    except ValueError as error:
        raise DaemonError(_("The running Loa gave no answer; see its log.")) from error


def _busy() -> Refused:
    return Refused(
        _("The running Loa is busy answering other requests; try again in a moment."), busy=True
    )


def _encode(message: dict[str, Any]) -> bytes:
    """One line of JSON; text that is not valid Unicode (a lone surrogate, bytes of another
    encoding on the command line) travels escaped instead of breaking the channel."""
    return json.dumps(message, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n"
