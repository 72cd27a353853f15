"""What a broadcast is made of, as plain frozen values: no audio, no files, no clock."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import PurePath

AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac")
"""The formats Loa decodes by itself, on every PC."""
JINGLE_NAMES = ("intro", "outro", "attention")
"""The roles a jingle plays; a station may replace the bundled chime for each."""


@dataclass(frozen=True)
class Jingle:
    """A bundled or station-provided chime, by role: `intro`, `outro` or `attention`."""

    name: str


@dataclass(frozen=True)
class Speech:
    """Text to be spoken with one voice; the speech layer turns it into audio."""

    text: str
    voice: str


@dataclass(frozen=True)
class Recording:
    """An audio file played as it is: an officer's own recording, e.g. in a minority language
    no voice speaks."""

    path: PurePath


@dataclass(frozen=True)
class Gap:
    """Silence between two plays of a message."""

    seconds: float


Segment = Jingle | Speech | Recording | Gap


@dataclass(frozen=True)
class MusicBed:
    """Music looped under the messages: `level_lu` relative to the station's loudness between
    plays, `duck_lu` quieter under speech."""

    path: PurePath
    level_lu: float = -8.0
    duck_lu: float = 14.0


@dataclass(frozen=True)
class Program:
    """The ordered segments of one broadcast, played without other sound in between."""

    segments: tuple[Segment, ...]
    bed: MusicBed | None = None

    def speeches(self) -> tuple[Speech, ...]:
        return tuple(dict.fromkeys(s for s in self.segments if isinstance(s, Speech)))

    def recordings(self) -> tuple[Recording, ...]:
        return tuple(dict.fromkeys(s for s in self.segments if isinstance(s, Recording)))


@dataclass(frozen=True)
class Announcement:
    """A message kept in the station's `announcements/` folder, known by its file name."""

    id: str
    text: str
    title: str = ""
    voice: str | None = None
    recording: PurePath | None = None
    """The officer's own recording of the text: played when no voice can read it."""


class Priority(StrEnum):
    """Thông tư 39/2020's three bulletin levels, lowest first."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class StartPolicy(StrEnum):
    """What an item does with the item on the air when it falls due (see core.playout)."""

    INTERRUPT = "interrupt"
    AFTER_CURRENT = "after-current"
    WAIT = "wait"


class Result(StrEnum):
    """An as-run row's result; PLAYING only while its program is on the air."""

    PLAYING = "playing"
    PLAYED = "played"
    PLAYED_FALLBACK = "played-fallback"
    MISSED = "missed"
    SKIPPED_QUIET = "skipped-quiet"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    EXPIRED = "expired"
    """A province emergency that arrived after its expiry: never aired."""
    RELAYED = "relayed"
    RELAYED_WITH_DROPOUTS = "relayed-with-dropouts"
    """A relay whose source was gone for a while (silence or the fallback meanwhile)."""


class Heard(StrEnum):
    """What the on-air monitor heard of an as-run row's sound (monitor/): the row says what Loa
    sent, this says whether the loudspeakers' side played it."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    UNKNOWN = "unknown"
    """No monitor, or it could not listen (device gone, not started): the reason says which."""


@dataclass(frozen=True)
class Hearing:
    """The monitor's verdict on one stretch of broadcast (an as-run row's sound)."""

    heard: Heard
    loudness_db: float | None = None
    """The level of what came back, dBFS (RMS) over the stretch's sound; None when unknown."""
    delay_ms: int | None = None
    """How long after it was sent the sound came back (found by correlation)."""
    reason: str = ""
    """Why not `yes`: the seconds not heard, or why the monitor could not listen (translated)."""
    audio_log: str = ""
    """Where the stretch is in the daily audio log: `FILE@SECONDS`, empty when there is none."""


class AlarmKind(StrEnum):
    DEAD_AIR = "dead-air"
    """Nothing heard for `monitor.dead_air_s` while an item plays."""
    OFF_AIR = "off-air"
    """Nothing heard at all during broadcasts: the amplifier is off or unplugged."""
    UNEXPECTED_SOUND = "unexpected-sound"
    """Sound outside broadcasts (someone at the microphone): logged, not an error."""
    TOO_LOUD = "too-loud"
    """Clipping or a level far above the station's target."""
    DEVICE = "device"
    """The monitor's input is missing or went away (an unplugged USB card)."""
    AUDIO_LOG = "audio-log"
    """The daily audio log stopped (a full disk); the checks go on."""


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    started: datetime
    ended: datetime | None
    """None while it lasts; the same alarm is reported again with its end."""
    detail: str
    """What happened, for `loa status`, the log and the province (translated)."""


AIRED = (Result.PLAYED, Result.PLAYED_FALLBACK, Result.RELAYED, Result.RELAYED_WITH_DROPOUTS)
"""The results that mean the program (or the relay's slot) went out to the end."""


@dataclass(frozen=True)
class Occurrence:
    """One airing of an entry (or of an ad-hoc request, whose id says so)."""

    entry_id: str
    scheduled: datetime
    announcement: str
    priority: str
