"""The province directory, the province operator's one folder: `province.yaml` (the broker, the
groups, the stations; station passwords only as hashes), `secrets.yaml` (the province's own two
broker passwords, readable by its owner only) and `province.db` (what was sent, what came back).

The folder is `--dir`, else LOA_PROVINCE, else the current folder, like a station's.
"""

import contextlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped]

from broadcaster.errors import DiskError, ExitCode, LoaError, describe_os_error
from broadcaster.files import is_file, partial_path
from broadcaster.i18n import _
from broadcaster.province import topics
from broadcaster.province.topics import Target
from broadcaster.station.yamlfile import YamlMap, key_line, load_yaml

PROVINCE_FILE = "province.yaml"
SECRETS_FILE = "secrets.yaml"
DATABASE_FILE = "province.db"
PROVINCE_ENV = "LOA_PROVINCE"
COLLECTOR = "province"
"""The broker account (and, the broker enforcing it, the client id) that collects what
stations report, with a persistent session."""
SENDER = "province-send"
"""The broker account that sends campaigns and emergencies: a second id, so that sending never
takes over the collector's session."""
RESERVED = (COLLECTOR, SENDER, topics.ALL)
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class ProvinceError(LoaError):
    """province.yaml or secrets.yaml is wrong, or a command asks for what the province lacks."""

    exit_code = ExitCode.STATION_CONFIG


class ProvinceNotFoundError(LoaError):
    exit_code = ExitCode.STATION_NOT_FOUND


class UnknownTargetError(LoaError):
    """A station or group that the province does not have."""

    exit_code = ExitCode.USAGE


class BrokerError(LoaError):
    """The broker cannot be reached, or refuses the province's account or message."""

    exit_code = ExitCode.DAEMON


@dataclass(frozen=True)
class Broker:
    url: str
    host: str
    port: int
    tls: bool
    ca: Path | None = None
    """The CA that signed the broker's certificate (mqtts); None trusts the system's CAs."""

    @classmethod
    def parse(cls, url: str, ca: Path | None = None) -> "Broker":
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme not in DEFAULT_PORTS
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.username
            or parts.query
        ):
            raise ProvinceError(
                _(
                    "'{url}' is not a broker address: write mqtt://HOST:PORT, or "
                    "mqtts://HOST:PORT for TLS (e.g. mqtt://10.0.0.5:1883)."
                ).format(url=url)
            )
        tls = parts.scheme == "mqtts"
        if ca is not None and not tls:
            raise ProvinceError(_("--ca is for a TLS broker: write its address as mqtts://…"))
        port = port or DEFAULT_PORTS[parts.scheme]
        return cls(f"{parts.scheme}://{parts.hostname}:{port}", parts.hostname, port, tls, ca)


@dataclass(frozen=True)
class StationRecord:
    id: str
    groups: tuple[str, ...]
    password_hash: str
    """As mosquitto_passwd writes it: the clear password is shown once, by `station add`."""
    added: str = ""


@dataclass(frozen=True)
class Province:
    directory: Path
    broker: Broker
    name: str = ""
    timezone: str = DEFAULT_TIMEZONE
    groups: tuple[str, ...] = ()
    stations: Mapping[str, StationRecord] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database(self) -> Path:
        return self.directory / DATABASE_FILE

    def known_groups(self) -> tuple[str, ...]:
        found = set(self.groups)
        for record in self.stations.values():
            found.update(record.groups)
        return tuple(sorted(found))

    def members(self, target: Target) -> tuple[str, ...]:
        """The stations a target reaches, today."""
        if target.kind == topics.ALL:
            return tuple(sorted(self.stations))
        if target.kind == "grp":
            return tuple(sorted(s for s, r in self.stations.items() if target.name in r.groups))
        return (target.name,) if target.name in self.stations else ()

    def targets(self, spec: str) -> tuple[Target, ...]:
        """`all`, groups and stations, comma-separated, as targets; unknown names refused,
        naming the known ones."""
        names = [name.strip() for name in spec.split(",") if name.strip()]
        if not names:
            raise UnknownTargetError(_("--to is empty: write all, a group or station ids."))
        if topics.ALL in names:
            return (topics.EVERYONE,)
        found: list[Target] = []
        groups = self.known_groups()
        for name in dict.fromkeys(names):
            if name in groups:
                found.append(topics.group(name))
            elif name in self.stations:
                found.append(topics.station(name))
            else:
                raise UnknownTargetError(
                    _(
                        "'{name}' is neither a station nor a group of this province. Groups: "
                        "{groups}. Stations: {stations}. (all: every station.)"
                    ).format(
                        name=name,
                        groups=", ".join(groups) or "—",
                        stations=", ".join(sorted(self.stations)) or "—",
                    )
                )
        return tuple(found)

    def with_station(self, record: StationRecord) -> "Province":
        stations = {**self.stations, record.id: record}
        groups = tuple(dict.fromkeys((*self.groups, *record.groups)))
        return replace(self, stations=stations, groups=groups)

    def without_station(self, station_id: str) -> "Province":
        return replace(self, stations={k: v for k, v in self.stations.items() if k != station_id})


