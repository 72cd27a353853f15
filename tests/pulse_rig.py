"""A private PulseAudio system for tests: a null sink, ALSA's default routed to it, a recorder.

Nothing of the user's sound set-up is touched: the daemon has its own runtime directory, and
ALSA reads a config file owned by the rig (ALSA_CONFIG_PATH), passed only to processes the tests
start. What the sink plays is recorded from its monitor with parec, in real time.
"""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SINK = "loa_test"
RATE = 44100
SYSTEM_ALSA_CONFIG = "/usr/share/alsa/alsa.conf"
NEEDED = ("pulseaudio", "parec", "pactl")


@dataclass
class Capture:
    """What the sink played, as float samples in -1..1 at RATE, mono."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0))
    origin: float = 0.0
    """Wall-clock time (time.time()) of the first sample, to within the recorder's latency."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


class PulseRig:
    def __init__(self, root: Path) -> None:
        missing = [tool for tool in NEEDED if shutil.which(tool) is None]
        if missing:
            raise RuntimeError(
                f"the audio test rig needs {', '.join(missing)}: run ./setup.sh once "
                "(or apt install pulseaudio pulseaudio-utils libasound2-plugins)"
            )
        self.root = root
        self.runtime_dir = root / "runtime"
        self.runtime_dir.mkdir(mode=0o700)
        self.socket = self.runtime_dir / "pulse" / "native"
        self.alsa_config = root / "asound.conf"
        self.alsa_config.write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.log = root / "pulseaudio.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment for a process whose default ALSA device must be the rig's sink."""
        return {
            "ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONFIG}:{self.alsa_config}",
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_SINK": SINK,
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
        }

    def _daemon_env(self) -> dict[str, str]:
        return {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime_dir), "HOME": str(self.root)}

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    "pulseaudio",
                    "-n",
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--use-pid-file=no",
                    "--system=no",
                    "-L",
                    "module-native-protocol-unix auth-anonymous=1",
                    "-L",
                    f"module-null-sink sink_name={SINK} rate={RATE} channels=1",
                ],
                env=self._daemon_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {self.log.read_text()[-2000:]}")
            ready = subprocess.run(
                ["pactl", "info"],
                env={**self._daemon_env(), **self.env},
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"pulseaudio did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGTERM)

    @contextmanager
    def record(self) -> Iterator[Capture]:
        """Record the sink's monitor while the block runs; the Capture is filled on exit."""
        raw = self.root / f"capture-{time.monotonic_ns()}.raw"
        capture = Capture()
        with raw.open("wb") as out:
            recorder = subprocess.Popen(
                [
                    "parec",
                    "-d",
                    f"{SINK}.monitor",
                    "--raw",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=1",
                    "--latency-msec=20",
                ],
                env={**self._daemon_env(), **self.env},
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
            keep_running = subprocess.Popen(
                [
                    "pacat",
                    "--playback",
                    "-d",
                    SINK,
                    "--raw",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=1",
                    "--latency-msec=20",
                    "/dev/zero",
                ],
                env={**self._daemon_env(), **self.env},
                stderr=subprocess.DEVNULL,
            )
            try:
                capture.origin = _first_sample_time(raw)
                time.sleep(0.2)
                yield capture
                time.sleep(0.5)
            finally:
                for process in (recorder, keep_running):
                    _stop(process)
        capture.samples = np.frombuffer(raw.read_bytes(), dtype="<i2").astype(np.float64) / 32768
        raw.unlink()


def _first_sample_time(raw: Path) -> float:
    """When the recording's first sample was heard: now, less what was recorded so far."""
    deadline = time.monotonic() + 5
    while (size := raw.stat().st_size) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    return time.time() - size / 2 / RATE


def _stop(process: subprocess.Popen[bytes], how: int = signal.SIGINT) -> None:
    """Ask politely, then insist: a test rig must never leave a process behind."""
    if process.poll() is None:
        process.send_signal(how)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
