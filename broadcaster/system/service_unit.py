"""Running `loa run` as a service: the systemd unit, the Windows recipe, and who runs it.

Pure text and look-ups: `loa service install` (cli/service_commands) writes, enables and words it.
"""

import os
import re
import shlex
import textwrap
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broadcaster.errors import ServiceError
from broadcaster.i18n import _
from broadcaster.station.recordings import slugify

UNIT_PREFIX = "loa-"
DEDICATED_USER = "loa"
"""The account the service runs as when the PC has it (`useradd --system loa`)."""
AUDIO_GROUP = "audio"
"""Members may open the sound card directly (ALSA), which a service without a desktop needs."""
ROOT = "root"
RESTART_SEC = 5
HOME_DIRS = (Path("/home"), Path("/root"), Path("/run/user"))
"""What ProtectHome= hides."""
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
USER_UNIT_DIR = Path(".config") / "systemd" / "user"
"""Under the home folder."""
WINDOWS_SCRIPT = "loa-service.cmd"
LOG_FILE = Path("logs") / "loa.log"
"""Where `loa run` keeps its rotating log, in the station directory (daemon_commands)."""
SCHTASKS_MAX_COMMAND = 261


@dataclass(frozen=True)
class Service:
    """`loa run` for one station, as a service."""

    name: str
    """Unit or task name: `loa-` and the station folder's name in ASCII."""
    station_dir: Path
    """Absolute."""
    python: Path
    """The Python that runs Loa now (a virtualenv's, not resolved to the system's)."""
    description: str
    system: bool = True
    """A unit of the PC's systemd, started at boot; else of the user's own systemd."""
    user: str | None = None
    """The account a system unit runs as."""
    audio_group: bool = True
    """Whether to give the service the `audio` group (the PC has one)."""

    @property
    def unit_file(self) -> str:
        return f"{self.name}.service"

    def command(self) -> list[str]:
        """`python -m broadcaster --station DIR run`: no need for `loa` on the PATH."""
        return [str(self.python), "-m", "broadcaster", "--station", str(self.station_dir), "run"]


def service_name(station_dir: Path, name: str | None = None) -> str:
    """`loa-` and a name systemd and Windows both take: the folder's name without diacritics."""
    base = slugify(name or station_dir.name) or "station"
    return base if base.startswith(UNIT_PREFIX) else UNIT_PREFIX + base


def unit_dir(system: bool, home: Path) -> Path:
    return SYSTEM_UNIT_DIR if system else home / USER_UNIT_DIR


def _escape_specifiers(text: str) -> str:
    return text.replace("%", "%%")


def refuse_control_characters(what: str, text: str) -> str:
    """`text` unchanged, or ServiceError when it holds a control character: a line break in a
    unit file starts a new setting (`ExecStartPre=+…` would run as root), in a batch file a new
    command."""
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ServiceError(
            _(
                "{what} contains a control character ({code}), which would change the service "
                "file: {text}. Remove it and install again."
            ).format(what=what, code=f"U+{ord(bad):04X}", text=repr(text))
        )
    return text


