"""The systemd unit and the Windows recipe as text, and the unit as systemd itself reads it."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from broadcaster.errors import ServiceError
from broadcaster.system.service_unit import (
    Service,
    exec_word,
    path_word,
    service_name,
    slugify,
    systemctl_commands,
    systemd_unit,
    windows_recipe,
    windows_script,
)

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed"
)


def service(station: Path, system: bool = True, user: str | None = "loa") -> Service:
    return Service(
        name=service_name(station),
        station_dir=station,
        python=Path(sys.executable).absolute(),
        description="Loa: Đài truyền thanh xã An Bình",
        system=system,
        user=user if system else None,
    )


def settings(unit: str) -> dict[str, list[str]]:
    """Key → values, as systemd would read them (comments and sections left out)."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def verify(unit_file: Path, tmp_path: Path, user: bool = False) -> str:
    """What `systemd-analyze verify` says about the unit: nothing when all is well (it exits 0
    even on unknown keys, so its words are what counts)."""
    assert SYSTEMD_ANALYZE is not None
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    done = subprocess.run(
        [SYSTEMD_ANALYZE, *(["--user"] if user else []), "verify", str(unit_file)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return (done.stdout + done.stderr).strip()


def test_names_are_ascii_from_the_station_folder() -> None:
    assert slugify("Xã Đông Hòa (ví dụ)") == "xa-dong-hoa-vi-du"
    assert service_name(Path("/srv/loa/Xã An Bình")) == "loa-xa-an-binh"
    assert service_name(Path("/srv/x"), "loa-phuong-3") == "loa-phuong-3"
    assert service_name(Path("/srv/đài"), "!!!") == "loa-station"


def test_the_system_unit_restarts_starts_at_boot_and_logs_to_the_journal(tmp_path: Path) -> None:
    unit = systemd_unit(service(tmp_path / "station"))
    found = settings(unit)
    assert found["Restart"] == ["on-failure"] and found["RestartSec"] == ["5"]
    assert found["WantedBy"] == ["multi-user.target"]
    assert found["After"] == ["sound.target network-online.target"]
    assert found["Wants"] == ["network-online.target"]
    assert found["User"] == ["loa"] and found["SupplementaryGroups"] == ["audio"]
    assert found["WorkingDirectory"] == [str(tmp_path / "station")]
    assert found["ExecStart"] == [
        f"{Path(sys.executable).absolute()} -m broadcaster --station {tmp_path / 'station'} run"
    ]
    assert found["Environment"] == ["PYTHONUNBUFFERED=1"]
    assert found["StandardOutput"] == ["journal"]
    assert unit.startswith("# ") and unit.endswith("\n")


def test_a_user_unit_has_no_user_and_starts_with_the_login(tmp_path: Path) -> None:
    found = settings(systemd_unit(service(tmp_path, system=False)))
    assert "User" not in found and "SupplementaryGroups" not in found
    assert "After" not in found, "system targets do not exist in a user's systemd"
    assert found["WantedBy"] == ["default.target"]


def test_exec_words_are_quoted_and_escaped_for_systemd() -> None:
    assert exec_word("/srv/loa/xa") == "/srv/loa/xa"
    assert exec_word("/srv/Đài xã") == '"/srv/Đài xã"'
    assert exec_word("/srv/100%") == "/srv/100%%"
    assert exec_word("/srv/$HOME") == "/srv/$$HOME"
    assert exec_word('/srv/a "b"\\c') == '"/srv/a \\"b\\"\\\\c"'


@pytest.mark.parametrize(
    "field",
    [
        {"description": "Loa: xã\nExecStartPre=+/bin/sh -c id"},
        {"description": "Loa: xã\r[Service]"},
        {"description": "Loa\u2028xã"},
        {"station_dir": Path("/srv/loa/xa\nExecStartPre=+/bin/sh -c id")},
        {"python": Path("/opt/venv\x00/bin/python")},
    ],
)
def test_control_characters_never_reach_the_unit(
    tmp_path: Path, field: dict[str, object], english: None
) -> None:
    injected = dataclasses.replace(service(tmp_path), **field)  # type: ignore[arg-type]
    with pytest.raises(ServiceError, match="control character"):
        systemd_unit(injected)
    with (
        pytest.raises(ServiceError, match="control character")
        if "description" not in field
        else (nullcontext())
    ):
        windows_script(injected)


def test_a_system_unit_never_runs_as_root(tmp_path: Path, english: None) -> None:
    for user in ("root", None):
        with pytest.raises(ServiceError, match="must not run as root") as refused:
            systemd_unit(service(tmp_path, user=user))
        assert "useradd --system --home-dir" in refused.value.message
    assert "User=" not in systemd_unit(service(tmp_path, system=False))


def test_the_system_unit_is_sandboxed_but_reaches_the_sound_card(tmp_path: Path) -> None:
    station = tmp_path / "Đài xã"
    found = settings(systemd_unit(service(station)))
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
        "UMask": "0027",
        "DeviceAllow": "char-alsa rw",
    }.items():
        assert found[key] == [value], key
    assert found["ReadWritePaths"] == [f'"{station}"']
    assert found["ProtectHome"] == ["yes"]
    assert "PrivateDevices" not in found and "RestrictRealtime" not in found
    assert "MemoryDenyWriteExecute" not in found, "cffi callbacks (miniaudio) need it"
    under_home = settings(systemd_unit(service(Path("/home/an/loa"))))
    assert under_home["ProtectHome"] == ["read-only"], "the station must stay reachable"
    assert under_home["ReadWritePaths"] == ["/home/an/loa"]


def test_paths_are_quoted_for_list_settings() -> None:
    assert path_word(Path("/srv/loa/xa")) == "/srv/loa/xa"
    assert path_word(Path("/srv/Đài xã 100%")) == '"/srv/Đài xã 100%%"'
    assert path_word(Path('/srv/a "b"\\c')) == '"/srv/a \\"b\\"\\\\c"'


@needs_systemd_analyze
def test_systemd_scores_the_sandbox_as_safe(tmp_path: Path) -> None:
    unit_file = tmp_path / "loa-test.service"
    unit_file.write_text(systemd_unit(service(tmp_path)), encoding="utf-8")
    assert SYSTEMD_ANALYZE is not None
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", str(unit_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if "--offline" in done.stderr:
        pytest.skip("this systemd-analyze cannot score a unit file offline")
    exposure = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert exposure is not None, done.stdout + done.stderr
    assert float(exposure.group(1)) <= 2.0, done.stdout  # 9.2 without the sandbox


def test_the_commands_to_type_when_systemctl_failed(tmp_path: Path) -> None:
    assert systemctl_commands(service(tmp_path), True, sudo=True) == [
        "sudo systemctl daemon-reload",
        "sudo systemctl enable --now loa-" + slugify(tmp_path.name) + ".service",
    ]
    assert systemctl_commands(service(tmp_path, system=False), False, sudo=True)[0].startswith(
        "systemctl --user disable --now "
    )


@needs_systemd_analyze
@pytest.mark.parametrize("folder", ["station", 'Đài xã 100% $HOME "q"'])
def test_systemd_accepts_the_system_unit(tmp_path: Path, folder: str) -> None:
    station = tmp_path / folder
    station.mkdir()
    # verify does not look the user up (it only warns about root and nobody)
    unit = systemd_unit(service(station))
    unit_file = tmp_path / "loa-test.service"
    unit_file.write_text(unit, encoding="utf-8")
    assert verify(unit_file, tmp_path) == ""


@needs_systemd_analyze
def test_systemd_accepts_the_user_unit(tmp_path: Path) -> None:
    unit_file = tmp_path / "loa-test.service"
    unit_file.write_text(systemd_unit(service(tmp_path, system=False)), encoding="utf-8")
    assert verify(unit_file, tmp_path, user=True) == ""


@needs_systemd_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above means something: verify complains about what systemd would refuse."""
    unit = systemd_unit(service(tmp_path))
    unit_file = tmp_path / "loa-test.service"
    unit_file.write_text(unit.replace("Restart=", "Restrat="), encoding="utf-8")
    assert "Unknown key" in verify(unit_file, tmp_path)
    missing = unit.replace(str(Path(sys.executable).absolute()), "/no/such/python")
    unit_file.write_text(missing, encoding="utf-8")
    done = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(unit_file)], capture_output=True, check=False
    )
    assert done.returncode != 0


def test_the_windows_script_restarts_loa_and_keeps_percent_signs() -> None:
    station = Path("C:/loa/xa 100%")
    script = windows_script(service(station))
    assert "\r\n" in script and "\n" not in script.replace("\r\n", "")
    lines = script.split("\r\n")
    assert lines[:2] == ["@echo off", "chcp 65001 >nul"]
    assert ":again" in lines and lines[-2] == "goto again"
    assert any(line.startswith("timeout /t 5 ") for line in lines)
    assert any('-m broadcaster --station "C:/loa/xa 100%%" run' in line for line in lines)


def test_the_windows_recipe_gives_task_scheduler_and_nssm_commands(english: None) -> None:
    station = Path("C:/loa/xa")
    recipe = windows_recipe(service(station), station / "loa-service.cmd")
    assert 'schtasks /Create /F /TN "loa-xa" /SC ONLOGON' in recipe
    assert "ExecutionTimeLimit ([TimeSpan]::Zero)" in recipe
    assert 'schtasks /Run /TN "loa-xa"' in recipe
    assert "nssm install loa-xa" in recipe and "AppRestartDelay 5000" in recipe
    assert str(station / "logs" / "loa.log") in recipe
    assert all(len(line) <= 80 for line in recipe.splitlines() if not line.startswith("   "))
