"""A worker process of the province scale benchmark: many light stations, each with the real
province link (inbox, landing, emergencies) and reports (outbox, heartbeat), their MQTT clients
driven by one network thread. Commands come as lines on stdin, answers as JSON lines on stdout.

    python -m bench.province_worker ROOT PORT FIRST COUNT [bare]

`LOA_BENCH_CPU` set: each station notes the process's CPU time when an item starts
(`bench.province_cpu`).

`bare`: the peer — plain paho clients with the stations' accounts and subscriptions that only note
when each emergency arrives: what the broker and the network cost without Loa.
"""

import cProfile
import gc
import json
import logging
import os
import pstats
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.province_loop import NetworkLoop
from bench.province_station import LightStation, Timers
from broadcaster.core.settings import ProvinceSettings
from broadcaster.province import topics
from broadcaster.province.link import StationLink
from broadcaster.province.reports import Reporter

STATION_YAML = """name: {id}
timezone: Asia/Ho_Chi_Minh
quiet_hours: "00:00-00:00"
output:
  device: silent
"""


def make_station(root: Path, record: dict[str, object]) -> Path:
    directory = root / "stations" / str(record["id"])
    (directory / "announcements").mkdir(parents=True, exist_ok=True)
    (directory / "schedules").mkdir(exist_ok=True)
    (directory / "station.yaml").write_text(STATION_YAML.format(id=record["id"]), "utf-8")
    return directory


def bare_client(
    record: dict[str, Any],
    port: int,
    network: NetworkLoop,
    arrivals: list[tuple[float, str]],
    online: set[str],
) -> None:
    client = Client(
        CallbackAPIVersion.VERSION2, client_id=record["id"], protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(record["id"], record["password"])
    targets = topics.targets_of(record["id"], tuple(record["groups"]))

    def on_connect(c: Client, _u: object, _f: object, _r: object, _p: object) -> None:
        online.add(record["id"])
        c.subscribe([(target.cmd, 1) for target in targets])

    def on_disconnect(_c: Client, _u: object, _f: object, _r: object, _p: object) -> None:
        online.discard(record["id"])

    def on_message(_c: Client, _u: object, message: MQTTMessage) -> None:
        arrivals.append((time.monotonic(), json.loads(message.payload)["id"]))

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect_async("127.0.0.1", port, keepalive=30)
    network.add(client, (1.0, 60.0))


def profile_threads(out: Path) -> Callable[[], None]:
    """cProfile in every thread started from now on (a profiler sees only its own thread): for
    `bench.province_cpu --profile`. Returns what writes their sum to `out`."""
    profiles: list[cProfile.Profile] = []
    run = threading.Thread.run

    def profiled(thread: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU, not waits
        profiles.append(profile)
        profile.enable()
        run(thread)

    threading.Thread.run = profiled  # type: ignore[method-assign]

    def dump() -> None:
        found = [profile for profile in profiles if profile.getstats()]
        if found:
            found[0].create_stats()
            stats = pstats.Stats(found[0])
            for profile in found[1:]:
                profile.create_stats()
                stats.add(profile)
            stats.dump_stats(out)

    return dump


def thread_cpu() -> dict[str, float]:
    """CPU seconds by kind of thread (their names less the numbers), from the kernel's count."""
    spent: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            ns = Path(f"/proc/self/task/{thread.native_id}/schedstat").read_text().split()[0]
        except OSError:
            continue
        kind = thread.name.split(" ")[0].rstrip("0123456789-")
        spent[kind] = spent.get(kind, 0.0) + int(ns) / 1e9
    return spent


def main() -> None:
    profiled = os.environ.get("LOA_BENCH_PROFILE")
    dump_profile = profile_threads(Path(profiled)) if profiled else None
    root, port, first, count = (
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    measure_cpu = bool(os.environ.get("LOA_BENCH_CPU"))
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    records = json.loads((root / "stations.json").read_text("utf-8"))[first : first + count]
    timers = Timers()
    network = NetworkLoop()
    links: list[StationLink] = []
    stations: list[LightStation] = []
    rng = random.Random(first)
    bare = len(sys.argv) > 5 and sys.argv[5] == "bare"
    arrivals: list[tuple[float, str]] = []
    online: set[str] = set()
    for record in records:
        if bare:
            bare_client(record, port, network, arrivals, online)
            continue
        station = LightStation(make_station(root, record), timers, measure_cpu=measure_cpu)
        settings = ProvinceSettings(
            broker=f"mqtt://127.0.0.1:{port}",
            host="127.0.0.1",
            port=port,
            tls=False,
            station_id=record["id"],
            password=record["password"],
            groups=tuple(record["groups"]),
        )
        link = StationLink(
            settings,
            station,
            reporter=lambda sid, db, publish, st: Reporter(sid, db, publish, st),  # type: ignore[arg-type]
            rng=random.Random(rng.random()),
        )
        link.start(network=network)
        links.append(link)
        stations.append(station)
    # A station is a process of its own in the field, its heap one station's; here one heap holds
    # a thousand, and each full collection would walk them all (during an emergency too).
    gc.collect()
    gc.freeze()
    mark = [time.monotonic()]
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "mark":
            mark[0] = time.monotonic()
            print(json.dumps({"ok": True}), flush=True)
        elif command[0] == "status":
            campaign = command[1] if len(command) > 1 else ""
            back = sorted(t - mark[0] for t in network.connected_since() if t >= mark[0])
            landed = sum(
                1
                for s in stations
                if campaign and (s.directory / "schedules" / f"tinh-{campaign}.yaml").exists()
            )
            print(
                json.dumps(
                    {
                        "connected": sum(1 for link in links if link.connected) + len(online),
                        "back": back,
                        "landed": landed,
                        "reconnects": network.reconnects,
                        "on_air": sum(1 for s in stations if s.air is not None),
                        "queued": sum(len(s.queue) for s in stations),
                    }
                ),
                flush=True,
            )
        elif command[0] == "started":  # when each station started this request id
            tag = command[1]
            print(
                json.dumps(
                    {
                        "started": [t for s in stations for t, of in s.started if of == tag]
                        + [t for t, of in arrivals if of == tag],
                        "cpu": max((s.started_cpu.get(tag, 0.0) for s in stations), default=0.0),
                    }
                ),
                flush=True,
            )
        elif command[0] == "cpu":
            print(json.dumps({"cpu": time.process_time(), "threads": thread_cpu()}), flush=True)
        elif command[0] == "quit":
            break
    if dump_profile is not None:
        dump_profile()
    network.stop_reconnecting()
    for link in links:
        link.stop()


if __name__ == "__main__":
    main()
