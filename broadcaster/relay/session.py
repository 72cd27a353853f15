"""A relay session: one source's live audio as chunks for the output, supervised.

A supervisor thread owns the ffmpeg child: it starts it (so the kernel kills the child if the
thread, and Loa, go away), watches for audio that stops coming (a stall: a frozen HLS playlist, a
source that hangs), kills and restarts it with back-off, and moves to the next URL when one
answers 403/404 or is not audio. Every outage is the supervisor's to log, with its cause and the
time listeners missed. The player side (`chunks`) never waits for the network: it takes what the
live buffer holds at the pace of the clock, and fills what is missing with silence, then with
the fallback.
"""

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydub import AudioSegment

from broadcaster.audio.api import Chunk
from broadcaster.core.settings import RELAY_FALLBACK_AFTER_S, OutputSettings, RelaySource
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.relay.child import (
    MOVES_ON,
    Cause,
    Child,
    Sniffed,
    classify,
    ffmpeg_command,
    find_ffmpeg,
    sniff,
)
from broadcaster.relay.level import GainStore, Leveller
from broadcaster.relay.live import CUSHION_S, STEADY_WINDOW_S, LiveBuffer

CHUNK_S = 0.1
LEAD_S = 0.3
"""A chunk is handed out this long before its time, so that the output is never starved while
the player's thread waits for a busy PC. While nobody plays, the buffer keeps this much more
than the cushion: the player reads this much ahead once it starts."""
IDLE_KEEP_S = CUSHION_S + LEAD_S
FADE_S = 2.0
"""The relay's end: faded out over this, whatever the stream does."""
STALL_S = 5.0
"""No new audio for this long is a stall: ffmpeg is killed and started again."""
FIRST_AUDIO_S = 10.0
"""A new connection has this long to bring its first audio (HLS fetches a playlist and three
segments first)."""
BURST_ALLOWANCE_S = 2.0
LONGEST_BURST_S = 10.0
"""HLS delivers whole segments: the stall limit grows to the longest wait seen between two
(up to this) plus the allowance, so a stream of 10 s segments is not restarted every 5 s."""
RETRY_MIN_S = 1.0
"""Never a connection attempt sooner than this after the last one started."""
RETRY_MAX_S = 2.0
"""The longest wait between attempts: back on the air within ~5 s of the source's return."""
TRIES_PER_URL = 2
"""Failures to connect (no answer, a server error) before the next URL is tried."""
AUDIBLE_GAP_S = 0.5
"""A gap in the audio that ffmpeg bridged by itself (its own reconnect) is a dropout from this."""
WORRYING = re.compile(
    r"error|invalid|returned|failed|refused|timed out|denied|not found|missing|could not", re.I
)
TICK_S = 0.1
IDLE_S = 0.3
INFO_WAIT_S = 1.0
RESYNC_S = 1.0


class RelayError(LoaError):
    """A relay that cannot start at all: no ffmpeg, a source with nothing to play."""


class RelayResult(StrEnum):
    RELAYED = "relayed"
    RELAYED_WITH_DROPOUTS = "relayed-with-dropouts"
    FAILED = "failed"


@dataclass(frozen=True)
class Dropout:
    start: float
    """time.time() when listeners stopped hearing the source."""
    seconds: float
    cause: str
    """A Cause value: eof, stall, http-4xx, http-5xx, decode, connect, device, late, exit."""
    url: str
    """The URL (or line-in device) that failed."""


@dataclass(frozen=True)
class RelaySummary:
    """What the as-run row of a relay occurrence says."""

    result: RelayResult
    seconds_on_air: float
    """Of the source's own audio (not the fallback, not silence)."""
    seconds_fallback: float
    seconds_silent: float
    dropouts: tuple[Dropout, ...]
    started_at: float | None
    ended_at: float | None
    last_error: str | None

    @property
    def minutes_on_air(self) -> float:
        return self.seconds_on_air / 60


