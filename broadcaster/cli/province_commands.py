"""`loa province …`: the province operator's commands — the broker, the stations, campaigns and
emergencies out, presence, heartbeats and as-run rows back (docs/tinh.md)."""

import csv
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from broadcaster.cli.lazy import N_, argument, examples, group, option
from broadcaster.cli.session import Month, fit_cell
from broadcaster.core.models import Priority
from broadcaster.i18n import _

if TYPE_CHECKING:
    from broadcaster.province.directory import Province
    from broadcaster.province.store import AsRunRow, Store

BOM = "\ufeff"


def reload_hint() -> str:
    return _(
        "Then: loa province broker-config, and reload mosquitto (sudo systemctl reload mosquitto)."
    )


@dataclass
class ProvinceSession:
    explicit: Path | None

    def directory(self) -> Path:
        from broadcaster.province.directory import find_province

        return find_province(self.explicit, os.environ, Path.cwd())

    def province(self) -> "Province":
        from broadcaster.province.directory import load_province

        return load_province(self.directory())


@group(
    epilog=examples(
        "loa province init /srv/tinh --broker mqtt://10.0.0.5:1883",
        "loa province station add xa-an-binh --group ven-bien",
        "loa province send tiem-chung.txt --to ven-bien --times 06:30,17h --days T2-T6",
        "loa province status",
    ),
    help=N_(
        "The province: send campaigns and emergencies to the commune stations through an MQTT "
        "broker, and see what each aired. The province folder is --dir, else LOA_PROVINCE, "
        "else the current folder."
    ),
)
@option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("FOLDER"),
    help=N_("Province folder (default: LOA_PROVINCE, or the current folder)."),
)
@click.pass_context
def province(ctx: click.Context, directory: Path | None) -> None:
    ctx.obj = ProvinceSession(directory)


@province.command(
    epilog=examples(
        "loa province init /srv/tinh --broker mqtt://10.0.0.5:1883",
        "loa province init /srv/tinh --broker mqtts://mq.tinh.vn:8883 --ca ca.crt",
    ),
    help=N_(
        "Create a province folder: province.yaml (broker, groups, stations) and secrets.yaml "
        "(the province's broker passwords, readable by you only)."
    ),
)
@argument("folder", type=click.Path(path_type=Path, file_okay=False), metavar=N_("FOLDER"))
@option("--broker", required=True, metavar="URL", help=N_("mqtt://HOST:PORT or mqtts://HOST:PORT."))
@option(
    "--ca",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar=N_("FILE"),
    help=N_("The CA certificate of an mqtts:// broker (copied into the folder as ca.crt)."),
)
@option("--name", default="", metavar=N_("NAME"), help=N_("Who sends, e.g. 'Sở VHTTDL tỉnh …'."))
def init(folder: Path, broker: str, ca: Path | None, name: str) -> None:
    from broadcaster.province.directory import (
        COLLECTOR,
        PROVINCE_FILE,
        SENDER,
        Broker,
        Province,
        ProvinceError,
        new_password,
        save_province,
        save_secrets,
        write_file,
    )

    parsed = Broker.parse(broker, ca)
    if (folder / PROVINCE_FILE).exists():
        raise ProvinceError(
            _("{folder} is already a province folder (it has {file}).").format(
                folder=folder, file=PROVINCE_FILE
            )
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProvinceError(
            _("Cannot create {folder}: {reason}.").format(folder=folder, reason=error.strerror)
        ) from error
    if ca is not None:
        pem = ca.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise ProvinceError(_("{file} is not a PEM certificate.").format(file=ca))
        write_file(folder / "ca.crt", pem)
        parsed = Broker.parse(broker, folder / "ca.crt")
    save_secrets(folder, {COLLECTOR: new_password(), SENDER: new_password()})
    save_province(Province(directory=folder, broker=parsed, name=name))
    click.echo(
        _("Created the province folder {folder} for the broker {url}.").format(
            folder=folder, url=parsed.url
        )
    )
    click.echo(
        _("Next: loa province --dir {folder} station add ID --group GROUP").format(folder=folder)
    )


@province.command(
    name="broker-config",
    epilog=examples(
        "loa province broker-config",
        "sudo loa province broker-config --out /etc/mosquitto/loa --data /var/lib/mosquitto",
        "loa province broker-config --cert server.crt --key server.key --cafile ca.crt",
    ),
    help=N_(
        "Write the broker's mosquitto.conf, password file and ACL from province.yaml. Run it "
        "again after adding or removing stations, then reload mosquitto."
    ),
)
@option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("FOLDER"),
    help=N_("Where to write the files (default: broker/ in the province folder)."),
)
@option(
    "--port",
    type=click.IntRange(1, 65535),
    metavar="N",
    help=N_("Listener port (default: the broker address's)."),
)
@option("--listen", metavar=N_("ADDRESS"), help=N_("Listen on this address only (default: all)."))
@option(
    "--cert",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("TLS: the broker's certificate."),
)
@option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("TLS: the broker's private key."),
)
@option(
    "--cafile",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("TLS: the CA chain."),
)
@option(
    "--user",
    default="mosquitto",
    show_default=True,
    metavar=N_("NAME"),
    help=N_("The system user mosquitto runs as."),
)
@option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("FOLDER"),
    help=N_("Where mosquitto keeps its queues across restarts (default: data/ beside the files)."),
)
@click.pass_obj
def broker_config(
    session: ProvinceSession,
    out: Path | None,
    port: int | None,
    listen: str | None,
    cert: Path | None,
    key: Path | None,
    cafile: Path | None,
    user: str,
    data: Path | None,
) -> None:
    from broadcaster.province.broker import BrokerSettings, TlsFiles, write_broker_config
    from broadcaster.province.directory import ProvinceError, load_secrets

    province = session.province()
    if (cert is None) != (key is None):
        raise ProvinceError(_("TLS needs both --cert and --key."))
    tls = TlsFiles(cert, key, cafile) if cert is not None and key is not None else None
    settings = BrokerSettings(
        out=out or province.directory / "broker",
        port=port or province.broker.port,
        listen=listen,
        tls=tls,
        user=user,
        data=data,
    )
    for path in write_broker_config(province, load_secrets(province.directory), settings):
        click.echo(_("Wrote {file}").format(file=path))
    click.echo(
        _(
            "{count} stations. Load it: sudo systemctl reload mosquitto (restart it after "
            "changing the port or TLS)."
        ).format(count=len(province.stations))
    )


