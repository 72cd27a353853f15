"""The province link with real parts only: an emergency from the operator's command to the first
sample a loudspeaker plays, and the memory of `loa run` with the link on.

    .venv/bin/python -m bench.province_rig [--trials 10] [--minutes 3]

Set up as an operator and a commune would (as tests/province/test_end_to_end.py): `loa province
init`, `station add` (the printed `province:` block pasted into station.yaml), `broker-config`,
a Mosquitto started from those files on a loopback port; stations are copies of the example
station (offline voice `vi`, no quiet hours) whose output is `simpleaudio`, i.e. ALSA's default,
routed to the test rig's private PulseAudio null sink (tests/pulse_rig.py).

1. Emergency: one linked `loa run`, its sink read as it plays (bench/capture.py). Each trial
   runs `loa province emergency "…" --to all --expires 15m` as a process, T0 just before it
   starts; T1 is the first audible sample after T0 (the attention chime, after the program's
   300 ms lead-in of silence, which is counted), mapped to the wall clock by the capture. Then
   `loa stop` through the station, and the next trial once the as-run row is written and the
   sink is silent again. Alternating with each trial: a local `loa say "…" --emergency` on the
   same station (the same path without the province). Reported: T1 - T0 and the command's own
   wall time, p50/p95/max.
2. Memory: two fresh `loa run` side by side for `--minutes`, the same station with and without
   the `province:` block. RSS (VmRSS of the daemon and its children) sampled every second; in
   the window each gets one campaign airing at the next whole minute (the linked one from
   `loa province send`, the other as the same files written by hand) and, at half time, one
   emergency (`loa province emergency` / `loa say --emergency`). Reported: median, peak, and
   the first sample (before any broadcast: the audio stack is loaded at the first one).

Progress goes to stderr, the Markdown table to stdout. Everything lives in a temporary folder
and every server the bench starts is stopped; nothing leaves loopback.
"""

import argparse
import contextlib
import getpass
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench.capture import StreamCapture
from bench.daemon import kb_to_mb, status
from bench.province import percentile
from bench.stations import asrun_rows, loa_env, machine, make_station, start_daemon, stop_daemon
from tests.mosquitto import Mosquitto, free_port
from tests.pulse_rig import RATE, PulseRig

SILENT_BELOW = 10 ** (-60 / 20)
"""A sample this quiet or quieter counts as silence (the rig's sink plays exact zeros)."""
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TIMED_STATION = "xa-an-binh"
MEMORY_STATION = "xa-cao-son"
GROUP = "ven-bien"
CONNECTED = "Province link: connected"
SETTLE_S = 5.0
HEARD_WITHIN_S = 60.0
CAMPAIGN_TEXT = (
    "Kính thưa bà con, trạm y tế xã tổ chức tiêm chủng mở rộng cho trẻ em dưới năm tuổi "
    "vào sáng thứ bảy tuần này. Đề nghị các gia đình đưa cháu đến đúng giờ."
)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emergency_text(number: int) -> str:
    return (
        f"Tin khẩn cấp thử số {number}: bão số ba đang vào bờ, "
        "bà con di chuyển ngay đến nơi trú ẩn an toàn."
    )


