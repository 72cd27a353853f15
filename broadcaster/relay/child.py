"""One ffmpeg child turning a stream (or the line-in) into raw PCM, and what its words mean.

The child runs in its own process group and is killed by the kernel when the thread that started
it ends (Linux's parent-death signal), so that no ffmpeg outlives Loa, even after kill -9. Its
stderr is drained in a thread (a full pipe would block it) and its last lines kept, to tell a
404 from a stream that is not audio.
"""

import collections
import contextlib
import ctypes
import ctypes.util
import http.client
import io
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from enum import StrEnum
from typing import cast

from broadcaster.i18n import _
from broadcaster.programs import find_program

RW_TIMEOUT_US = 5_000_000
SNIFF_TIMEOUT_S = 5.0
STDERR_LINES_KEPT = 60
READ_BYTES = 4096
PR_SET_PDEATHSIG = 1
ALSA_DEVICE = re.compile(r"^(hw|plughw|sysdefault|dsnoop|front):|^default$")
"""Names that are ALSA devices; any other line-in name is a PulseAudio source."""
FORMAT_OF_TYPE = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
}
"""ffmpeg's probe waits ~8 s for an Icecast MP3 mount before the first sample (it reads 64 KB
looking past the stream's leading junk); named, the format starts at once."""
PEEK_BYTES = 512
WEB_PAGE = re.compile(rb"\s*<(!doctype|html|\?xml|head|body)", re.IGNORECASE)
"""A captive portal's or an error's page served where the stream was: ffmpeg would search it
for audio frames until it ends."""


class Cause(StrEnum):
    """Why the audio stopped: as the as-run log records each dropout."""

    EOF = "eof"
    STALL = "stall"
    HTTP_4XX = "http-4xx"
    HTTP_5XX = "http-5xx"
    DECODE = "decode"
    CONNECT = "connect"
    DEVICE = "device"
    LATE = "late"
    """The audio came late, with no failure: a slow network, a late HLS segment."""
    EXIT = "exit"


MOVES_ON = (Cause.HTTP_4XX, Cause.DECODE, Cause.DEVICE)
"""Causes that try the next URL at once: this one will not get better by asking again."""


def classify(lines: list[str], returncode: int | None) -> Cause:
    """The cause of an ffmpeg exit (or of its silence) from its last stderr lines."""
    text = "\n".join(lines)
    if re.search(r"Server returned 4|HTTP error 4\d\d", text):
        return Cause.HTTP_4XX
    if re.search(r"Server returned 5|HTTP error 5\d\d", text):
        return Cause.HTTP_5XX
    if re.search(
        r"Invalid data found|could not find codec|does not contain any|matches no streams"
        r"|Failed to read frame size|Error configuring filter|Invalid argument|Header missing"
        r"|Could not find codec parameters",
        text,
    ):
        return Cause.DECODE
    if re.search(r"Connection refused|Connection timed out|resolve|Network is unreachable", text):
        return Cause.CONNECT
    if re.search(r"No such (process|device)|pulse|ALSA|Input/output error", text):
        return Cause.DEVICE
    if returncode == 0 or not text.strip():
        return Cause.EOF
    return Cause.EXIT


class Sniffed:
    """What the server said about a URL before ffmpeg is started on it."""

    def __init__(
        self,
        format_name: str | None,
        cause: Cause | None = None,
        reason: str = "",
        sends_data: bool = False,
    ) -> None:
        self.format_name = format_name
        self.cause = cause
        self.reason = reason
        self.sends_data = sends_data
        """Bytes came: if ffmpeg finds no audio in them, they are not audio."""


