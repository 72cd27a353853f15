"""Real-time soak of a relay: one `loa run` on the PulseAudio rig relaying a local Icecast source
for hours, heard through the rig's sink.

    .venv/bin/python -m bench.soak --relay --hours N [--bucket-minutes M]

Not run in CI. The source (PacedTone) is ffmpeg encoding to MP3 for a real Icecast 2 (tests/
icecast.py) what this process hands it at the pace of the wall clock: a 1 kHz tone whose sample
for wall time t is written at t, with a 40 ms beep at every whole wall-clock second S (4 kHz;
2.5 kHz when S is a multiple of 10, a marker that tells the seconds apart). So the source's beep
times are known exactly, and

    latency = when a beep is heard on the sink - its second S

(the marker fixes S: a latency is assumed under 10 s). The daemon (output `simpleaudio` into the
rig's null sink) gets one relay entry of N hours, a few seconds after it starts. The sink's
monitor is read from parec's pipe (bench/capture.py) and scanned every PROCESS_EVERY_S seconds,
then forgotten: memory does not grow with N. Reported: latency per period (median, spread) and
its fitted drift per hour, beeps heard against seconds relayed (missing, repeated), latency jumps
(audio skipped or held back), silent gaps inside the slot, `loa run`'s RSS and drift, the CPU of
`loa run` and of each kind of child (ffmpeg, the live writer), the as-run row and its dropouts;
then that no ffmpeg is left after `loa run` stops, and after a kill -9 during a relay.
"""

import contextlib
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench.capture import StreamCapture
from bench.daemon import kb_to_mb, status
from bench.stations import (
    ROOT,
    loa_command,
    loa_env,
    machine,
    make_station,
    start_daemon,
    stop_daemon,
)
from broadcaster.onair.asrun import LOG_FILE
from broadcaster.onair.daemon import PREROLL_S
from broadcaster.relay.session import FADE_S
from tests.icecast import SOURCE_PASSWORD, Icecast, ffmpeg_readers
from tests.pulse_rig import RATE, PulseRig

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MOUNT = "vov1"
CARRIER_HZ = 1000
BEEP_HZ = 4000
"""Odd seconds."""
EVEN_HZ = 3200
"""Even seconds (but the markers'): with the odd ones, a latency that steps by under a second
either way is followed, the beep lost in the step counted."""
MARKER_HZ = 2500
MARK_EVERY = 10
BEEP_S = 0.04
AMPLITUDE = 0.3
PACE_S = 0.02
"""The source hands its audio to the encoder in pieces of this length, as each has happened."""
WINDOW = RATE // 100
"""10 ms: the detector's moving average (its nulls fall on the carrier's offset)."""
SILENT = 10 ** (-50 / 20)
"""A 10 ms frame quieter than -50 dBFS is a gap: the source's tone is never that quiet."""
BEEP_RATIO = 0.5
"""A beep: the beep's frequency carries over half the frame's amplitude (~1.0 inside a beep)."""
PROCESS_EVERY_S = 5.0
MARGIN = RATE // 5
"""A scan stops this short of the newest sample, so no beep is cut at its end."""
CONTEXT = RATE // 10
SAMPLE_EVERY_S = 10.0
JUMP_S = 0.02
"""Consecutive beeps whose latencies differ by more than this: audio skipped or held back."""
FIRST_AFTER_S = PREROLL_S + 6
SETTLE_S = 60.0
"""The latency's drift is also fitted from this far into the slot on (after the start's jumps)."""


