"""`loa doctor`: what works on the station PC and what to fix, one result per check.

Each check is a small function of the station returning a Result; `run_checks` runs them in
order, each within a time limit, so that a hung sound card or a silent network never hangs the
doctor. Nothing here prints: the command turns results into lines.
"""

import importlib
import importlib.metadata
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydub import AudioSegment
from pydub.generators import Sine

from broadcaster.audio.outputs import SimpleaudioOutput
from broadcaster.broadcast import cache_coverage
from broadcaster.control.channel import send
from broadcaster.core.settings import OutputSettings, SpeechSettings, Station
from broadcaster.core.voices import engine_for
from broadcaster.errors import ExitCode, LoaError, StationConfigError, describe_os_error
from broadcaster.i18n import _, format_decimal
from broadcaster.programs import find_program
from broadcaster.speech.base import SpeechUnavailable
from broadcaster.speech.edge import EdgeEngine
from broadcaster.speech.espeak import EspeakEngine
from broadcaster.speech.registry import ENGINES
from broadcaster.station.announcements import OTHER_AUDIO_SUFFIXES
from broadcaster.station.schedules import read_schedules, waits_for_approval
from broadcaster.station.station_file import EDGE_ENDPOINT_ENV, STATION_FILE, load_station
from broadcaster.system.voice_list import read_espeak_voices

OK = "ok"
WARNING = "warning"
FAILED = "failed"