def sniff(url: str) -> Sniffed:
    """The stream's format from its Content-Type (so ffmpeg need not probe), or the HTTP error
    that makes starting ffmpeg pointless. Servers that answer oddly (Shoutcast's "ICY 200 OK")
    are left to ffmpeg."""
    if url.lower().split("?")[0].endswith(".m3u8"):
        return Sniffed(None)
    request = urllib.request.Request(url, headers={"Icy-MetaData": "0", "User-Agent": "Loa"})
    try:
        with urllib.request.urlopen(request, timeout=SNIFF_TIMEOUT_S) as answer:
            kind = answer.headers.get_content_type()
            first = answer.read1(PEEK_BYTES)
    except urllib.error.HTTPError as error:
        cause = Cause.HTTP_4XX if 400 <= error.code < 500 else Cause.HTTP_5XX
        return Sniffed(None, cause, f"HTTP {error.code} {error.reason}")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        return Sniffed(None, Cause.CONNECT, str(reason))
    except (http.client.HTTPException, OSError, ValueError):
        return Sniffed(None)
    if WEB_PAGE.match(first):
        return Sniffed(None, Cause.DECODE, _("the server sent a web page, not audio"))
    return Sniffed(FORMAT_OF_TYPE.get(kind), sends_data=bool(first))


def ffmpeg_command(
    ffmpeg: str, url: str | None, line_in: str | None, rate: int, channels: int, fmt: str | None
) -> list[str]:
    head = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info"]
    if line_in is not None:
        source = ["-f", "alsa" if ALSA_DEVICE.search(line_in) else "pulse", "-i", line_in]
    else:
        assert url is not None
        source = [
            "-rw_timeout",
            str(RW_TIMEOUT_US),
            "-reconnect",
            "1",
            "-reconnect_streamed",
            "1",
            "-reconnect_on_network_error",
            "1",
            "-reconnect_delay_max",
            "2",
        ]
        source += ["-f", fmt] if fmt else []
        source += ["-i", url]
    return head + source + ["-vn", "-ac", str(channels), "-ar", str(rate), "-f", "s16le", "-"]


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function that makes the kernel kill the child when its parent thread ends
    (Linux only; elsewhere the session's own kill must do)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


class Child:
    """A running ffmpeg: `on_pcm` gets its stdout as it comes, from a reader thread."""

    def __init__(self, command: list[str], on_pcm: Callable[[bytes], None]) -> None:
        self.command = command
        self.stderr_lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES_KEPT)
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
        self.input_audio: str | None = None
        """ffmpeg's line about the input's audio stream (codec, rate, bit rate)."""
        self.finished = threading.Event()
        """Set when stdout is at its end: ffmpeg is gone or about to be."""
        self._stderr_done = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(on_pcm,), daemon=True)
        self._errors = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        self._errors.start()

    def _read(self, on_pcm: Callable[[bytes], None]) -> None:
        stdout = cast(io.BufferedReader, self.process.stdout)
        try:
            while data := stdout.read1(READ_BYTES):
                on_pcm(data)
        except (OSError, ValueError):
            pass
        finally:
            stdout.close()
            self.finished.set()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        in_input = False
        try:
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self.stderr_lines.append(line)
                if line.startswith("Input #"):
                    in_input = True
                elif line.startswith(("Output #", "Stream mapping")):
                    in_input = False
                elif in_input and "Audio:" in line and self.input_audio is None:
                    self.input_audio = line
        except (OSError, ValueError):
            pass
        finally:
            self.process.stderr.close()
            self._stderr_done.set()

    def exit_cause(self) -> Cause:
        """Once `finished`: why ffmpeg ended, from its exit and its last words."""
        try:
            code = self.process.wait(2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self._stderr_done.wait(2.0)
        return classify(list(self.stderr_lines), code)

    def kill(self) -> None:
        """Kill ffmpeg's whole process group and reap it; the pipes close as their threads end
        (closing them here would wait on a read in progress)."""
        if self.process.poll() is None:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:  # Windows: no process groups
                    self.process.kill()
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5.0)

    def info(self) -> tuple[str | None, int | None]:
        """The codec and bit rate (kbit/s) ffmpeg reported for the input, if it did."""
        line = self.input_audio
        if line is None:
            return None, None
        codec = line.split("Audio:", 1)[1].split(",")[0].strip().split(" ")[0]
        rate = re.search(r"(\d+) kb/s", line)
        return codec, int(rate.group(1)) if rate else None


def find_ffmpeg() -> str | None:
    return find_program("ffmpeg")