def exec_word(word: str) -> str:
    """One word of ExecStart=: specifiers and variables escaped, quoted when it has blanks,
    quotes or backslashes (systemd unquotes C-style)."""
    escaped = _escape_specifiers(word).replace("$", "$$")
    if word and not re.search(r"[\s\"'\\;]", word):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def path_word(path: Path) -> str:
    """A path in a space-separated list setting (ReadWritePaths=): specifiers escaped, quoted
    C-style when it has blanks, quotes or backslashes."""
    escaped = _escape_specifiers(str(path))
    if not re.search(r"[\s\"'\\]", escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _under_home(path: Path) -> bool:
    return any(path.is_relative_to(home) for home in HOME_DIRS)


def hardening(service: Service) -> list[str]:
    """The sandbox of a system unit: the station folder is all it may write; the sound card
    stays reachable (no PrivateDevices, realtime scheduling allowed), and nothing else of the
    PC is. `systemd-analyze security` scores the result."""
    home = _under_home(service.station_dir) or _under_home(service.python)
    return [
        "UMask=0027",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "ProtectSystem=strict",
        # a station or a virtualenv under /home must stay readable; the station stays writable
        f"ProtectHome={'read-only' if home else 'yes'}",
        f"ReadWritePaths={path_word(service.station_dir)}",
        "PrivateTmp=yes",
        "PrivateMounts=yes",
        "DevicePolicy=closed",
        "DeviceAllow=char-alsa rw",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "RestrictSUIDSGID=yes",
        "RestrictNamespaces=yes",
        "LockPersonality=yes",
        "RemoveIPC=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged",
        "SystemCallErrorNumber=EPERM",
    ]


def systemd_unit(service: Service) -> str:
    """The unit file: starts at boot (or at the user's login), after the sound cards and the
    network, restarted 5 s after a failure, its output in the journal. A system unit never runs
    as root and is sandboxed; every text in it is checked, so that no station name or folder can
    add a line of its own."""
    refuse_control_characters(_("The station's name (name: in station.yaml)"), service.description)
    refuse_control_characters(_("The station folder"), str(service.station_dir))
    refuse_control_characters(_("The path of Python"), str(service.python))
    if service.system and (service.user is None or is_root(service.user)):
        raise ServiceError(
            _(
                "The service must not run as root. Create the user '{user}' for it and give it "
                "the station folder, then install again: {command}"
            ).format(user=DEDICATED_USER, command=create_user_command(service.station_dir))
        )
    directory = _escape_specifiers(str(service.station_dir))
    header = _(
        "Loa: the station in {folder} on the air.\n"
        'Written by "loa service install"; remove it with "loa service remove".'
    ).format(folder=service.station_dir)
    description = _escape_specifiers(service.description).strip().rstrip("\\")
    lines = [
        *(f"# {line}" for line in header.splitlines()),
        "[Unit]",
        f"Description={description}",
    ]
    if service.system:
        lines += ["After=sound.target network-online.target", "Wants=network-online.target"]
    lines += ["", "[Service]", "Type=simple"]
    if service.system and service.user is not None:
        lines.append(f"User={service.user}")
        if service.audio_group:
            lines.append(f"SupplementaryGroups={AUDIO_GROUP}")
    lines += [
        f"WorkingDirectory={directory}",
        "ExecStart=" + " ".join(exec_word(word) for word in service.command()),
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        f"RestartSec={RESTART_SEC}",
        "StandardOutput=journal",
        "StandardError=journal",
        *(hardening(service) if service.system else []),
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if service.system else 'default.target'}",
        "",
    ]
    return "\n".join(lines)


def create_user_command(station_dir: Path) -> str:
    """What makes the dedicated account: a system user without a login, at home in the station,
    in the audio group, owning the station folder."""
    folder = shlex.quote(str(station_dir))
    return (
        f"sudo useradd --system --home-dir {folder} --shell /usr/sbin/nologin --groups "
        f"{AUDIO_GROUP} {DEDICATED_USER} && sudo chown -R {DEDICATED_USER}: {folder}"
    )


def journal_command(service: Service) -> str:
    scope = "" if service.system else "--user "
    return f"journalctl {scope}-u {service.name} -f"


def systemctl_commands(service: Service, install: bool, sudo: bool) -> list[str]:
    """What `loa service install|remove` runs, as an officer would type it."""
    prefix = "sudo " if sudo and service.system else ""
    scope = "" if service.system else "--user "
    if install:
        actions = ["daemon-reload", f"enable --now {service.unit_file}"]
    else:
        actions = [f"disable --now {service.unit_file}", "daemon-reload"]
    return [f"{prefix}systemctl {scope}{action}" for action in actions]


# Windows ---------------------------------------------------------------------------------------


def _cmd_quote(text: str) -> str:
    return f'"{text}"'


def windows_script(service: Service) -> str:
    """The batch file the Windows task runs: Loa, and Loa again 5 s after it stops (Task
    Scheduler itself restarts a task only when it cannot start it, not when it fails later)."""
    refuse_control_characters(_("The station folder"), str(service.station_dir))
    refuse_control_characters(_("The path of Python"), str(service.python))
    folder = str(service.station_dir).replace("%", "%%")
    python = str(service.python).replace("%", "%%")
    comment = _("Written by loa service install: runs Loa, and again 5 s after it stops.")
    lines = [
        "@echo off",
        "chcp 65001 >nul",
        f"rem {comment}",
        f"cd /d {_cmd_quote(folder)}",
        ":again",
        f"{_cmd_quote(python)} -m broadcaster --station {_cmd_quote(folder)} run",
        f"timeout /t {RESTART_SEC} /nobreak >nul",
        "goto again",
        "",
    ]
    return "\r\n".join(lines)


