"""Refuse every connection that would leave this machine, in pytest and in every Python process
the tests start (this folder is put first on their PYTHONPATH). Programs that are not Python
(espeak-ng, ffmpeg, PulseAudio) are run only on local files and sockets.

A refused attempt raises OSError at once (nothing is sent) and is written to the file named by
LOA_NETGUARD_LOG, so the test that caused it fails even when the code under test swallowed
the error and fell back quietly.
"""

import ipaddress
import os
import socket
from typing import Any

LOG_ENV = "LOA_NETGUARD_LOG"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class InternetBlocked(OSError):
    pass


def is_local(host: object) -> bool:
    if host is None or host in ("", b""):
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(what + "\n")
    raise InternetBlocked(f"tests may not reach the internet: {what}")


def install() -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address[0]):
            _refuse(f"connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        check(self, args[-1])  # sendto(data, address) or sendto(data, flags, address)
        return int(real_sendto(self, data, *args))

    def lookup(real: Any) -> Any:
        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_local(host):
                _refuse(f"name lookup of {host!r}")
            return real(host, *args, **kwargs)

        return guarded

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = lookup(socket.getaddrinfo)
    socket.gethostbyname = lookup(socket.gethostbyname)
    socket.gethostbyname_ex = lookup(socket.gethostbyname_ex)


if os.environ.get(LOG_ENV):
    install()