@province.group(
    epilog=examples(
        "loa province station add xa-an-binh --group ven-bien --group vung-lu",
        "loa province station list",
        "loa province station remove xa-an-binh",
    ),
    help=N_("Add, list and remove the province's stations."),
)
def station() -> None:
    pass


@station.command(
    epilog=examples("loa province station add xa-an-binh --group ven-bien"),
    help=N_(
        "Add station ID (in groups G…) and print the province: block to paste into its "
        "station.yaml; its password is shown only this once."
    ),
)
@argument("station_id", metavar="ID")
@option(
    "--group",
    "groups",
    multiple=True,
    metavar=N_("GROUP"),
    help=N_("A group, e.g. ven-bien (repeatable)."),
)
@click.pass_obj
def add(session: ProvinceSession, station_id: str, groups: tuple[str, ...]) -> None:
    from broadcaster.province.broker import hash_password
    from broadcaster.province.directory import (
        ProvinceError,
        StationRecord,
        check_name,
        new_password,
        save_province,
    )
    from broadcaster.province.store import iso, utc_now

    province = session.province()
    check_name(station_id, _("station"))
    for name in groups:
        check_name(name, _("group"))
    if station_id in province.stations:
        raise ProvinceError(
            _(
                "The station {id} is already added. For a new password: loa province station "
                "remove {id}, then add it again."
            ).format(id=station_id)
        )
    known = province.known_groups()
    if station_id in known:
        raise ProvinceError(_("'{id}' is already a group's name.").format(id=station_id))
    clash = sorted(set(groups) & set(province.stations))
    if clash:
        raise ProvinceError(_("'{id}' is already a station's id.").format(id=clash[0]))
    password = new_password()
    groups = tuple(dict.fromkeys(groups))
    record = StationRecord(station_id, groups, hash_password(password), iso(utc_now()))
    save_province(province.with_station(record))
    for name in groups:
        if name not in known:
            click.echo(_("New group: {group}").format(group=name), err=True)
    click.echo(
        _("Paste this into the station's station.yaml (the password is shown only once):"), err=True
    )
    click.echo("province:")
    click.echo(f"  broker: {province.broker.url}")
    click.echo(f"  id: {station_id}")
    click.echo(f'  password: "{password}"')
    click.echo(f"  groups: [{', '.join(groups)}]")
    if province.broker.ca is not None:
        click.echo(f"  ca: {province.broker.ca.name}")
    click.echo("  accept: auto")
    if province.broker.ca is not None:
        click.echo(
            _("Copy {file} into the station's folder too.").format(file=province.broker.ca),
            err=True,
        )
    click.echo(
        reload_hint(),
        err=True,
    )


