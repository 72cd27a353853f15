"""CPU per station per emergency, measured on one worker process of the province bench: the
same light stations, link and reports as `bench.province`, against a real Mosquitto, but few
enough that the worker never waits for a core — what each station costs, not how long a
crowded machine takes.

    .venv/bin/python -m bench.province_cpu [--stations 300] [--rounds 5] [--py-spy OUT]

For each emergency: the worker's CPU time (user + system, from /proc) from the call until every
station's playout started ("on the path", which also holds whatever other work the worker did in
that window), and until 4 s later ("whole emergency": the hand-over, the acks, the note that it
aired); then until the 5 s of silent play ended and the as-run rows were reported ("with the
end"). Divided by the stations. `--py-spy OUT` samples the worker meanwhile (py-spy's raw
format, all threads, idle ones left out) for a breakdown by function.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.province import Workers, make_province, wait_for
from broadcaster.province.broker import BrokerSettings, write_broker_config
from broadcaster.province.operator import send_emergency, text_content
from broadcaster.province.store import Store
from tests.mosquitto import Mosquitto, free_port

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    return sum(user_system_s(pid))


def user_system_s(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def switches(pid: int) -> tuple[int, int]:
    found = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if "ctxt_switches" in line
    }
    return found["voluntary_ctxt_switches"], found["nonvoluntary_ctxt_switches"]


def started(workers: Workers, emergency_id: str) -> list[float]:
    """When each station's playout started this emergency (the worker's monotonic clock)."""
    return [t for answer in workers.ask(f"started {emergency_id}") for t in answer["started"]]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.province_cpu")
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--py-spy", type=Path, default=None)
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile every thread of the worker into it"
    )
    options = parser.parse_args()
    n = options.stations
    root = Path(tempfile.mkdtemp(prefix="loa-province-cpu-"))
    port = free_port()
    province, passwords, _real = make_province(root, port, n, 0)
    write_broker_config(
        province,
        passwords,
        BrokerSettings(out=root / "broker", port=port, listen="127.0.0.1", user="root"),
    )
    broker = Mosquitto(root / "broker" / "mosquitto.conf", port).start()
    store = Store(province.database)
    os.environ["LOA_BENCH_CPU"] = "1"  # the workers note their CPU time at each start
    if options.profile is not None:
        os.environ["LOA_BENCH_PROFILE"] = str(options.profile.resolve())
    workers = Workers(root, port, n, 1)
    pid = workers.procs[0].pid
    spy: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: workers.total("connected") >= n, 300, 0.5)
        time.sleep(3)  # the connections' reports are out
        if options.py_spy is not None:
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--rate",
                    "500",
                    "--nonblocking",
                    "--output",
                    str(options.py_spy),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        idle = cpu_s(pid)
        time.sleep(5)
        idle = (cpu_s(pid) - idle) / 5
        print(
            f"{n} stations, one worker; load average {os.getloadavg()}; idle, the worker "
            f"uses {idle * 1000:.0f} ms of CPU a second\n"
            "| round | CPU ms/station on the path | whole emergency | with the end | switches "
            "vol/invol per station | in-worker p50/p95/max (ms) |\n|---|---|---|---|---|---|"
        )
        for round_ in range(options.rounds):
            emergency_id = f"khan-cpu-{round_}"
            asked = workers.ask("cpu")[0]
            before, threads_before, (vol0, inv0) = asked["cpu"], asked["threads"], switches(pid)
            user0, system0 = user_system_s(pid)
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

            wait_for(lambda: len(started(workers, emergency_id)) >= n, 60, 0.2)  # noqa: B023
            path = workers.ask(f"started {emergency_id}")[0]["cpu"]
            latencies = sorted(t - began for t in started(workers, emergency_id))
            time.sleep(4)
            asked = workers.ask("cpu")[0]
            whole = asked["cpu"]
            user, system = user_system_s(pid)
            by_thread = {
                kind: (spent - threads_before.get(kind, 0.0)) * 1000 / n
                for kind, spent in asked["threads"].items()
            }
            time.sleep(4)  # played 5 s from its start: finished, reported, acknowledged
            end = workers.ask("cpu")[0]["cpu"]
            vol, inv = switches(pid)
            p = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
            print(
                f"| {round_} | {(path - before) * 1000 / n:.2f} | {(whole - before) * 1000 / n:.2f}"
                f" | {(end - before) * 1000 / n:.2f} | {(vol - vol0) / n:.1f} / "
                f"{(inv - inv0) / n:.1f} | {latencies[len(latencies) // 2] * 1000:.0f} / "
                f"{p * 1000:.0f} / {latencies[-1] * 1000:.0f} |",
                flush=True,
            )
            print(
                f"    whole emergency: user {(user - user0) * 1000 / n:.2f}, system "
                f"{(system - system0) * 1000 / n:.2f}; by thread, ms/station: "
                + ", ".join(f"{kind} {ms:.2f}" for kind, ms in sorted(by_thread.items()) if ms),
                flush=True,
            )
            time.sleep(1)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            spy.wait(30)
        workers.close()
        broker.stop()
        store.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
