"""The province at scale: N commune stations on one Mosquitto on this machine.

    .venv/bin/python -m bench.province [--stations 3321] [--processes 3] [--rounds 3] [--one-disk]

Each station is a light station (bench/province_station.py: the real control protocol, playout
decisions, as-run log and schedule reader, a silent output) with the real province link and
reports, many per worker process (bench/province_worker.py). The province sends with its real
operator code (`loa province emergency|send`). Measured: connection of all; emergency from the
province's call to the start of playout at each station (p50/p95/max); a campaign delivered to
all; a graceful broker restart (every station back, the spread of the reconnects, nothing lost);
the broker's CPU and memory. Prints a Markdown table on stdout. The real `loa run` stations
beside them (`--real`) each air one announcement before the rounds, as stations in service.

The light stations' directories are in /dev/shm (tmpfs): in the field each station writes and
syncs its own disk, here thousands would queue on this machine's one disk (two synced commits
each per emergency), a cost no station has in the field. SQLite, its syncs and the files are the
same; only the device is. `--one-disk` puts them on the disk, to measure that sharing; the real
`loa run` stations are on the disk either way.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stations import (
    asrun_rows,
    loa_command,
    loa_env,
    make_station,
    start_daemon,
    stop_daemon,
)
from broadcaster.core.models import Priority
from broadcaster.province.broker import BrokerSettings, hash_password, write_broker_config
from broadcaster.province.directory import (
    COLLECTOR,
    SENDER,
    Broker,
    Province,
    StationRecord,
    new_password,
    save_province,
)
from broadcaster.province.operator import send_campaign, send_emergency, text_content
from broadcaster.province.store import Store
from tests.mosquitto import Mosquitto, free_port

ROOT = Path(__file__).resolve().parent.parent
GROUPS = 34
"""Groups of about a hundred stations, as many as Vietnam has provinces: a realistic fan-out."""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {percentile(values, 0.5) * 1000:.0f} ms, p95 {percentile(values, 0.95) * 1000:.0f} "
        f"ms, max {max(values) * 1000:.0f} ms (n={len(values)})"
    )


class Workers:
    def __init__(
        self, root: Path, port: int, stations: int, processes: int, bare: bool = False
    ) -> None:
        self.bare = bare
        per = -(-stations // processes)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.province_worker",
                    str(root),
                    str(port),
                    str(first),
                    str(min(per, stations - first)),
                    *(["bare"] if bare else []),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for first in range(0, stations, per)
        ]

    def ask(self, command: str) -> list[dict[str, Any]]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            answers.append(json.loads(proc.stdout.readline()))
        return answers

    def total(self, key: str, command: str = "status") -> int:
        return sum(int(answer[key]) for answer in self.ask(command))

    def close(self) -> None:
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def broker_usage(pid: int) -> tuple[float, int]:
    """CPU seconds used and peak RSS (kB) of the broker."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    return cpu, peak


def make_province(
    root: Path, port: int, stations: int, real: int
) -> tuple[Province, dict[str, str], list[Path]]:
    rng = random.Random(1)
    directory = root / "tinh"
    directory.mkdir()
    passwords = {COLLECTOR: new_password(), SENDER: new_password()}
    records: dict[str, StationRecord] = {}
    listing = []
    for number in range(stations):
        station_id = f"xa-{number:04d}"
        password = new_password()
        groups = (f"vung-{rng.randrange(GROUPS):02d}",)
        records[station_id] = StationRecord(station_id, groups, hash_password(password))
        listing.append({"id": station_id, "password": password, "groups": list(groups)})
    real_stations = []
    for number in range(real):
        station_id, password = f"that-{number}", new_password()
        records[station_id] = StationRecord(station_id, ("that",), hash_password(password))
        folder = make_station(root / station_id, device="silent", quiet_hours="00:00-00:00")
        with (folder / "station.yaml").open("a", encoding="utf-8") as settings:
            settings.write(
                f"\nprovince:\n  broker: mqtt://127.0.0.1:{port}\n  id: {station_id}\n"
                f'  password: "{password}"\n  groups: [that]\n'
            )
        real_stations.append(folder)
    province = Province(
        directory, Broker.parse(f"mqtt://127.0.0.1:{port}"), "bench", stations=records
    )
    save_province(province)
    (root / "stations.json").write_text(json.dumps(listing), "utf-8")
    return province, passwords, real_stations


