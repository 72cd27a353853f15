"""Every benchmark in one run, and one Markdown table to paste into the README.

    .venv/bin/python -m bench [--quick] [--starts N] [--entries N] [--idle-seconds S]
                              [--trials N]

Runs, one after the other (so they do not disturb each other): bench.cli, bench.schedule,
bench.render, bench.speech, bench.start_error, bench.adhoc and bench.daemon. Their own reports go
to stderr as they run; stdout gets the machine, the date and the table. Defaults: 20 starts,
10,000 entries, a 60 s window for each daemon case; --quick uses 5 starts, 2,000 entries, a 15 s
window and two ad-hoc trials. A measurement that fails is reported as such in the table, the
others still run. Needs espeak-ng, ffmpeg, pulseaudio and parec; never touches the Internet (the
online voice goes to the test suite's local Edge endpoint, or to a closed loopback port).
"""

import argparse
import contextlib
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench import adhoc, cli, daemon, render, schedule, speech, start_error
from bench.stations import machine

Row = tuple[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, shorter windows")
    parser.add_argument("--starts", type=int, help="scheduled starts to capture (20; quick 5)")
    parser.add_argument("--entries", type=int, help="generated entries (10000; quick 2000)")
    parser.add_argument("--idle-seconds", type=float, help="idle daemon window (60; quick 15)")
    parser.add_argument("--trials", type=int, help="ad-hoc trials per case (5; quick 2)")
    options = parser.parse_args()
    quick = options.quick
    starts = options.starts or (5 if quick else 20)
    entries = options.entries or (2_000 if quick else 10_000)
    idle = options.idle_seconds or (15.0 if quick else 60.0)
    trials = options.trials or (2 if quick else 5)
    speech_runs = 5 if quick else 20

    began = time.monotonic()
    rows: list[Row] = []
    sections: list[tuple[str, Callable[[], list[Row]]]] = [
        ("cli", cli_rows),
        ("schedule", lambda: schedule_rows(entries)),
        ("render", render_rows),
        ("speech", lambda: speech_rows(speech_runs)),
        ("start error", lambda: start_error_rows(starts)),
        ("ad-hoc", lambda: adhoc_rows(trials)),
        ("daemon", lambda: daemon_rows(idle, entries)),
    ]
    for name, section in sections:
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                rows += section()
        except Exception as error:  # one failed measurement must not hide the others
            traceback.print_exc()
            rows.append((name, f"not measured: {type(error).__name__}: {error}"))
    minutes = (time.monotonic() - began) / 60

    print(
        f"`python -m bench{' --quick' if quick else ''}`, {datetime.now():%Y-%m-%d %H:%M}, "
        f"{machine()}; {minutes:.1f} minutes\n"
    )
    print("| measure | value |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def schedule_rows(entries: int) -> list[Row]:
    found = schedule.measure(entries, 20)
    load, peer = found["load"], found["peer"]
    return [
        (
            f"read and check {entries:,} entries (20 files, {found['yaml_mb']:.1f} MB YAML)",
            f"{load:.2f} s ({found['load_cpu']:.2f} s CPU); ruamel.yaml safe load alone "
            f"{peer:.2f} s, ratio {load / peer:.2f}",
        ),
        (
            f"read {entries:,} entries again after one file of 20 changed",
            f"{ms(found['reload_one'])} ({ms(found['reload_one_cpu'])} CPU)",
        ),
        (
            f"expand {entries:,} entries over 30 days",
            f"{found['expand']:.2f} s ({found['occurrences']:,.0f} occurrences)",
        ),
        (
            f"daemon with {entries:,} entries: open / plan 6 h / next sweep",
            f"{found['open']:.2f} s / {ms(found['first_sweep'])} / "
            f"{found['next_sweep'] * 1000:.2f} ms",
        ),
        (
            f"`loa schedule check`, {entries:,} entries (a process)",
            f"{found['check']:.1f} s ({found['check_cpu']:.1f} s CPU), "
            f"peak RSS {found['check_rss_mb']:.0f} MB",
        ),
    ]


def render_rows() -> list[Row]:
    found = render.measure()
    return [
        (
            "render a 10-minute program at -16 LUFS: Loa / ffmpeg filter graph",
            f"{found['loa']:.2f} s / {found['ffmpeg']:.2f} s; ratio {found['ratio']:.2f}",
        ),
        ("peak RSS, rendering a 60-minute program", f"{found['peak_rss_mb']:.0f} MB"),
    ]


def speech_rows(runs: int) -> list[Row]:
    found = speech.measure(runs)
    return [
        (
            f"time to decoded audio, {found['characters']:.0f} characters: cache hit / "
            "espeak-ng through Loa / espeak-ng alone",
            f"{found['cache']:.1f} / {found['espeak']:.1f} / {found['direct']:.1f} ms "
            f"(median of {runs})",
        )
    ]


def start_error_rows(starts: int) -> list[Row]:
    found = start_error.measure(starts)
    return [
        (
            f"start error to the first audible sample, {starts} starts: {name}",
            f"p50 {found[name + '_p50']:.1f} ms, p95 {found[name + '_p95']:.1f} ms, "
            f"max {found[name + '_max']:.1f} ms ({found['found']:.0f}/{found['expected']:.0f} "
            f"heard, {found['unexpected']:.0f} unexpected)",
        )
        for name in ("raw", "drift-corrected", "anchored")
    ] + [("the recorder's clock against the wall clock", f"{found['ppm']:+.0f} ppm")]


def adhoc_rows(trials: int) -> list[Row]:
    found, sources = adhoc.measure(trials)
    labels = {
        "cold": "ad-hoc `say`, time to first sample: cold (online voice, local Edge endpoint)",
        "warm": "ad-hoc `say`, time to first sample: warm (same text, cache hit)",
        "espeak": "ad-hoc `say`, time to first sample: offline voice (espeak-ng)",
    }
    rows = []
    for case, values in found.items():
        heard_from = sorted(
            {source.split(":")[1] for source in sources if source.startswith(case + ":")}
        )
        rows.append(
            (
                labels[case],
                f"median {ms(statistics.median(values))}, max {ms(max(values))} "
                f"({len(values)} trials; source {', '.join(heard_from)})",
            )
        )
    return rows


def daemon_rows(seconds: float, entries: int) -> list[Row]:
    found: dict[str, Any] = daemon.run(seconds, entries)
    labels = {
        "example": "`loa run`, example schedule, one ad-hoc say in the window",
        "large": f"idle `loa run`, {entries:,} entries",
        "playing": "`loa run` playing a 60-minute program",
    }
    rows = []
    for key, label in labels.items():
        if key in found:
            one = found[key]
            rows.append(
                (
                    f"{label} ({one['window']:.0f} s window)",
                    f"RSS median {one['rss_mb']:.0f} MB, peak {one['peak_mb']:.0f} MB; CPU "
                    f"{one['cpu_ms_per_min']:.0f} ms per minute ({one['cpu_percent']:.2f} %); "
                    f"on the air {one['startup']:.1f} s after launch",
                )
            )
    return rows


def cli_rows() -> list[Row]:
    found = cli.measure()
    return [
        (
            f"`loa {' '.join(args)}`, wall time (median of {cli.RUNS})",
            f"{ms(statistics.median(times))} (min {ms(min(times))}, max {ms(max(times))})",
        )
        for args, times in found.items()
    ]


if __name__ == "__main__":
    main()