@station.command(
    epilog=examples("loa province station remove xa-an-binh"),
    help=N_("Remove station ID: it loses access at the next broker-config and reload."),
)
@argument("station_id", metavar="ID")
@click.pass_obj
def remove(session: ProvinceSession, station_id: str) -> None:
    from broadcaster.province.directory import UnknownTargetError, save_province

    province = session.province()
    if station_id not in province.stations:
        raise UnknownTargetError(
            _("No station {id} in this province. Stations: {stations}.").format(
                id=station_id, stations=", ".join(sorted(province.stations)) or "—"
            )
        )
    save_province(province.without_station(station_id))
    click.echo(_("Removed {id}.").format(id=station_id))
    click.echo(reload_hint())


@station.command(
    name="list",
    epilog=examples("loa province station list"),
    help=N_("List the stations and their groups."),
)
@click.pass_obj
def list_(session: ProvinceSession) -> None:
    province = session.province()
    if not province.stations:
        click.echo(_("No stations yet: loa province station add ID --group GROUP"))
        return
    for record in sorted(province.stations.values(), key=lambda r: r.id):
        click.echo(f"{record.id:<32} {', '.join(record.groups) or '—'}")
    click.echo(
        _("{stations} stations; groups: {groups}").format(
            stations=len(province.stations), groups=", ".join(province.known_groups()) or "—"
        )
    )


to_option = option(
    "--to",
    required=True,
    metavar=N_("WHO"),
    help=N_("all, a group, or station ids, comma-separated."),
)


@province.command(
    epilog=examples(
        "loa province send tiem-chung.txt --to all --times 06:30,17h --days T2-T6",
        "loa province send bao.yaml --to ven-bien,vung-lu --priority priority --times 6h",
        "loa province send ghi-am.mp3 --to xa-an-binh --times 18:00 --id ghi-am-bao",
    ),
    help=N_(
        "Send a campaign: FILE (a .txt, an announcement .yaml or a recording) on a schedule to "
        "the stations. Sending the same --id again replaces it."
    ),
)
@argument("file", type=click.Path(path_type=Path, dir_okay=False), metavar=N_("FILE"))
@to_option
@option(
    "--priority",
    type=click.Choice([str(Priority.NORMAL), str(Priority.PRIORITY)]),
    default=str(Priority.NORMAL),
    show_default=True,
)
@option("--times", metavar=N_("TIMES"), help=N_("e.g. 06:30,17h."))
@option("--days", metavar=N_("DAYS"), help=N_("e.g. T2-T6 or T2,T4,T6 (default: every day)."))
@option("--from", "first", metavar=N_("DATE"), help=N_("First day, e.g. 2026-12-01."))
@option("--until", metavar=N_("DATE"), help=N_("Last day, e.g. 2026-12-31."))
@option("--date", "on", metavar=N_("DATE"), help=N_("One day only."))
@option("--repeat", type=int, metavar="N", help=N_("Read it N times in a row."))
@option("--gap", metavar=N_("DURATION"), help=N_("Silence between repeats, e.g. 5s."))
@option(
    "--id", "campaign_id", metavar="ID", help=N_("The campaign's id (default: from the file name).")
)
@click.pass_obj
def send(
    session: ProvinceSession,
    file: Path,
    to: str,
    priority: str,
    times: str | None,
    days: str | None,
    first: str | None,
    until: str | None,
    on: str | None,
    repeat: int | None,
    gap: str | None,
    campaign_id: str | None,
) -> None:
    from broadcaster.province.directory import load_secrets
    from broadcaster.province.operator import (
        campaign_id_from,
        read_content,
        schedule_of,
        send_campaign,
    )
    from broadcaster.province.store import Store, utc_now

    province = session.province()
    passwords = load_secrets(province.directory)
    now = utc_now()
    content = read_content(file)
    schedule = schedule_of(times, days, first, until, repeat, gap, on)
    with Store(province.database) as store:
        sent = send_campaign(
            province,
            passwords,
            store,
            content,
            to,
            Priority(priority),
            schedule,
            campaign_id or campaign_id_from(file, now.astimezone(province.zone)),
            now,
        )
    click.echo(
        _("Sent campaign {id} (version {version}) to {count} stations.").format(
            id=sent.id, version=sent.version, count=len(sent.stations)
        ),
        err=True,
    )
    click.echo(sent.id)


