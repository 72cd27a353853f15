"""`loa schedule add|remove|enable|disable` and `loa approve`: hand-written layout and comments
survive, and an edit that would break the schedules leaves the file as it was."""

import shutil
from pathlib import Path

import pytest

from broadcaster.station.schedules import Entry, load_schedules
from broadcaster.station.station_file import load_station
from tests.schedule_station import run, write_schedule

ROOT = Path(__file__).resolve().parent.parent
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def bundled(station: Path) -> Path:
    """The station with the bundled, commented schedule file; returns that file."""
    shutil.copytree(ROOT / "schedules", station / "schedules")
    return station / "schedules" / "bluezone.yaml"


def entries(station: Path) -> dict[str, Entry]:
    return {entry.id: entry for entry in load_schedules(load_station(station, environ={}))}


def test_an_added_entry_leaves_every_comment_and_line_as_written(
    station: Path, bundled: Path, capsys: Capture
) -> None:
    before = bundled.read_text(encoding="utf-8")
    code, out, _err = run(
        capsys,
        station,
        "schedule",
        "add",
        "--announcement",
        "hop-to-dan-pho",
        "--times",
        "19h,19:30",
        "--days",
        "T2-T6",
        "--days",
        "CN",
        "--from",
        "01/12/2026",
        "--until",
        "2026-12-31",
        "--repeat",
        "2",
        "--gap",
        "1m",
        "--priority",
        "priority",
        "--file",
        "bluezone",
        "--by",
        "Lan",
    )
    assert code == 0, out
    after = bundled.read_text(encoding="utf-8")
    assert after.startswith(before), "comments, quotes and alignment kept"
    assert after[len(before) :] == (
        "- id: hop-to-dan-pho-1900\n"
        "  announcement: hop-to-dan-pho\n"
        '  times: ["19h", "19:30"]\n'
        "  days: [T2-T6, CN]\n"
        "  from: 2026-12-01\n"
        "  until: 2026-12-31\n"
        "  repeat: 2\n"
        "  gap: 1m\n"
        "  priority: priority\n"
        "  created_by: Lan\n"
    )
    added, warned = out.splitlines()
    assert added == f"Added 'hop-to-dan-pho-1900' at {bundled}:11."
    assert warned.startswith(f"{bundled}:11: warning: with 'hop-to-dan-pho-1900' at 19:00"), (
        "the new entry is checked at once: here a third session in a day"
    )
    assert entries(station)["hop-to-dan-pho-1900"].gap_s == 60.0


def test_a_bad_edit_leaves_the_file_untouched(
    station: Path, bundled: Path, capsys: Capture
) -> None:
    before = bundled.read_bytes()
    for bad in (
        ["--times", "25:00"],
        ["--times", "7h", "--id", "bluezone-sang"],
        ["--times", "7h", "--repeat", "11"],
        ["--times", "7h", "--from", "2026-12-01", "--until", "2026-11-01"],
    ):
        code, _out, err = run(
            capsys, station, "schedule", "add", "--announcement", "bluezone", "--file",
            "bluezone", *bad,
        )  # fmt: skip
        assert code == 17, err
        assert err.startswith("Error: The change was not saved: "), err
        assert not err.startswith(f"Error: The change was not saved: {bundled}:"), (
            "no line of a file that was not saved"
        )
        assert bundled.read_bytes() == before
    assert sorted(p.name for p in bundled.parent.iterdir()) == ["bluezone.yaml"]


def test_new_entries_go_to_lich_yaml_and_are_drafts_where_approval_is_required(
    station: Path, capsys: Capture
) -> None:
    station_yaml = station / "station.yaml"
    station_yaml.write_text(
        station_yaml.read_text().replace("require_approval: false", "require_approval: true")
    )
    code, out, _err = run(
        capsys, station, "schedule", "add", "--announcement", "bluezone", "--times", "6h30",
        "--by", "Lan",
    )  # fmt: skip
    path = station / "schedules" / "lich.yaml"
    assert code == 0
    assert out.splitlines() == [
        f"Added 'bluezone-0630' at {path}:1.",
        "It is a draft: 'loa approve bluezone-0630' puts it on air.",
    ]
    code, out, _err = run(capsys, station, "approve", "bluezone-0630", "--by", "Hùng")
    assert (code, out) == (0, "'bluezone-0630' is approved: it airs as scheduled.\n")
    assert path.read_text(encoding="utf-8") == (
        "- id: bluezone-0630\n"
        "  announcement: bluezone\n"
        '  times: ["6h30"]\n'
        "  status: approved\n"
        "  approved_by: Hùng\n"
        "  created_by: Lan\n"
    )
    _code, out, _err = run(capsys, station, "approve", "bluezone-0630")
    assert out == "'bluezone-0630' is already approved.\n"


