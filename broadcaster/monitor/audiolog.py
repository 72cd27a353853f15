"""The daily audio log: what the monitor heard, as Opus in Ogg, one file a day.

Each file is named after the moment of its first sample (`2026-11-30_190905+0700.ogg`, the PC's
time and zone) and runs on the wall clock from there: the writer pads what the capture lacked
with silence and drops what it had too much of, so `start + offset` is when a sample was heard.
A new day, a restart or a long gap in the capture starts a new file. At 8 kHz and 12 kbit/s a
day is about 130 MB; `keep_days` and `disk_mb` are enforced, the oldest files first.

`cut` reads the files only, so `loa monitor listen` works with the station stopped.
"""

import contextlib
import errno
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from broadcaster.errors import AudioFileError, LoaError, OutputFileError, describe_os_error
from broadcaster.files import atomic_file
from broadcaster.i18n import _
from broadcaster.programs import find_program
from broadcaster.relay.child import _parent_death_signal

RATE = 8000
"""The monitor's capture rate: enough to tell speech and music from silence, and to listen."""
BIT_RATE = "12k"
NAME_FORMAT = "%Y-%m-%d_%H%M%S%z"
SUFFIX = ".ogg"
ALIGN_S = 0.2
"""The file is kept this near to the wall clock (a sound card's clock is a little off)."""
NEW_FILE_AFTER_GAP_S = 600.0
"""A longer gap in the capture starts a new file rather than ten minutes of silence."""
PENDING_LIMIT_S = 10.0
"""Audio the encoder may be behind by before it counts as stuck."""
MIN_FREE_BYTES = 100_000
"""With less room than this (a minute of the log) the log stops, before the disk is full."""
DISK_CHECK_S = 2.0
OUTPUT_FORMATS = {
    ".wav": ["-f", "wav"],
    ".ogg": ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"],
    ".opus": ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "48k", "-f", "mp3"],
    ".flac": ["-f", "flac"],
}


@dataclass(frozen=True)
class LogFile:
    path: Path
    start: float
    """time.time() of its first sample."""

    @property
    def day(self) -> str:
        return self.path.name[:10]


def file_name(start: float) -> str:
    return datetime.fromtimestamp(start).astimezone().strftime(NAME_FORMAT) + SUFFIX


def log_files(log_dir: Path) -> list[LogFile]:
    """The audio log's files, oldest first; other files in the folder are left alone."""
    found = []
    with contextlib.suppress(OSError):
        for path in log_dir.iterdir():
            if path.suffix != SUFFIX:
                continue
            try:
                start = datetime.strptime(path.stem, NAME_FORMAT).timestamp()
            except ValueError:
                continue
            found.append(LogFile(path, start))
    return sorted(found, key=lambda file: file.start)


def audio_log_usage(log_dir: Path) -> tuple[int, int]:
    """How many days the audio log holds and how many bytes, for `loa status`."""
    files = log_files(log_dir)
    size = 0
    for file in files:
        with contextlib.suppress(OSError):
            size += file.path.stat().st_size
    return len({file.day for file in files}), size


def prune(log_dir: Path, keep_days: int, disk_bytes: int, now: float, keep: Path | None) -> int:
    """Delete the files of days older than `keep_days` (today is one), then the oldest until
    the rest fit in `disk_bytes`; never `keep` (the file being written). How many went."""
    files = [file for file in log_files(log_dir) if file.path != keep]
    first_day = (datetime.fromtimestamp(now) - timedelta(days=keep_days - 1)).strftime("%Y-%m-%d")
    sizes = {}
    for file in files:
        with contextlib.suppress(OSError):
            sizes[file.path] = file.path.stat().st_size
    total = sum(sizes.values())
    if keep is not None:
        with contextlib.suppress(OSError):
            total += keep.stat().st_size
    removed = 0
    for file in files:
        if file.day >= first_day and total <= disk_bytes:
            break
        with contextlib.suppress(OSError):
            file.path.unlink()
            removed += 1
        total -= sizes.get(file.path, 0)
    return removed