def wait_for(condition: Any, timeout: float, every: float = 0.2) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if condition():
            return time.monotonic() - began
        time.sleep(every)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.province")
    parser.add_argument("--stations", type=int, default=3321)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--real",
        type=int,
        default=3,
        help="real `loa run` stations (silent output, espeak) beside the light ones",
    )
    parser.add_argument(
        "--one-disk",
        action="store_true",
        help="the light stations' directories on this machine's disk, all sharing it (by "
        "default in /dev/shm: in the field each station has a disk of its own)",
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="the peer: plain MQTT clients that only note the emergency's arrival (no Loa)",
    )
    options = parser.parse_args()
    n = options.stations
    root = Path(tempfile.mkdtemp(prefix="loa-province-bench-"))
    memory = (
        None
        if options.one_disk
        else Path(tempfile.mkdtemp(prefix="loa-province-stations-", dir="/dev/shm"))
    )
    if memory is not None:
        (root / "stations").symlink_to(memory)
    rows: list[tuple[str, str]] = []
    port = free_port()
    province, passwords, real_stations = make_province(root, port, n, options.real)
    write_broker_config(
        province,
        passwords,
        BrokerSettings(out=root / "broker", port=port, listen="127.0.0.1", user="root"),
    )
    from broadcaster.province.directory import save_secrets

    save_secrets(province.directory, passwords)
    broker = Mosquitto(root / "broker" / "mosquitto.conf", port).start()
    store = Store(province.database)
    workers = Workers(root, port, n, options.processes, options.bare)
    daemons = [
        start_daemon(folder, loa_env(root), root / f"{folder.parent.name}.log")[0]
        for folder in real_stations
    ]
    try:
        began = time.monotonic()
        up = wait_for(lambda: workers.total("connected") >= n, 300, 1.0)
        rows.append((f"{n} stations connected", f"{up:.1f} s" if up else "not all in 300 s"))
        print(rows[-1], file=sys.stderr, flush=True)
        for folder in real_stations:
            # In service, as after a day's first broadcast: an idle `loa run` loads its audio
            # stack (~0.4 s of CPU) only then, which would land on the light stations' cores.
            subprocess.run(
                loa_command(folder, "say", "Kiểm tra hệ thống loa."),
                env=loa_env(root),
                capture_output=True,
                check=True,
                cwd=ROOT,
            )
        for round_ in range(options.rounds):
            # The air is free again everywhere; before the first round, the stations' own work
            # after connecting (presence, campaigns, reports) is done: each round measures an
            # emergency to stations that are up (the round after the broker restart measures
            # one into a reconnecting province).
            time.sleep(15 if real_stations else 6)
            sent = datetime.now(UTC)
            rows.append(emergency_round(province, passwords, store, workers, n, f"khan-{round_}"))
            print(rows[-1], file=sys.stderr, flush=True)
            if real_stations:
                rows.append(real_round(real_stations, sent, f"khan-{round_}"))
                print(rows[-1], file=sys.stderr, flush=True)
        time.sleep(15 if real_stations else 6)
        if not options.bare:
            rows.extend(restart_rounds(province, passwords, store, workers, broker, n))
        cpu, peak = broker_usage(broker.process.pid if broker.process else 0)
        rows.append(
            (
                "broker CPU / peak RSS",
                f"{cpu:.1f} s CPU in {time.monotonic() - began:.0f} s; {peak / 1024:.0f} MB",
            )
        )
    finally:
        for daemon in daemons:
            stop_daemon(daemon)
        workers.close()
        broker.stop()
        store.close()
        shutil.rmtree(root, ignore_errors=True)
        if memory is not None:
            shutil.rmtree(memory, ignore_errors=True)
    print(
        f"\nProvince scale, {n} stations in {options.processes} processes, one Mosquitto, "
        f"{datetime.now():%Y-%m-%d %H:%M}"
        + (", the light stations on this machine's one disk" if options.one_disk else "")
        + "\n"
    )
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def restart_rounds(
    province: Province,
    passwords: dict[str, str],
    store: Store,
    workers: Workers,
    broker: Mosquitto,
    n: int,
) -> list[tuple[str, str]]:
    """A campaign to all, then a graceful broker restart with a campaign queued just before it:
    every station comes back and gets it; then an emergency again."""
    rows: list[tuple[str, str]] = []
    rows.append(campaign_round(province, passwords, store, workers, n, "chien-dich-1"))
    print(rows[-1], file=sys.stderr, flush=True)
    workers.ask("mark")
    content = text_content("Chiến dịch trước khi máy chủ khởi động lại.")
    send_campaign(
        province,
        passwords,
        store,
        content,
        "all",
        Priority.NORMAL,
        {"times": ["07:00"]},
        "chien-dich-2",
        datetime.now(UTC),
    )
    restart_began = time.monotonic()
    broker.restart()
    back = wait_for(
        lambda: sum(len(answer["back"]) for answer in workers.ask("status")) >= n, 180, 0.5
    )
    times = [t for answer in workers.ask("status") for t in answer["back"]]
    rows.append(
        (
            "broker restart: all back",
            f"{back:.1f} s after the restart began" if back else "not all in 180 s",
        )
    )
    rows.append(("reconnect times after the restart", spread(times)))
    landed = wait_for(lambda: workers.total("landed", "status chien-dich-2") >= n, 120, 1.0)
    rows.append(
        (
            "campaign queued before the restart, landed",
            f"{workers.total('landed', 'status chien-dich-2')}/{n}"
            + (f" ({time.monotonic() - restart_began:.1f} s after the restart)" if landed else ""),
        )
    )
    time.sleep(6)
    rows.append(emergency_round(province, passwords, store, workers, n, "khan-sau"))
    return rows


