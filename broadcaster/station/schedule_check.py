"""`loa schedule check`: what is wrong or risky in the schedules, each as `file:line: message`.

Errors: entries that cannot be read, announcements that cannot air, and clashes — occurrences
of two entries overlapping, by the estimated length of their programs, unless the later one says
how to resolve it (`start: interrupt` or `start: after-current`), but two normal entries are only
warned of: the later one is queued after the earlier. Warnings: quiet hours, session caps,
entries that no longer air, drafts. The next LOOKAHEAD_DAYS days are examined as arrays of every
occurrence, so that 10,000 entries take a second or two once their files are read.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from broadcaster.core.compose import clean_text
from broadcaster.core.models import JINGLE_NAMES, Priority
from broadcaster.core.settings import JOIN_PAUSE_MS, LEAD_IN_MS, Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.station.announcements import list_recordings, load_announcement
from broadcaster.station.schedules import (
    Entry,
    Schedules,
    airs,
    announcements_of,
    waits_for_approval,
)

CHARS_PER_SECOND = 15.0
"""Speech rate for estimating how long a text takes to read. espeak-ng's Vietnamese voice reads
the bundled announcements at 16-18 characters (3.9 syllables) a second; the neural voices are a
little slower. An estimate a bit long only makes clash reports cautious."""
LOOKAHEAD_DAYS = 366
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Finding:
    file: Path | None
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        label = _("warning: ") if self.warning else ""
        return f"{self.file}:{self.line}: {label}{self.message}"


@dataclass(frozen=True)
class Timing:
    """What programs are made of, in seconds, to estimate how long each airing lasts."""

    messages: Mapping[str, float]
    """Announcement id -> one play of its message."""
    jingles: Mapping[str, float]
    problems: Mapping[str, str]
    """Announcement id -> why it cannot air."""


def measure(station: Station, announcement_ids: Iterable[str]) -> Timing:
    """Read the announcements and jingles the entries use: texts are timed by their length,
    audio files by their own duration."""
    from broadcaster.audio.chimes import JINGLES_DIR  # audio modules load only to measure

    messages: dict[str, float] = {}
    problems: dict[str, str] = {}
    longest_s = station.max_recording_minutes * 60
    audio = set(list_recordings(station))
    for announcement_id in dict.fromkeys(name for name in announcement_ids if name):
        try:
            if announcement_id in audio:
                path = station.announcements_dir / announcement_id
                messages[announcement_id] = _seconds(path, longest_s)
            else:
                text = clean_text(load_announcement(station, announcement_id).text)
                messages[announcement_id] = len(text) / CHARS_PER_SECOND / station.speech.speed
        except LoaError as error:
            problems[announcement_id] = error.message
    jingles = {}
    for role in JINGLE_NAMES:
        path = station.jingles.get(role, JINGLES_DIR / f"{role}.wav")
        try:
            jingles[role] = _seconds(Path(path), longest_s)
        except LoaError as error:
            jingles[role] = 0.0
            problems[f"jingle:{role}"] = error.message
    return Timing(messages, jingles, problems)


def _seconds(path: Path, longest_s: float) -> float:
    """How long an audio file plays; unreadable or overlong files are refused as a broadcast
    would refuse them. A PCM WAV (the chimes, levelled uploads) is read by the standard library:
    the web console's week page then never loads numpy."""
    from broadcaster.audio.wavfile import wav_seconds

    try:
        seconds = wav_seconds(path) if path.suffix.lower() == ".wav" else None
    except OSError:
        seconds = None  # the decoders below say why, in the broadcast's own words
    if seconds is not None and seconds <= longest_s:
        return seconds
    import miniaudio
    from pydub.utils import mediainfo

    from broadcaster.audio.decode import ffmpeg_or_error, miniaudio_reads, probe_audio

    probe_audio(path, longest_s)
    if miniaudio_reads(path):
        return float(miniaudio.get_file_info(str(path)).duration)
    ffmpeg_or_error(path)
    return float(mediainfo(str(path)).get("duration") or 0.0)


