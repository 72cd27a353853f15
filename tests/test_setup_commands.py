"""`loa voices`, `loa completion` and `loa service`, in Vietnamese and English, through cli.main;
the service installer against a folder of the test's own and a systemctl that only takes notes,
so the real /etc and the real systemd are never touched."""

import os
import shutil
import stat
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from broadcaster.cli import service_commands, voices_commands
from broadcaster.errors import ExitCode
from broadcaster.onair.daemon import Daemon
from broadcaster.system.voice_list import parse_espeak_voices
from tests.conftest import CLOSED_EDGE_ENDPOINT, ROOT, RunLoa
from tests.doubles import FakeClock, FastSink
from tests.pulse_rig import PulseRig
from tests.schedule_station import run
from tests.signals import read_wav, window_levels_dbfs

ESPEAK_LISTING = """\
Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  vi              --/M      Vietnamese_(Northern) aav/vi
 5  vi-vn-x-central --/M      Vietnamese_(Central) aav/vi-VN-x-central
 5  vi-vn-x-south   --/M      Vietnamese_(Southern) aav/vi-VN-x-south
"""


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The online voices fail at once, as on a PC without the Internet."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)


@pytest.fixture
def systemctl(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for systemctl that writes down its arguments: (program, notes)."""
    notes = tmp_path / "systemctl.log"
    program = tmp_path / "bin" / "systemctl"
    program.parent.mkdir()
    program.write_text(f'#!/bin/sh\necho "$@" >> {notes}\n')
    program.chmod(0o755)
    return program, notes


def install(
    capsys: pytest.CaptureFixture[str],
    station: Path,
    units: Path,
    program: Path | str,
    *extra: str,
    language: str = "en",
) -> tuple[int, str, str]:
    return run(
        capsys,
        station,
        "service",
        "install",
        "--unit-dir",
        str(units),
        "--systemctl",
        str(program),
        *extra,
        language=language,
    )


# loa voices -------------------------------------------------------------------------------------


def test_espeak_listing_is_read_for_vietnamese_voices() -> None:
    listing = ESPEAK_LISTING + " 5  en-us           --/F      English_(America) gmw/en-US\n"
    voices = parse_espeak_voices(listing)
    assert voices == {
        "vi": ("M", "Vietnamese_(Northern)"),
        "vi-vn-x-central": ("M", "Vietnamese_(Central)"),
        "vi-vn-x-south": ("M", "Vietnamese_(Southern)"),
    }


def test_voices_lists_both_engines_and_marks_the_station_choices(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, station, "voices")
    assert code == ExitCode.OK
    lines = out.splitlines()
    assert lines[0].startswith("Online voices")
    hoai_my = next(line for line in lines if "vi-VN-HoaiMyNeural" in line)
    assert "female" in hoai_my and "the station's voice" in hoai_my
    assert "male" in next(line for line in lines if "vi-VN-NamMinhNeural" in line)
    offline_at = next(i for i, line in enumerate(lines) if line.startswith("Offline voices"))
    northern = next(line for line in lines[offline_at:] if line.split()[0] == "vi")
    assert "northern accent" in northern and "the fallback voice" in northern
    assert any("vi-vn-x-south" in line for line in lines[offline_at:])
    assert "loa voices --sample" in lines[-1]

    code, out, _ = run(capsys, station, "voices", language="vi")
    assert code == ExitCode.OK
    assert "Giọng trực tuyến" in out and "Giọng ngoại tuyến" in out
    assert "giọng của đài" in out and "giọng dự phòng" in out and "giọng miền Bắc" in out


def test_voices_follows_the_station_config(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi-VN-NamMinhNeural")
        .replace("fallback_voice: vi", "fallback_voice: vi-vn-x-south")
    )
    code, out, _ = run(capsys, station, "voices")
    assert code == ExitCode.OK
    marked = [line.split()[0] for line in out.splitlines() if "←" in line]
    assert marked == ["vi-VN-NamMinhNeural", "vi-vn-x-south"]


def test_voices_says_when_espeak_is_missing(
    station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(station))  # a folder with no espeak-ng in it
    code, out, _ = run(capsys, station, "voices", language="vi")
    assert code == ExitCode.OK
    assert "chưa cài espeak-ng (trên Debian/Ubuntu: sudo apt install espeak-ng)." in out
    assert "vi-vn-x-south" not in out


def test_voices_marks_an_espeak_voice_that_is_not_installed(
    station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    only_northern = ESPEAK_LISTING.splitlines()[:2]
    monkeypatch.setattr(
        voices_commands,
        "read_espeak_voices",
        lambda: parse_espeak_voices("\n".join(only_northern)),
    )
    code, out, _ = run(capsys, station, "voices")
    assert code == ExitCode.OK
    assert "not installed" in next(line for line in out.splitlines() if "vi-vn-x-south" in line)


def test_an_unknown_sample_voice_lists_the_voices(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, station, "voices", "--sample", "vi-VN-Nobody")
    assert code == ExitCode.UNKNOWN_VOICE
    assert "Unknown voice 'vi-VN-Nobody'" in err and "vi-VN-NamMinhNeural" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, station, "voices", "--sample", "vi-VN-Nobody", language="vi")
    assert code == ExitCode.UNKNOWN_VOICE and "vi-vn-x-central" in err


def test_out_without_sample_is_a_usage_error(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, station, "voices", "--out", str(tmp_path / "x.wav"))
    assert code == ExitCode.USAGE and "--out goes with --sample" in err


def test_a_sample_is_written_as_real_audio(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.wav"
    code, stdout, err = run(capsys, station, "voices", "--sample", "vi", "--out", str(out))
    assert code == ExitCode.OK, err
    assert "Wrote the broadcast to" in stdout
    audio, rate = read_wav(out)
    assert len(audio) / rate > 0.5
    assert np.mean(window_levels_dbfs(audio, rate) > -35) > 0.5, "mostly sound, not silence"
    code, stdout, _ = run(
        capsys, station, "voices", "--sample", "vi-vn-x-south", "--out", str(out), language="vi"
    )
    assert code == ExitCode.OK and "Đã ghi bản tin" in stdout


def test_a_sample_of_an_online_voice_offline_says_who_read_it(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.wav"
    code, _, err = run(
        capsys, station, "voices", "--sample", "vi-VN-NamMinhNeural", "--out", str(out)
    )
    assert code == ExitCode.OK
    assert "vi-VN-NamMinhNeural" in err and "Read with the voice vi (espeak)." in err
    assert out.stat().st_size > 0


def test_a_sample_is_heard_on_the_sound_card(
    pulse: PulseRig, run_loa: RunLoa, station: Path
) -> None:
    with pulse.record() as capture:
        done = run_loa("--station", str(station), "voices", "--sample", "vi", env=pulse.env)
    assert done.returncode == ExitCode.OK, done.stderr
    assert "Phát xong" in done.stdout
    levels = window_levels_dbfs(capture.samples, 44100)
    assert np.sum(levels > -35) * len(capture.samples) / len(levels) / 44100 > 2.0, (
        "the sentence is heard, seconds of it"
    )


def test_a_sample_joins_the_running_station_queue(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never two programs at once: with `loa run` on the air, the sample waits its turn."""
    config = station / "station.yaml"
    config.write_text(
        config.read_text().replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    clock = FakeClock(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")))
    sink = FastSink(clock, hold=threading.Event())
    daemon = Daemon(station, now=clock, output=lambda _station: sink)
    daemon.start()
    try:
        code, out, _ = run(capsys, station, "voices", "--sample", "vi-vn-x-central")
        assert code == ExitCode.OK and "Queued on the running station" in out
        assert sink.started.wait(30), "the running station plays the sample"
        code, _, err = run(capsys, station, "voices", "--sample", "vi-VN-Nobody")
        assert code == ExitCode.UNKNOWN_VOICE and "vi-VN-Nobody" in err
    finally:
        assert sink.hold is not None
        sink.hold.set()
        daemon.shutdown()


# loa completion ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _loa_completion loa"),
        ("zsh", "#compdef loa"),
        ("fish", "complete --no-files --command loa"),
    ],
)
def test_completion_prints_the_script_of_each_shell(
    station: Path, capsys: pytest.CaptureFixture[str], shell: str, marker: str
) -> None:
    code, out, _ = run(capsys, station, "completion", shell)
    assert code == ExitCode.OK
    assert marker in out and "_LOA_COMPLETE=" in out


def test_completion_help_says_where_to_put_it(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, station, "completion", "--help")
    assert code == ExitCode.OK and "~/.bashrc" in out and "completions/loa.fish" in out
    code, out, _ = run(capsys, station, "completion", "--help", language="vi")
    assert code == ExitCode.OK and "phím Tab" in out
    code, _, err = run(capsys, station, "completion", "powershell")
    assert code == ExitCode.USAGE and "bash" in err


def test_completing_loa_sch_offers_schedule(loa_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py")],
        env={
            **loa_env,
            "_LOA_COMPLETE": "bash_complete",
            "COMP_WORDS": "loa sch",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plain,schedule"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_in_bash(tmp_path: Path, loa_env: dict[str, str]) -> None:
    """The script, sourced in a real bash, fills COMPREPLY through a `loa` on the PATH."""
    loa = tmp_path / "bin" / "loa"
    loa.parent.mkdir()
    loa.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "cli.py"} "$@"\n')
    loa.chmod(loa.stat().st_mode | stat.S_IEXEC)
    script = (
        "source <(loa completion bash)\nCOMP_WORDS=(loa service i)\nCOMP_CWORD=2\n"
        '_loa_completion loa\necho "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env={**loa_env, "PATH": f"{loa.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["install"]


# loa service ------------------------------------------------------------------------------------


def test_print_shows_the_unit_and_writes_nothing(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, station, "service", "install", "--print", "--user", "nobody")
    assert code == ExitCode.OK
    assert "User=nobody" in out and "Restart=on-failure" in out
    assert f"--station {station.resolve()} run" in out
    assert out.startswith("# Loa: the station in")
    code, out, _ = run(
        capsys, station, "service", "install", "--print", "--user", "nobody", language="vi"
    )
    assert code == ExitCode.OK and out.startswith("# Loa: phát sóng cho đài")
    assert not list(tmp_path.rglob("*.service"))


def test_install_writes_the_unit_and_enables_it(
    station: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    systemctl: tuple[Path, Path],
) -> None:
    program, notes = systemctl
    units = tmp_path / "units"
    code, out, err = install(capsys, station, units, program, "--user", "nobody")
    assert code == ExitCode.OK, err
    unit = units / "loa-station.service"
    assert unit.read_text(encoding="utf-8").count("ExecStart=") == 1
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert not [p for p in units.iterdir() if p != unit], "no temporary file left behind"
    assert notes.read_text().splitlines() == [
        "daemon-reload",
        "enable --now loa-station.service",
    ]
    assert f"Wrote {unit}." in out
    assert "journalctl -u loa-station -f" in out
    assert "starts at boot and restarts 5 s after a failure" in out
    code, out, _ = install(capsys, station, units, program, "--user", "nobody", language="vi")
    assert code == ExitCode.OK
    assert f"Đã ghi {unit}." in out and "tự chạy lại 5 giây" in out


def test_install_chooses_the_dedicated_user_then_the_officer(
    station: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    systemctl: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program, _ = systemctl
    units = tmp_path / "units"
    unit = units / "loa-station.service"
    monkeypatch.setattr(
        service_commands, "user_exists", lambda name: name in ("loa", "root", "nobody")
    )
    code, out, _ = install(capsys, station, units, program)
    assert code == ExitCode.OK
    assert "User=loa\n" in unit.read_text()
    assert "The service runs as loa." in out
    assert "'audio' group" in out and "SupplementaryGroups=audio" in out
    assert "sudo -u loa" in out, "officers learn how to reach the running station"

    monkeypatch.setattr(service_commands, "user_exists", lambda name: name in ("root", "nobody"))
    monkeypatch.setenv("SUDO_USER", "nobody")
    code, out, _ = install(capsys, station, units, program)
    assert code == ExitCode.OK
    assert "User=nobody\n" in unit.read_text()
    assert "no user 'loa'" in out and "sudo useradd --system --groups audio" in out
    assert "sudo chown -R nobody:" in out, "the station folder is not nobody's"

    monkeypatch.delenv("SUDO_USER")  # root itself, in a root shell
    code, _, err = install(capsys, station, units, program, language="vi")
    assert code == ExitCode.SERVICE
    assert "User=nobody\n" in unit.read_text(), "the unit that runs as root is not written"
    assert "sudo useradd --system --home-dir" in err and "--shell /usr/sbin/nologin" in err


def test_install_never_writes_a_unit_that_runs_as_root(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, systemctl: tuple[Path, Path]
) -> None:
    program, notes = systemctl
    units = tmp_path / "units"
    for args in (["--print", "--user", "root"], ["--user", "root"]):
        code, out, err = install(capsys, station, units, program, *args)
        assert code == ExitCode.SERVICE
        assert "must not run as root" in err
        assert f"sudo useradd --system --home-dir {station.resolve()}" in err
        assert "User=" not in out
    assert not units.exists() and not notes.exists()


def test_a_station_name_cannot_add_lines_to_the_unit(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, systemctl: tuple[Path, Path]
) -> None:
    program, notes = systemctl
    config = station / "station.yaml"
    injected = 'name: "Xã An Bình\\nExecStartPre=+/bin/sh -c id"'
    text = config.read_text(encoding="utf-8").replace("name: Đài truyền thanh xã (ví dụ)", injected)
    assert injected in text
    config.write_text(text, encoding="utf-8")
    units = tmp_path / "units"
    for args in (["--print"], []):
        code, out, err = install(capsys, station, units, program, "--user", "nobody", *args)
        # The station file refuses it first, at its line; the unit's own check (tested with
        # unit texts in test_service_unit.py) is the second defence.
        assert code == ExitCode.STATION_CONFIG, err
        assert "ExecStartPre" not in out
        assert f"{config}:5:" in err and "line breaks or other control characters" in err
    assert not units.exists() and not notes.exists()


def test_install_refuses_an_unknown_user(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, station, "service", "install", "--print", "--user", "nosuchuser")
    assert code == ExitCode.USAGE and "no user 'nosuchuser'" in err
    code, _, err = run(
        capsys, station, "service", "install", "--user", "nobody", "--user-unit", "--print"
    )
    assert code == ExitCode.USAGE


def test_install_without_systemctl_says_what_to_run(
    station: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    units = tmp_path / "units"
    code, _, err = install(capsys, station, units, tmp_path / "no-systemctl", "--user", "nobody")
    assert code == ExitCode.SERVICE
    assert (units / "loa-station.service").exists(), "the unit is written all the same"
    assert "no-systemctl was not found" in err
    assert "systemctl daemon-reload && systemctl enable --now loa-station.service" in err
    code, _, err = install(capsys, station, units, "false", "--user", "nobody", language="vi")
    assert code == ExitCode.SERVICE
    assert "systemctl bị lỗi (systemctl daemon-reload: 1)" in err


def test_install_as_an_officer_asks_for_sudo(
    station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_commands, "_needs_sudo", lambda: True)
    code, _, err = run(capsys, station, "service", "install", "--user", "nobody")
    assert code == ExitCode.SERVICE
    assert "needs administrator rights" in err
    assert f"sudo {Path(sys.executable).absolute()} -m broadcaster --station" in err
    assert err.rstrip().endswith("service install --user nobody")
    code, _, err = run(capsys, station, "service", "remove", language="vi")
    assert code == ExitCode.SERVICE and "cần quyền quản trị" in err and "service remove" in err


def test_a_user_unit_goes_to_the_home_folder(
    station: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    systemctl: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program, notes = systemctl
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, out, _ = run(
        capsys, station, "service", "install", "--user-unit", "--systemctl", str(program)
    )
    assert code == ExitCode.OK
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "loa-station.service"
    assert "WantedBy=default.target" in unit.read_text()
    assert notes.read_text().splitlines()[1] == "--user enable --now loa-station.service"
    assert "loginctl enable-linger" in out and "journalctl --user -u loa-station -f" in out


def test_remove_disables_and_deletes_the_unit(
    station: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    systemctl: tuple[Path, Path],
) -> None:
    program, notes = systemctl
    units = tmp_path / "units"
    install(capsys, station, units, program, "--user", "nobody")
    notes.unlink()
    remove = ("service", "remove", "--unit-dir", str(units), "--systemctl", str(program))
    code, out, _ = run(capsys, station, *remove)
    assert code == ExitCode.OK
    assert not (units / "loa-station.service").exists()
    assert notes.read_text().splitlines() == ["disable --now loa-station.service", "daemon-reload"]
    assert "no longer starts at boot" in out
    code, out, _ = run(capsys, station, *remove, language="vi")
    assert code == ExitCode.OK and "Chưa cài dịch vụ loa-station" in out


def test_the_windows_recipe(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, station, "service", "install", "--windows")
    assert code == ExitCode.OK
    assert f"Save this as {station.resolve() / 'loa-service.cmd'}:" in out
    assert "schtasks /Create" in out and "/SC ONLOGON" in out and "nssm install" in out
    assert not (station / "loa-service.cmd").exists(), "a preview on Linux writes nothing"
    code, out, _ = run(capsys, station, "service", "install", "--windows", language="vi")
    assert code == ExitCode.OK and "Trên Windows" in out and "schtasks /Create" in out
    code, out, _ = run(capsys, station, "service", "remove", "--windows")
    assert code == ExitCode.OK and "schtasks /Delete" in out and "nssm remove" in out


def test_on_windows_the_script_is_written_and_removed(
    station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_commands, "_on_windows", lambda: True)
    code, out, _ = run(capsys, station, "service", "install")
    assert code == ExitCode.OK
    script = station / "loa-service.cmd"
    assert script.read_bytes().startswith(b"@echo off\r\n")
    assert f"Wrote {script.resolve()}." in out and "schtasks /Create" in out
    code, out, _ = run(capsys, station, "service", "remove")
    assert code == ExitCode.OK and not script.exists() and "schtasks /Delete" in out
