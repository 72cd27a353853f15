"""`loa service install|remove`: `loa run` as a service of the PC (systemd; a recipe on Windows)."""

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from broadcaster.cli.lazy import N_, examples, group, option
from broadcaster.cli.session import Session
from broadcaster.core.settings import Station
from broadcaster.errors import (
    ServiceError,
    describe_os_error,
)
from broadcaster.files import write_atomically
from broadcaster.i18n import _
from broadcaster.system.service_unit import (
    AUDIO_GROUP,
    DEDICATED_USER,
    LOG_FILE,
    RESTART_SEC,
    WINDOWS_SCRIPT,
    Service,
    group_exists,
    in_group,
    invoking_user,
    journal_command,
    owner_of,
    service_name,
    systemctl_commands,
    systemd_unit,
    unit_dir,
    user_exists,
    windows_recipe,
    windows_removal,
    windows_script,
)

SYSTEMCTL_TIMEOUT_S = 90


@group(
    help=N_(
        "Run the station as a service: on the air from power-on, restarted after a failure "
        "(systemd on Linux; Task Scheduler or NSSM on Windows)."
    ),
    epilog=examples(
        "sudo .venv/bin/loa service install",
        "loa service install --print",
        "sudo .venv/bin/loa service remove",
    ),
)
def service() -> None:
    pass


name_option = option(
    "--name",
    metavar=N_("NAME"),
    help=N_("Name of the service after 'loa-' (default: the station folder's name)."),
)
system_option = option(
    "--system/--user-unit",
    default=True,
    help=N_(
        "A service of the PC, started at boot (default), or of your own account, started "
        "when you log in (for a PC where the desktop holds the sound card)."
    ),
)
windows_option = option(
    "--windows", is_flag=True, help=N_("Show the Windows recipe (the default on Windows).")
)
unit_dir_option = option(
    "--unit-dir", "unit_folder", type=click.Path(path_type=Path, file_okay=False), hidden=True
)
systemctl_option = option("--systemctl", default="systemctl", hidden=True)


@service.command(
    help=N_(
        "Install and start the service that runs 'loa run' for this station: it starts at "
        "boot and restarts 5 s after a failure. Needs administrator rights (sudo). It runs "
        "as the user 'loa' when the PC has one, else as you (--user to choose); that user "
        "must be in the 'audio' group to use the sound card, which the service grants."
    ),
    epilog=examples(
        "sudo .venv/bin/loa service install",
        "sudo .venv/bin/loa --station /srv/loa/xa-an-binh service install --user loa",
        "loa service install --print",
        "loa service install --windows",
    ),
)
@option("--user", "account", metavar=N_("NAME"), help=N_("The account the service runs as."))
@name_option
@option("--print", "show", is_flag=True, help=N_("Only print the service file, write nothing."))
@system_option
@windows_option
@unit_dir_option
@systemctl_option
@click.pass_obj
def install(
    session: Session,
    account: str | None,
    name: str | None,
    show: bool,
    system: bool,
    windows: bool,
    unit_folder: Path | None,
    systemctl: str,
) -> None:
    station = session.station()
    service = _service(station, name, system)
    if windows or _on_windows():
        _windows_install(service, show)
        return
    if account is not None and not system:
        raise click.UsageError(_("--user goes with system services: a user unit runs as you."))
    if system:
        service = _with_user(service, account)
    text = systemd_unit(service)
    if show:
        click.echo(text, nl=False)
        return
    folder = _unit_folder(service, unit_folder, "install", account, name)
    path = folder / service.unit_file
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))
        path.chmod(0o644)
    except OSError as error:
        raise ServiceError(
            _("Cannot write {file}: {reason}.").format(file=path, reason=describe_os_error(error))
        ) from error
    click.echo(_("Wrote {file}.").format(file=path))
    _explain_user(service, account)
    _systemctl(systemctl, service, install=True)
    status = f"systemctl {'' if system else '--user '}status {service.name}"
    if system:
        started = _(
            "The service {service} is running: it starts at boot and restarts {seconds} s "
            "after a failure. Check it with: {status}"
        )
    else:
        started = _(
            "The service {service} is running: it starts when you log in and restarts "
            "{seconds} s after a failure. Check it with: {status}"
        )
    click.echo(started.format(service=service.name, seconds=RESTART_SEC, status=status))
    if not system:
        click.echo(
            _(
                "To start it at boot without anyone logging in, run once: sudo loginctl "
                "enable-linger {user}"
            ).format(user=invoking_user(os.environ))
        )
    _explain_logs(service)


