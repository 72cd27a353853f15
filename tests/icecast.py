"""A real Icecast 2 (Debian's `icecast2`) for the relay tests, fed by ffmpeg playing a tone with
a beep every second, so that lost seconds can be counted in what the relay hands on.

Icecast refuses to run as root, so the configuration drops to nobody/nogroup (`changeowner`)
with a log folder nobody may write; `burst-size` is 0 so a listener gets the live point, not
seconds of old audio.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.mosquitto import free_port

ICECAST = shutil.which("icecast2") or "/usr/bin/icecast2"
SOURCE_PASSWORD = "source-secret"
ADMIN_PASSWORD = "admin-secret"

CONFIG = """<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>20</clients><sources>4</sources><queue-size>524288</queue-size>
    <header-timeout>15</header-timeout><source-timeout>10</source-timeout>
    <burst-on-connect>0</burst-on-connect><burst-size>0</burst-size></limits>
  <authentication><source-password>{source}</source-password>
    <admin-user>admin</admin-user><admin-password>{admin}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logs}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{logs}/icecast.pid</pidfile></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
    <loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""
OWNER = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"

BEEPING_TONE = "sine=frequency=1000:beep_factor=4:sample_rate={rate}"
"""A 1 kHz tone with a 4 kHz beep at the start of every second (FFmpeg's `sine` source)."""


class Icecast:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.logs = Path(tempfile.mkdtemp(prefix="loa-icecast-"))

    def url(self, mount: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mount}"

    def start(self, timeout: float = 10.0) -> "Icecast":
        owner = OWNER if os.geteuid() == 0 else ""
        logs = self.logs
        if owner:  # pytest's folders are private to root: nobody could not reach one of them
            shutil.chown(logs, "nobody", "nogroup")
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "icecast.xml"
        conf.write_text(
            CONFIG.format(
                source=SOURCE_PASSWORD, admin=ADMIN_PASSWORD, port=self.port, logs=logs, owner=owner
            )
        )
        self.process = subprocess.Popen(
            [ICECAST, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise RuntimeError(f"icecast2 exited: {self.process.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"icecast2 did not listen on {self.port}")

    def mount_is_up(self, mount: str) -> bool:
        try:
            with urllib.request.urlopen(self.url(mount), timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.logs, ignore_errors=True)


class ToneSource:
    """ffmpeg pushing the beeping tone in real time to a mount, as MP3 or AAC (ADTS)."""

    def __init__(self, icecast: Icecast, mount: str, codec: str = "mp3", rate: int = 44100):
        self.icecast = icecast
        self.mount = mount
        self.codec = codec
        self.rate = rate
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> "ToneSource":
        encoding = (
            ["-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3"]
            if self.codec == "mp3"
            else ["-c:a", "aac", "-b:a", "64k", "-content_type", "audio/aac", "-f", "adts"]
        )
        target = f"icecast://source:{SOURCE_PASSWORD}@127.0.0.1:{self.icecast.port}/{self.mount}"
        self.process = subprocess.Popen(
            [
                *("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re"),
                *("-f", "lavfi", "-i", BEEPING_TONE.format(rate=self.rate), "-ac", "1"),
                *encoding,
                target,
            ],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.icecast.mount_is_up(self.mount):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the mount /{self.mount} did not come up")

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
        self.process = None


def ffmpeg_readers(url: str) -> list[int]:
    """Every ffmpeg reading `url`, whoever started it: a relay's child, or one left behind."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command and command[0].endswith(b"ffmpeg") and url.encode() in command:
                found.append(int(proc.name))
    return found
