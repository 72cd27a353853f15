"""A station's settings as plain values, with the defaults documented in station.yaml.

Kept apart from the file reader (`config`) so that speech, audio and the core depend on values,
not on YAML.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.core.models import MusicBed
from broadcaster.core.timeofday import QuietHours

SAMPLE_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000)
"""Standard rates, the ones simpleaudio takes; a sound card may still refuse some of them."""
JOIN_PAUSE_MS = 300
"""Silence between the parts of a program (jingle, message, repeats)."""
LEAD_IN_MS = 300
"""Silence before a program, while the amplifier wakes."""
DEFAULT_QUIET_HOURS = "21:00-06:00"
DEFAULT_LATE_LIMIT_S = 300.0
"""How late a program may still start; later, it is missed (schedules' `late_limit:`)."""
OUTPUT_DEVICES = ("simpleaudio", "silent")
"""`silent` renders everything and plays nothing: for trying a station without an amplifier."""

LEXICON_FILE = "lexicon.txt"


WARM_HOURS = 48.0
"""Online speech is rendered this far ahead, while the network is there."""


@dataclass(frozen=True)
class SpeechSettings:
    voice: str = "vi-VN-HoaiMyNeural"
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    fallback_voice: str = "vi"
    cache_max_mb: int = 500
    edge_endpoint: str | None = None
    proxy: str | None = None

    @property
    def speed(self) -> float:
        """The rate as a factor of normal speed: "+10%" is 1.1."""
        return 1 + int(self.rate.rstrip("%")) / 100


@dataclass(frozen=True)
class OutputSettings:
    device: str = "simpleaudio"
    sample_rate: int = 44100
    channels: int = 1
    loudness_lufs: float = -16.0
    """Integrated loudness of every part of a broadcast (ITU-R BS.1770)."""
    true_peak_dbtp: float = -1.0
    """No sample, nor the signal between samples, goes above this."""


@dataclass(frozen=True)
class SessionLimits:
    """Caps on broadcast sessions, which `loa schedule check` warns about. The defaults are a rural
    commune's (Hà Nội, 2021: at most 45 minutes a session; urban wards: 2 sessions a day, 15
    minutes each, 5 days a week)."""

    per_day: int = 2
    minutes: int = 45
    days_per_week: int = 7


PROVINCE_ACCEPT = ("auto", "approve")
"""`auto`: province campaigns air as sent; `approve`: normal ones land as drafts for `loa approve`
(priority ones and emergencies air at once)."""


@dataclass(frozen=True)
class ProvinceSettings:
    """The station's link to its province's MQTT broker (`province:` in station.yaml)."""

    broker: str
    """As written: mqtts://host:port or mqtt://host:port, for messages."""
    host: str
    port: int
    tls: bool
    station_id: str
    """The MQTT user name and client id, and the station's name in the topics."""
    password: str | None = None
    groups: tuple[str, ...] = ()
    ca: Path | None = None
    """The province's CA certificate, for mqtts; None: the system's."""
    accept: str = "auto"


RELAY_FALLBACK_AFTER_S = 60.0
"""How long a relay's source may be gone before its fallback announcement plays instead."""


@dataclass(frozen=True)
class RelaySource:
    """A programme the station relays (`relay_sources:` in station.yaml): stream URLs tried in
    order (HLS, Icecast or Shoutcast; they go stale, so a station lists several), or the sound
    card's line-in, where an FM receiver is plugged."""

    name: str
    urls: tuple[str, ...] = ()
    line_in: str | None = None
    """The capture device (a PulseAudio source or an ALSA device) when the source is the line-in."""


MONITOR_DIR = ".loa/monitor"
"""The daily audio log of the on-air monitor, in the station directory (not a folder officers
edit: a day is a few tens of MB, kept `monitor.keep_days` within `monitor.disk_mb`)."""
MONITOR_DEAD_AIR_S = 10.0
MONITOR_KEEP_DAYS = 30
MONITOR_DISK_MB = 2000


@dataclass(frozen=True)
class MonitorSettings:
    """The on-air monitor (`monitor:` in station.yaml): an input that hears what the loudspeakers
    play (the amplifier's monitor or line output into the sound card, or a microphone near a
    loudspeaker), so that the as-run log can say what was heard, not only what was sent."""

    device: str
    """A PulseAudio source or an ALSA capture device."""
    dead_air_s: float = MONITOR_DEAD_AIR_S
    """Nothing heard for this long while an item plays: the dead-air alarm."""
    keep_days: int = MONITOR_KEEP_DAYS
    """Days of the daily audio log kept, within disk_mb."""
    disk_mb: int = MONITOR_DISK_MB
    """The audio log's cap on disk; the oldest days go first."""


@dataclass(frozen=True)
class Station:
    """A station directory and the settings read from its `station.yaml`."""

    directory: Path
    name: str = ""
    language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    quiet_hours: QuietHours = field(
        default_factory=lambda: QuietHours.parse(DEFAULT_QUIET_HOURS) or QuietHours.never()
    )
    """Only emergencies air then."""
    require_approval: bool = False
    """Whether only `status: approved` entries air (vendors' draft → approved workflow)."""
    sessions: SessionLimits = field(default_factory=SessionLimits)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    jingles: Mapping[str, Path] = field(default_factory=dict)
    """Station-provided jingle files by role; roles not listed use the bundled chimes."""
    music_bed: MusicBed | None = None
    """Music under the messages; none by default."""
    max_recording_minutes: int = 60
    """Longer recordings are refused: no commune session lasts that long (45 minutes at most in
    rural Hà Nội), and a mistaken file would hold the loudspeakers for hours."""
    province: ProvinceSettings | None = None
    """The link to the province; None: the station stands alone."""
    relay_sources: Mapping[str, RelaySource] = field(default_factory=dict)
    relay_fallback: str | None = None
    """The announcement a relay plays while its source is gone, unless its entry names one."""
    relay_fallback_after_s: float = RELAY_FALLBACK_AFTER_S
    monitor: MonitorSettings | None = None
    """The on-air monitor; None (the default): the as-run log says what was sent, heard unknown."""

    @property
    def announcements_dir(self) -> Path:
        return self.directory / "announcements"

    @property
    def lexicon_file(self) -> Path:
        """The abbreviations officers extend, read by both voices."""
        return self.announcements_dir / LEXICON_FILE

    @property
    def cache_dir(self) -> Path:
        return self.directory / "audio_cache"

    @property
    def monitor_dir(self) -> Path:
        """The on-air monitor's daily audio log (and nothing else)."""
        return self.directory / MONITOR_DIR