class AudioLogWriter:
    """Writes what the capture hands over to the day's file through an ffmpeg child; a problem
    (a full disk) stops the log, says so through `on_problem` and is tried again later, without
    ever holding up the capture."""

    def __init__(
        self,
        log_dir: Path,
        keep_days: int,
        disk_bytes: int,
        on_problem: Callable[[str | None], None],
        retry_s: float = 60.0,
        prune_every_s: float = 600.0,
    ) -> None:
        self.log_dir = log_dir
        self.keep_days = keep_days
        self.disk_bytes = disk_bytes
        self.on_problem = on_problem
        self.retry_s = retry_s
        self.prune_every_s = prune_every_s
        self.current: LogFile | None = None
        self.written: list[tuple[LogFile, float]] = []
        """The files this writer made, with the time their last sample covers."""
        self._encoder: subprocess.Popen[bytes] | None = None
        self._samples = 0
        self._pending = bytearray()
        self._failed_at: float | None = None
        self._pruned_at = -float("inf")
        self._checked_at = -float("inf")
        self.problem: str | None = None

    def write(self, pcm: bytes, start: float) -> None:
        """Samples (s16le, mono, RATE) whose first one was heard at `start`."""
        if self._failed_at is not None and start - self._failed_at < self.retry_s:
            return
        if start - self._pruned_at >= self.prune_every_s:
            self._pruned_at = start
            keep = self.current.path if self.current else None
            prune(self.log_dir, self.keep_days, self.disk_bytes, start, keep)
        if self.current is not None and start - self._checked_at >= DISK_CHECK_S:
            self._checked_at = start
            self._check_disk(start)
        if self.current is not None:
            pcm, start = self._on_the_clock(pcm, start)
        if self.current is None or self._new_day(start):
            self._open(start)
            if self.current is not None:  # its name says the whole second: silence up to now
                pcm = bytes(2 * round((start - self.current.start) * RATE)) + pcm
        if self.current is None or self._encoder is None:
            return
        self._pending += pcm
        self._samples += len(pcm) // 2
        self._mark_written()
        self._flush()

    def position(self, t: float, until: float | None = None) -> str:
        """`FILE@SECONDS` of the moment `t` in what this writer wrote, or of the first moment
        written before `until` (a stretch that began before the log did); empty if none."""
        for file, end in reversed(self.written):
            if file.start <= t <= end + 1.0 or t < file.start <= (until or t):
                return f"{file.path.name}@{max(0.0, t - file.start):.1f}"
        return ""

    def close(self) -> None:
        encoder, self._encoder = self._encoder, None
        self.current = None
        if encoder is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if encoder.stdin is not None:
                os.set_blocking(encoder.stdin.fileno(), True)
                encoder.stdin.write(bytes(self._pending))
                encoder.stdin.close()
        self._pending.clear()
        try:
            encoder.wait(5.0)
        except subprocess.TimeoutExpired:
            encoder.kill()
            encoder.wait()

    def _on_the_clock(self, pcm: bytes, start: float) -> tuple[bytes, float]:
        """Pad or trim `pcm` so that the file stays on the wall clock; a long gap closes it."""
        assert self.current is not None
        due = self.current.start + self._samples / RATE
        gap = start - due
        if gap > NEW_FILE_AFTER_GAP_S:
            self.close()
            return pcm, start
        if gap > ALIGN_S:
            return bytes(2 * round(gap * RATE)) + pcm, due
        if gap < -ALIGN_S:
            drop = min(len(pcm), 2 * round(-gap * RATE))
            return pcm[drop:], start + drop / 2 / RATE
        return pcm, start

    def _new_day(self, start: float) -> bool:
        assert self.current is not None
        return (
            datetime.fromtimestamp(start).date()
            != datetime.fromtimestamp(self.current.start).date()
        )

    def _open(self, start: float) -> None:
        self.close()
        ffmpeg = find_program("ffmpeg")
        if ffmpeg is None:
            self._fail(start, _no_ffmpeg())
            return
        prune(self.log_dir, self.keep_days, self.disk_bytes, start, None)
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            if shutil.disk_usage(self.log_dir).free < MIN_FREE_BYTES:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as error:
            self._fail(start, describe_os_error(error))
            return
        file = LogFile(self.log_dir / file_name(start), float(math.floor(start)))
        command = [
            *(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
            *("-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0"),
            *("-c:a", "libopus", "-b:a", BIT_RATE, "-application", "voip"),
            *("-compression_level", "3", "-frame_duration", "60"),  # a third of the CPU
            *("-flush_packets", "1", "-f", "ogg", str(file.path)),
        ]
        self._encoder = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),  # never outlives Loa
        )
        assert self._encoder.stdin is not None
        os.set_blocking(self._encoder.stdin.fileno(), False)
        self.current = file
        self._samples = 0
        self.written.append((file, start))
        self._failed_at = None
        if self.problem is not None:
            self.problem = None
            self.on_problem(None)

    def _check_disk(self, now: float) -> None:
        """Stop before the disk is full: the as-run log and the station need it more."""
        try:
            free = shutil.disk_usage(self.log_dir).free
        except OSError as error:
            free, reason = 0, describe_os_error(error)
        else:
            reason = describe_os_error(OSError(errno.ENOSPC, "No space left on device"))
        if free < MIN_FREE_BYTES:
            self.close()
            self._fail(now, reason)

    def _mark_written(self) -> None:
        assert self.current is not None
        self.written[-1] = (self.current, self.current.start + self._samples / RATE)

    def _flush(self) -> None:
        encoder = self._encoder
        assert encoder is not None and encoder.stdin is not None
        if encoder.poll() is not None:
            self._encoder_failed(encoder)
            return
        try:
            while self._pending:
                sent = os.write(encoder.stdin.fileno(), self._pending)
                del self._pending[:sent]
        except BlockingIOError:
            if len(self._pending) > PENDING_LIMIT_S * RATE * 2:
                encoder.kill()
                self._encoder_failed(encoder, _("the encoder does not keep up"))
        except (BrokenPipeError, OSError):
            self._encoder_failed(encoder)

    def _encoder_failed(self, encoder: subprocess.Popen[bytes], reason: str = "") -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            encoder.wait(2.0)
        said = b""
        if encoder.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                os.set_blocking(encoder.stderr.fileno(), False)
                said = encoder.stderr.read() or b""
        text = said.decode("utf-8", "replace")
        if "No space left" in text:
            reason = describe_os_error(OSError(errno.ENOSPC, "No space left on device"))
        reason = reason or (text.strip().splitlines() or [_("the encoder stopped")])[-1]
        for pipe in (encoder.stdin, encoder.stderr):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()
        self._encoder = None
        self.current = None
        self._pending.clear()
        self._fail(time.time(), reason)

    def _fail(self, at: float, reason: str) -> None:
        self._failed_at = at
        message = _(
            "The audio log in {folder} stopped: {reason}. The monitor goes on checking "
            "broadcasts; free some disk space (or lower monitor: disk_mb) and the log starts "
            "again by itself."
        ).format(folder=self.log_dir, reason=reason)
        if message != self.problem:
            self.problem = message
            self.on_problem(message)