def _paragraph(text: str, indent: str = "") -> str:
    """Prose wrapped for an 80-column Command Prompt; commands are left whole."""
    return textwrap.fill(text, 78, initial_indent=indent, subsequent_indent=indent)


def windows_recipe(service: Service, script: Path) -> str:
    """What to type on Windows: a Task Scheduler task at log on running `script`, or NSSM."""
    name, folder = service.name, service.station_dir
    log = folder / LOG_FILE
    task = f'schtasks /Create /F /TN "{name}" /SC ONLOGON /RU "%USERNAME%" /IT /TR "\\"{script}\\""'
    settings = (
        f"powershell -NoProfile -Command \"Set-ScheduledTask -TaskName '{name}' -Settings "
        "(New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) "
        '-AllowStartIfOnBatteries -DontStopIfGoingOnBatteries)"'
    )
    service_log = folder / "logs" / "service.log"
    nssm = [
        f"nssm install {name} {_cmd_quote(str(service.python))} -m broadcaster --station "
        f"{_cmd_quote(str(folder))} run",
        f"nssm set {name} AppDirectory {_cmd_quote(str(folder))}",
        f"nssm set {name} AppExit Default Restart",
        f"nssm set {name} AppRestartDelay {RESTART_SEC * 1000}",
        f"nssm set {name} AppStdout {_cmd_quote(str(service_log))}",
        f"nssm set {name} AppStderr {_cmd_quote(str(service_log))}",
        f"nssm start {name}",
    ]
    parts = [
        _paragraph(
            _(
                "On Windows, Loa runs as a task of Task Scheduler when you log on (nothing to "
                "install), or as a Windows service with NSSM."
            )
        ),
        "",
        _paragraph(
            _(
                "1. Task Scheduler: {script} runs Loa and starts it again 5 s after it stops. In "
                "a Command Prompt opened as administrator, type:"
            ).format(script=script)
        ),
        f"   {task}",
        f"   {settings}",
        f'   schtasks /Run /TN "{name}"',
        _paragraph(
            _(
                "The second line lets Loa run for more than 3 days and on battery. So that Loa "
                "comes back after a power cut, let Windows log on by itself (netplwiz: untick "
                '"Users must enter a user name and password") and set the BIOS to power on '
                "when the power returns."
            ),
            "   ",
        ),
    ]
    if len(str(script)) + 2 > SCHTASKS_MAX_COMMAND:
        parts.append(
            _paragraph(
                _(
                    "The path is too long for schtasks: move the station folder to a shorter "
                    "one, such as C:\\loa."
                ),
                "   ",
            )
        )
    parts += [
        "",
        _paragraph(
            _(
                "2. Or NSSM (https://nssm.cc), to run Loa as a service from power-on, without "
                "anyone logging on, restarted 5 s after a failure. Put nssm.exe in C:\\Windows, "
                "then in a Command Prompt opened as administrator, type:"
            )
        ),
        *(f"   {line}" for line in nssm),
        "",
        _("Loa's messages: {log}").format(log=log),
        "",
    ]
    return "\n".join(parts)


def windows_removal(service: Service) -> str:
    name = service.name
    return "\n".join(
        [
            _("On Windows, in a Command Prompt opened as administrator, type:"),
            f'   schtasks /Delete /F /TN "{name}"',
            _("or, for the NSSM service:"),
            f"   nssm stop {name}",
            f"   nssm remove {name} confirm",
            "",
        ]
    )


# Who runs the service --------------------------------------------------------------------------


def user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def invoking_user(environ: Mapping[str, str]) -> str:
    """Who typed the command: the officer behind sudo, else the account running it."""
    import pwd

    behind_sudo = environ.get("SUDO_USER")
    if behind_sudo and behind_sudo != "root":
        return behind_sudo
    return pwd.getpwuid(os.geteuid()).pw_name


def group_exists(group: str) -> bool:
    import grp

    try:
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


def in_group(user: str, group: str) -> bool:
    import grp
    import pwd

    try:
        entry = grp.getgrnam(group)
        account = pwd.getpwnam(user)
    except KeyError:
        return False
    return user in entry.gr_mem or account.pw_gid == entry.gr_gid


def is_root(user: str) -> bool:
    """`root`, or another name for it (uid 0)."""
    import pwd

    try:
        return user == ROOT or pwd.getpwnam(user).pw_uid == 0
    except KeyError:
        return False


def owner_of(path: Path) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return None