class _Looped:
    """The fallback's chunks, cut to the relay's chunk length, started again when they end."""

    def __init__(self, make: Callable[[], Iterable[Chunk]], output: OutputSettings) -> None:
        self.make = make
        self.output = output
        self.pieces: Iterator[Chunk] = iter(())
        self.held = AudioSegment.empty()
        self.failed = False
        self._lock = threading.Lock()

    def prime(self) -> None:
        """Render the start ahead, on a thread of its own (speech takes a moment): the fallback
        then begins on time instead of a second late."""
        with self._lock:
            self._fill(1)  # its first piece: what takes long is starting the speech

    def take(self, milliseconds: int) -> Chunk | None:
        with self._lock:
            self._fill(milliseconds)
            if len(self.held) < milliseconds:
                return None
            chunk, self.held = self.held[:milliseconds], self.held[milliseconds:]
            return chunk

    def _fill(self, milliseconds: int) -> None:
        restarts = 0
        while len(self.held) < milliseconds and not self.failed:
            piece = next(self.pieces, None)
            if piece is None:
                restarts += 1
                if restarts > 2:  # started again and again with nothing in it
                    self.failed = True
                    break
                try:
                    self.pieces = iter(self.make())
                except LoaError:
                    self.failed = True
                continue
            restarts = 0
            self.held += (
                piece.set_frame_rate(self.output.sample_rate)
                .set_channels(self.output.channels)
                .set_sample_width(2)
            )