class Loa:
    """The `loa` command as an officer types it (the virtualenv's entry point), in `env`."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.program = str(Path(sys.executable).with_name("loa"))

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[str, float]:
        """stdout and the wall time of the whole process; an error if it failed."""
        started = time.perf_counter()
        result = subprocess.run(
            [self.program, *args],
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"loa {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout, wall


class ProvinceFolder:
    """`loa province …` on one province folder (LOA_PROVINCE, as the guide sets it)."""

    def __init__(self, loa: Loa, directory: Path, port: int) -> None:
        self.loa = loa
        self.directory = directory
        self.port = port
        loa("province", "init", str(directory), "--broker", f"mqtt://127.0.0.1:{port}")

    def __call__(self, *args: str) -> tuple[str, float]:
        return self.loa("province", *args, env={"LOA_PROVINCE": str(self.directory)})

    def add_station(self, station_id: str) -> str:
        """The printed `province:` block."""
        return self("station", "add", station_id, "--group", GROUP)[0]

    def broker(self) -> Mosquitto:
        self("broker-config", "--user", getpass.getuser())
        return Mosquitto(self.directory / "broker" / "mosquitto.conf", self.port)


def station_on_rig(folder: Path, province_block: str | None) -> Path:
    """The example station (offline voice, no quiet hours, output to ALSA's default), with the
    province block pasted at the end of station.yaml if given."""
    station = make_station(folder, quiet_hours="00:00-00:00", holidays=False)
    if province_block is not None:
        settings = station / "station.yaml"
        settings.write_text(
            settings.read_text(encoding="utf-8") + "\n" + province_block, encoding="utf-8"
        )
    return station


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


def wait_connected(log: Path) -> None:
    wait_until(lambda: CONNECTED in log.read_text(errors="replace"), 60, "the province link")


# 1. Emergency to the first audible sample ---------------------------------------------------


def silent_for(capture: StreamCapture, seconds: float) -> bool:
    audio = capture.samples(capture.received - int(seconds * RATE))
    return len(audio) >= int(seconds * RATE) and not np.any(np.abs(audio) > SILENT_BELOW)


def first_sound(capture: StreamCapture, sent: float) -> float:
    """Wall time of the first audible sample after wall time `sent` (less a tenth of a second
    for the mapping's error), as soon as it has been received."""
    start = max(capture.index_at(sent) - RATE // 10, capture.first_kept)
    deadline = time.monotonic() + HEARD_WITHIN_S
    while True:
        loud = np.flatnonzero(np.abs(capture.samples(start)) > SILENT_BELOW)
        if len(loud):
            return capture.wall_at(start + int(loud[0]))
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing heard within {HEARD_WITHIN_S:g} s")
        time.sleep(0.02)


def timed_trial(
    loa: Loa, station: Path, capture: StreamCapture, command: list[str], env: dict[str, str]
) -> tuple[float, float, tuple[str, ...]]:
    """(T1 - T0, the command's wall time, the as-run row) of one emergency, stopped once heard."""
    done = len(asrun_rows(station))
    capture.trim(capture.received - RATE)
    sent = time.time()
    _output, wall = loa(*command, env=env)
    heard = first_sound(capture, sent)
    loa("--station", str(station), "stop")
    wait_until(lambda: len(asrun_rows(station)) > done, 60, "the stopped emergency's as-run row")
    wait_until(lambda: silent_for(capture, 1.0), 60, "silence after the emergency")
    return heard - sent, wall, asrun_rows(station)[-1]


def emergency_latency(
    folder: Path, loa: Loa, province: ProvinceFolder, block: str, rig: PulseRig, trials: int
) -> dict[str, list[float]]:
    """Seconds per trial: "province" and "local" (T1 - T0), "province_cli" and "local_cli"."""
    station = station_on_rig(folder / "timed", block)
    log = folder / "timed" / "loa-run.log"
    found: dict[str, list[float]] = {
        key: [] for key in ("province", "province_cli", "local", "local_cli")
    }
    with StreamCapture(rig) as capture:
        daemon, startup = start_daemon(station, loa.env, log)
        try:
            wait_connected(log)
            progress(f"  station on the air {startup:.1f} s after launch, link connected")
            time.sleep(SETTLE_S)
            wait_until(lambda: silent_for(capture, 1.0), 60, "silence before the trials")
            province_env = {"LOA_PROVINCE": str(province.directory)}
            for trial in range(1, trials + 1):
                # a text of its own for each case: both are spoken anew, neither from the cache
                text, local_text = emergency_text(trial), emergency_text(trials + trial)
                cases = {
                    "province": (
                        ["province", "emergency", text, "--to", "all", "--expires", "15m"],
                        province_env,
                    ),
                    "local": (["--station", str(station), "say", local_text, "--emergency"], {}),
                }
                for case, (command, env) in cases.items():
                    heard, wall, row = timed_trial(loa, station, capture, command, env)
                    found[case].append(heard)
                    found[f"{case}_cli"].append(wall)
                    progress(
                        f"  trial {trial:2} {case:<8} heard {heard * 1000:6.0f} ms, command "
                        f"{wall * 1000:5.0f} ms (as-run: {row[0]}, {row[2]}, {row[5]}, {row[6]})"
                    )
        finally:
            code = stop_daemon(daemon)
    progress(f"  exit code after SIGTERM: {code}")
    return found


# 2. Memory with the link on ----------------------------------------------------------------


def tree_rss_mb(pid: int) -> float:
    """VmRSS of the process and all its descendants, in MB (0 once it is gone)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(stat.parent.name))
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError, KeyError):
            total += kb_to_mb(status(current)["VmRSS"])
        pending += parents.get(current, [])
    return total


def campaign_files(station: Path, campaign_id: str, on: datetime) -> None:
    """What a campaign becomes in a station without the link: an announcement and a one-entry
    schedule, written as an officer would."""
    (station / "announcements" / f"{campaign_id}.txt").write_text(CAMPAIGN_TEXT, encoding="utf-8")
    (station / "schedules" / f"{campaign_id}.yaml").write_text(
        f"- id: {campaign_id}\n  announcement: {campaign_id}\n"
        f'  times: ["{on:%H:%M}"]\n  date: {on:%Y-%m-%d}\n',
        encoding="utf-8",
    )


def memory(
    folder: Path, loa: Loa, province: ProvinceFolder, block: str, minutes: float
) -> dict[str, dict[str, float]]:
    """For "linked" and "alone", in MB of the process tree: "start" (the first sample, before
    any broadcast), "median", "peak"; "hwm" (the daemon's VmHWM); "samples"; and "rows", the
    as-run rows written in the window."""
    window = minutes * 60
    stations = {
        "linked": station_on_rig(folder / "linked", block),
        "alone": station_on_rig(folder / "alone", None),
    }
    daemons: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, station in stations.items():
            daemons[name], _startup = start_daemon(station, loa.env, folder / name / "loa-run.log")
        wait_connected(folder / "linked" / "loa-run.log")
        time.sleep(SETTLE_S)
        rows_before = {name: len(asrun_rows(station)) for name, station in stations.items()}
        samples: dict[str, list[float]] = {name: [] for name in stations}
        failures: list[BaseException] = []

        def send_events() -> None:
            try:
                window_events(loa, province, stations, window)
            except BaseException as error:  # re-raised below, so a failed send is no result
                failures.append(error)

        events = threading.Thread(target=send_events, daemon=True)
        began = time.monotonic()
        events.start()
        while (left := began + window - time.monotonic()) > 0:
            for name, daemon in daemons.items():
                samples[name].append(tree_rss_mb(daemon.pid))
            if len(samples["linked"]) % 30 == 0:
                now = ", ".join(f"{name} {values[-1]:.1f} MB" for name, values in samples.items())
                progress(f"  {len(samples['linked'])} s: {now}")
            time.sleep(min(1.0, left))
        events.join(60)
        if failures:
            raise RuntimeError("sending in the window failed") from failures[0]
        found = {}
        for name, daemon in daemons.items():
            rows = asrun_rows(stations[name])[rows_before[name] :]
            progress(f"  {name}: as-run rows in the window: {[(r[0], r[5]) for r in rows]}")
            found[name] = {
                "start": samples[name][0],
                "median": statistics.median(samples[name]),
                "peak": max(samples[name]),
                "hwm": kb_to_mb(status(daemon.pid)["VmHWM"]),
                "samples": len(samples[name]),
                "rows": len(rows),
            }
    finally:
        for daemon in daemons.values():
            stop_daemon(daemon)
    return found


def window_events(
    loa: Loa, province: ProvinceFolder, stations: dict[str, Path], window: float
) -> None:
    """At 10 s a campaign for the next whole minute at least 40 s away; at half time an
    emergency. The same to both stations, through the province or locally."""
    began = time.monotonic()
    time.sleep(10)
    airs = (datetime.now(ZONE) + timedelta(seconds=100)).replace(second=0, microsecond=0)
    campaign = stations["linked"].parent / "tiem-chung.txt"
    campaign.write_text(CAMPAIGN_TEXT, encoding="utf-8")
    when = ("--times", f"{airs:%H:%M}", "--date", f"{airs:%Y-%m-%d}")
    province("send", str(campaign), "--to", MEMORY_STATION, "--id", "tiem-chung", *when)
    campaign_files(stations["alone"], "tiem-chung", airs)
    progress(f"  campaign sent, airs at {airs:%H:%M}")
    time.sleep(max(0.0, began + window / 2 - time.monotonic()))
    text = emergency_text(0)
    province("emergency", text, "--to", MEMORY_STATION, "--expires", "15m")
    loa("--station", str(stations["alone"]), "say", text, "--emergency")
    progress("  emergency sent")


# The run --------------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5) * 1000:,.0f} ms, p95 {percentile(values, 0.95) * 1000:,.0f}"
        f" ms, max {max(values) * 1000:,.0f} ms (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.province_rig", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--trials", type=int, default=10, help="emergencies per case (10)")
    parser.add_argument("--minutes", type=float, default=3.0, help="memory window (3)")
    options = parser.parse_args()
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-province-rig-"))
    try:
        (folder / "pulse").mkdir()
        (folder / "cwd").mkdir()
        rig = PulseRig(folder / "pulse")
        rig.start()
        broker: Mosquitto | None = None
        try:
            loa = Loa(loa_env(folder, {**rig.env, "LOA_LANG": "en"}), folder / "cwd")
            province = ProvinceFolder(loa, folder / "tinh", free_port())
            blocks = {name: province.add_station(name) for name in (TIMED_STATION, MEMORY_STATION)}
            broker = province.broker().start()
            progress(f"== emergency to the first audible sample, {options.trials} trials per case")
            latency = emergency_latency(
                folder, loa, province, blocks[TIMED_STATION], rig, options.trials
            )
            progress(f"== memory of loa run, {options.minutes:g} minutes with and without link")
            rss = memory(folder, loa, province, blocks[MEMORY_STATION], options.minutes)
        finally:
            if broker is not None:
                broker.stop()
            rig.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"`python -m bench.province_rig --trials {options.trials} --minutes {options.minutes:g}`,"
        f" {datetime.now():%Y-%m-%d %H:%M}, {machine()}; "
        f"{(time.monotonic() - began) / 60:.1f} minutes\n"
    )
    print("| measure | value |")
    print("|---|---|")
    rows = [
        (
            '`loa province emergency "…" --to all`: command start to first audible sample '
            "(incl. 300 ms lead-in)",
            spread(latency["province"]),
        ),
        ("`loa province emergency`: the command's own wall time", spread(latency["province_cli"])),
        (
            '`loa say "…" --emergency` on the same station: command start to first audible sample',
            spread(latency["local"]),
        ),
        ("`loa say --emergency`: the command's own wall time", spread(latency["local_cli"])),
    ]
    for name, label in (("linked", "with the province link"), ("alone", "without the link")):
        found = rss[name]
        rows.append(
            (
                f"`loa run` RSS {label} (daemon + children, {found['samples']:.0f} samples "
                f"over {options.minutes:g} min, {found['rows']:.0f} as-run rows)",
                f"median {found['median']:.1f} MB, peak {found['peak']:.1f} MB; before the "
                f"first broadcast {found['start']:.1f} MB; daemon VmHWM {found['hwm']:.1f} MB",
            )
        )
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