class Duration(click.ParamType[int]):
    """Seconds, written 15m, 1h, 90s or 900."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        from broadcaster.province.messages import MAX_EXPIRES_S

        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        units = {"s": 1, "m": 60, "h": 3600}
        number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
        if number.isdigit() and 1 <= int(number) * unit <= MAX_EXPIRES_S:
            return int(number) * unit
        self.fail(
            _("'{value}' is not a duration from 1s to 24h, e.g. 15m, 1h, 90s.").format(value=value),
            param,
            ctx,
        )


@province.command(
    epilog=examples(
        'loa province emergency "Bão số 3 đổ bộ, bà con vào nơi trú ẩn ngay." --to ven-bien',
        "loa province emergency canh-bao.mp3 --to all --expires 30m",
    ),
    help=N_(
        "Send an emergency: TEXT or FILE airs at once at the stations, pre-empting what plays. "
        "A station that gets it after --expires never airs it."
    ),
)
@argument("message", metavar=N_("TEXT|FILE"))
@to_option
@option("--expires", type=Duration(), default="15m", show_default=True, metavar=N_("DURATION"))
@option("--id", "emergency_id", metavar="ID", help=N_("Its id (default: kc-DATE-TIME)."))
@click.pass_obj
def emergency(
    session: ProvinceSession, message: str, to: str, expires: int, emergency_id: str | None
) -> None:
    from broadcaster.files import is_file
    from broadcaster.province.directory import ProvinceError, load_secrets
    from broadcaster.province.operator import read_content, send_emergency, text_content
    from broadcaster.province.store import Store, utc_now
    from broadcaster.province.topics import is_name

    province = session.province()
    passwords = load_secrets(province.directory)
    now = utc_now()
    path = Path(message)
    content = read_content(path) if path.suffix and is_file(path) else text_content(message)
    chosen = emergency_id or f"kc-{now.astimezone(province.zone):%Y%m%d-%H%M%S}"
    if not is_name(chosen):
        raise ProvinceError(
            _("'{id}' cannot be an id: use a-z, 0-9 and inner dashes.").format(id=chosen)
        )
    with Store(province.database) as store:
        sent = send_emergency(province, passwords, store, content, to, expires, chosen, now)
    click.echo(
        _("Sent emergency {id} to {count} stations; it expires in {minutes} minutes.").format(
            id=sent.id, count=len(sent.stations), minutes=round(expires / 60, 1)
        ),
        err=True,
    )
    click.echo(sent.id)


@province.command(
    epilog=examples("loa province cancel tiem-chung", "loa province cancel kc-20261201-0630"),
    help=N_("Cancel campaign ID at its stations, or stop emergency ID."),
)
@argument("item_id", metavar="ID")
@click.pass_obj
def cancel(session: ProvinceSession, item_id: str) -> None:
    from broadcaster.province.directory import load_secrets
    from broadcaster.province.operator import cancel as cancel_item
    from broadcaster.province.store import Store, utc_now

    province = session.province()
    with Store(province.database) as store:
        kind = cancel_item(province, load_secrets(province.directory), store, item_id, utc_now())
    if kind == "campaign":
        click.echo(_("Cancelled campaign {id}.").format(id=item_id))
    else:
        click.echo(_("Stopped emergency {id}.").format(id=item_id))


@province.command(
    epilog=examples("loa province serve"),
    help=N_(
        "Collect what the stations report (presence, heartbeats, as-run rows) into the "
        "province database, until stopped. Run it as a service."
    ),
)
@click.pass_obj
def serve(session: ProvinceSession) -> None:
    import logging

    from broadcaster.province.collector import LOCK_FILE, Collector, collector_lock
    from broadcaster.province.directory import ProvinceError, load_secrets
    from broadcaster.province.store import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    province = session.province()
    passwords = load_secrets(province.directory)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    with collector_lock(province.directory) as mine:
        if not mine:
            raise ProvinceError(
                _("'loa province serve' already runs for {folder} (see {lock}).").format(
                    folder=province.directory, lock=province.directory / LOCK_FILE
                )
            )
        with Store(province.database) as store:
            collector = Collector(province, passwords, store).connect()
            click.echo(
                _("Collecting from {url} into {file}; stop with Ctrl+C.").format(
                    url=province.broker.url, file=province.database
                ),
                err=True,
            )
            try:
                collector.serve(stop)
            finally:
                collector.close()
    click.echo(_("Stopped. {count} messages stored.").format(count=collector.stored), err=True)


def _refreshed_store(session: ProvinceSession) -> tuple["Province", "Store"]:
    """The province and its database, after draining what the broker kept for the collector."""
    from broadcaster.province.collector import refresh
    from broadcaster.province.directory import load_secrets
    from broadcaster.province.store import Store

    province = session.province()
    store = Store(province.database)
    problem = refresh(province, load_secrets(province.directory), store)
    if problem:
        click.echo(
            _("Warning: {problem} Showing what was stored before.").format(problem=problem),
            err=True,
        )
    return province, store


def _local(iso_text: str | None, province: "Province", form: str = "%d/%m %H:%M") -> str:
    if not iso_text:
        return ""
    try:
        return f"{datetime.fromisoformat(iso_text).astimezone(province.zone):{form}}"
    except ValueError:
        return iso_text


@province.command(
    epilog=examples("loa province status", "loa province status --json"),
    help=N_(
        "Every station: online or offline since when, clock offset, software, on air, queue, "
        "speech ready for 48 h, last as-run row, errors."
    ),
)
@option("--json", "as_json", is_flag=True, help=N_("Print JSON for other programs."))
@click.pass_obj
def status(session: ProvinceSession, as_json: bool) -> None:
    from broadcaster.onair.asrun import result_label

    province, store = _refreshed_store(session)
    with store:
        presence, beats, last = store.presence(), store.heartbeats(), store.last_asrun()
    items = []
    for station_id in sorted(province.stations):
        seen = presence.get(station_id)
        beat = beats.get(station_id, {})
        row = last.get(station_id)
        items.append(
            {
                "station": station_id,
                "groups": list(province.stations[station_id].groups),
                "state": "never-seen"
                if seen is None
                else ("online" if seen["online"] else "offline"),
                "since": seen["since"] if seen else None,
                "clock_offset_s": beat.get("offset_s"),
                "software": (seen or {}).get("software") or beat.get("software"),
                "heartbeat": beat.get("at"),
                "on_air": beat.get("on_air"),
                "queue": beat.get("queue"),
                "ready_48h": beat.get("ready_48h"),
                "due_48h": beat.get("due_48h"),
                "last_asrun": None
                if row is None
                else {"entry_id": row.entry_id, "scheduled": row.scheduled, "result": row.result},
                "errors": beat.get("errors", []),
            }
        )
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo(_("No stations yet: loa province station add ID --group GROUP"))
        return
    widths = (22, 24, 9, 9, 18, 6, 10, 30)
    headers = (
        _("STATION"),
        _("STATE"),
        _("CLOCK"),
        _("VERSION"),
        _("ON AIR"),
        _("QUEUE"),
        _("SPEECH 48H"),
        _("LAST AS-RUN"),
    )

    def line(cells: tuple[str, ...]) -> str:
        return " ".join(fit_cell(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

    click.echo(line(headers))
    states = {"online": _("online since {since}"), "offline": _("offline since {since}")}
    for item in items:
        state = item["state"]
        shown = (
            _("never seen")
            if state == "never-seen"
            else states[state].format(since=_local(item["since"], province))
        )
        offset = item["clock_offset_s"]
        last_row = item["last_asrun"]
        click.echo(
            line(
                (
                    item["station"],
                    shown,
                    f"{offset:+.1f} s" if offset is not None else "",
                    item["software"] or "",
                    item["on_air"] or "",
                    "" if item["queue"] is None else str(item["queue"]),
                    "" if item["due_48h"] is None else f"{item['ready_48h']}/{item['due_48h']}",
                    ""
                    if last_row is None
                    else " ".join(
                        (
                            _local(last_row["scheduled"], province),
                            last_row["entry_id"],
                            result_label(last_row["result"]),
                        )
                    ),
                )
            )
        )
        for error in item["errors"]:
            click.echo(f"  {item['station']}: {error}")


@dataclass(frozen=True)
class CampaignLine:
    campaign: str
    station: str
    expected: int
    played: int
    missed: int
    failed: int
    heard: int = 0
    """Aired rows the station's on-air monitor heard, whole or partly."""
    not_heard: int = 0
    """Aired rows the monitor did not hear at all (the amplifier off, a cable pulled)."""

    @property
    def unreported(self) -> int:
        return max(0, self.expected - self.played - self.missed - self.failed)


