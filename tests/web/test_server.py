"""The real `loa web` process: where it listens by default, and how soon it answers."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

LISTENING = "0A"


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """The TCP addresses process `pid` listens on, read from /proc (IPv4)."""
    inodes = set()
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == LISTENING and inode in inodes:
            address, port = local.split(":")
            dotted = socket.inet_ntoa(bytes.fromhex(address)[::-1])
            found.append((dotted, int(port, 16)))
    return found


def test_loa_web_listens_on_loopback_by_default(loa_env: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "web"],
        env=loa_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        addresses: list[tuple[str, int]] = []
        while not addresses and time.monotonic() - started < 30 and server.poll() is None:
            time.sleep(0.02)
            addresses = listening_addresses(server.pid)
        ready = time.monotonic() - started
        assert addresses == [("127.0.0.1", 8080)], server.stderr.read() if server.poll() else ""
        with socket.create_connection(("127.0.0.1", 8080), timeout=5) as connection:
            connection.sendall(b"GET /login HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 200")
        print(f"loa web listening {ready * 1000:.0f} ms after launch")
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert "127.0.0.1:8080" in err and "office network" not in err


def test_loa_web_says_plainly_when_it_opens_to_the_network(
    loa_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--lang",
            "en",
            "web",
            "--listen",
            f"0.0.0.0:{port}",
        ],
        env=loa_env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not listening_addresses(server.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listening_addresses(server.pid) == [("0.0.0.0", port)]
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert "office network" in err and "unencrypted" in err
