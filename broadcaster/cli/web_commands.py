"""`loa web` (the officers' console in a browser) and `loa user add|passwd|remove`, its
accounts. The web stack loads only when these commands run."""

import ipaddress
import sys
import time
from pathlib import Path

import click

from broadcaster.cli.lazy import N_, argument, command, examples, group, option
from broadcaster.cli.session import Session
from broadcaster.errors import LoaError
from broadcaster.i18n import _

DEFAULT_LISTEN = "127.0.0.1:8080"
ROLES = ("officer", "approver", "admin")


class WebError(LoaError):
    """`loa web` cannot start as asked (the address, the certificate)."""


@command(
    epilog=examples(
        "loa web",
        "loa web --listen 0.0.0.0:8080",
        "loa web --listen 0.0.0.0:8443 --cert loa.crt --key loa.key",
    ),
    help=N_(
        "Serve the officers' console in a browser (phone or PC): on the air now, the week, "
        "announcements, approvals, the emergency button, the log and reports."
    ),
)
@option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar=N_("ADDRESS:PORT"),
    help=N_("Where to listen; 0.0.0.0:8080 opens it to the office network."),
)
@option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar=N_("FILE"),
    help=N_("TLS certificate (PEM): serve HTTPS."),
)
@option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar=N_("FILE"),
    help=N_("The certificate's private key (PEM)."),
)
@click.pass_obj
def web(session: Session, listen: str, cert: Path | None, key: Path | None) -> None:
    started = time.monotonic()
    import uvicorn

    from broadcaster.web.app import create_app
    from broadcaster.web.auth import Accounts, give_back_large_blocks

    give_back_large_blocks()
    station = session.station()
    host, port = _address(listen)
    if (cert is None) != (key is None):
        raise WebError(_("HTTPS needs both --cert and --key."))
    app = create_app(station.directory, secure=cert is not None)
    scheme = "https" if cert else "http"
    shown = f"[{host}]" if ":" in host else host
    if not Accounts.for_station(station.directory).users():
        click.echo(_("No user yet: add one first with: loa user add NAME --role admin"), err=True)
    if not ipaddress.ip_address(host).is_loopback:
        click.echo(
            _(
                "The console is now open to the office network at {scheme}://THIS-PC:{port}/: "
                "anyone on the network can reach its login page."
            ).format(scheme=scheme, port=port),
            err=True,
        )
        if cert is None:
            click.echo(
                _("Passwords travel unencrypted over plain HTTP: give --cert and --key for HTTPS."),
                err=True,
            )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    config.load()
    click.echo(
        _(
            "The Loa console for {station}: {scheme}://{host}:{port}/ (ready in {ms} ms). "
            "Stop with Ctrl+C."
        ).format(
            station=station.name or station.directory,
            scheme=scheme,
            host=shown,
            port=port,
            ms=round((time.monotonic() - started) * 1000),
        ),
        err=True,
    )
    server.run()


def _address(listen: str) -> tuple[str, int]:
    host, _colon, port = listen.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError(port)
    except ValueError as error:
        raise WebError(
            _("'{listen}' is not an address and port such as 127.0.0.1:8080.").format(listen=listen)
        ) from error
    return host, number


@group(
    epilog=examples(
        "loa user add lan --role officer",
        "loa user passwd lan",
        "loa user remove lan",
    ),
    help=N_("The accounts of the web console (loa web)."),
)
def user() -> None:
    pass


@user.command(
    epilog=examples(
        "loa user add lan --role officer", "echo 'mật khẩu' | loa user add an --role approver"
    ),
    help=N_("Add the user NAME; the password is read from the keyboard (or standard input)."),
)
@argument("name", metavar=N_("NAME"))
@option("--role", type=click.Choice(ROLES), required=True, help=N_("officer, approver or admin."))
@click.pass_obj
def add(session: Session, name: str, role: str) -> None:
    from broadcaster.web.auth import Accounts, Role

    accounts = Accounts.for_station(session.station().directory)
    added = accounts.add_user(name, Role(role), _password())
    accounts.audit(None, "user-add", added.name, detail={"role": role, "by": "loa user add"})
    click.echo(_("Added the user '{name}' ({role}).").format(name=added.name, role=role))


@user.command(
    epilog=examples("loa user passwd lan"),
    help=N_("Set a new password for NAME; the user's sessions end."),
)
@argument("name", metavar=N_("NAME"))
@click.pass_obj
def passwd(session: Session, name: str) -> None:
    from broadcaster.web.auth import Accounts

    accounts = Accounts.for_station(session.station().directory)
    accounts.set_password(name, _password())
    accounts.audit(None, "user-passwd", name, detail={"by": "loa user passwd"})
    click.echo(_("New password for '{name}'.").format(name=name))


@user.command(
    epilog=examples("loa user remove lan"),
    help=N_("Remove the user NAME and end their sessions."),
)
@argument("name", metavar=N_("NAME"))
@click.pass_obj
def remove(session: Session, name: str) -> None:
    from broadcaster.web.auth import Accounts

    accounts = Accounts.for_station(session.station().directory)
    accounts.remove_user(name)
    accounts.audit(None, "user-remove", name, detail={"by": "loa user remove"})
    click.echo(_("Removed the user '{name}'.").format(name=name))


def _password() -> str:
    """Twice from the keyboard, or one line of standard input (scripts)."""
    if sys.stdin.isatty():
        first = click.prompt(_("Password"), hide_input=True, err=True)
        again = click.prompt(_("Password again"), hide_input=True, err=True)
        if first != again:
            raise WebError(_("The two passwords differ."))
        return str(first)
    return sys.stdin.readline().rstrip("\r\n")
