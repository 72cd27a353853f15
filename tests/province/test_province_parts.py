"""The province side's parts on their own: password hashes as mosquitto_passwd writes them, the
ACL per station, the store's rules for redelivered and out-of-order reports, how the monthly
report counts what was due, and files on a full disk."""

import base64
import os
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from broadcaster.errors import ExitCode
from broadcaster.province.broker import acl_file, hash_password, password_matches
from broadcaster.province.directory import Broker, Province, StationRecord
from broadcaster.province.messages import AsRun, Presence
from broadcaster.province.operator import expected
from broadcaster.province.store import CampaignVersion, Store
from tests.conftest import RunLoa

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_hashes_are_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "xa-an-binh", "mật-khẩu 1"], check=True)
    user, written = passwd.read_text().strip().split(":", 1)
    assert user == "xa-an-binh"
    salt = base64.b64decode(written.split("$")[3])
    assert hash_password("mật-khẩu 1", salt) == written
    assert password_matches("mật-khẩu 1", written)
    assert not password_matches("mật-khẩu 2", written)
    ours = hash_password("x")
    assert ours.startswith("$7$101$") and len(base64.b64decode(ours.split("$")[3])) == 12
    assert ours != hash_password("x")  # a new salt each time


def test_a_station_reads_its_groups_and_writes_its_own_reports() -> None:
    province = Province(
        Path("/p"),
        Broker.parse("mqtt://h"),
        stations={"xa-a": StationRecord("xa-a", ("ven-bien", "vung-lu"), "$7$h")},
    )
    acl = acl_file(province).split("\n\nuser xa-a\n")[1].splitlines()
    assert acl == [
        "topic read loa/v1/all/campaign/+",
        "topic read loa/v1/all/desired",
        "topic read loa/v1/all/cmd",
        "topic read loa/v1/grp/ven-bien/campaign/+",
        "topic read loa/v1/grp/ven-bien/desired",
        "topic read loa/v1/grp/ven-bien/cmd",
        "topic read loa/v1/grp/vung-lu/campaign/+",
        "topic read loa/v1/grp/vung-lu/desired",
        "topic read loa/v1/grp/vung-lu/cmd",
        "topic read loa/v1/st/xa-a/campaign/+",
        "topic read loa/v1/st/xa-a/desired",
        "topic read loa/v1/st/xa-a/cmd",
        "topic write loa/v1/st/xa-a/state",
        "topic write loa/v1/st/xa-a/hb",
        "topic write loa/v1/st/xa-a/asrun",
        "topic write loa/v1/st/xa-a/ack",
    ]


def test_a_final_result_is_never_overwritten_by_playing(tmp_path: Path) -> None:
    store = Store(tmp_path / "province.db")
    at = "2026-11-30T06:30:00+07:00"

    def row(result: str) -> AsRun:
        return AsRun("sang", at, "tin", "normal", at, None, result)

    for result in ("playing", "played", "playing", "played"):
        store.record_asrun("xa-a", row(result), "2026-11-30T00:00:00+00:00")
    store.record_asrun("xa-a", row("missed"), "2026-11-30T00:00:00+00:00")
    rows = list(store.asrun_rows())
    assert [(r.station, r.result) for r in rows] == [("xa-a", "missed")]
    store.close()


def test_the_highest_connection_wins_and_the_will_ends_its_own(tmp_path: Path) -> None:
    store = Store(tmp_path / "province.db")
    now = "2026-11-30T00:00:00+00:00"
    store.record_presence("xa-a", Presence(True, 5, "2026-11-30T06:00:00+07:00", "loa 2"), now)
    store.record_presence("xa-a", Presence(False, 4), now)  # an old Will, delivered late
    assert store.presence()["xa-a"]["online"] is True
    store.record_presence("xa-a", Presence(False, 5), "2026-11-30T01:00:00+00:00")
    seen = store.presence()["xa-a"]
    assert (seen["online"], seen["since"], seen["software"]) == (
        False,
        "2026-11-30T01:00:00+00:00",
        "loa 2",
    )
    store.record_presence("xa-a", Presence(True, 5), now)  # the same connection cannot revive
    assert store.presence()["xa-a"]["online"] is False
    store.close()


def test_due_counts_each_version_from_when_it_was_sent() -> None:
    start = datetime(2026, 11, 1, tzinfo=ZONE)
    end = datetime(2026, 12, 1, tzinfo=ZONE)
    versions = [
        # every day at 06:30, from 10/11 08:00: 11/11 … 19/11 = 9 days
        CampaignVersion("c", 1, "2026-11-10T01:00:00+00:00", {"times": ["06:30"]}, ("xa-a",)),
        # Mondays at 06:30 and 17:00, from 20/11 until cancelled on 25/11 (Monday 23/11 only)
        CampaignVersion(
            "c",
            2,
            "2026-11-19T17:00:00+00:00",
            {"times": ["06:30", "17h"], "days": ["T2"]},
            ("xa-a", "xa-b"),
        ),
    ]
    cancelled = "2026-11-25T00:00:00+00:00"
    assert expected(versions, cancelled, "xa-a", start, end, ZONE) == 9 + 2
    assert expected(versions, cancelled, "xa-b", start, end, ZONE) == 2
    assert expected(versions, None, "xa-b", start, end, ZONE) == 2 + 2  # 23/11 and 30/11
    december = datetime(2027, 1, 1, tzinfo=ZONE)
    assert expected(versions, cancelled, "xa-a", end, december, ZONE) == 0


def test_a_full_disk_changes_no_province_file(small_disk: Path, run_loa: RunLoa) -> None:
    folder = small_disk / "tinh"
    made = run_loa("--lang", "en", "province", "init", str(folder), "--broker", "mqtt://h:1883")
    assert made.returncode == 0, made.stderr
    before = (folder / "province.yaml").read_bytes()
    descriptor = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(descriptor)
    env = {"LOA_PROVINCE": str(folder)}
    result = run_loa("--lang", "en", "province", "station", "add", "xa-a", env=env)
    assert result.returncode == ExitCode.DISK, result.stderr
    assert "the disk is full" in result.stderr and "Traceback" not in result.stderr
    assert (folder / "province.yaml").read_bytes() == before
    assert sorted(os.listdir(folder)) == ["province.yaml", "secrets.yaml"]  # no stray part