@service.command(
    help=N_("Stop and remove the service that 'loa service install' made for this station."),
    epilog=examples("sudo .venv/bin/loa service remove", "loa service remove --windows"),
)
@name_option
@system_option
@windows_option
@unit_dir_option
@systemctl_option
@click.pass_obj
def remove(
    session: Session,
    name: str | None,
    system: bool,
    windows: bool,
    unit_folder: Path | None,
    systemctl: str,
) -> None:
    station = session.station()
    service = _service(station, name, system)
    if windows or _on_windows():
        click.echo(windows_removal(service), nl=False)
        script = service.station_dir / WINDOWS_SCRIPT
        if _on_windows() and script.exists():
            script.unlink()
            click.echo(_("Removed {file}.").format(file=script))
        return
    folder = _unit_folder(service, unit_folder, "remove", None, name)
    path = folder / service.unit_file
    if not path.exists():
        click.echo(
            _("No service {service} is installed ({file} does not exist).").format(
                service=service.name, file=path
            )
        )
        return
    stopped = _run(systemctl, service, [f"disable --now {service.unit_file}"])
    try:
        path.unlink()
    except OSError as error:
        raise ServiceError(
            _("Cannot remove {file}: {reason}.").format(file=path, reason=describe_os_error(error))
        ) from error
    click.echo(_("Removed {file}: Loa no longer starts at boot.").format(file=path))
    failure = stopped or _run(systemctl, service, ["daemon-reload"])
    if failure:
        raise ServiceError(
            _("systemctl failed ({reason}): to finish, run: {commands}").format(
                reason=failure,
                commands=" && ".join(systemctl_commands(service, False, _needs_sudo())),
            )
        )


def _on_windows() -> bool:
    return os.name == "nt"


def _needs_sudo() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() != 0


def _service(station: Station, name: str | None, system: bool) -> Service:
    directory = station.directory.resolve()
    return Service(
        name=service_name(directory, name),
        station_dir=directory,
        python=Path(sys.executable).absolute(),  # not resolved: a virtualenv's python stays
        description=f"Loa: {station.name or directory.name}",
        system=system,
    )


def _with_user(service: Service, account: str | None) -> Service:
    if account is not None and not user_exists(account):
        raise click.BadParameter(
            _(
                "there is no user '{user}' on this PC (create it with: sudo useradd --system "
                "--groups audio {user})."
            ).format(user=account),
            param_hint="'--user'",
        )
    user = account or (DEDICATED_USER if user_exists(DEDICATED_USER) else invoking_user(os.environ))
    return Service(
        service.name,
        service.station_dir,
        service.python,
        service.description,
        service.system,
        user,
        group_exists(AUDIO_GROUP),
    )


def _unit_folder(
    service: Service, chosen: Path | None, action: str, account: str | None, name: str | None
) -> Path:
    """Where the unit goes; a system unit needs root, and the officer gets the exact command."""
    if chosen is not None:
        return chosen
    if service.system and _needs_sudo():
        command = [
            str(service.python),
            "-m",
            "broadcaster",
            "--station",
            str(service.station_dir),
            "service",
            action,
            *(["--user", account] if account else []),
            *(["--name", name] if name else []),
        ]
        raise ServiceError(
            _("Installing or removing a service needs administrator rights: run {command}").format(
                command="sudo " + shlex.join(command)
            )
        )
    return unit_dir(service.system, Path.home())


