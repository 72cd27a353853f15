"""The suite never runs on the checkout's own station: the guard in conftest notices a write."""

from pathlib import Path

from tests.conftest import (
    EXAMPLE_STATION,
    RunLoa,
    checkout_changes,
    checkout_snapshot,
    copy_example_station,
)


def test_the_guard_sees_a_station_written_in_the_checkout(tmp_path: Path) -> None:
    checkout = copy_example_station(tmp_path / "checkout")
    before = checkout_snapshot(checkout)
    assert checkout_changes(before, checkout_snapshot(checkout)) == []
    (checkout / ".loa").mkdir()
    (checkout / ".loa" / "daemon.lock").write_text("1234")
    (checkout / "asrun.db").write_bytes(b"SQLite format 3\0")
    (checkout / "schedules" / "sang.yaml").write_text("[]\n")
    assert checkout_changes(before, checkout_snapshot(checkout)) == [
        ".loa",
        ".loa/daemon.lock",
        "asrun.db",
        "schedules",
        "schedules/sang.yaml",
    ]


def test_loa_without_a_station_runs_on_a_copy(run_loa: RunLoa, example_station: Path) -> None:
    """An entry only the copy has is what `loa next` lists: the child read the copy."""
    (example_station / "schedules" / "ban-sao.yaml").write_text(
        '- id: chi-o-ban-sao\n  announcement: bluezone\n  times: ["05:55"]\n'
    )
    result = run_loa("next", "--from", "2026-12-01", "--days", "1")
    assert result.returncode == 0, result.stderr
    assert "05:55|bluezone" in result.stdout.replace(" ", "")


def test_the_example_station_is_copied_whole(tmp_path: Path) -> None:
    copy = copy_example_station(tmp_path / "copy")
    assert sorted(path.name for path in copy.iterdir()) == sorted(EXAMPLE_STATION)
    assert (copy / "schedules").is_dir() and any((copy / "announcements").iterdir())