def program_seconds(entry: Entry, message_s: float, jingles: Mapping[str, float]) -> float:
    """One airing of `entry`, laid out as the renderer plays it: lead-in, the attention tone for
    emergencies, intro, the message `repeat` times with its gaps, outro, pauses at the joins. A
    relay lasts its duration, whatever its source or fallback does."""
    if entry.relay is not None:
        return entry.duration_s
    pause = JOIN_PAUSE_MS / 1000
    opening = jingles["attention"] + pause if entry.priority == Priority.EMERGENCY else 0.0
    plays = entry.repeat * message_s + (entry.repeat - 1) * entry.gap_s
    return LEAD_IN_MS / 1000 + opening + jingles["intro"] + pause + plays + pause + jingles["outro"]


def check_schedules(
    schedules: Schedules, timing: Timing, station: Station, today: date
) -> list[Finding]:
    """Everything `loa schedule check` reports beyond unreadable entries, in file and line order,
    for the LOOKAHEAD_DAYS days from `today`."""
    from broadcaster.station.schedule_plan import Calendar, Plan  # numpy loads only to check

    findings = _unplayable(schedules.entries, timing, station) + drafts(schedules.entries)
    findings += _long_relays(schedules.entries, station)
    entries = [entry for entry in schedules.entries if entry.enabled]
    if entries:
        seconds = [
            program_seconds(e, timing.messages.get(e.announcement, 0.0), timing.jingles)
            for e in entries
        ]
        calendar = Calendar(today, LOOKAHEAD_DAYS)
        masks = calendar.masks([entry.rule for entry in entries])
        plan = Plan(entries, masks, seconds, calendar)
        findings += plan.clashes()
        findings += plan.quiet_hours(station.quiet_hours)
        findings += plan.sessions(station)
        findings += plan.finished()
    return sorted(findings, key=lambda f: (str(f.file), f.line))


def _unplayable(entries: Sequence[Entry], timing: Timing, station: Station) -> list[Finding]:
    """An announcement that cannot air, at the first entry using it (a relay uses its fallback);
    a bad jingle at the first entry of all, since every program has one."""
    findings = []
    reported = set()
    for entry in entries:
        for announcement in announcements_of([entry], station):
            problem = timing.problems.get(announcement)
            if problem and announcement not in reported:
                reported.add(announcement)
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        _("the announcement '{id}' cannot air: {reason}").format(
                            id=announcement, reason=problem
                        ),
                    )
                )
    jingle_problems = [m for key, m in timing.problems.items() if key.startswith("jingle:")]
    if entries and jingle_problems:
        first = entries[0]
        findings += [Finding(first.file, first.line, problem) for problem in jingle_problems]
    return findings


def _long_relays(entries: Sequence[Entry], station: Station) -> list[Finding]:
    """A relay longer than a session may be: a warning with the two ways out, as for any
    session too long (a commune may relay a whole programme on purpose)."""
    limit = station.sessions.minutes
    return [
        warning(
            entry,
            _(
                "'{id}' relays {source} for {minutes} minutes, longer than the {limit} of "
                "sessions.minutes in station.yaml: shorten its 'duration:' (or 'ends:'), or "
                "raise sessions.minutes if the commune allows longer sessions."
            ).format(
                id=entry.id,
                source=entry.relay,
                minutes=f"{entry.duration_s / 60:g}",
                limit=limit,
            ),
        )
        for entry in entries
        if entry.relay is not None and airs(entry) and entry.duration_s > limit * 60
    ]


def drafts(entries: Sequence[Entry]) -> list[Finding]:
    """Drafts do not air: said, so that turning approval on is not a silent stop."""
    message = _(
        "'{id}' is a draft: it does not air until approved: loa approve {typed} --by \"Tên\"."
    )
    return [
        warning(entry, message.format(id=entry.id, typed=typed(entry.id)))
        for entry in entries
        if waits_for_approval(entry)
    ]


def typed(name: str) -> str:
    """A name as it is typed after a command: in double quotes when it has spaces."""
    return f'"{name}"' if any(c.isspace() for c in name) else name


def warning(entry: Entry, message: str) -> Finding:
    return Finding(entry.file, entry.line, message, warning=True)


def clock_text(seconds: float) -> str:
    """Seconds from a midnight as HH:MM."""
    whole = int(seconds) % DAY_S
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}"


def time_of(seconds: float) -> time:
    whole = int(seconds) % DAY_S
    return time(whole // 3600, whole // 60 % 60, whole % 60)


def day_text(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"