class DailyAudioLog:
    """The audio log read back: what was heard at a given time, cut out to a file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir

    def cut(self, at: datetime, seconds: float, out: Path) -> Path:
        begin = at.timestamp()
        samples = self.samples(begin, seconds)
        encoding = OUTPUT_FORMATS.get(out.suffix.lower())
        if encoding is None:
            raise OutputFileError(
                _("Cannot write {file}: name it .wav, .mp3, .ogg, .opus or .flac.").format(file=out)
            )
        ffmpeg = _ffmpeg()
        made = subprocess.run(
            [
                *(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"),
                *("-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0"),
                *encoding,
                "pipe:1",
            ],
            input=(samples * 32767).astype("<i2").tobytes(),
            capture_output=True,
            check=False,
        )
        if made.returncode != 0:
            raise OutputFileError(
                _("Cannot write {file}: {reason}.").format(
                    file=out, reason=made.stderr.decode("utf-8", "replace").strip()[-300:]
                )
            )
        try:
            with atomic_file(out) as written:
                written.write(made.stdout)
        except OSError as error:
            raise OutputFileError(
                _("Cannot write {file}: {reason}.").format(
                    file=out, reason=describe_os_error(error)
                )
            ) from error
        return out

    def samples(self, begin: float, seconds: float) -> np.ndarray:
        """What was heard from `begin` for `seconds`, float -1…1 at RATE; silence where the
        log has nothing. A LoaError if it has nothing at `begin`."""
        end = begin + seconds
        files = log_files(self.log_dir)
        result = np.zeros(max(1, round(seconds * RATE)))
        covered_begin = False
        for index, file in enumerate(files):
            following = files[index + 1].start if index + 1 < len(files) else float("inf")
            if file.start >= end or following <= begin:
                continue
            offset = max(0.0, begin - file.start)
            take = min(end, following, file.start + _duration(file.path)) - max(begin, file.start)
            if take <= 0:
                continue
            pcm = _decode(file.path, offset, take)
            place = round((max(begin, file.start) - begin) * RATE)
            piece = pcm[: len(result) - place]
            result[place : place + len(piece)] = piece
            covered_begin |= file.start <= begin + 0.5 and len(pcm) > 0
        if not covered_begin:
            raise AudioFileError(self._nothing_at(begin, files))
        return result

    def _nothing_at(self, begin: float, files: list[LogFile]) -> str:
        moment = datetime.fromtimestamp(begin).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if not files:
            return _(
                "The audio log in {folder} is empty: is monitor: set in station.yaml, and has "
                "loa run been running?"
            ).format(folder=self.log_dir)
        first = datetime.fromtimestamp(files[0].start).strftime("%Y-%m-%d %H:%M")
        return _(
            "The audio log has nothing at {moment} (it starts at {first}, and the monitor was "
            "not listening then): pick another time."
        ).format(moment=moment, first=first)


def open_audio_log(log_dir: Path) -> DailyAudioLog:
    return DailyAudioLog(log_dir)


def _no_ffmpeg() -> str:
    return _("The audio log needs ffmpeg, which is not installed: sudo apt install ffmpeg")


def _ffmpeg() -> str:
    ffmpeg = find_program("ffmpeg")
    if ffmpeg is None:
        raise LoaError(_no_ffmpeg())
    return ffmpeg


def _duration(path: Path) -> float:
    """How long a file of the log is (its last page says: quick, even for a whole day)."""
    ffprobe = find_program("ffprobe")
    if ffprobe is None:
        return float("inf")
    probed = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(probed.stdout.strip())
    except ValueError:
        return 0.0


def _decode(path: Path, offset: float, seconds: float) -> np.ndarray:
    decoded = subprocess.run(
        [
            *(_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error"),
            *("-ss", f"{offset:.3f}", "-i", str(path), "-t", f"{seconds:.3f}"),
            *("-f", "s16le", "-ar", str(RATE), "-ac", "1", "pipe:1"),
        ],
        capture_output=True,
        check=False,
    )
    pcm = decoded.stdout[: len(decoded.stdout) // 2 * 2]
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