def find_province(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """--dir, then LOA_PROVINCE, then the current folder."""
    env = environ.get(PROVINCE_ENV)
    chosen = explicit or (cwd / env if env else cwd)
    if not is_file(chosen / PROVINCE_FILE):
        raise ProvinceNotFoundError(
            _(
                "{path} is not a province directory (it has no {file}): create one with "
                "'loa province init DIR --broker mqtt://HOST:PORT', or give it with --dir DIR "
                "or LOA_PROVINCE."
            ).format(path=chosen, file=PROVINCE_FILE)
        )
    return chosen


def check_name(value: str, what: str) -> str:
    """A station or group id, refused unless it is one topic level and not reserved."""
    if not topics.is_name(value) or value in RESERVED:
        raise ProvinceError(
            _(
                "'{value}' cannot be a {what} id: use lower-case letters without diacritics, "
                "digits and inner dashes, e.g. xa-an-binh (not {reserved})."
            ).format(value=value, what=what, reserved=", ".join(RESERVED))
        )
    return value


def new_password() -> str:
    return secrets.token_urlsafe(18)


# Reading ---------------------------------------------------------------------------------------


def load_province(directory: Path) -> Province:
    path = directory / PROVINCE_FILE
    data = load_yaml(path, ProvinceError)
    if not isinstance(data, YamlMap):
        raise ProvinceError(f"{path}:1: " + _("province.yaml must be a group of settings."))

    def fail(mapping: dict[Any, Any], key: str, message: str) -> ProvinceError:
        line = key_line(mapping, key) if isinstance(mapping, YamlMap) else 1
        return ProvinceError(f"{path}:{line}: {message}")

    ca_value = data.get("ca")
    ca = directory / str(ca_value) if ca_value else None
    try:
        broker = Broker.parse(str(data.get("broker", "")), ca)
    except ProvinceError as error:
        raise fail(data, "broker", error.message) from None
    timezone = str(data.get("timezone") or DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            data, "timezone", _("unknown time zone '{zone}'.").format(zone=timezone)
        ) from None
    groups = data.get("groups") or []
    if not isinstance(groups, list) or not all(topics.is_name(g) for g in groups):
        raise fail(data, "groups", _("groups is a list of ids, e.g. [ven-bien, vung-lu]."))
    stations: dict[str, StationRecord] = {}
    found = data.get("stations") or {}
    if not isinstance(found, dict):
        raise fail(data, "stations", _("stations is a group of station ids."))
    for station_id, body in found.items():
        if not topics.is_name(station_id) or station_id in RESERVED or not isinstance(body, dict):
            raise fail(found, station_id, _("'{id}' is not a station id.").format(id=station_id))
        member_of = body.get("groups") or []
        password_hash = body.get("password_hash")
        if not isinstance(member_of, list) or not all(topics.is_name(g) for g in member_of):
            raise fail(found, station_id, _("groups is a list of ids, e.g. [ven-bien, vung-lu]."))
        if not isinstance(password_hash, str) or not password_hash.startswith("$7$"):
            raise fail(
                found,
                station_id,
                _(
                    "the station has no password_hash: add it again with "
                    "'loa province station add'."
                ),
            )
        stations[station_id] = StationRecord(
            station_id, tuple(member_of), password_hash, str(body.get("added") or "")
        )
    return Province(
        directory=directory,
        broker=broker,
        name=str(data.get("name") or ""),
        timezone=timezone,
        groups=tuple(str(g) for g in groups),
        stations=stations,
    )


def load_secrets(directory: Path) -> dict[str, str]:
    """The province's own broker passwords, by account."""
    path = directory / SECRETS_FILE
    if not is_file(path):
        raise ProvinceError(
            _("{file} is missing: the province's broker passwords were in it.").format(file=path)
        )
    data = load_yaml(path, ProvinceError)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in (COLLECTOR, SENDER)
    ):
        raise ProvinceError(
            _("{file} must hold the passwords of '{collector}' and '{sender}'.").format(
                file=path, collector=COLLECTOR, sender=SENDER
            )
        )
    return {COLLECTOR: data[COLLECTOR], SENDER: data[SENDER]}


# Writing ---------------------------------------------------------------------------------------

HEADER = (
    "# Tỉnh — Loa province: the broker, the groups and the stations.\n"
    "# Written by 'loa province init / station add / station remove'; station passwords are kept\n"
    "# only as hashes. After a change: loa province broker-config, then reload mosquitto.\n"
)


def province_document(province: Province) -> str:
    body: dict[str, Any] = {"name": province.name, "broker": province.broker.url}
    if province.broker.ca is not None:
        body["ca"] = os.path.relpath(province.broker.ca, province.directory)
    body["timezone"] = province.timezone
    body["groups"] = list(province.groups)
    body["stations"] = {
        record.id: {
            "groups": list(record.groups),
            "password_hash": record.password_hash,
            "added": record.added,
        }
        for record in sorted(province.stations.values(), key=lambda r: r.id)
    }
    dumped: str = yaml.safe_dump(
        body, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200
    )
    return HEADER + dumped


def save_province(province: Province) -> None:
    write_file(province.directory / PROVINCE_FILE, province_document(province).encode())


def save_secrets(directory: Path, passwords: Mapping[str, str]) -> None:
    text = "# Mật khẩu của tỉnh — the province's broker passwords. Keep this file secret.\n"
    text += "".join(f'{account}: "{password}"\n' for account, password in passwords.items())
    write_file(directory / SECRETS_FILE, text.encode(), mode=0o600)


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`path` whole or not at all (a full disk leaves the old file, and no stray part), created
    with `mode` from the start: a secret is never readable by others, not even for a moment."""
    temporary = partial_path(path)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise DiskError(
            _(
                "Cannot write {file}: {reason}. Nothing was changed; free some space and try again."
            ).format(file=path, reason=describe_os_error(error))
        ) from error


def write_files(files: Iterable[tuple[Path, bytes, int]]) -> None:
    """Several files, each atomic; the first failure stops before the next."""
    for path, data, mode in files:
        write_file(path, data, mode)