def _month_bounds(month: date, province: "Province") -> tuple[datetime, datetime]:
    first = datetime.combine(month, time(), tzinfo=province.zone)
    return first, datetime.combine(
        (first + timedelta(days=32)).replace(day=1), time(), tzinfo=province.zone
    )


def campaign_lines(
    store: "Store", province: "Province", start: datetime, end: datetime, only: str | None
) -> Iterator[CampaignLine]:
    from broadcaster.core.models import AIRED, Heard, Result
    from broadcaster.province.landing import campaign_of
    from broadcaster.province.operator import expected, reached
    from broadcaster.province.store import iso, target_from_key

    rows = list(store.asrun_rows(iso(start), iso(end)))
    for campaign in store.campaigns():
        if only is not None and campaign.id != only:
            continue
        versions = store.versions(campaign.id)
        stations = sorted({s for v in versions for s in v.stations})
        for station_id in stations:
            mine = [
                r
                for r in rows
                if r.station == station_id
                and (r.campaign or campaign_of(r.entry_id)) == campaign.id
            ]
            yield CampaignLine(
                campaign.id,
                station_id,
                expected(versions, campaign.cancelled, station_id, start, end, province.zone),
                sum(r.result in AIRED for r in mine),
                sum(r.result in (Result.MISSED, Result.SKIPPED_QUIET) for r in mine),
                sum(r.result in (Result.FAILED, Result.INTERRUPTED) for r in mine),
                sum(r.heard in (Heard.YES, Heard.PARTLY) for r in mine),
                sum(r.heard == Heard.NO for r in mine),
            )
    for emergency in store.emergencies():  # once at each station it reached
        sent = datetime.fromisoformat(emergency.sent)
        if (only is not None and emergency.id != only) or not start <= sent < end:
            continue
        targets = [target_from_key(key) for key in emergency.targets]
        for station_id in reached(province, targets):
            mine = [r for r in rows if r.station == station_id and r.campaign == emergency.id]
            yield CampaignLine(
                emergency.id,
                station_id,
                1,
                sum(r.result in AIRED for r in mine),
                sum(r.result in (Result.MISSED, Result.EXPIRED) for r in mine),
                sum(r.result in (Result.FAILED, Result.INTERRUPTED) for r in mine),
                sum(r.heard in (Heard.YES, Heard.PARTLY) for r in mine),
                sum(r.heard == Heard.NO for r in mine),
            )


