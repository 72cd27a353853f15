"""Thirty simulated days of the real daemon, with faults, proving every slot aired exactly once.

A fake clock drives the real schedule reader, rules, playout, as-run log, speech chain (the local
Edge endpoint and espeak-ng) and renderer; the sink takes no real time. Faults: the online voice
down, refusing, truncating or mute; the sound device failing; the daemon killed mid-broadcast and
restarted later; schedule edits, some invalid; the clock jumping forward and back.
"""

import math
import os
import random
import shutil
import sqlite3
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.playout import in_quiet_hours
from broadcaster.core.recurrence import next_after, occurrences
from broadcaster.errors import NoAudioDeviceError
from broadcaster.onair.asrun import LOG_FILE, PLAYED
from broadcaster.onair.daemon import PREROLL_S, Daemon
from broadcaster.station.schedules import airs, load_schedules
from broadcaster.station.station_file import load_station
from tests.conftest import CLOSED_EDGE_ENDPOINT, ROOT
from tests.doubles import FakeClock, FastSink
from tests.edge_endpoint import EdgeEndpoint

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 12, 1, 0, 0, tzinfo=HANOI)
DAYS = int(os.environ.get("LOA_SOAK_DAYS", "30"))
"""Fewer days for a quick look while developing: LOA_SOAK_DAYS=3."""
GENERATED = 68
QUIET = "21:00-06:00"
BROKEN_ENTRY = '- id: hong\n  announcement: tin-0\n  times: ["6h70"]\n'
"""An invalid edit: the daemon keeps the last good schedule until it is fixed."""


class Killed(BaseException):
    """kill -9 in the middle of a broadcast: nothing below the test catches it."""