def _explain_user(service: Service, account: str | None) -> None:
    user = service.user
    if user is None:
        click.echo(_("The service runs as you, in your own systemd (systemctl --user)."))
        return
    if account is None and user != DEDICATED_USER:
        click.echo(
            _(
                "The service runs as {user}: this PC has no user '{dedicated}' for Loa. To use "
                "one, run: sudo useradd --system --groups audio --home-dir {folder} {dedicated} "
                "&& sudo chown -R {dedicated}: {folder}, then install again."
            ).format(user=user, dedicated=DEDICATED_USER, folder=service.station_dir)
        )
    else:
        click.echo(_("The service runs as {user}.").format(user=user))
    if user != invoking_user(os.environ):
        click.echo(
            _(
                "The running station answers its own user only: run loa status, loa stop and "
                "the like as {user}, e.g. {command}"
            ).format(
                user=user,
                command=f"sudo -u {user} {shlex.quote(str(service.python))} "
                f"-m broadcaster --station {shlex.quote(str(service.station_dir))} status",
            )
        )
    if service.audio_group:
        click.echo(
            _(
                "{user} must be in the 'audio' group to open the sound card (ALSA): the service "
                "grants it (SupplementaryGroups=audio)."
            ).format(user=user)
        )
        if not in_group(user, AUDIO_GROUP):
            click.echo(
                _("To play sound as {user} outside the service too, run: {command}").format(
                    user=user, command=f"sudo usermod -aG audio {user}"
                )
            )
    owner = owner_of(service.station_dir)
    if owner is not None and owner != user:
        click.echo(
            _(
                "The station folder belongs to {owner}, not {user}: Loa must write there (logs, "
                "cache). Run: {command}"
            ).format(
                owner=owner,
                user=user,
                command=f"sudo chown -R {user}: {shlex.quote(str(service.station_dir))}",
            )
        )


def _explain_logs(service: Service) -> None:
    click.echo(
        _("Its messages: {journal} (and {log}, rotated).").format(
            journal=journal_command(service), log=service.station_dir / LOG_FILE
        )
    )


def _run(systemctl: str, service: Service, actions: Sequence[str]) -> str | None:
    """Run `systemctl ACTION` for each action; the reason of the first failure, or None."""
    program = shutil.which(systemctl)
    if program is None:
        return _("{program} was not found").format(program=systemctl)
    scope = [] if service.system else ["--user"]
    for action in actions:
        try:
            done = subprocess.run(
                [program, *scope, *action.split()],
                capture_output=True,
                text=True,
                timeout=SYSTEMCTL_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            detail = lines[0] if lines else ""
            return f"systemctl {action}: {detail.rstrip('.') or done.returncode}"
    return None


def _systemctl(systemctl: str, service: Service, install: bool) -> None:
    actions = ["daemon-reload", f"enable --now {service.unit_file}"]
    failure = _run(systemctl, service, actions)
    if failure:
        raise ServiceError(
            _(
                "The service file is written, but systemctl failed ({reason}): to start the "
                "service, run: {commands}"
            ).format(
                reason=failure,
                commands=" && ".join(systemctl_commands(service, install, _needs_sudo())),
            )
        )


def _windows_install(service: Service, show: bool) -> None:
    script = service.station_dir / WINDOWS_SCRIPT
    content = windows_script(service)
    if show or not _on_windows():
        click.echo(_("Save this as {file}:").format(file=script))
        click.echo(content.replace("\r\n", "\n"))
    else:
        try:
            write_atomically(script, content.encode("utf-8"))
        except OSError as error:
            raise ServiceError(
                _("Cannot write {file}: {reason}.").format(
                    file=script, reason=describe_os_error(error)
                )
            ) from error
        click.echo(_("Wrote {file}.").format(file=script))
    click.echo(windows_recipe(service, script), nl=False)