class Relay:
    """One relay of `source`: `connect()` ahead of time, then `chunks(until)` (again after a
    pre-emption), then `close()`; `summary()` for the as-run log."""

    def __init__(
        self,
        source: RelaySource,
        output: OutputSettings,
        *,
        fallback: Callable[[], Iterable[Chunk]] | None = None,
        fallback_after_s: float = RELAY_FALLBACK_AFTER_S,
        gains: GainStore | None = None,
        stall_s: float = STALL_S,
    ) -> None:
        self.source = source
        self.output = output
        self.fallback = fallback
        self.fallback_after_s = fallback_after_s
        self.gains = gains
        self.stall_s = stall_s
        self.rate = output.sample_rate
        self.channels = output.channels
        self.frame_bytes = 2 * self.channels
        self.bytes_per_second = self.rate * self.frame_bytes
        self.buffer = LiveBuffer(self.bytes_per_second, self.frame_bytes)
        self.leveller = Leveller(
            self.rate,
            self.channels,
            output.loudness_lufs,
            output.true_peak_dbtp,
            gains.get(source.name) if gains is not None else None,
        )
        self.dropouts: list[Dropout] = []
        self.last_error: str | None = None
        self._codec: str | None = None
        self._bit_rate_kbps: int | None = None
        self.url: str | None = None
        """The URL (or device) in use or last tried."""
        self.connected_at: float | None = None
        self.first_audio_at: float | None = None
        """time.time() of the first audio since connect()."""
        self.first_audio = threading.Event()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._child: Child | None = None
        self._raw = bytearray()
        self._block_bytes = int(self.rate * CHUNK_S) * self.frame_bytes
        self._last_pcm = 0.0
        self._audible_until = 0.0
        self._run_had_audio = False
        self._longest_burst = 0.0
        self._steady = False
        """Whether the stream in use comes at the pace of the clock (not HLS's bursts)."""
        self._outage: tuple[float, Cause, str] | None = None
        self._consumed_clock = time.monotonic()
        self._played_until = 0.0
        """time.monotonic() until which the player has taken audio; long past: nobody plays."""
        self._silent_run = 0.0
        self._looped: _Looped | None = None
        self._seconds = {"air": 0.0, "fallback": 0.0, "silent": 0.0}
        self._windows: list[list[float]] = []
        """[start, end] (time.time()) of each stretch `chunks` handed out."""

    # -- the supervisor ---------------------------------------------------------------------

    def connect(self) -> None:
        """Start receiving (returns at once): the first audio comes within seconds, and the
        live point is kept from then on whether or not `chunks` is being read."""
        if self._supervisor is not None:
            return
        ffmpeg = find_ffmpeg()
        if ffmpeg is None:
            raise RelayError(
                _(
                    "Relaying {name} needs ffmpeg, which is not installed. Install it with: "
                    "sudo apt install ffmpeg"
                ).format(name=self.source.name)
            )
        if not self.source.urls and self.source.line_in is None:
            raise RelayError(
                _("The relay source {name} has no URL and no line-in in station.yaml.").format(
                    name=self.source.name
                )
            )
        for url in self.source.urls:
            if not url.lower().startswith(("http://", "https://")):
                raise RelayError(
                    _(
                        "The relay source {name} has the address {url}, which is not a web "
                        "address: write one that starts with http:// or https:// in station.yaml."
                    ).format(name=self.source.name, url=url)
                )
        self.connected_at = time.time()
        self._consumed_clock = time.monotonic()
        self._played_until = 0.0
        self._supervisor = threading.Thread(
            target=self._supervise, args=(ffmpeg,), name=f"relay-{self.source.name}", daemon=True
        )
        self._supervisor.start()

    def _supervise(self, ffmpeg: str) -> None:
        targets: list[str | None] = list(self.source.urls) or [None]
        index = 0
        failures_here = 0
        failures_in_a_row = 0
        while not self._closing.is_set():
            started = time.monotonic()
            url = targets[index]
            cause, reason = self._run_once(ffmpeg, url)
            if cause is None or self._closing.is_set():
                break
            if self.source.line_in is not None and cause != Cause.STALL:
                cause = Cause.DEVICE  # a sound card's input has no URL, server or codec
            self._note_failure(cause, url or self.source.line_in or "", reason)
            if self._run_had_audio:
                failures_here = failures_in_a_row = 0
            else:
                failures_here += 1
                failures_in_a_row += 1
            if cause in MOVES_ON or failures_here >= TRIES_PER_URL:
                index = (index + 1) % len(targets)
                failures_here = 0
            backoff = (
                min(RETRY_MAX_S, 0.5 * 2 ** (failures_in_a_row - 1)) if failures_in_a_row else 0
            )
            self._wait(max(backoff, RETRY_MIN_S - (time.monotonic() - started)))

    def _run_once(self, ffmpeg: str, url: str | None) -> tuple[Cause | None, str]:
        """One connection, until it fails (its cause and ffmpeg's last word) or the relay
        closes (None)."""
        self.url = url or self.source.line_in
        self._run_had_audio = False
        sniffed = sniff(url) if url is not None else Sniffed(None)
        if sniffed.cause is not None:
            return sniffed.cause, sniffed.reason
        if self._closing.is_set():
            return None, ""
        self._steady = url is None or sniffed.format_name is not None  # line-in, Icecast
        command = ffmpeg_command(
            ffmpeg, url, self.source.line_in, self.rate, self.channels, sniffed.format_name
        )
        child = Child(command, self._on_pcm)
        with self._lock:
            self._child = child
        connected = time.monotonic()
        try:
            while not self._closing.is_set():
                if child.finished.wait(TICK_S):
                    if self._closing.is_set():
                        break
                    cause = child.exit_cause()
                    if self._run_had_audio and cause in (Cause.HTTP_4XX, Cause.HTTP_5XX):
                        cause = Cause.EOF  # ffmpeg's own reconnect found the stream gone
                    return cause, _last_words(child)
                self._tick()
                since = self._last_pcm if self._run_had_audio else connected
                limit = self._stall_limit() if self._run_had_audio else FIRST_AUDIO_S
                if time.monotonic() - since > limit:
                    if self._run_had_audio:
                        return Cause.STALL, ""
                    said = classify(list(child.stderr_lines), None)
                    if said == Cause.EOF and sniffed.sends_data:
                        return Cause.DECODE, _("the server sends data, but no audio is in it")
                    return (Cause.CONNECT if said == Cause.EOF else said), _last_words(child)
            return None, ""
        finally:
            child.kill()
            child.finished.wait(2.0)
            with self._lock:
                self._child = None
                self._raw.clear()  # played late, the last 100 ms would cut the gap in two
                self.leveller.flush()

    def _stall_limit(self) -> float:
        return max(self.stall_s, min(self._longest_burst, LONGEST_BURST_S) + BURST_ALLOWANCE_S)

    def _note_failure(self, cause: Cause, where: str, reason: str) -> None:
        self.last_error = f"{where}: {reason or cause.value}"
        with self._lock:
            if self._outage is None:
                start = self._audible_until if self.first_audio_at else (self.connected_at or 0)
                self._outage = (start, cause, where)

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while not self._closing.is_set() and time.monotonic() < deadline:
            self._closing.wait(min(TICK_S, max(0.0, deadline - time.monotonic())))
            self._tick()

    def _tick(self) -> None:
        """Keep the live point: when nobody reads, the player's position follows the clock, and
        a steady stream's connection burst is trimmed to what the player will keep in hand."""
        now = time.monotonic()
        with self._lock:
            idle = now > self._consumed_clock + IDLE_S
            if idle:
                elapsed = int((now - self._consumed_clock) * self.bytes_per_second)
                keep = int(IDLE_KEEP_S * self.bytes_per_second)
                self.buffer.skip(min(elapsed, self.buffer.level() - keep))
                self._consumed_clock = now
        if idle and self._steady:
            self.buffer.settle(IDLE_KEEP_S, STEADY_WINDOW_S, slack_s=CHUNK_S)
        else:
            self.buffer.settle()

    def _on_pcm(self, data: bytes) -> None:
        """From the reader thread: ffmpeg's PCM, levelled, into the live buffer."""
        now = time.monotonic()
        wall = time.time()
        with self._lock:
            if self._outage is not None:
                start, cause, where = self._outage
                back = wall
                if now <= self._played_until + IDLE_S:  # heard once what is ahead has played
                    back += self.buffer.level_s() + LEAD_S
                self.dropouts.append(Dropout(start, max(0.0, back - start), cause.value, where))
                self._outage = None
            elif self._run_had_audio:
                gap = now - self._last_pcm
                if gap < self._stall_limit():
                    self._longest_burst = max(self._longest_burst, gap)
                audible = wall - self._audible_until
                if audible >= AUDIBLE_GAP_S and gap > BURST_ALLOWANCE_S:
                    said = " ".join(self._child.stderr_lines) if self._child else ""
                    cause = Cause.EOF if "reconnect" in said.lower() else Cause.LATE
                    self.dropouts.append(
                        Dropout(self._audible_until, audible, cause.value, self.url or "")
                    )
            if self.first_audio_at is None:
                self.first_audio_at = wall
            self._last_pcm = now
            self._run_had_audio = True
            self._raw += data
            while len(self._raw) >= self._block_bytes:
                block = bytes(self._raw[: self._block_bytes])
                del self._raw[: self._block_bytes]
                self._write(self.leveller.process(self._floats(block)))
            # what arrived now is handed out once the buffer ahead of it is, and heard LEAD_S later
            self._audible_until = wall + self.buffer.level_s() + LEAD_S
        self.first_audio.set()

    def _floats(self, pcm: bytes) -> np.ndarray:
        samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, self.channels)
        return samples.astype(np.float64) / 32768

    def _write(self, samples: np.ndarray) -> None:
        if len(samples):
            pcm = np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")
            self.buffer.write(pcm.tobytes())

    def wait_for_audio(self, timeout: float) -> bool:
        """Whether audio came within `timeout` seconds (for checks; the daemon need not wait)."""
        if not self.first_audio.wait(timeout):
            return False
        wait_for_info = time.monotonic() + INFO_WAIT_S
        while self.codec is None and time.monotonic() < wait_for_info:
            time.sleep(TICK_S / 5)
        return True

    @property
    def codec(self) -> str | None:
        """The stream's codec as ffmpeg names it (mp3, aac…), once known."""
        self._refresh_info()
        return self._codec

    @property
    def bit_rate_kbps(self) -> int | None:
        self._refresh_info()
        return self._bit_rate_kbps

    def _refresh_info(self) -> None:
        with self._lock:
            child = self._child
        if child is not None and child.input_audio is not None:
            self._codec, self._bit_rate_kbps = child.info()

    def problem(self) -> str | None:
        """What is wrong with the source now, or last went wrong, in one line naming it."""
        with self._lock:
            child = self._child
        words = _last_words(child) if child is not None else ""
        if words and classify([words], None) == Cause.DECODE:
            return _("{url}: not audio that ffmpeg can read ({words})").format(
                url=self.url, words=words
            )
        return self.last_error

    def outage(self) -> Dropout | None:
        """The outage going on now (its seconds so far), or None while the source plays."""
        with self._lock:
            if self._outage is None:
                return None
            start, cause, where = self._outage
        return Dropout(start, max(0.0, time.time() - start), cause.value, where)

    @property
    def on_air(self) -> bool:
        """Whether the source's audio is coming now."""
        return self._outage is None and self.first_audio_at is not None

    @property
    def latency_s(self) -> float:
        """How far behind the live edge the player is (the buffer's level)."""
        return self.buffer.level_s()

    # -- the player side --------------------------------------------------------------------

    def chunks(
        self, until: float, start: float | None = None, stop: threading.Event | None = None
    ) -> Iterator[Chunk]:
        """The live audio from `start` (a time.time() value; default now) to `until`, in 100 ms
        chunks handed out at the pace of the clock, faded out over the last 2 s. Gaps are
        silence, then the fallback once the source has been gone `fallback_after_s`. Call it
        again after a pre-emption: it resumes at the live point. It ends early when `stop` is
        set, also while it waits for its start (a relay stopped in its pre-roll)."""
        begin = time.time() if start is None else start
        total = round((until - begin) * self.rate)
        done = 0
        window = [begin, begin]
        self._windows.append(window)
        while done < total and not self._closing.is_set():
            at = begin + done / self.rate
            early = at - LEAD_S - time.time()
            if early > 0 and self._held(early, stop):
                return
            behind = time.time() - at
            if behind > RESYNC_S:  # the output fell behind: rejoin the clock
                done += round(behind * self.rate)
                continue
            frames = min(round(CHUNK_S * self.rate), total - done)
            chunk = _faded(self._take(frames), at, until)
            done += frames
            window[1] = begin + done / self.rate
            yield chunk

    def _held(self, seconds: float, stop: threading.Event | None) -> bool:
        """Wait `seconds` for a chunk's time; True if the relay closed or `stop` was set."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._closing.wait(min(left, TICK_S)) or (stop is not None and stop.is_set()):
                return True
        return self._closing.is_set() or (stop is not None and stop.is_set())

    def _take(self, frames: int) -> Chunk:
        length = frames / self.rate
        with self._lock:
            self._consumed_clock = self._played_until = time.monotonic() + LEAD_S + length
        data, real = self.buffer.read(frames * self.frame_bytes)
        if real:
            self._silent_run = 0.0
            self._looped = None
            self._seconds["air"] += real / self.bytes_per_second
            self._seconds["silent"] += (len(data) - real) / self.bytes_per_second
            return self._segment(data)
        self._silent_run += length
        half_way = self._silent_run >= self.fallback_after_s / 2
        if self.fallback is not None and half_way and self._looped is None:
            self._looped = _Looped(self.fallback, self.output)  # rendered ahead, on its own thread
            threading.Thread(target=self._looped.prime, name="loa-fallback", daemon=True).start()
        if self._looped is not None and self._silent_run >= self.fallback_after_s:
            piece = self._looped.take(round(length * 1000))
            if piece is not None and len(piece.raw_data) >= len(data):
                self._seconds["fallback"] += length
                return self._segment(piece.raw_data[: len(data)])
        self._seconds["silent"] += length
        return self._segment(data)

    def _segment(self, data: bytes) -> Chunk:
        return AudioSegment(data=data, sample_width=2, frame_rate=self.rate, channels=self.channels)

    # -- the end ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop receiving: ffmpeg is killed at once; the source's gain is remembered."""
        self._closing.set()
        with self._lock:
            child = self._child
        if child is not None:
            child.kill()
        if self._supervisor is not None:
            self._supervisor.join(5.0)
        with self._lock:
            if self._outage is not None:
                start, cause, where = self._outage
                self.dropouts.append(
                    Dropout(start, max(0.0, time.time() - start), cause.value, where)
                )
                self._outage = None
            gain = self.leveller.gain_to_remember()
        if self.gains is not None and gain is not None:
            self.gains.put(self.source.name, gain)

    def __enter__(self) -> "Relay":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summary(self) -> RelaySummary:
        """The relay as the as-run log records it: dropouts within the time it was on the air
        (clipped to it), and whether the source was heard at all."""
        with self._lock:
            dropouts = list(self.dropouts)
            if self._outage is not None:
                start, cause, where = self._outage
                dropouts.append(Dropout(start, max(0.0, time.time() - start), cause.value, where))
        windows = [(begin, end) for begin, end in self._windows if end > begin]
        if windows:
            dropouts = [kept for begin, end in windows for kept in _clipped(dropouts, begin, end)]
        if self._seconds["air"] <= 0:
            result = RelayResult.FAILED
        elif dropouts:
            result = RelayResult.RELAYED_WITH_DROPOUTS
        else:
            result = RelayResult.RELAYED
        return RelaySummary(
            result=result,
            seconds_on_air=self._seconds["air"],
            seconds_fallback=self._seconds["fallback"],
            seconds_silent=self._seconds["silent"],
            dropouts=tuple(dropouts),
            started_at=windows[0][0] if windows else None,
            ended_at=windows[-1][1] if windows else None,
            last_error=self.last_error,
        )


def _clipped(dropouts: list[Dropout], start: float, end: float) -> list[Dropout]:
    kept = []
    for dropout in dropouts:
        begin = max(dropout.start, start)
        finish = min(dropout.start + dropout.seconds, end)
        if finish > begin:
            kept.append(Dropout(begin, finish - begin, dropout.cause, dropout.url))
    return kept


def _faded(chunk: Chunk, at: float, until: float) -> Chunk:
    """The relay's last FADE_S seconds go down to nothing, linearly."""
    end = at + chunk.duration_seconds
    if end <= until - FADE_S:
        return chunk
    samples = np.frombuffer(chunk.raw_data, dtype="<i2").reshape(-1, chunk.channels)
    times = at + np.arange(len(samples)) / chunk.frame_rate
    gains = np.clip((until - times) / FADE_S, 0.0, 1.0)
    faded = np.round(samples * gains[:, np.newaxis]).astype("<i2")
    return chunk._spawn(faded.tobytes())


def _last_words(child: Child) -> str:
    """ffmpeg's last complaint (its informational lines are no reason)."""
    for line in reversed(child.stderr_lines):
        if WORRYING.search(line):
            return line.strip()
    return ""