@dataclass
class Faults:
    """What goes wrong when, in simulated time."""

    outages: list[tuple[datetime, datetime]] = field(default_factory=list)
    """The sound device fails."""
    downtimes: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Killed, then restarted."""
    jumps: list[tuple[datetime, datetime]] = field(default_factory=list)
    """The wall clock jumped from, to."""
    killed_at: list[datetime] = field(default_factory=list)


def tone(path: Path, seconds: float, hertz: float) -> None:
    rate = 22050
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                int(8000 * math.sin(2 * math.pi * hertz * i / rate)).to_bytes(
                    2, "little", signed=True
                )
                for i in range(int(rate * seconds))
            )
        )


def build_station(folder: Path, rng: random.Random) -> Path:
    """The bundled station and schedule, short station jingles, and generated entries."""
    station = folder / "station"
    shutil.copytree(ROOT / "announcements", station / "announcements")
    shutil.copytree(ROOT / "schedules", station / "schedules")
    config = (ROOT / "station.yaml").read_text(encoding="utf-8")
    for role, hertz in (("intro", 660), ("outro", 550), ("attention", 880)):
        tone(station / f"{role}.wav", 0.25, hertz)
        config = config.replace(f"  {role}:\n", f"  {role}: {role}.wav\n", 1)
    (station / "station.yaml").write_text(config, encoding="utf-8")
    for number in range(6):
        (station / "announcements" / f"tin-{number}.txt").write_text(
            f"Thông báo số {number + 1} của xã.", encoding="utf-8"
        )
    minutes = rng.sample(range(6 * 60 + 5, 20 * 60 + 55, 4), GENERATED)
    lines = []
    for index, minute in enumerate(sorted(minutes)):
        lines.append(
            f"- id: sinh-{index:02d}\n  announcement: tin-{index % 6}\n"
            f'  times: ["{minute // 60:02d}:{minute % 60:02d}"]\n'
        )
    lines.append('- id: dem\n  announcement: tin-1\n  times: ["21:30"]\n')  # held: quiet hours
    lines.append(
        '- id: bao-dem\n  announcement: tin-2\n  times: ["22:00"]\n  priority: emergency\n'
    )
    lines.append('- id: bu\n  announcement: tin-3\n  times: ["06:02"]\n  catch_up: true\n')
    (station / "schedules" / "sinh.yaml").write_text("".join(lines), encoding="utf-8")
    (station / "schedules" / "sua.yaml").write_text("", encoding="utf-8")
    return station


def within(moment: datetime, spans: list[tuple[datetime, datetime]], margin_s: float = 0) -> bool:
    edge = timedelta(seconds=margin_s)
    return any(first - edge <= moment <= last + edge for first, last in spans)


@pytest.fixture
def endpoint() -> Iterator[EdgeEndpoint]:
    with EdgeEndpoint() as server:
        yield server


def test_thirty_days_every_slot_exactly_once(
    tmp_path: Path, endpoint: EdgeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20200801)
    monkeypatch.delenv("LOA_EDGE_ENDPOINT", raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    station = build_station(tmp_path, rng)
    config = station / "station.yaml"
    base_config = config.read_text(encoding="utf-8")
    clock = FakeClock(START)
    sink = FastSink(clock)
    faults = Faults()
    end = START + timedelta(days=DAYS)
    edits_valid: list[str] = []

    def set_endpoint(url: str) -> None:
        config.write_text(
            base_config.replace("  edge_endpoint:\n", f"  edge_endpoint: {url}\n", 1),
            encoding="utf-8",
        )

    def start_daemon() -> Daemon:
        daemon = Daemon(station, now=clock, output=lambda _s: sink, monotonic=clock.monotonic)
        daemon.open()
        return daemon

    def kill(daemon: Daemon) -> None:
        """What the OS does for a killed process: its files close, nothing else happens."""
        daemon._lock_file.close()
        daemon.log._db.close()

    def restart(daemon: Daemon) -> Daemon:
        """kill -9 now, and Loa started again after a while."""
        faults.killed_at.append(clock.moment)
        kill(daemon)
        sink.fail, sink.fail_after = None, 0
        down_from = clock.moment
        clock.advance(rng.uniform(60, 3 * 3600))
        faults.downtimes.append((down_from, clock.moment))
        return start_daemon()

    set_endpoint(endpoint.url)
    daemon = start_daemon()
    next_fault = START + timedelta(hours=rng.uniform(2, 6))
    voice_hour, voice_down, down_s = -1, False, 0.0
    say_count = 0
    while clock.moment < end:
        now = clock.moment
        hour = int((now - START).total_seconds() // 3600)
        if hour != voice_hour:  # each hour the online voice is down with a chance of 30 %
            voice_hour, voice_down = hour, rng.random() < 0.3
            mode = rng.choices(["ok", "403-once", "truncated", "no-audio"], [80, 5, 10, 5])[0]
            endpoint.mode = mode
            set_endpoint(CLOSED_EDGE_ENDPOINT if voice_down else endpoint.url)
        if now >= next_fault:
            kind = rng.choice(["device", "kill", "kill-idle", "edit", "jump"])
            if kind == "device":
                outage_end = now + timedelta(minutes=rng.uniform(5, 40))
                faults.outages.append((now, outage_end))
            elif kind == "kill":  # at some point of the next broadcast
                sink.fail, sink.fail_after = Killed(), rng.randrange(0, 6)
            elif kind == "kill-idle":
                daemon = restart(daemon)
            elif kind == "edit":  # a one-off for tomorrow, or a broken line fixed later
                day = (now + timedelta(days=1)).date()
                if rng.random() < 0.3:
                    text = "".join(edits_valid) + BROKEN_ENTRY
                else:
                    hour, minute = rng.randrange(7, 20), rng.choice([2, 17, 33, 49])
                    number = len(edits_valid)
                    (station / "announcements" / f"sua-{number}.txt").write_text(
                        f"Thông báo bổ sung số {number + 1}.", encoding="utf-8"
                    )  # new text: read by whichever voice works on the day
                    edits_valid.append(
                        f"- id: sua-{number}\n  announcement: sua-{number}\n"
                        f'  date: {day.isoformat()}\n  times: ["{hour:02d}:{minute:02d}"]\n'
                    )
                    text = "".join(edits_valid)
                (station / "schedules" / "sua.yaml").write_text(text, encoding="utf-8")
            elif kind == "jump":
                target = now + timedelta(minutes=rng.choice([-50, -20, 35, 90]))
                faults.jumps.append((now, target))
                clock.set(target)
            next_fault = clock.moment + timedelta(hours=rng.uniform(1, 8))
        if within(clock.moment, faults.outages):
            sink.fail, sink.fail_after = NoAudioDeviceError("Could not open a sound device."), 0
        elif not isinstance(sink.fail, Killed):
            sink.fail, sink.fail_after = None, 0
        if rng.random() < 0.01 and not in_quiet_hours(QUIET, clock.moment.time()):
            say_count += 1
            daemon.answer({"command": "say", "text": f"Tin nhắn nhanh số {say_count}."})
        daemon.heartbeat()
        try:
            while daemon.play_next(timeout=0):
                pass
        except Killed:
            daemon = restart(daemon)
            continue
        # on to the next occurrence's pre-roll, or ten minutes, whichever is sooner
        upcoming = [
            at
            for entry in daemon.entries
            if airs(entry) and (at := next_after(entry.rule, clock.moment)) is not None
        ]
        step = min(
            [(at - clock.moment).total_seconds() - PREROLL_S + 0.5 for at in upcoming] + [600.0]
        )
        clock.advance(max(step, 0.5))
        down_s += max(step, 0.5) if voice_down else 0.0
    daemon.shutdown()
    (station / "schedules" / "sua.yaml").write_text("".join(edits_valid), encoding="utf-8")

    # -- what should have aired ---------------------------------------------------------------
    final = load_schedules(load_station(station, environ={}))
    expected = {
        (entry.id, at.isoformat()): (entry, at)
        for entry in final
        if airs(entry)
        for at in occurrences(entry.rule, START + timedelta(seconds=1), end - timedelta(minutes=15))
    }
    assert len(expected) >= 2000 * DAYS / 30, len(expected)  # ≥ 2,000 over the 30 days
    with sqlite3.connect(station / LOG_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT entry_id, scheduled, result, error, source FROM asrun").fetchall()
    scheduled_rows = {(r[0], r[1]): r for r in rows if r[0] not in ("say", "play")}
    in_window = {key: row for key, row in scheduled_rows.items() if key in expected}
    missing = sorted(set(expected) - set(scheduled_rows))
    assert not missing, f"{len(missing)} occurrences without a row, e.g. {missing[:5]}"
    stray = [key for key, _row in scheduled_rows.items() if key not in expected]
    assert all(datetime.fromisoformat(key[1]) >= end - timedelta(minutes=15) for key in stray), (
        f"rows for occurrences no schedule had: {stray[:5]}"
    )

    # -- each with the right result --------------------------------------------------------------
    played = [row for row in rows if row[2] in PLAYED]
    assert sink.completed == len(played), "every completed program has one played row: none twice"
    wrong = []
    for key, (entry, at) in expected.items():
        _id, _at, result, error, _source = in_window[key]
        if result not in PLAYED and not error.strip():
            wrong.append((key, result, "no reason"))
            continue
        disturbed = (
            within(at, faults.downtimes, 400)
            or within(at, faults.jumps, 400)
            or within(at, [(k, k) for k in faults.killed_at], 400)
        )
        quiet = entry.priority != "emergency" and in_quiet_hours(QUIET, at.time())
        if disturbed:
            allowed = {
                "played",
                "played-fallback",
                "missed",
                "interrupted",
                "skipped-quiet",
                "failed",
            }
        elif within(at, faults.outages, 30):
            allowed = {"failed", "played", "played-fallback"} if not quiet else {"skipped-quiet"}
        elif quiet:
            allowed = {"skipped-quiet"}
        else:
            allowed = {"played", "played-fallback"}
        if result not in allowed:
            wrong.append((key, result, error))
    assert not wrong, f"{len(wrong)} wrong results, e.g. {wrong[:5]}"
    results = {row[2] for row in rows}
    assert {"played", "played-fallback", "missed", "skipped-quiet", "failed"} <= results
    assert faults.killed_at and faults.jumps and faults.outages, "every kind of fault happened"
    down_share = down_s / (DAYS * 24 * 3600)
    assert 0.2 < down_share < 0.4, f"the online voice was down {down_share:.0%} of the time"
    counts = {result: sum(row[2] == result for row in rows) for result in sorted(results)}
    print(
        f"\n{DAYS} days: {len(expected)} scheduled occurrences, {len(rows)} as-run rows {counts}; "
        f"{len(faults.killed_at)} kills, {len(faults.jumps)} clock jumps, "
        f"{len(faults.outages)} device outages, {len(edits_valid)} valid edits, "
        f"online voice down {down_share:.0%} of the time"
    )
    assert len(load_schedules(load_station(station, environ={}))) == len(final)
