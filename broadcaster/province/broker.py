"""The province's Mosquitto (2.0, Debian's package) configured from province.yaml: the listener,
persistence that keeps every station's queue across a restart, the password file hashed as
`mosquitto_passwd` writes it, and an ACL in which each station reads only its own, its groups'
and everyone's topics and writes only its own reports.

The broker is told `use_username_as_clientid true`: a station's client id is its user name, so
no one can take over another station's session (or the province's) by choosing its id.
"""

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broadcaster.i18n import _
from broadcaster.province import topics
from broadcaster.province.directory import (
    COLLECTOR,
    SENDER,
    Province,
    ProvinceError,
    write_files,
)
from broadcaster.province.messages import MAX_MESSAGE_BYTES

PBKDF2_ITERATIONS = 101
"""What mosquitto_passwd 2.0 uses (`$7$101$…`): PBKDF2-SHA512, a 12-byte salt, 64 bytes."""
SALT_BYTES = 12
MAX_QUEUED_MESSAGES = 10_000
"""Per offline station: months of campaigns; beyond it the broker drops messages silently."""
SESSION_EXPIRY = "14d"
CONF_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
DEFAULT_USER = "mosquitto"
"""The user Debian's mosquitto drops to when started as root."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`$7$101$<salt>$<hash>`, exactly as `mosquitto_passwd -b` writes it."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    encoded = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return f"$7${PBKDF2_ITERATIONS}${encoded[0]}${encoded[1]}"


def password_matches(password: str, hashed: str) -> bool:
    try:
        _empty, kind, iterations, salt, digest = hashed.split("$")
        raw_salt = base64.b64decode(salt, validate=True)
        expected = base64.b64decode(digest, validate=True)
        rounds = int(iterations)
    except ValueError:
        return False
    if kind != "7":
        return False
    found = hashlib.pbkdf2_hmac("sha512", password.encode(), raw_salt, rounds)
    return hmac.compare_digest(found, expected)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    cafile: Path | None = None


@dataclass(frozen=True)
class BrokerSettings:
    out: Path
    port: int
    listen: str | None = None
    tls: TlsFiles | None = None
    user: str = DEFAULT_USER
    data: Path | None = None
    """Where the broker keeps its persistence file: `out`/data by default."""

    @property
    def persistence(self) -> Path:
        return self.data if self.data is not None else self.out / "data"


def mosquitto_conf(province: Province, settings: BrokerSettings) -> str:
    out = settings.out.resolve()
    listener = f"listener {settings.port}" + (f" {settings.listen}" if settings.listen else "")
    lines = [
        "# Loa province broker — written by 'loa province broker-config' from province.yaml;",
        "# run it again (and reload mosquitto) after adding or removing a station.",
        f"# Province: {province.name or province.directory}",
        "",
        f"user {settings.user}",
        "per_listener_settings false",
        listener,
        "protocol mqtt",
    ]
    if settings.tls is not None:
        lines += [
            f"certfile {settings.tls.cert.resolve()}",
            f"keyfile {settings.tls.key.resolve()}",
        ]
        if settings.tls.cafile is not None:
            lines.append(f"cafile {settings.tls.cafile.resolve()}")
        lines.append("tls_version tlsv1.2")
    lines += [
        "",
        "allow_anonymous false",
        f"password_file {out / PASSWORD_FILE}",
        f"acl_file {out / ACL_FILE}",
        "use_username_as_clientid true",
        "",
        "persistence true",
        f"persistence_location {settings.persistence.resolve()}/",
        "# a snapshot every 60 s (counting changes instead would leave a quiet day unsaved)",
        "autosave_interval 60",
        "autosave_on_changes false",
        f"persistent_client_expiration {SESSION_EXPIRY}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"message_size_limit {MAX_MESSAGE_BYTES}",
        "max_keepalive 300",
        "",
    ]
    return "\n".join(lines)


def password_file(province: Province, passwords: Mapping[str, str]) -> str:
    """The province's two accounts (hashed now from secrets.yaml) and every station's hash."""
    lines = [f"{account}:{hash_password(passwords[account])}" for account in (COLLECTOR, SENDER)]
    lines += [
        f"{r.id}:{r.password_hash}" for r in sorted(province.stations.values(), key=lambda r: r.id)
    ]
    return "\n".join(lines) + "\n"


def acl_file(province: Province) -> str:
    """Per account, what it may read and write; anything not listed is refused."""
    root = topics.ROOT
    lines = [
        "# Loa province ACL — written by 'loa province broker-config' from province.yaml.",
        "",
        f"user {COLLECTOR}",
        *(f"topic read {topic}" for topic in topics.FROM_STATIONS),
        "",
        f"user {SENDER}",
        f"topic write {root}/{topics.ALL}/#",
        f"topic write {root}/grp/#",
        f"topic write {root}/st/+/campaign/+",
        f"topic write {root}/st/+/desired",
        f"topic write {root}/st/+/cmd",
    ]
    for record in sorted(province.stations.values(), key=lambda r: r.id):
        lines += ["", f"user {record.id}"]
        for target in topics.targets_of(record.id, record.groups):
            lines += [
                f"topic read {target.campaigns}",
                f"topic read {target.desired}",
                f"topic read {target.cmd}",
            ]
        for topic in (
            topics.state(record.id),
            topics.heartbeat(record.id),
            topics.asrun(record.id),
            topics.ack(record.id),
        ):
            lines.append(f"topic write {topic}")
    return "\n".join(lines) + "\n"


def write_broker_config(
    province: Province, passwords: Mapping[str, str], settings: BrokerSettings
) -> list[Path]:
    """mosquitto.conf, passwd and acl in `settings.out`, each written whole; the files a
    broker reading them finds consistent once it is reloaded."""
    if settings.tls is None and province.broker.tls:
        raise ProvinceError(
            _(
                "The province's broker is {url}: give the broker's certificate and key with "
                "--cert FILE --key FILE."
            ).format(url=province.broker.url)
        )
    if settings.tls is not None and not province.broker.tls:
        raise ProvinceError(
            _(
                "--cert and --key are for a TLS broker, but province.yaml says {url}: stations "
                "would connect without TLS. Give the broker as mqtts://… at 'loa province init'."
            ).format(url=province.broker.url)
        )
    if settings.tls is not None:
        for file in (settings.tls.cert, settings.tls.key, settings.tls.cafile):
            if file is not None and not file.is_file():
                raise ProvinceError(_("{file} does not exist.").format(file=file))
    for folder in (settings.out, settings.persistence):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ProvinceError(
                _("Cannot create {folder}: {reason}.").format(folder=folder, reason=error.strerror)
            ) from error
    written = [
        (settings.out / PASSWORD_FILE, password_file(province, passwords).encode(), 0o640),
        (settings.out / ACL_FILE, acl_file(province).encode(), 0o644),
        (settings.out / CONF_FILE, mosquitto_conf(province, settings).encode(), 0o644),
    ]
    write_files(written)
    _hand_over(settings)
    return [path for path, _data, _mode in written]


def _hand_over(settings: BrokerSettings) -> None:
    """Run as root for the system's broker: Mosquitto reads the password file and writes its
    persistence as `settings.user` once it has dropped root, so give it those two."""
    if os.name != "posix" or os.geteuid() != 0 or settings.user == "root":
        return
    import pwd

    try:
        account = pwd.getpwnam(settings.user)
    except KeyError:
        return
    os.chown(settings.out / PASSWORD_FILE, 0, account.pw_gid)
    os.chown(settings.persistence, account.pw_uid, account.pw_gid)