def test_windows_files_stay_windows_files(station: Path, capsys: Capture) -> None:
    path = station / "schedules" / "win.yaml"
    path.parent.mkdir()
    path.write_bytes(
        b"\xef\xbb\xbf# l\xe1\xbb\x8bch\r\n- id: a\r\n  announcement: bluezone\r\n  times: 7h\r\n"
    )
    code, _out, _err = run(capsys, station, "schedule", "disable", "a")
    assert code == 0
    assert path.read_bytes() == (
        b"\xef\xbb\xbf# l\xe1\xbb\x8bch\r\n- id: a\r\n  enabled: false\r\n"
        b"  announcement: bluezone\r\n  times: 7h\r\n"
    )


def test_a_file_of_comments_keeps_them_above_its_first_entry(
    station: Path, capsys: Capture
) -> None:
    path = write_schedule(station, "# Lịch phát của xã\n# chưa có mục nào", "xa.yaml")
    code, _out, _err = run(
        capsys, station, "schedule", "add", "--announcement", "bluezone", "--times", "7h",
        "--id", "sang", "--file", "xa.yaml", "--by", "Lan",
    )  # fmt: skip
    assert code == 0
    assert path.read_text(encoding="utf-8") == (
        "# Lịch phát của xã\n# chưa có mục nào\n- id: sang\n  announcement: bluezone\n"
        '  times: ["7h"]\n  created_by: Lan\n'
    )


def test_enable_disable_and_remove(station: Path, capsys: Capture) -> None:
    path = write_schedule(
        station,
        "# đầu tệp\n- id: a  # sáng\n  announcement: bluezone\n  times: 7h\n"
        "# mục b\n- id: b\n  announcement: bluezone\n  times: 8h\n  enabled: false\n",
    )
    assert run(capsys, station, "schedule", "disable", "a")[1] == (
        f"'a' is disabled: it stays in {path} and airs no more.\n"
    )
    assert run(capsys, station, "schedule", "disable", "a")[1] == "'a' is already disabled.\n"
    assert run(capsys, station, "schedule", "enable", "b")[1] == "'b' is enabled: it airs again.\n"
    assert path.read_text(encoding="utf-8") == (
        "# đầu tệp\n- id: a  # sáng\n  enabled: false\n  announcement: bluezone\n  times: 7h\n"
        "# mục b\n- id: b\n  announcement: bluezone\n  times: 8h\n  enabled: true\n"
    )
    assert run(capsys, station, "schedule", "remove", "a")[1] == f"Removed 'a' from {path}.\n"
    assert path.read_text(encoding="utf-8") == (
        "# đầu tệp\n# mục b\n- id: b\n  announcement: bluezone\n  times: 8h\n  enabled: true\n"
    ), "every comment line stays: it may head the file or belong to the next entry"
    assert list(entries(station)) == ["b"]


def test_an_unknown_id_names_the_known_ones(station: Path, capsys: Capture) -> None:
    write_schedule(station, "- id: sáng\n  announcement: bluezone\n  times: 7h\n")
    for command in (["schedule", "remove"], ["schedule", "enable"], ["approve"]):
        code, _out, err = run(capsys, station, *command, "chieu")
        assert (code, err) == (17, "Error: No schedule entry 'chieu'. Entries: sáng.\n")


def test_a_file_outside_schedules_is_refused(station: Path, capsys: Capture) -> None:
    code, _out, err = run(
        capsys, station, "schedule", "add", "--announcement", "bluezone", "--times", "7h",
        "--file", str(station / "khac.yaml"),
    )  # fmt: skip
    assert code == 17 and "Loa reads schedules from there only" in err
    assert not (station / "khac.yaml").exists()


def test_editing_speaks_vietnamese(station: Path, bundled: Path, capsys: Capture) -> None:
    code, _out, err = run(capsys, station, "schedule", "add", "--announcement", "bluezone",
                          "--times", "25:00", "--file", "bluezone", language="vi")  # fmt: skip
    assert code == 17
    assert err.startswith("Lỗi: ") and "'25:00' không phải giờ" in err