def real_round(stations: list[Path], sent: datetime, emergency_id: str) -> tuple[str, str]:
    """When each real station's as-run row says the emergency started (the program's first
    sound, speech rendered by espeak-ng included), from the wall clock just before the call."""

    def starts() -> list[float]:
        found = []
        for station in stations:
            rows = asrun_rows(station, "priority = 'emergency' AND started IS NOT NULL")
            found += [
                datetime.fromisoformat(row[3]).timestamp() - sent.timestamp()
                for row in rows
                if datetime.fromisoformat(row[3]) >= sent
            ]
        return found

    wait_for(lambda: len(starts()) >= len(stations), 60, 0.5)
    latencies = starts()
    return (
        f"emergency {emergency_id}: call → first sound of real `loa run` stations "
        f"({len(latencies)}/{len(stations)})",
        spread(latencies),
    )


def emergency_round(
    province: Province,
    passwords: dict[str, str],
    store: Store,
    workers: Workers,
    n: int,
    emergency_id: str,
) -> tuple[str, str]:
    began = time.monotonic()
    send_emergency(
        province,
        passwords,
        store,
        text_content("Bão số 3 đang vào bờ."),
        "all",
        900,
        emergency_id,
        datetime.now(UTC),
    )
    sent = time.monotonic() - began

    def starts() -> list[float]:
        return [
            t - began
            for answer in workers.ask(f"started {emergency_id}")
            for t in answer["started"]
        ]

    wait_for(lambda: len(starts()) >= n, 60, 0.5)
    latencies = starts()
    what = "arrival (bare clients)" if workers.bare else "playout start"
    return (
        f"emergency {emergency_id}: call → {what} ({len(latencies)}/{n}; publish "
        f"{sent * 1000:.0f} ms)",
        spread(latencies),
    )


def campaign_round(
    province: Province,
    passwords: dict[str, str],
    store: Store,
    workers: Workers,
    n: int,
    campaign_id: str,
) -> tuple[str, str]:
    send_campaign(
        province,
        passwords,
        store,
        text_content("Tiêm chủng mở rộng."),
        "all",
        Priority.NORMAL,
        {"times": ["06:30"], "days": ["T2-T6"]},
        campaign_id,
        datetime.now(UTC),
    )
    took = wait_for(lambda: workers.total("landed", f"status {campaign_id}") >= n, 120, 1.0)
    landed = workers.total("landed", f"status {campaign_id}")
    return (
        "campaign to all: landed as files",
        f"{landed}/{n}" + (f" in {took:.1f} s" if took else ""),
    )


if __name__ == "__main__":
    main()
