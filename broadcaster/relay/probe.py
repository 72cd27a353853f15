"""Trying a relay source before it goes on the air: `loa relay test` and `loa doctor`.

Both run the very engine a scheduled relay runs (same ffmpeg child, same failover and loudness),
for a few seconds, and report what came: codec, bit rate, how long the first audio took, the
latency held, and the loudness before and after levelling.
"""

import concurrent.futures
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from broadcaster.audio.api import Chunk
from broadcaster.audio.loudness import LoudnessMeter
from broadcaster.core.settings import OutputSettings, RelaySource
from broadcaster.i18n import _, format_decimal
from broadcaster.relay.level import GainStore
from broadcaster.relay.session import Dropout, Relay, RelayError

DOCTOR_SECONDS = 4.0
"""Each source is listened to this long by `loa doctor` (after its first audio)."""
DOCTOR_CONNECT_S = 8.0


@dataclass(frozen=True)
class SourceReport:
    name: str
    url: str | None
    heard: bool
    connect_s: float | None
    """From connecting to the first audio."""
    codec: str | None
    bit_rate_kbps: int | None
    latency_s: float
    """Audio held between the stream and the output (the live buffer's level) at the end."""
    source_lufs: float | None
    """The stream's loudness as it came; None if nothing was heard."""
    output_lufs: float | None
    """After the remembered gain, the AGC and the limiter."""
    dropouts: tuple[Dropout, ...]
    error: str | None


def try_source(
    source: RelaySource,
    output: OutputSettings,
    seconds: float,
    out: Path | None = None,
    gains: GainStore | None = None,
    connect_timeout_s: float = 10.0,
) -> SourceReport:
    """Connect to `source`, take `seconds` of it from its first audio (writing them to `out`,
    .wav or .mp3, if given) and report. Never raises for a source that fails: the report says."""
    relay = Relay(source, output, gains=gains)
    meter = LoudnessMeter(output.sample_rate, output.channels)
    started = time.time()
    relay.connect()
    try:
        heard = relay.wait_for_audio(connect_timeout_s)
        connect_s = (relay.first_audio_at - started) if relay.first_audio_at else None
        if heard:
            begin = time.time()
            chunks = _measured(relay.chunks(begin + seconds, begin), meter)
            if out is not None:
                from broadcaster.audio.outputs.files import file_output  # with the sound device

                file_output(out).play(chunks)
            else:
                for _chunk in chunks:
                    pass
        latency = relay.latency_s
        problem = relay.problem() or _("{url}: no audio came").format(url=relay.url)
    finally:
        relay.close()
    loudness = relay.leveller.source_loudness()
    return SourceReport(
        name=source.name,
        url=relay.url,
        heard=heard,
        connect_s=connect_s,
        codec=relay.codec,
        bit_rate_kbps=relay.bit_rate_kbps,
        latency_s=latency,
        source_lufs=loudness,
        output_lufs=meter.integrated() if heard else None,
        dropouts=tuple(relay.dropouts),
        error=None if heard else problem,
    )


def _measured(chunks: Iterator[Chunk], meter: LoudnessMeter) -> Iterator[Chunk]:
    for chunk in chunks:
        samples = np.frombuffer(chunk.raw_data, dtype="<i2").reshape(-1, chunk.channels)
        meter.add(samples.astype(np.float64) / 32768)
        yield chunk


@dataclass(frozen=True)
class SourceFinding:
    """One line of `loa doctor` about one relay source."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_sources(
    sources: Mapping[str, RelaySource],
    output: OutputSettings,
    seconds: float = DOCTOR_SECONDS,
    connect_timeout_s: float = DOCTOR_CONNECT_S,
) -> list[SourceFinding]:
    """Every relay source listened to briefly, all at once: whether it plays, and if not, why
    and what to do. Takes about connect_timeout_s + seconds at most, however many sources."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(sources))) as pool:
        checks = [
            pool.submit(_check_source, source, output, seconds, connect_timeout_s)
            for source in sources.values()
        ]
        return [check.result() for check in checks]


def _check_source(
    source: RelaySource, output: OutputSettings, seconds: float, connect_timeout_s: float
) -> SourceFinding:
    try:
        report = try_source(source, output, seconds, connect_timeout_s=connect_timeout_s)
    except Exception as error:  # the doctor reports, never crashes
        return SourceFinding(source.name, False, getattr(error, "message", str(error)))
    if report.heard:
        return SourceFinding(source.name, True, describe(report))
    return SourceFinding(
        source.name,
        False,
        _("no audio: {error}").format(error=report.error),
        _(
            "check the address in relay_sources: in station.yaml (it changes from time to "
            "time; list a second one) and the Internet connection."
        )
        if source.urls
        else _("check that the receiver is plugged into the line-in and switched on."),
    )


def describe(report: SourceReport) -> str:
    """The report in one line, in the officer's language."""
    parts = [
        _("{codec}, {rate} kbit/s").format(
            codec=report.codec or "?",
            rate=report.bit_rate_kbps if report.bit_rate_kbps is not None else "?",
        ),
        _("first audio after {seconds} s").format(seconds=format_decimal(report.connect_s or 0)),
        _("latency {seconds} s").format(seconds=format_decimal(report.latency_s)),
    ]
    if report.source_lufs is not None:
        parts.append(
            _("loudness {lufs} LUFS as sent").format(lufs=format_decimal(report.source_lufs))
        )
    if report.output_lufs is not None:
        parts.append(_("{lufs} LUFS on the air").format(lufs=format_decimal(report.output_lufs)))
    if report.dropouts:
        parts.append(
            _("dropouts: {count} ({seconds} s)").format(
                count=len(report.dropouts),
                seconds=format_decimal(sum(dropout.seconds for dropout in report.dropouts)),
            )
        )
    return "; ".join(parts)


GAINS_FILE = "relay-gains.json"
"""In the station's `.loa/` folder: each source's gain between relays."""


def gains_of(station_dir: Path) -> GainStore:
    return GainStore(station_dir / ".loa" / GAINS_FILE)


def source_named(sources: Mapping[str, RelaySource], name: str) -> RelaySource:
    """The station's relay source `name`, or an error listing the ones there are."""
    if name in sources:
        return sources[name]
    known = ", ".join(sorted(sources)) or _("none")
    raise RelayError(
        _(
            "There is no relay source named {name} in station.yaml (relay_sources: has {known}). "
            "Add it there, or use one of those names."
        ).format(name=name, known=known)
    )