TONE_HZ = 880
TONE_MS = 300
TONE_DBFS = -20.0
TONE_FADE_MS = 10
SOUND_TIMEOUT_S = 8.0
ONLINE_TIMEOUT_S = 10.0
GREETING = "Xin chào."
TOOL_TIMEOUT_S = 10.0
CHECK_TIMEOUT_S = 15.0
SCHEDULE_TIMEOUT_S = 60.0
"""Generous: 10,000 entries are read and checked in a few seconds; a slow disk gets the rest."""
RELAY_TIMEOUT_S = 15.0
"""The relay sources are listened to together: a connection's wait plus a few seconds of audio."""
MIN_FREE_MB = 200
LOW_FREE_MB = 1000
MEGABYTE = 1024 * 1024
COVERAGE_HOURS = 48.0
DEPENDENCIES = (
    "pydub",
    "simpleaudio",
    "edge_tts",
    "aiohttp",
    "click",
    "miniaudio",
    "numpy",
    "ruamel.yaml",
    "yaml",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """One line of the doctor's report: `status` is OK, WARNING or FAILED; `fix` says what to
    do (empty when `detail` already says it)."""

    status: str
    detail: str
    fix: str = ""
    what: str = ""
    trace: str = ""
    """The traceback of an unexpected error, shown with --debug."""

    @property
    def failed(self) -> bool:
        return self.status == FAILED


@dataclass(frozen=True)
class Check:
    name: str
    label: Callable[[], str]
    """What is checked, in the officer's language (called once the language is set)."""
    run: Callable[[Station], Result]
    timeout_s: float = CHECK_TIMEOUT_S


class ChecksFailed(LoaError):
    exit_code = ExitCode.CHECKS_FAILED


class _TimedOut(Exception):
    pass


def _within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`'s value or exception, or _TimedOut after `seconds`: the work goes on in a
    daemon thread that is abandoned, which is all a hung driver or socket allows."""
    done: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)

    def target() -> None:
        try:
            done.put((True, work()))
        except BaseException as error:
            done.put((False, error))

    threading.Thread(target=target, name="loa-doctor", daemon=True).start()
    try:
        succeeded, value = done.get(timeout=seconds)
    except queue.Empty:
        raise _TimedOut from None
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def station_settings(directory: Path) -> tuple[Station, Result]:
    """The station and how its `station.yaml` reads; with a broken file, the defaults, so that
    the other checks still run."""
    try:
        station = load_station(directory)
    except StationConfigError as error:
        fix = _("correct that line of {file}.").format(file=STATION_FILE)
        defaults = SpeechSettings(edge_endpoint=os.environ.get(EDGE_ENDPOINT_ENV))
        return Station(directory, speech=defaults), Result(FAILED, error.message, fix)
    detail = _("{file} is valid ({name}).").format(
        file=directory / STATION_FILE, name=station.name or directory
    )
    return station, Result(OK, detail)


def station_label() -> str:
    return _("Station settings")


def tone(output: OutputSettings) -> AudioSegment:
    """A short beep at a comfortable level, faded in and out so that it does not click."""
    beep = Sine(TONE_HZ, sample_rate=output.sample_rate).to_audio_segment(
        duration=TONE_MS, volume=TONE_DBFS
    )
    return beep.fade_in(TONE_FADE_MS).fade_out(TONE_FADE_MS).set_channels(output.channels)


def check_sound(station: Station) -> Result:
    if station.output.device == "silent":
        return Result(
            WARNING,
            _("silent on purpose (output: device: silent in station.yaml): nothing is played."),
            _("write device: simpleaudio there to broadcast on the loudspeakers."),
        )

    reply = send(station.directory, {"command": "status"})
    if reply is not None and reply.get("sound"):
        return Result(
            FAILED,
            _("the running station cannot open it."),
            _("plug in and switch on the amplifier or sound card and check the sound settings."),
        )
    if reply is not None and reply.get("playing"):
        return Result(
            WARNING,
            _("not tried: the station is on the air now, and the beep would disturb it."),
            _("run loa doctor again once the broadcast has ended."),
        )

    def play() -> None:
        SimpleaudioOutput().play([tone(station.output)])

    try:
        _within(SOUND_TIMEOUT_S, play)
    except _TimedOut:
        return Result(
            FAILED,
            _("the sound device did not answer within {seconds} s.").format(
                seconds=format_decimal(SOUND_TIMEOUT_S, 0)
            ),
            _("check the sound card and the amplifier, or restart the PC."),
        )
    return Result(
        OK,
        _(
            "a short beep ({hertz} Hz) was played; if the loudspeakers did not sound it, check "
            "the amplifier and its volume."
        ).format(hertz=TONE_HZ),
    )


def check_dependencies(station: Station) -> Result:
    found, broken = [], []
    distributions = importlib.metadata.packages_distributions()  # reads every package: once
    for module in DEPENDENCIES:
        try:
            importlib.import_module(module)
        except Exception as error:
            broken.append(f"{module} ({error})")
            continue
        found.append(f"{module} {_version(module, distributions)}")
    if broken:
        return Result(
            FAILED,
            _("cannot load {modules}.").format(modules=", ".join(broken)),
            _("install Loa again: run ./setup.sh in Loa's folder."),
        )
    return Result(OK, ", ".join(found))


def _version(module: str, distributions: Mapping[str, list[str]]) -> str:
    top = module.split(".")[0]
    for distribution in distributions.get(top, []):
        if module == top or distribution.lower() == module.lower():
            return importlib.metadata.version(distribution)
    return "?"


def check_espeak(station: Station) -> Result:
    try:
        engine = EspeakEngine(station.speech)
    except SpeechUnavailable as error:
        return Result(FAILED, error.reason)
    known = read_espeak_voices(engine.executable) or {}
    wanted = [station.speech.fallback_voice]
    engine_name = engine_for(station.speech.voice)  # checked when station.yaml was read
    if engine_name is not None and ENGINES[engine_name].offline:
        wanted.append(station.speech.voice)
    missing = [voice for voice in dict.fromkeys(wanted) if voice.lower() not in known]
    if missing:
        return Result(
            FAILED,
            _("espeak-ng has no voice {voice}.").format(voice=", ".join(missing)),
            _("install it again (Debian/Ubuntu: sudo apt install --reinstall espeak-ng-data)."),
        )
    return Result(
        OK,
        _("espeak-ng {version}, offline voice {voice}.").format(
            version=engine.version, voice=", ".join(dict.fromkeys(wanted))
        ),
    )


def check_ffmpeg(station: Station) -> Result:
    found = find_program("ffmpeg")
    needed_for = _(
        "only phone recordings ({suffixes}) and MP3 files need it; install it with: "
        "sudo apt install ffmpeg."
    ).format(suffixes=", ".join(suffix.lstrip(".") for suffix in OTHER_AUDIO_SUFFIXES))
    if found is None:
        return Result(WARNING, _("not installed."), needed_for)
    answer = subprocess.run(
        [found, "-hide_banner", "-version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=TOOL_TIMEOUT_S,
    )
    words = answer.stdout.split()
    if answer.returncode != 0 or len(words) < 3:
        return Result(WARNING, _("{program} does not run.").format(program=found), needed_for)
    return Result(OK, _("version {version}.").format(version=words[2]))


def check_relay_sources(station: Station) -> Result:
    """Each relay source listened to for a few seconds, all at once: a dead one is a warning,
    for the station falls back to its announcement (or silence) when it relays."""
    from broadcaster.relay.probe import check_sources

    if not station.relay_sources:
        return Result(OK, _("none in station.yaml."))
    findings = check_sources(station.relay_sources, station.output)
    detail = "; ".join(f"{finding.name}: {finding.detail}" for finding in findings)
    fixes = " ".join(dict.fromkeys(finding.fix for finding in findings if not finding.ok))
    if all(finding.ok for finding in findings):
        return Result(OK, detail)
    return Result(WARNING, detail, fixes)


def check_monitor(station: Station) -> Result:
    """The on-air monitor's capture device, and what the running station's monitor says now:
    a warning, not a failure, for the air goes on without it."""
    from broadcaster.monitor.station import audio_log_usage, check_device

    if station.monitor is None:
        return Result(OK, _("none in station.yaml (the as-run log says what was sent)."))
    device = station.monitor.device
    problem = check_device(device)
    if problem is not None:
        return Result(
            WARNING,
            problem,  # it names the device
            _(
                "plug in the sound card that hears the loudspeakers, or correct 'device:' under "
                "'monitor:' in station.yaml; the air goes on meanwhile, with heard unknown."
            ),
        )
    days, size = audio_log_usage(station)
    detail = _("{device} can capture; audio log: {days} days, {mb} MB.").format(
        device=device, days=days, mb=format_decimal(size / MEGABYTE, 0)
    )
    reply = send(station.directory, {"command": "status"})
    monitor = reply.get("monitor") if reply is not None else None
    if isinstance(monitor, dict):
        from broadcaster.core.models import AlarmKind

        alarms = [
            alarm
            for alarm in monitor.get("alarms", [])
            if alarm.get("kind") != AlarmKind.UNEXPECTED_SOUND  # an entry of the log
        ]
        found = [monitor["problem"]] if monitor.get("problem") else []
        found += [
            _("{detail} (since {since})").format(
                detail=alarm.get("detail", ""), since=_when(str(alarm.get("started", "")))
            )
            for alarm in alarms
        ]
        if found:
            return Result(
                WARNING,
                detail + " " + "; ".join(found),
                _("check the amplifier, its power and the cables to the loudspeakers."),
            )
    return Result(OK, detail)


def check_online_voice(station: Station) -> Result:
    """A real, tiny synthesis against the configured endpoint."""
    voice = station.speech.voice
    if engine_for(voice) != "edge":
        return Result(
            OK, _("not used: the station reads with the offline voice {voice}.").format(voice=voice)
        )
    engine = EdgeEngine(station.speech)
    fix = _(
        "until it works, the offline voice reads instead; check the Internet connection "
        "(and speech: proxy in station.yaml)."
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="loa-doctor-", ignore_cleanup_errors=True) as folder:
        try:
            _within(ONLINE_TIMEOUT_S, lambda: engine.synthesize(GREETING, voice, Path(folder)))
        except SpeechUnavailable as error:
            return Result(FAILED, error.reason, fix)
        except _TimedOut:
            reason = _("the service took too long to answer.")
            failed = _("the online voice {voice} failed: {reason}")
            return Result(FAILED, failed.format(voice=voice, reason=reason), fix)
    seconds = format_decimal(time.monotonic() - started)
    endpoint = station.speech.edge_endpoint
    if endpoint:
        detail = _("{voice} read “{text}” in {seconds} s (service at {host}).").format(
            voice=voice, text=GREETING, seconds=seconds, host=urlsplit(endpoint).netloc
        )
    else:
        detail = _("{voice} read “{text}” in {seconds} s.").format(
            voice=voice, text=GREETING, seconds=seconds
        )
    return Result(OK, detail)


def check_writable(station: Station) -> Result:
    try:
        with tempfile.NamedTemporaryFile(dir=station.directory, prefix=".loa-doctor-") as probe:
            probe.write(b"loa")
            probe.flush()
    except OSError as error:
        return Result(
            FAILED,
            _("cannot write in {folder}: {reason}.").format(
                folder=station.directory, reason=describe_os_error(error)
            ),
            _("let the user who runs Loa write there, or move the station to a writable disk."),
        )
    return Result(OK, _("{folder} can be written.").format(folder=station.directory))


def check_disk(station: Station) -> Result:
    free = shutil.disk_usage(station.directory).free
    if free >= 1000 * MEGABYTE:
        amount = _("{size} GB free").format(size=format_decimal(free / (1024 * MEGABYTE)))
    else:
        amount = _("{size} MB free").format(size=free // MEGABYTE)
    fix = _(
        "delete files this PC no longer needs (old recordings, downloads): Loa needs at least "
        "{minimum} MB."
    ).format(minimum=MIN_FREE_MB)
    if free < MIN_FREE_MB * MEGABYTE:
        return Result(FAILED, _("only {amount}.").format(amount=amount), fix)
    if free < LOW_FREE_MB * MEGABYTE:
        return Result(WARNING, _("only {amount}.").format(amount=amount), fix)
    return Result(OK, f"{amount}.")


def check_schedules(station: Station) -> Result:
    found = read_schedules(station)
    if found.problems:
        return Result(
            FAILED,
            _("problems: {count}; the first: {problem}").format(
                count=len(found.problems), problem=found.problems[0]
            ),
            _("run loa schedule check to see them all, then correct the files."),
        )
    drafts = [entry.id for entry in found.entries if waits_for_approval(entry)]
    if drafts:
        return Result(
            WARNING,
            _("drafts that do not air until approved: {ids}.").format(ids=", ".join(drafts)),
            _('approve each with loa approve ID --by "Tên".'),
        )
    return Result(
        OK,
        _("no errors (entries: {entries}, files: {files}).").format(
            entries=len(found.entries), files=len(found.files)
        ),
    )


def check_cache(station: Station) -> Result:
    hours = format_decimal(COVERAGE_HOURS, 0)
    try:
        coverage = cache_coverage(station, datetime.now(ZoneInfo(station.timezone)), COVERAGE_HOURS)
    except LoaError as error:
        return Result(
            WARNING,
            _("cannot tell: {reason}").format(reason=error.message),
            _("correct the schedules and announcements first."),
        )
    if coverage.needed == 0:
        return Result(
            OK, _("nothing needs the online voice in the next {hours} h.").format(hours=hours)
        )
    percent = round(100 * coverage.cached / coverage.needed)
    detail = _(
        "{cached}/{total} of the announcements due in the next {hours} h are in the cache "
        "({percent}%)."
    ).format(cached=coverage.cached, total=coverage.needed, hours=hours, percent=percent)
    if coverage.cached < coverage.needed:
        return Result(
            WARNING,
            detail,
            _(
                "run loa cache warm while the Internet works (loa run does it every few "
                "minutes); what is not ready is read by the offline voice when offline."
            ),
        )
    return Result(OK, detail)


def check_daemon(station: Station) -> Result:
    reply = send(station.directory, {"command": "status"})
    if reply is None:
        return Result(
            FAILED,
            _("Loa is not running for this station: the schedules do not air."),
            _("start it with loa run, or with loa service install to start it with the PC."),
        )
    return Result(
        OK,
        _("Loa is running (process {pid}, since {since}).").format(
            pid=reply.get("pid", "?"), since=_when(str(reply.get("since", "")))
        ),
    )


def _when(iso: str) -> str:
    try:
        return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M}"
    except ValueError:
        return iso


CHECKS: tuple[Check, ...] = (
    Check("sound", lambda: _("Sound device"), check_sound, SOUND_TIMEOUT_S + 2),
    Check("dependencies", lambda: _("Python libraries"), check_dependencies),
    Check("espeak", lambda: _("Offline voice"), check_espeak),
    Check("ffmpeg", lambda: "ffmpeg", check_ffmpeg),
    Check("online", lambda: _("Online voice"), check_online_voice, ONLINE_TIMEOUT_S + 2),
    Check("relay", lambda: _("Relay sources"), check_relay_sources, RELAY_TIMEOUT_S),
    Check("monitor", lambda: _("On-air monitor"), check_monitor),
    Check("writable", lambda: _("Station folder"), check_writable),
    Check("disk", lambda: _("Free disk space"), check_disk),
    Check("schedules", lambda: _("Schedules"), check_schedules, SCHEDULE_TIMEOUT_S),
    Check("cache", lambda: _("Speech ready ahead"), check_cache, SCHEDULE_TIMEOUT_S),
    Check("daemon", lambda: _("Station on air (loa run)"), check_daemon),
)


def run_check(check: Check, station: Station) -> Result:
    """One check's result, whatever happens in it: a time limit, an officer's error, a bug."""
    try:
        result = _within(check.timeout_s, lambda: check.run(station))
    except _TimedOut:
        result = Result(
            FAILED,
            _("no answer within {seconds} s.").format(seconds=format_decimal(check.timeout_s, 0)),
            _("run loa doctor again; if this happens again, restart the PC."),
        )
    except LoaError as error:
        result = Result(FAILED, error.message)
    except Exception as error:
        result = Result(
            FAILED,
            _("unexpected error ({reason}).").format(reason=f"{type(error).__name__}: {error}"),
            _("run loa --debug doctor and send the output to the Loa maintainers."),
            trace="".join(traceback.format_exception(error)),
        )
    return replace(result, what=check.label())


def run_checks(station: Station, checks: Iterable[Check] = CHECKS) -> Iterator[Result]:
    """The results in order, each as soon as its check is done."""
    for check in checks:
        yield run_check(check, station)