class PacedTone:
    """The beeping tone, written at the pace of the wall clock by a process of its own (so that
    this one's analysis never holds it up) into ffmpeg, which pushes it to a mount."""

    def __init__(self, icecast: Icecast, mount: str = MOUNT) -> None:
        self.icecast = icecast
        self.mount = mount
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, timeout: float = 10.0) -> float:
        """Starts the source; returns time.time() when its mount answered."""
        target = f"icecast://source:{SOURCE_PASSWORD}@127.0.0.1:{self.icecast.port}/{self.mount}"
        pump = subprocess.Popen(
            [sys.executable, "-c", "from bench.relay_soak import pump; pump()"],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        encoder = subprocess.Popen(
            [
                *("ffmpeg", "-hide_banner", "-loglevel", "error"),
                *("-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0"),
                *("-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg"),
                *("-f", "mp3", target),
            ],
            stdin=pump.stdout,
            stderr=subprocess.DEVNULL,
        )
        assert pump.stdout is not None
        pump.stdout.close()  # the encoder holds the pipe now: its death ends the pump
        self.processes = [pump, encoder]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.icecast.mount_is_up(self.mount):
                return time.time()
            time.sleep(0.02)
        raise RuntimeError(f"the mount /{self.mount} did not come up")

    def kill(self) -> float:
        """Kills the source; returns time.time() when it was killed."""
        killed = time.time()
        for process in reversed(self.processes):
            if process.poll() is None:
                process.kill()
            process.wait()
        self.processes = []
        return killed


def pump() -> None:
    """The source's audio on stdout, each PACE_S piece written once its time has come."""
    out = sys.stdout.buffer
    piece = round(PACE_S * RATE)
    index = math.floor(time.time() * RATE)
    while True:
        upto = index + piece
        time.sleep(max(0.0, upto / RATE - time.time()))
        try:
            out.write(tone(index, upto).tobytes())
            out.flush()
        except (BrokenPipeError, OSError):
            return
        index = upto


def tone(first: int, upto: int) -> np.ndarray:
    """Samples [first, upto) of the source, sample k being wall time k / RATE, as int16."""
    index = np.arange(first, upto, dtype=np.int64)
    within = index % RATE
    second = index // RATE
    beep = within < BEEP_S * RATE
    kind = np.where(second % 2 == 1, BEEP_HZ, EVEN_HZ)
    hz = np.where(beep, np.where(second % MARK_EVERY == 0, MARKER_HZ, kind), CARRIER_HZ)
    wave = AMPLITUDE * np.sin(2 * np.pi * hz * within / RATE)
    return np.round(wave * 32767).astype("<i2")


def _moving_average(values: np.ndarray) -> np.ndarray:
    """Centered mean over WINDOW samples (edges: over what there is)."""
    total = np.concatenate([[0], np.cumsum(values)])
    half = WINDOW // 2
    index = np.arange(len(values))
    low = np.clip(index - half, 0, len(values))
    high = np.clip(index + WINDOW - half, 0, len(values))
    return (total[high] - total[low]) / np.maximum(high - low, 1)


def onsets(samples: np.ndarray, hz: float) -> np.ndarray:
    """Where a beep at `hz` begins: the frame's amplitude at `hz` crosses half the frame's
    amplitude (the detector is centered: the crossing falls on the edge)."""
    if len(samples) < WINDOW:
        return np.zeros(0, dtype=np.int64)
    turn = np.exp(-2j * np.pi * hz * np.arange(len(samples)) / RATE)
    mixed = samples * turn
    band = 2 * np.hypot(_moving_average(mixed.real), _moving_average(mixed.imag))
    whole = np.sqrt(2 * _moving_average(samples**2))
    above = (band > BEEP_RATIO * whole) & (whole > 10 * SILENT)
    found = np.flatnonzero(~above[:-1] & above[1:]) + 1
    kept: list[int] = []
    for index in found:  # one onset per beep, however the edge wobbles
        if not kept or index - kept[-1] > RATE // 2:
            kept.append(int(index))
    return np.array(kept, dtype=np.int64)


@dataclass
class Heard:
    """What the scans found: beeps of odd and even seconds and markers (wall time heard), and
    silent gaps."""

    beeps: list[float] = field(default_factory=list)
    evens: list[float] = field(default_factory=list)
    markers: list[float] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """(wall time it began, seconds) of each silence of at least one 10 ms frame."""
    _silent_since: float | None = None


class Scanner:
    """Scans the capture as it arrives (each sample once, with a little context either side)
    and forgets it."""

    def __init__(self, capture: StreamCapture) -> None:
        self.capture = capture
        self.scanned = capture.received
        self.heard = Heard()

    def scan(self, final: bool = False) -> None:
        capture = self.capture
        upto = capture.received if final else capture.received - MARGIN
        upto -= (upto - self.scanned) % WINDOW  # whole frames, for the gaps
        if upto - self.scanned < WINDOW:
            return
        begin = max(capture.first_kept, self.scanned - CONTEXT)
        samples = capture.samples(begin, capture.received)
        offset = self.scanned - begin
        heard = self.heard
        for hz, found in (
            (BEEP_HZ, heard.beeps),
            (EVEN_HZ, heard.evens),
            (MARKER_HZ, heard.markers),
        ):
            for index in onsets(samples, hz):
                if offset <= index < upto - begin:
                    found.append(capture.wall_at(begin + index))
        self._gaps(samples[offset : upto - begin], self.scanned)
        self.scanned = upto
        capture.trim(self.scanned - CONTEXT)

    def _gaps(self, part: np.ndarray, first: int) -> None:
        frames = len(part) // WINDOW
        loud = np.sqrt(np.mean(part[: frames * WINDOW].reshape(frames, WINDOW) ** 2, axis=1))
        heard = self.heard
        for number, level in enumerate(loud):
            quiet = level < SILENT
            if quiet and heard._silent_since is None:
                heard._silent_since = self.capture.wall_at(first + number * WINDOW)
            elif not quiet and heard._silent_since is not None:
                began = heard._silent_since
                heard.gaps.append((began, self.capture.wall_at(first + number * WINDOW) - began))
                heard._silent_since = None


def latencies(heard: Heard, guess: float | None = None) -> list[tuple[int, float, float]]:
    """(the source's second S, heard, heard - S) of every beep and marker.

    A marker heard at h is the multiple of MARK_EVERY just before h; one confirmed by the next
    or the last marker (the same latency within JUMP_S) sets the latency. Every other beep is
    the second of its kind (odd, even) nearest to h less the latency before it: so a click
    taken for a marker is ignored, and a latency that steps by under a second is followed.
    Without a confirmed marker, `guess` (within a second of the truth) starts the count."""
    marks = sorted(heard.markers)
    of_mark = [at - MARK_EVERY * math.floor(at / MARK_EVERY) for at in marks]
    confirmed = {
        at: latency
        for n, (at, latency) in enumerate(zip(marks, of_mark, strict=True))
        if any(
            0 <= m < len(marks) and m != n and abs(of_mark[m] - latency) < JUMP_S
            for m in (n - 1, n + 1)
        )
    }
    if confirmed:
        current = float(np.median(list(confirmed.values())))
    elif guess is not None:
        current = guess
    else:
        return []
    events = [(at, 1) for at in heard.beeps] + [(at, 0) for at in heard.evens]
    events += [(at, -1) for at in confirmed]
    result = []
    for at, parity in sorted(events):
        if parity < 0:
            current = confirmed[at]
            second = round(at - current)
        else:
            second = 2 * round((at - current - parity) / 2) + parity
        current = at - second
        result.append((second, at, current))
    return result


# -- processes ------------------------------------------------------------------------------


def descendants(root: int) -> dict[int, str]:
    """pid -> command name of every process below `root`."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        parents[int(proc.name)] = int(rest.split()[1])
        names[int(proc.name)] = name
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = names[pid]
                frontier.append(pid)
    return found


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kind_of(name: str) -> str:
    return "ffmpeg" if "ffmpeg" in name else "live writer" if "python" in name else name


@dataclass
class Usage:
    """RSS of `loa run` over time, and the CPU seconds of it and of every child seen."""

    rss: list[tuple[float, float]] = field(default_factory=list)
    own_cpu: list[tuple[float, float]] = field(default_factory=list)
    children: dict[int, tuple[str, float, float]] = field(default_factory=dict)
    """pid -> (kind, 0, CPU seconds when last seen): children start after the daemon."""

    def sample(self, pid: int) -> None:
        wall = time.time()
        info = status(pid)
        self.rss.append((wall, kb_to_mb(info["VmRSS"])))
        own = cpu_seconds(pid)
        if own is not None:
            self.own_cpu.append((wall, own))
        for child, name in descendants(pid).items():
            used = cpu_seconds(child)
            if used is None:
                continue
            self.children[child] = (kind_of(name), 0.0, used)


# -- the run --------------------------------------------------------------------------------


def relay_station(folder: Path, url: str) -> Path:
    """A bundled example station on the rig's sink, no quiet hours, relaying `url` as MOUNT."""
    station = make_station(folder, quiet_hours="00:00-00:00", holidays=False)
    settings = (station / "station.yaml").read_text(encoding="utf-8")
    settings = settings.replace("  minutes: 45", "  minutes: 1440")
    settings += f"\nrelay_sources:\n  {MOUNT}:\n    - {url}\n"
    (station / "station.yaml").write_text(settings, encoding="utf-8")
    return station


def schedule_relay(station: Path, entry: str, at: datetime, seconds: int) -> None:
    (station / "schedules" / "relay.yaml").write_text(
        f'- id: {entry}\n  relay: {MOUNT}\n  times: ["{at:%H:%M:%S}"]\n  duration: {seconds}s\n',
        encoding="utf-8",
    )


def run(hours: float, bucket_minutes: float, csv: Path | None = None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="loa-relay-soak-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    icecast = Icecast(folder / "icecast")
    source = PacedTone(icecast)
    usage = Usage()
    began = time.time()
    load_before = os.getloadavg()
    try:
        rig.start()
        icecast.start()
        source.start()
        url = icecast.url(MOUNT)
        station = relay_station(folder, url)
        env = loa_env(folder, rig.env)
        with StreamCapture(rig) as capture:
            scanner = Scanner(capture)
            daemon, startup = start_daemon(station, env, folder / "loa.log")
            try:
                at = (datetime.now(ZONE) + timedelta(seconds=FIRST_AFTER_S)).replace(microsecond=0)
                seconds = max(60, min(86400, round(hours * 3600)))
                schedule_relay(station, "soak", at, seconds)
                slot = (at.timestamp(), at.timestamp() + seconds)
                print(
                    f"relay soak {seconds / 3600:g} h from {at:%H:%M:%S}, source {url}; daemon "
                    f"on the air {startup:.1f} s after launch; load average "
                    f"{' '.join(f'{value:.2f}' for value in load_before)}",
                    flush=True,
                )
                next_scan = next_sample = last_report = time.time()
                while time.time() < slot[1] + 3:
                    wall = time.time()
                    if wall >= next_sample:
                        usage.sample(daemon.pid)
                        next_sample += SAMPLE_EVERY_S
                    if wall >= next_scan:
                        scanner.scan()
                        next_scan += PROCESS_EVERY_S
                    if wall - last_report >= 600:
                        last_report = wall
                        print(
                            f"  {(wall - began) / 3600:.2f} h: {len(scanner.heard.beeps) * 2} "
                            f"beeps heard, RSS {usage.rss[-1][1]:.0f} MB, load "
                            f"{os.getloadavg()[0]:.2f}",
                            flush=True,
                        )
                    if daemon.poll() is not None:
                        print(f"the daemon exited with {daemon.returncode}")
                        break
                    time.sleep(0.05)
                usage.sample(daemon.pid)
                time.sleep(0.5)
                scanner.scan(final=True)
            finally:
                children = descendants(daemon.pid)
                code = stop_daemon(daemon)
                left_after_stop = _left(url, children)
        rows = _relay_rows(station)
        load_after = os.getloadavg()
        stopped = cut_relay(station, env, folder, url, kill=False)
        killed = cut_relay(station, env, folder, url, kill=True)
        daemon_log = (folder / "loa.log").read_text(encoding="utf-8", errors="replace")
    finally:
        source.kill()
        icecast.stop()
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(scanner.heard, slot, usage, rows, bucket_minutes)
    if csv is not None:
        csv.write_text(
            "second,heard,latency_ms\n"
            + "".join(f"{s},{at:.4f},{lat * 1000:.1f}\n" for s, at, lat in latencies(scanner.heard))
            + "".join(f"gap,{at:.4f},{length * 1000:.0f}\n" for at, length in scanner.heard.gaps),
            encoding="utf-8",
        )
        print(f"every beep's latency and every gap: {csv}")
    print(f"after `loa run` stopped at the end (exit code {code}): {left_after_stop}")
    print(f"after `loa run` stopped (SIGTERM) during a relay: {stopped}")
    print(f"after `loa run` killed (-9) during a relay: {killed}")
    print(
        f"daemon log: {len(daemon_log.splitlines())} lines, {daemon_log.count('WARNING')} "
        f"warnings, {daemon_log.count('ERROR')} errors, {daemon_log.count('Traceback')} "
        f"tracebacks; load average at the end {' '.join(f'{v:.2f}' for v in load_after)}"
    )
    for line in daemon_log.splitlines():
        if "WARNING" in line or "ERROR" in line:
            print(f"  {line[:160]}")
    print(f"machine: {machine()}; ran {(time.time() - began) / 3600:.2f} h")


def _left(url: str, children: dict[int, str], wait_s: float = 3.0) -> str:
    """Which of `children`, and which readers of `url`, are still alive `wait_s` later (they
    are killed then, so that the bench leaves nothing behind)."""
    time.sleep(wait_s)
    alive = [pid for pid in children if cpu_seconds(pid) is not None]
    readers = ffmpeg_readers(url)
    for pid in set(alive) | set(readers):
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    kinds = ", ".join(sorted(kind_of(name) for name in children.values())) or "none"
    return (
        f"{len(alive)} of its {len(children)} children ({kinds}) alive {wait_s:g} s later, "
        f"{len(readers)} ffmpeg reading the source"
    )


def cut_relay(station: Path, env: dict[str, str], folder: Path, url: str, kill: bool) -> str:
    """`loa run` again, `loa relay now` for a minute, then SIGTERM (or kill -9) once ffmpeg
    reads: who is left."""
    daemon, _startup = start_daemon(station, env, folder / f"loa-{'kill' if kill else 'stop'}.log")
    try:
        said = subprocess.run(
            loa_command(station, "relay", "now", MOUNT, "--for", "60s"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if said.returncode != 0:
            return f"`loa relay now` failed: {said.stderr.strip()}"
        deadline = time.monotonic() + 30
        while not ffmpeg_readers(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        children = descendants(daemon.pid)
        if kill:
            daemon.kill()
            daemon.wait()
        else:
            code = stop_daemon(daemon)
            return f"exit code {code}, " + _left(url, children)
        return _left(url, children)
    finally:
        stop_daemon(daemon)


def _relay_rows(station: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(station / LOG_FILE) as db:
        rows = db.execute(
            "SELECT entry_id, started, ended, result, error FROM asrun "
            f"WHERE announcement = 'relay:{MOUNT}' ORDER BY scheduled_ts"
        ).fetchall()
        dropouts = db.execute("SELECT started, seconds, cause FROM relay_dropouts").fetchall()
    return [tuple(str(value) for value in row) for row in rows] + [
        ("dropout", *(str(value) for value in row)) for row in dropouts
    ]


# -- the report -----------------------------------------------------------------------------


def report(
    heard: Heard,
    slot: tuple[float, float],
    usage: Usage,
    rows: list[tuple[str, ...]],
    bucket_minutes: float,
) -> None:
    first, last = slot[0] + 1, slot[1] - FADE_S - 1
    measured = [(s, lat) for s, at, lat in latencies(heard) if first <= at <= last]
    seconds = [s for s, _ in measured]
    heard_seconds = set(seconds)
    if measured:
        typical = float(np.median([lat for _s, lat in measured]))
        expected = range(math.ceil(first - typical), math.floor(last - typical) + 1)
    else:
        expected = range(0)
    missing = sum(1 for s in expected if s not in heard_seconds)
    repeated = len(seconds) - len(heard_seconds)
    print()
    print(f"machine: {machine()}; finished {datetime.now():%Y-%m-%d %H:%M}")
    print()
    if not measured:
        print("no beep heard inside the slot")
    else:
        values = np.array([lat for _s, lat in measured]) * 1000
        walls = np.array([s for s, _ in measured], dtype=np.float64)
        drift = _drift(walls, values)
        settled = walls - walls[0] >= SETTLE_S
        settled_drift = _drift(walls[settled], values[settled])
        print("| period | beeps | latency median | p5 | p95 | min | max |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        bucket_s = bucket_minutes * 60
        for number in range(int((walls[-1] - walls[0]) // bucket_s) + 1):
            inside = (walls - walls[0] >= number * bucket_s) & (
                walls - walls[0] < (number + 1) * bucket_s
            )
            part = values[inside]
            if len(part):
                label = f"{number * bucket_minutes:g}-{(number + 1) * bucket_minutes:g} min"
                print(f"| {label} | {len(part)} | {_ms(part)} |")
        print(f"| all | {len(values)} | {_ms(values)} |")
        print(
            f"\nlatency source -> sink: fitted drift {drift:+.1f} ms per hour, "
            f"{settled_drift:+.1f} ms per hour after the first {SETTLE_S:g} s; first beep "
            f"{values[0]:.0f} ms, last {values[-1]:.0f} ms"
        )
        jumps = [
            (walls[n] + values[n] / 1000, values[n] - values[n - 1])
            for n in range(1, len(values))
            if abs(values[n] - values[n - 1]) > JUMP_S * 1000
        ]
        print(
            f"beeps heard {len(heard_seconds)} of {len(expected)} seconds relayed: {missing} "
            f"missing, {repeated} heard twice; latency jumps over {JUMP_S * 1000:.0f} ms: "
            f"{len(jumps)} (heard at)"
            + (
                " ("
                + ", ".join(
                    f"{datetime.fromtimestamp(at, ZONE):%H:%M:%S} {step:+.0f} ms"
                    for at, step in jumps[:10]
                )
                + (" ...)" if len(jumps) > 10 else ")")
                if jumps
                else ""
            )
        )
    inside_gaps = [(at, length) for at, length in heard.gaps if first <= at <= last]
    print(
        f"silent gaps (10 ms frames under -50 dBFS) inside the slot: {len(inside_gaps)}"
        + (
            " ("
            + ", ".join(
                f"{datetime.fromtimestamp(at, ZONE):%H:%M:%S.%f}"[:-3] + f" {length * 1000:.0f} ms"
                for at, length in inside_gaps[:10]
            )
            + ")"
            if inside_gaps
            else ""
        )
    )
    print()
    for row in rows:
        print(f"as-run: {' | '.join(row)}")
    print()
    resources(usage, slot)


def _drift(walls: np.ndarray, values: np.ndarray) -> float:
    """Fitted slope of `values` per hour of `walls` (seconds)."""
    if len(walls) < 3 or np.ptp(walls) < 1:
        return float("nan")
    return float(np.polyfit((walls - walls[0]) / 3600, values, 1)[0])


def _ms(values: np.ndarray) -> str:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return (
        f"{p50:.1f} ms | {p5:.1f} ms | {p95:.1f} ms | {values.min():.1f} ms | {values.max():.1f} ms"
    )


def resources(usage: Usage, slot: tuple[float, float]) -> None:
    settled = [(w, r) for w, r in usage.rss if w >= slot[0] + 30] or usage.rss
    if len(settled) < 2:
        print("too few RSS samples")
        return
    walls = np.array([w for w, _ in settled])
    rss = np.array([r for _, r in settled])
    drift = float(np.polyfit((walls - walls[0]) / 3600, rss, 1)[0]) if len(settled) > 2 else 0.0
    print("| `loa run` | value |")
    print("|---|---:|")
    print(
        f"| RSS 30 s into the relay / at the end / max | {rss[0]:.1f} / {rss[-1]:.1f} / "
        f"{max(r for _, r in usage.rss):.1f} MB |"
    )
    print(f"| RSS drift (fitted over {len(settled)} samples) | {drift:+.2f} MB per hour |")
    inside = [(w, c) for w, c in usage.own_cpu if w >= slot[0]]
    if len(inside) >= 2:
        span = inside[-1][0] - inside[0][0]
        used = inside[-1][1] - inside[0][1]
        print(f"| CPU of loa run over {span / 60:.1f} min | {used / span * 100:.2f} % of a core |")
    span = slot[1] - slot[0]
    kinds: dict[str, tuple[int, float]] = {}
    for kind, first, last in usage.children.values():
        count, total = kinds.get(kind, (0, 0.0))
        kinds[kind] = (count + 1, total + last - first)
    for kind, (count, total) in sorted(kinds.items()):
        print(
            f"| CPU of its {kind} children ({count} process{'es' if count > 1 else ''}) | "
            f"{total / span * 100:.2f} % of a core |"
        )
    print()
