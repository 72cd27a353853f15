"""What the test rig's sink plays, read through a pipe as it plays: for runs too long to hold in
memory (bench/soak.py) and for timing single broadcasts (bench/adhoc.py).

`tests.pulse_rig.PulseRig.record` keeps the whole recording and reads it at the end; here parec
writes into a pipe, a thread appends what arrives to a buffer that the caller trims as it goes,
and notes (wall time, samples received) as the data comes in. Those readings map a sample index
to the wall clock locally: the slope is fitted over the readings around the index (the null
sink's clock runs ~200 ppm off the wall clock, which would add up to 0.7 s an hour), the offset
is the lower envelope (the reading whose data arrived soonest after it was played), so a time
is late by at most parec's 20 ms latency.
"""

import signal
import subprocess
import threading
import time
from types import TracebackType

import numpy as np

from tests.pulse_rig import RATE, SINK, PulseRig

READ_BYTES = 8192
READING_EVERY_S = 0.1
FIT_S = 60.0
"""Readings within this many seconds of the index are fitted (slope and lower envelope)."""


class StreamCapture:
    """Use as a context manager around the run; samples are float in -1..1 at RATE, mono."""

    def __init__(self, rig: PulseRig) -> None:
        self._rig = rig
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._odd = b""
        self._base = 0
        """Index of the buffer's first sample."""
        self._received = 0
        self._readings: list[tuple[float, int]] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StreamCapture":
        env = {**self._rig._daemon_env(), **self._rig.env}
        raw = ["--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
        recorder = subprocess.Popen(
            ["parec", "-d", f"{SINK}.monitor", *raw],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # Something always plays, so the null sink never suspends and the clock never stops.
        keep_running = subprocess.Popen(
            ["pacat", "--playback", "-d", SINK, *raw, "/dev/zero"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        self._processes = [recorder, keep_running]
        self._thread = threading.Thread(target=self._read, args=(recorder,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while self.received < RATE // 2:
            if time.monotonic() > deadline:
                self._stop()
                raise RuntimeError("parec delivered nothing from the rig's sink")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(5)

    def _read(self, recorder: subprocess.Popen[bytes]) -> None:
        assert recorder.stdout is not None
        last = 0.0
        while data := recorder.stdout.read1(READ_BYTES):
            now = time.time()
            data = self._odd + data
            whole = len(data) // 2 * 2
            self._odd = data[whole:]
            with self._lock:
                self._buffer += data[:whole]
                self._received += whole // 2
                if now - last >= READING_EVERY_S:
                    self._readings.append((now, self._received))
                    last = now

    @property
    def received(self) -> int:
        """Samples received so far (the index of the next one)."""
        with self._lock:
            return self._received

    @property
    def first_kept(self) -> int:
        with self._lock:
            return self._base

    def samples(self, start: int, stop: int | None = None) -> np.ndarray:
        """Samples [start, stop) still kept (clipped to what was kept and received)."""
        with self._lock:
            first = max(start, self._base) - self._base
            last = (self._received if stop is None else min(stop, self._received)) - self._base
            chunk = bytes(self._buffer[2 * first : 2 * max(first, last)])
        return np.frombuffer(chunk, dtype="<i2").astype(np.float64) / 32768

    def trim(self, before: int) -> None:
        """Forget the samples before index `before`, and readings much older than that."""
        with self._lock:
            drop = min(max(0, before - self._base), self._received - self._base)
            del self._buffer[: 2 * drop]
            self._base += drop
            keep_from = self._base - int(2 * FIT_S * RATE)
            while len(self._readings) > 20 and self._readings[0][1] < keep_from:
                del self._readings[0]

    def _fit(self, near: float, column: int) -> tuple[float, float]:
        """(seconds per sample, wall time of sample 0) from the readings around `near`, which
        is a sample index (column 1) or a wall time (column 0)."""
        with self._lock:
            readings = np.array(self._readings, dtype=np.float64)
        if len(readings) < 2:
            raise RuntimeError("too few readings of the recorder's clock")
        span = FIT_S if column == 0 else FIT_S * RATE
        chosen = readings[np.abs(readings[:, column] - near) <= span]
        if len(chosen) < 20:
            distance = np.abs(readings[:, column] - near)
            chosen = readings[np.argsort(distance)[:20]]
        wall, index = chosen[:, 0], chosen[:, 1]
        if np.ptp(index) < RATE:
            slope = 1 / RATE
        else:
            slope = float(np.polyfit(index - index[0], wall - wall[0], 1)[0])
        return slope, float(np.min(wall - slope * index))

    def wall_at(self, index: float) -> float:
        """When sample `index` was played, by the wall clock (time.time())."""
        slope, origin = self._fit(index, 1)
        return origin + slope * index

    def index_at(self, wall: float) -> int:
        """The sample the sink played at wall time `wall`."""
        slope, origin = self._fit(wall, 0)
        return round((wall - origin) / slope)

    def first_sample_time(self) -> float:
        """When the first sample was heard, from the first reading alone: its wall time less
        what had arrived by then at the nominal RATE (as tests.pulse_rig.Capture.origin)."""
        with self._lock:
            wall, received = self._readings[0]
        return wall - received / RATE

    def rate(self) -> float:
        """Samples per wall-clock second over all readings kept."""
        with self._lock:
            readings = np.array(self._readings, dtype=np.float64)
        if len(readings) < 10 or np.ptp(readings[:, 0]) < 1:
            return float(RATE)
        return float(np.polyfit(readings[:, 0] - readings[0, 0], readings[:, 1], 1)[0])
