"""Finding the station directory and reading its `station.yaml` into Station settings.

Every problem is reported as `station.yaml:LINE: message`, so an officer can find the line.
"""

import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcaster.core.models import AUDIO_SUFFIXES, JINGLE_NAMES, MusicBed
from broadcaster.core.settings import (
    DEFAULT_QUIET_HOURS,
    MONITOR_DEAD_AIR_S,
    MONITOR_DISK_MB,
    MONITOR_KEEP_DAYS,
    OUTPUT_DEVICES,
    PROVINCE_ACCEPT,
    RELAY_FALLBACK_AFTER_S,
    SAMPLE_RATES,
    MonitorSettings,
    OutputSettings,
    ProvinceSettings,
    RelaySource,
    SessionLimits,
    SpeechSettings,
    Station,
)
from broadcaster.core.timeofday import QuietHours
from broadcaster.core.voices import ESPEAK_VOICES, all_voices
from broadcaster.errors import StationConfigError, StationNotFoundError
from broadcaster.files import inside, is_file
from broadcaster.i18n import LANGUAGES, _
from broadcaster.station.yamlfile import YamlList, YamlMap, item_line, key_line, load_yaml

STATION_FILE = "station.yaml"
STATION_ENV = "LOA_STATION"
EDGE_ENDPOINT_ENV = "LOA_EDGE_ENDPOINT"
CHECKOUT_DIR = Path(__file__).resolve().parents[2]
BROKER_URL = re.compile(r"(mqtts?)://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?/?")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
STATION_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""Station and group ids as the province's topics take them (province/topics.NAME); relay
sources are named the same way."""
RELAY_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
"""What ffmpeg fetches for a relay: HLS playlists, Icecast and Shoutcast streams, over HTTP(S)."""
DURATION = re.compile(r"(\d{1,9})\s*(s|m|h)?")
"""30s, 5m, 1h, or a number of seconds: schedules and station.yaml write durations alike."""
_UNIT_S = {None: 1, "s": 1, "m": 60, "h": 3600}
FALLBACK_AFTER_S = (5, 3600)
"""Bounds of `relay.fallback_after`: a shorter outage is a reconnect, a longer one is silence."""
DEAD_AIR_S = (3, 600)
"""Bounds of `monitor.dead_air`: shorter is a pause between sentences, longer is no alarm."""
MONITOR_KEYS = ("device", "dead_air", "keep_days", "disk_mb")


def find_station(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """The station directory: --station, then LOA_STATION, then the current folder, then the
    checkout Loa runs from (which ships a working example station)."""
    chosen = explicit or (cwd / environ[STATION_ENV] if environ.get(STATION_ENV) else None)
    if chosen is not None:
        if not is_file(chosen / STATION_FILE):
            raise StationNotFoundError(
                _(
                    "{path} is not a station directory (it has no {file}): check the path given "
                    "with --station or LOA_STATION."
                ).format(path=chosen, file=STATION_FILE)
            )
        return chosen
    for candidate in (cwd, CHECKOUT_DIR):
        if is_file(candidate / STATION_FILE):
            return candidate
    raise StationNotFoundError(
        _(
            "No station directory found: run Loa inside a folder that has {file}, or give one "
            "with --station DIR or LOA_STATION."
        ).format(file=STATION_FILE)
    )


def load_station(directory: Path, environ: Mapping[str, str] = os.environ) -> Station:
    """Read and check `station.yaml`; LOA_EDGE_ENDPOINT overrides the edge endpoint."""
    path = directory / STATION_FILE
    data = load_yaml(path, StationConfigError)
    reader = _Reader(path)
    root = reader.mapping(data if data is not None else YamlMap(), None, 1)
    speech = reader.section(root, "speech")
    output = reader.section(root, "output")
    jingles = reader.section(root, "jingles")
    bed = reader.section(root, "music_bed")
    sessions = reader.section(root, "sessions")
    relay = reader.section(root, "relay")
    reader.only_keys(relay, ("fallback", "fallback_after"))
    reader.only_keys(
        root,
        (
            "name",
            "language",
            "timezone",
            "quiet_hours",
            "require_approval",
            "sessions",
            "max_recording_minutes",
            "speech",
            "output",
            "jingles",
            "music_bed",
            "province",
            "relay_sources",
            "relay",
            "monitor",
        ),
    )
    reader.only_keys(speech, tuple(SpeechSettings.__dataclass_fields__))
    reader.only_keys(output, tuple(OutputSettings.__dataclass_fields__))
    reader.only_keys(jingles, JINGLE_NAMES)
    reader.only_keys(bed, ("file", "level_lu", "duck_lu"))
    reader.only_keys(sessions, tuple(SessionLimits.__dataclass_fields__))
    configured_endpoint = reader.optional(
        speech, "edge_endpoint", _matches(r"wss?://\S+\?\S*", "wss://host/path?token=…")
    )
    speech_settings = SpeechSettings(
        voice=reader.value(speech, "voice", SpeechSettings.voice, _one_of(all_voices())),
        rate=reader.value(speech, "rate", SpeechSettings.rate, _signed("%", -50, 100)),
        pitch=reader.value(speech, "pitch", SpeechSettings.pitch, _signed("Hz", -50, 50)),
        volume=reader.value(speech, "volume", SpeechSettings.volume, _signed("%", -50, 50)),
        cache_max_mb=reader.value(
            speech, "cache_max_mb", SpeechSettings.cache_max_mb, _whole_number(10, 100_000)
        ),
        fallback_voice=reader.value(
            speech, "fallback_voice", SpeechSettings.fallback_voice, _one_of(ESPEAK_VOICES)
        ),
        edge_endpoint=environ.get(EDGE_ENDPOINT_ENV) or configured_endpoint,
        proxy=reader.optional(speech, "proxy", _matches(r"https?://\S+", "http://proxy:3128")),
    )
    output_settings = OutputSettings(
        device=reader.value(output, "device", OutputSettings.device, _one_of(OUTPUT_DEVICES)),
        sample_rate=reader.value(
            output, "sample_rate", OutputSettings.sample_rate, _one_of(SAMPLE_RATES)
        ),
        channels=reader.value(output, "channels", OutputSettings.channels, _one_of((1, 2))),
        loudness_lufs=reader.value(
            output, "loudness_lufs", OutputSettings.loudness_lufs, _decibels(-30, -10)
        ),
        true_peak_dbtp=reader.value(
            output, "true_peak_dbtp", OutputSettings.true_peak_dbtp, _decibels(-9, 0)
        ),
    )
    jingle_files = {
        role: directory / reader.value(jingles, role, "", _existing_file(directory))
        for role in JINGLE_NAMES
        if jingles.get(role)
    }
    return Station(
        directory=directory,
        name=reader.value(root, "name", "", _one_line_text),
        language=reader.value(root, "language", Station.language, _one_of(LANGUAGES)),
        timezone=reader.value(root, "timezone", Station.timezone, _timezone),
        quiet_hours=QuietHours.parse(
            reader.value(root, "quiet_hours", DEFAULT_QUIET_HOURS, _quiet_hours)
        )
        or QuietHours.never(),
        require_approval=reader.value(
            root, "require_approval", Station.require_approval, _one_of((False, True))
        ),
        sessions=SessionLimits(
            per_day=reader.value(sessions, "per_day", SessionLimits.per_day, _whole_number(1, 24)),
            minutes=reader.value(
                sessions, "minutes", SessionLimits.minutes, _whole_number(1, 24 * 60)
            ),
            days_per_week=reader.value(
                sessions, "days_per_week", SessionLimits.days_per_week, _whole_number(1, 7)
            ),
        ),
        speech=speech_settings,
        output=output_settings,
        jingles=jingle_files,
        max_recording_minutes=reader.value(
            root, "max_recording_minutes", Station.max_recording_minutes, _whole_number(1, 600)
        ),
        music_bed=MusicBed(
            directory / reader.value(bed, "file", "", _existing_file(directory)),
            level_lu=reader.value(bed, "level_lu", MusicBed.level_lu, _decibels(-30, 0)),
            duck_lu=reader.value(bed, "duck_lu", MusicBed.duck_lu, _decibels(0, 40)),
        )
        if bed.get("file")
        else None,
        province=_province(
            reader, reader.section(root, "province"), key_line(root, "province"), directory
        ),
        relay_sources=_relay_sources(reader, reader.section(root, "relay_sources")),
        relay_fallback=_relay_fallback(reader, relay, directory),
        relay_fallback_after_s=float(
            reader.value(
                relay,
                "fallback_after",
                RELAY_FALLBACK_AFTER_S,
                _duration(*FALLBACK_AFTER_S),
                duration_seconds,
            )
        ),
        monitor=_monitor(reader, reader.section(root, "monitor"), key_line(root, "monitor")),
    )


def duration_seconds(value: object) -> int | None:
    """`30s`, `5m`, `1h` or a whole number of seconds, in seconds; None for anything else."""
    found = DURATION.fullmatch(str(value).strip().lower())
    return int(found[1]) * _UNIT_S[found[2]] if found and not isinstance(value, bool) else None


def length_text(seconds: float) -> str:
    """A length as officers write durations (the reverse of `duration_seconds`): 45s, 30m, 1h,
    1h30."""
    whole = round(seconds)
    hours, minutes, rest = whole // 3600, whole // 60 % 60, whole % 60
    if rest or not whole:
        return f"{whole // 60}m{rest:02d}s" if whole >= 60 else f"{whole}s"
    if not hours:
        return f"{minutes}m"
    return f"{hours}h{minutes:02d}" if minutes else f"{hours}h"


Check = Callable[[Any], str | None]
"""Returns None when a value is acceptable, else what is expected, for the message."""


class _Reader:
    """Reads values out of the parsed YAML, turning every problem into `file:line: message`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int, message: str) -> StationConfigError:
        return StationConfigError(f"{self.path}:{line}: {message}")

    def mapping(self, value: object, key: str | None, line: int) -> YamlMap:
        if not isinstance(value, YamlMap):
            raise self.fail(
                line,
                _("'{key}' must be a group of settings (key: value lines).").format(
                    key=key or STATION_FILE
                ),
            )
        return value

    def section(self, root: YamlMap, key: str) -> YamlMap:
        value = root.get(key)
        return YamlMap() if value is None else self.mapping(value, key, key_line(root, key))

    def only_keys(self, mapping: YamlMap, allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                raise self.fail(
                    key_line(mapping, key),
                    _("unknown setting '{key}'; known settings here: {known}.").format(
                        key=key, known=", ".join(allowed)
                    ),
                )

    def value(
        self,
        mapping: YamlMap,
        key: str,
        default: Any,
        check: Check,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The value of `key` once `check` accepts it (`convert`ed, if given), or `default`."""
        value = mapping.get(key)
        if value is None:
            return default
        problem = check(value)
        if problem is not None:
            raise self.fail(
                key_line(mapping, key),
                _("'{key}: {value}' is not valid; expected {expected}.").format(
                    key=key, value=_shown(value), expected=problem
                ),
            )
        return value if convert is None else convert(value)

    def optional(self, mapping: YamlMap, key: str, check: Check) -> Any:
        return self.value(mapping, key, None, check)


def _one_of(choices: tuple[object, ...]) -> Check:
    """Exact type too: YAML `true` equals 1 and `48000.0` equals 48000, and neither is meant."""

    def check(value: object) -> str | None:
        return (
            None
            if any(_same_kind(value, choice) and value == choice for choice in choices)
            else _("one of: {choices}").format(choices=", ".join(map(str, choices)))
        )

    return check


def _decibels(low: float, high: float) -> Check:
    def check(value: object) -> str | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return None
        return _("a number from {low} to {high}").format(low=low, high=high)

    return check


def _whole_number(low: int, high: int) -> Check:
    def check(value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return None
        return _("a whole number from {low} to {high}").format(low=low, high=high)

    return check


def _same_kind(value: object, choice: object) -> bool:
    return isinstance(value, type(choice)) and isinstance(value, bool) == isinstance(choice, bool)


def _signed(unit: str, low: int, high: int) -> Check:
    """An adjustment like "+10%" or "-5Hz", as the online voice takes it, within sane bounds."""

    def check(value: object) -> str | None:
        found = re.fullmatch(rf"([+-]\d{{1,3}}){unit}", value) if isinstance(value, str) else None
        if found and low <= int(found.group(1)) <= high:
            return None
        return _(
            'a value from {low}{unit} to +{high}{unit}, with its sign, like "+10{unit}"'
        ).format(low=low, high=high, unit=unit)

    return check


def _matches(pattern: str, example: str) -> Check:
    def check(value: object) -> str | None:
        if isinstance(value, str) and re.fullmatch(pattern, value):
            return None
        return _("text like {example}").format(example=example)

    return check


def _quiet_hours(value: object) -> str | None:
    """Two times of day, as schedules write them, with a dash: 21:00-06:00 or 21h-6h."""
    if isinstance(value, str) and value.split() == [value] and QuietHours.parse(value):
        return None
    return _("text like {example}").format(example="21:00-06:00")


def _one_line_text(value: object) -> str | None:
    """Text without control characters: the name becomes the service's description, where a
    line break would add lines to the systemd unit (`ExecStartPre=+…`, run as root)."""
    if isinstance(value, str) and not any(_is_control(c) for c in value):
        return None
    if isinstance(value, str):
        return _("text on one line, without tabs, line breaks or other control characters")
    return _("text")


def _is_control(character: str) -> bool:
    return unicodedata.category(character) in ("Cc", "Zl", "Zp")


def _shown(value: object) -> str:
    """A value as a message shows it, control characters escaped: a message is one line."""
    text = str(value)
    if not any(_is_control(c) for c in text):
        return text
    return "".join(repr(c)[1:-1] if _is_control(c) else c for c in text)


def _timezone(value: object) -> str | None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return _("a time zone name such as Asia/Ho_Chi_Minh")
    return None


def _existing_file(directory: Path) -> Check:
    def check(value: object) -> str | None:
        path = directory / str(value)
        audio = path.suffix.lower() in AUDIO_SUFFIXES
        if isinstance(value, str) and inside(path, directory) and audio and is_file(path):
            return None
        return _("an audio file (WAV, MP3, OGG or FLAC) inside the station directory")

    return check


def _province(
    reader: "_Reader", section: YamlMap, line: int, directory: Path
) -> ProvinceSettings | None:
    """The `province:` block (at `line`); absent or empty, the station has no link."""
    if not section:
        return None
    reader.only_keys(section, ("broker", "id", "password", "groups", "ca", "accept"))
    for required in ("broker", "id"):
        if section.get(required) is None:
            raise reader.fail(
                key_line(section, required) if required in section else line,
                _("the province block needs '{key}:' (see the example in station.yaml).").format(
                    key=required
                ),
            )
    broker = reader.value(
        section, "broker", None, _matches(BROKER_URL.pattern, "mqtts://tinh.example.vn:8883")
    )
    found = BROKER_URL.fullmatch(broker)
    assert found is not None
    scheme, host, port = found.group(1), found.group(2), found.group(3)
    if port is not None and not 0 < int(port) < 65536:
        raise reader.fail(
            key_line(section, "broker"),
            _("the port of '{value}' is not a port number (1 to 65535).").format(value=broker),
        )
    groups = section.get("groups") or YamlList()
    if not isinstance(groups, YamlList):
        raise reader.fail(
            key_line(section, "groups"),
            _("'groups' is a list of group ids, like [ven-bien, vung-lu]."),
        )
    for index, group in enumerate(groups):
        if not isinstance(group, str) or not STATION_ID.fullmatch(group):
            raise reader.fail(
                item_line(groups, index) if groups.item_lines else key_line(section, "groups"),
                _(
                    "the group '{group}' is not an id: lower-case letters a-z, digits and "
                    "inner dashes, as the province gave it."
                ).format(group=_shown(group)),
            )
    ca = reader.optional(section, "ca", _certificate_file(directory))
    return ProvinceSettings(
        broker=broker,
        host=host,
        port=int(port) if port is not None else DEFAULT_PORTS[scheme],
        tls=scheme == "mqtts",
        station_id=reader.value(section, "id", None, _station_id),
        password=reader.optional(section, "password", _one_line_text),
        groups=tuple(dict.fromkeys(groups)),
        ca=directory / ca if ca is not None else None,
        accept=reader.value(section, "accept", "auto", _one_of(PROVINCE_ACCEPT)),
    )


def _station_id(value: object) -> str | None:
    if isinstance(value, str) and STATION_ID.fullmatch(value):
        return None
    return _("an id of lower-case letters a-z, digits and inner dashes, like xa-an-binh")


def _certificate_file(directory: Path) -> Check:
    def check(value: object) -> str | None:
        path = directory / str(value)
        if isinstance(value, str) and inside(path, directory) and is_file(path):
            return None
        return _("a certificate file (PEM) inside the station directory")

    return check


def _duration(low: int, high: int) -> Check:
    def check(value: object) -> str | None:
        seconds = duration_seconds(value)
        if seconds is not None and low <= seconds <= high:
            return None
        return _("a duration such as 60s, 2m or 1h, from {low} s to {high} s").format(
            low=low, high=high
        )

    return check


def _relay_sources(reader: "_Reader", section: YamlMap) -> dict[str, RelaySource]:
    """`relay_sources:`, each name with its stream URLs (tried in order) or `line_in:`."""
    sources = {}
    for name, value in section.items():
        line = key_line(section, name)
        if not isinstance(name, str) or not STATION_ID.fullmatch(name):
            raise reader.fail(
                line,
                _(
                    "the relay source name '{name}' is not an id: lower-case letters a-z, digits "
                    "and inner dashes, like vov1 or vov-giao-thong."
                ).format(name=_shown(name)),
            )
        if isinstance(value, YamlMap):
            sources[name] = RelaySource(name, line_in=_line_in(reader, name, value, line))
        else:
            sources[name] = RelaySource(name, urls=_relay_urls(reader, name, value, line))
    return sources


def _relay_urls(reader: "_Reader", name: str, value: object, line: int) -> tuple[str, ...]:
    urls = value if isinstance(value, YamlList) else YamlList(line) if value is None else [value]
    if not urls:
        raise reader.fail(
            line,
            _(
                "the relay source '{name}' has no stream: list its URLs under it, one per line "
                "as '- https://…', or give 'line_in: DEVICE' (see the example in station.yaml)."
            ).format(name=name),
        )
    for index, url in enumerate(urls):
        if not isinstance(url, str) or not RELAY_URL.fullmatch(url):
            where = item_line(urls, index) if isinstance(urls, YamlList) else line
            raise reader.fail(
                where,
                _(
                    "'{url}' is not a stream address: a relay source plays http:// or https:// "
                    "URLs (an HLS playlist .m3u8, or an Icecast or Shoutcast stream), e.g. "
                    "https://audio-lss.vov.vn/live/vov1.m3u8."
                ).format(url=_shown(url)),
            )
    return tuple(dict.fromkeys(urls))


def _line_in(reader: "_Reader", name: str, block: YamlMap, line: int) -> str:
    reader.only_keys(block, ("line_in",))
    device = block.get("line_in")
    if not isinstance(device, str) or not device.strip() or _one_line_text(device):
        raise reader.fail(
            key_line(block, "line_in") if "line_in" in block else line,
            _(
                "'{name}' needs the capture device after 'line_in:', e.g. line_in: "
                "alsa_input.usb-0d8c_USB_Sound_Device-00.analog-stereo ('loa doctor' lists "
                "the sound card's inputs)."
            ).format(name=name),
        )
    return device.strip()


def _relay_fallback(reader: "_Reader", relay: YamlMap, directory: Path) -> str | None:
    """The announcement a relay plays while its source is gone: one in announcements/."""
    value = relay.get("fallback")
    if value is None:
        return None
    from broadcaster.station.announcements import list_announcements, list_recordings

    station = Station(directory=directory)
    known = sorted({*list_announcements(station), *list_recordings(station)})
    name = unicodedata.normalize("NFC", str(value).strip())
    if name not in known:
        raise reader.fail(
            key_line(relay, "fallback"),
            _(
                "no announcement '{id}' in announcements/ for 'fallback'; announcements "
                "there: {known}."
            ).format(id=_shown(value), known=", ".join(known) or "-"),
        )
    return name


def _monitor(reader: "_Reader", section: YamlMap, line: int) -> MonitorSettings | None:
    """The `monitor:` block (at `line`); absent or empty, the station has no on-air monitor."""
    if not section:
        return None
    reader.only_keys(section, MONITOR_KEYS)
    device = section.get("device")
    if not isinstance(device, str) or not device.strip() or _one_line_text(device):
        raise reader.fail(
            key_line(section, "device") if "device" in section else line,
            _(
                "the monitor block needs the capture device that hears the loudspeakers after "
                "'device:', e.g. device: alsa_input.usb-0d8c_USB_Sound_Device-00.analog-stereo "
                "('loa doctor' lists the sound card's inputs)."
            ),
        )
    return MonitorSettings(
        device=device.strip(),
        dead_air_s=float(
            reader.value(
                section,
                "dead_air",
                MONITOR_DEAD_AIR_S,
                _duration(*DEAD_AIR_S),
                duration_seconds,
            )
        ),
        keep_days=reader.value(section, "keep_days", MONITOR_KEEP_DAYS, _whole_number(1, 3650)),
        disk_mb=reader.value(section, "disk_mb", MONITOR_DISK_MB, _whole_number(50, 1_000_000)),
    )