@province.command(
    epilog=examples(
        "loa province report --month 2026-11",
        "loa province report --month 2026-11 --campaign tiem-chung --csv > bao-cao.csv",
    ),
    help=N_(
        "Per station and campaign in a month: expected, played, missed, failed and not "
        "reported; and which stations aired each campaign, how often."
    ),
)
@option(
    "--month", type=Month(), metavar=N_("YYYY-MM"), help=N_("e.g. 2026-11 (default: this month).")
)
@option("--campaign", metavar="ID", help=N_("Only this campaign."))
@option("--csv", "as_csv", is_flag=True, help=N_("CSV for a spreadsheet (UTF-8 with BOM)."))
@click.pass_obj
def report(
    session: ProvinceSession, month: date | None, campaign: str | None, as_csv: bool
) -> None:
    from broadcaster.province.directory import UnknownTargetError

    province, store = _refreshed_store(session)
    with store:
        if campaign is not None and store.campaign(campaign) is None:
            raise UnknownTargetError(
                _("No campaign '{id}' was sent. Campaigns: {known}.").format(
                    id=campaign, known=", ".join(c.id for c in store.campaigns()) or "—"
                )
            )
        month = month or datetime.now(province.zone).date().replace(day=1)
        start, end = _month_bounds(month, province)
        lines = [
            line
            for line in campaign_lines(store, province, start, end, campaign)
            if line.expected or line.played or line.missed or line.failed
        ]
    headers = (
        _("Campaign"),
        _("Station"),
        _("Expected"),
        _("Played"),
        _("Missed"),
        _("Failed"),
        _("Not reported"),
        _("Heard"),
        _("Not heard"),
    )
    if as_csv:
        _write_csv(
            sys.stdout,
            headers,
            [
                (
                    x.campaign,
                    x.station,
                    x.expected,
                    x.played,
                    x.missed,
                    x.failed,
                    x.unreported,
                    x.heard,
                    x.not_heard,
                )
                for x in lines
            ],
        )
        return
    click.echo(_("Province campaigns in {month}:").format(month=f"{start:%m/%Y}"))
    if not lines:
        click.echo(_("No campaign was due or aired in this month."))
        return
    widths = (24, 22, 8, 8, 8, 8, 12, 8, 10)

    def row(cells: tuple[Any, ...]) -> str:
        texts = [fit_cell(str(cells[0]), widths[0]), fit_cell(str(cells[1]), widths[1])]
        texts += [str(c).rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return " ".join(texts).rstrip()

    click.echo(row(tuple(h.upper() for h in headers)))
    for x in lines:
        cells = (x.campaign, x.station, x.expected, x.played, x.missed, x.failed, x.unreported)
        click.echo(row((*cells, x.heard, x.not_heard)))
    click.echo("")
    for campaign_id in dict.fromkeys(x.campaign for x in lines):
        mine = [x for x in lines if x.campaign == campaign_id]
        aired = [x for x in mine if x.played]
        click.echo(
            _("{id}: aired {times} times by {aired} of {stations} stations{who}").format(
                id=campaign_id,
                times=sum(x.played for x in mine),
                aired=len(aired),
                stations=len(mine),
                who=(": " + ", ".join(f"{x.station} ({x.played})" for x in aired)) if aired else "",
            )
        )


@province.command(
    name="log",
    epilog=examples(
        "loa province log", "loa province log --station xa-an-binh --month 2026-11 --csv > log.csv"
    ),
    help=N_("The as-run rows the stations reported, in a month (default: this month)."),
)
@option("--month", type=Month(), metavar=N_("YYYY-MM"), help=N_("e.g. 2026-11."))
@option("--station", "station_id", metavar="ID", help=N_("Only this station."))
@option("--csv", "as_csv", is_flag=True, help=N_("CSV for a spreadsheet (UTF-8 with BOM)."))
@click.pass_obj
def log_(
    session: ProvinceSession, month: date | None, station_id: str | None, as_csv: bool
) -> None:
    from broadcaster.onair.asrun import heard_label, result_label
    from broadcaster.province.store import iso

    province, store = _refreshed_store(session)
    month = month or datetime.now(province.zone).date().replace(day=1)
    start, end = _month_bounds(month, province)
    with store:
        rows: list[AsRunRow] = list(store.asrun_rows(iso(start), iso(end), station_id))
    if as_csv:
        headers = (
            _("Time"),
            _("Station"),
            _("Entry"),
            _("Campaign"),
            _("Announcement"),
            _("Priority"),
            _("Result"),
            _("Started"),
            _("Ended"),
            _("Error"),
            _("Heard"),
        )
        _write_csv(
            sys.stdout,
            headers,
            [
                (
                    _local(r.scheduled, province, "%d/%m/%Y %H:%M"),
                    r.station,
                    r.entry_id,
                    r.campaign or "",
                    r.announcement,
                    r.priority,
                    result_label(r.result),
                    _local(r.started, province, "%d/%m/%Y %H:%M:%S"),
                    _local(r.ended, province, "%d/%m/%Y %H:%M:%S"),
                    r.error,
                    heard_label(r.heard),
                )
                for r in rows
            ],
        )
        return
    if not rows:
        click.echo(_("No as-run rows for this month."))
        return
    widths = (12, 22, 26, 20)
    for r in rows:
        cells = (_local(r.scheduled, province), r.station, r.entry_id, result_label(r.result))
        text = " ".join(fit_cell(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()
        heard = f"[{heard_label(r.heard)}]" if r.heard else ""
        tail = " ".join(part for part in (heard, r.error) if part)
        click.echo(f"{text} {tail}".rstrip())


def _write_csv(out: TextIO, headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """UTF-8 with a BOM, so that Excel shows the diacritics."""
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    out.flush()
