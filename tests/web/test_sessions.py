"""Sessions in the console's real SQLite file: every request reads its session, and its last
use is written only once a minute (a disk sync per page would hold every page up)."""

import sqlite3
import time
from pathlib import Path

from broadcaster.web.auth import SESSION_IDLE_S, SESSION_TOUCH_S, Accounts, Role

PASSWORD = "mật-khẩu-đủ-dài"


def last_seen(accounts: Accounts, session_id: str) -> float | None:
    with sqlite3.connect(accounts.path) as db:
        found = db.execute("SELECT last_seen FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return found[0] if found else None


def set_last_seen(accounts: Accounts, session_id: str, moment: float) -> None:
    with sqlite3.connect(accounts.path) as db:
        db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (moment, session_id))


def test_a_session_is_written_again_only_when_last_seen_a_minute_ago(tmp_path: Path) -> None:
    accounts = Accounts.for_station(tmp_path)
    accounts.add_user("an", Role.OFFICER, PASSWORD)
    session = accounts.log_in("an", PASSWORD, "127.0.0.1")
    assert session is not None
    recent = time.time() - SESSION_TOUCH_S / 2
    set_last_seen(accounts, session.id, recent)
    found = accounts.session(session.id)
    assert found is not None and found.user.name == "an" and found.csrf == session.csrf
    assert last_seen(accounts, session.id) == recent, "not written again within the minute"

    older = time.time() - 2 * SESSION_TOUCH_S
    set_last_seen(accounts, session.id, older)
    assert accounts.session(session.id) is not None
    seen = last_seen(accounts, session.id)
    assert seen is not None and seen > older + SESSION_TOUCH_S, "its idle time starts again"


def test_an_idle_session_ends_and_is_cleared_at_the_next_write(tmp_path: Path) -> None:
    accounts = Accounts.for_station(tmp_path)
    accounts.add_user("an", Role.OFFICER, PASSWORD)
    idle, active = accounts.log_in("an", PASSWORD, ""), accounts.log_in("an", PASSWORD, "")
    assert idle is not None and active is not None
    set_last_seen(accounts, idle.id, time.time() - SESSION_IDLE_S - 1)
    assert accounts.session(idle.id) is None
    set_last_seen(accounts, active.id, time.time() - 2 * SESSION_TOUCH_S)
    assert accounts.session(active.id) is not None
    assert last_seen(accounts, idle.id) is None, "the idle session's row is gone"
    assert accounts.session("no-such-session") is None
