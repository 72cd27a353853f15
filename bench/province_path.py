"""The emergency path of one station, step by step, in one thread: what each step costs in CPU,
without a broker, other threads or a crowded machine (bench/province_cpu.py measures the whole
worker against a real Mosquitto).

    .venv/bin/python -m bench.province_path [--stations 200] [--rounds 3] [--profile]

The light stations, links and reporters of `bench.province`, not connected: each emergency is
given to the link as paho gives it (`on_message` with the message and its forwarded expiry),
then the steps the link's threads and the station's event dispatcher take are called in turn,
each timed with `time.thread_time`:

- receive: decode, commit to the inbox, the request to the station, its playout decision and
  as-run row up to the start (`started` is the benchmark's measure), the acknowledgements (all
  on the network thread);
- after: what the link and the reports do once it started (the station's events);
- end: the end of its play, the as-run row finished, put into the outbox.

`--profile`: cProfile of the same, the top functions by their own time.
"""

import argparse
import cProfile
import logging
import pstats
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paho.mqtt.client import MQTTMessage
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.province_station import LightStation, Timers
from bench.province_worker import make_station
from broadcaster.core.settings import ProvinceSettings
from broadcaster.province import topics
from broadcaster.province.link import StationLink
from broadcaster.province.messages import Emergency, encode
from broadcaster.province.operator import text_content
from broadcaster.province.reports import Reporter

STEPS = ("receive", "after", "end")


class StepTimers(Timers):
    """The station's timers and events, run when the benchmark says (no thread)."""

    def __init__(self) -> None:
        self.calls: list[Callable[[], None]] = []
        self._cond = threading.Condition()

    def at(self, when: float, call: Callable[[], None]) -> None:
        self.calls.append(call)

    def run(self, calls: list[Callable[[], None]]) -> None:
        for call in calls:
            call()


class Unconnected:
    """A network loop that never connects its clients."""

    def add(self, client: Any, delays: tuple[float, float]) -> None:
        pass


def message(emergency_id: str, mid: int) -> MQTTMessage:
    payload = encode(
        Emergency(
            id=emergency_id,
            content=text_content("Bão số 3 đang vào bờ."),
            sent=datetime.now(UTC).isoformat(timespec="milliseconds"),
            expires_s=900,
            sender="bench",
        )
    )
    found = MQTTMessage(mid, topics.EVERYONE.cmd.encode())
    found.payload = payload
    found.qos = 1
    found.properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    found.properties.MessageExpiryInterval = 899
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.province_path")
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # as in the worker
    root = Path(tempfile.mkdtemp(prefix="loa-province-path-"))
    timers = StepTimers()
    pairs: list[tuple[LightStation, StationLink]] = []
    for number in range(options.stations):
        record = {"id": f"xa-{number:04d}", "password": "x", "groups": ["vung-00"]}
        station = LightStation(make_station(root, record), timers)
        settings = ProvinceSettings(
            broker="mqtt://127.0.0.1:9",
            host="127.0.0.1",
            port=9,
            tls=False,
            station_id=str(record["id"]),
            password="x",
            groups=("vung-00",),
        )
        link = StationLink(
            settings,
            station,
            reporter=lambda sid, db, publish, st: Reporter(sid, db, publish, st),  # type: ignore[arg-type]
            rng=random.Random(number),
        )
        link.start(network=Unconnected())
        pairs.append((station, link))
    time.sleep(1)  # the links' own threads have started and wait
    profiler = cProfile.Profile(time.thread_time) if options.profile else None
    totals = dict.fromkeys(STEPS, 0.0)
    try:
        for round_ in range(options.rounds):
            emergency_id = f"khan-path-{round_}"
            spent = dict.fromkeys(STEPS, 0.0)
            for station, link in pairs:
                timers.calls.clear()
                incoming = message(emergency_id, round_ + 1)
                if profiler is not None:
                    profiler.enable()
                began = time.thread_time()
                link._on_message(link._client, None, incoming)
                handed = time.thread_time()
                assert station.started[-1][1] == emergency_id, station.started[-1]
                events, timers.calls = list(timers.calls), []
                playing_end = events.pop()  # the end of its play, 5 s later
                timers.run(events)
                after = time.thread_time()
                playing_end()
                timers.run(list(timers.calls))
                ended = time.thread_time()
                if profiler is not None:
                    profiler.disable()
                for step, took in zip(
                    STEPS,
                    (handed - began, after - handed, ended - after),
                    strict=True,
                ):
                    spent[step] += took
            n = len(pairs)
            print(
                f"round {round_}: "
                + ", ".join(f"{step} {spent[step] * 1000 / n:.3f}" for step in STEPS)
                + " ms/station",
                flush=True,
            )
            for step in STEPS:
                totals[step] += spent[step]
    finally:
        for _station, link in pairs:
            link.stop()
        shutil.rmtree(root, ignore_errors=True)
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
