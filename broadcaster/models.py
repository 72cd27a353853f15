"""What a broadcast is made of, as plain frozen values: no audio, no files, no clock."""

from dataclasses import dataclass
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
