"""The local control channel between `loa` commands and a running `loa run`.

One JSON object per line each way. On Linux a Unix socket with mode 0600 in the station's
`.loa/` folder, so only the station's user can reach it; where there are no Unix sockets
(Windows) a loopback TCP port, whose number and a random token are kept in a file of that folder
that only the user can read.
"""

import hashlib
import json
import logging
import os
import secrets
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def socket_path(station_dir: Path) -> Path:
    """The socket in the station's `.loa/`, or in the temporary folder under a name made from
    the station's path when that path is too long for a Unix socket."""
    path = run_dir(station_dir) / SOCKET_NAME
    if len(os.fsencode(path)) <= MAX_UNIX_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(station_dir.resolve())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"loa-{digest}.sock"


class ControlServer:
    """Answers requests in threads of its own; `handler` turns a request into a reply."""

    def __init__(self, station_dir: Path, handler: Handler, unix: bool = UNIX) -> None:
        self.station_dir = station_dir
        self.handler = handler
        self.unix = unix
        self._server: socketserver.BaseServer | None = None
        self._token = secrets.token_hex(16)

    def start(self) -> None:
        outer = self

        class Request(socketserver.StreamRequestHandler):
            timeout = TIMEOUT_S

            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST + 2).rstrip(b"\n")
                reply = outer._answer(line)
                self.wfile.write(_encode(reply))

        private_run_dir(self.station_dir)
        if self.unix:
            path = socket_path(self.station_dir)
            path.unlink(missing_ok=True)  # left by a daemon that died; the lock says none runs
            server: socketserver.BaseServer = socketserver.ThreadingUnixStreamServer(
                str(path), Request
            )
            os.chmod(path, 0o600)
        else:
            server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Request)
            port = server.server_address[1]
            token_file = run_dir(self.station_dir) / TOKEN_NAME
            write_atomically(token_file, json.dumps({"port": port, "token": self._token}).encode())
            os.chmod(token_file, 0o600)
        server.daemon_threads = True  # type: ignore[attr-defined]
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
            (run_dir(self.station_dir) / TOKEN_NAME).unlink(missing_ok=True)

    def _answer(self, line: bytes) -> dict[str, Any]:
        if len(line) > MAX_REQUEST:
            return {"ok": False, "error": _("The request is too long.")}
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": _("The request is not valid JSON.")}
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            return {"ok": False, "error": _("The request names no command.")}
        try:
            json.dumps(request, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return {"ok": False, "error": _("The request holds text that is not valid Unicode.")}
        token = request.pop("token", None)
        if not self.unix and not (
            isinstance(token, str) and secrets.compare_digest(token, self._token)
        ):
            return {"ok": False, "error": _("Wrong token: only Loa on this PC may ask.")}
        try:
            return self.handler(request)
        except Exception as error:  # the channel answers whatever happens behind it
            logging.getLogger("loa").exception("%s", request.get("command"))
            return {
                "ok": False,
                "error": _("Unexpected error: {error}; see Loa's log.").format(error=repr(error)),
            }


def send(station_dir: Path, request: dict[str, Any], unix: bool = UNIX) -> dict[str, Any] | None:
    """Ask the station's running daemon; None when no daemon listens."""
    encoded = _encode(request)
    if len(encoded) > MAX_REQUEST + 1:
        raise DaemonError(_("The request is too long."))
    try:
        if unix:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = str(socket_path(station_dir))
        else:
            token_file = run_dir(station_dir) / TOKEN_NAME
            details = json.loads(token_file.read_text(encoding="utf-8"))
            request = {**request, "token": details["token"]}
            connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = ("127.0.0.1", int(details["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with connection:
        connection.settimeout(TIMEOUT_S)
        try:
            connection.connect(address)
        except OSError:
            return None
        try:
            connection.sendall(_encode(request))
            reply = connection.makefile("rb").readline()
        except OSError as error:
            raise DaemonError(
                _("The running Loa did not answer: {reason}.").format(reason=error)
            ) from error
    try:
        answer = json.loads(reply)
    except ValueError as error:
        raise DaemonError(_("The running Loa gave no answer; see its log.")) from error
    if not isinstance(answer, dict):
        raise DaemonError(_("The running Loa gave no answer; see its log."))
    return answer


def _encode(message: dict[str, Any]) -> bytes:
    """One line of JSON; text that is not valid Unicode (a lone surrogate, bytes of another
    encoding on the command line) travels escaped instead of breaking the channel."""
    return json.dumps(message, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n"
