"""Who may do what in the console: logins, sessions, CSRF, Origin, roles, two-person approval."""

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broadcaster.web.app import create_app
from broadcaster.web.auth import Accounts, password_matches
from broadcaster.web.pages import ROUTES
from tests.web.conftest import PASSWORD, Login, csrf_of

PAGES = sorted(
    {route.path.replace("{id}", "bluezone-sang").replace("{name}", "x.wav") for route in ROUTES}
    - {"/login"}
)


def test_nothing_without_login(console_station: Path) -> None:
    with TestClient(create_app(console_station), follow_redirects=False) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code in (303, 405), path
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login?next="), path
        assert client.post("/stop").status_code == 303
        assert client.post("/emergency", data={"text": "Cháy", "confirm": "yes"}).status_code == 303


def test_passwords_are_stored_as_scrypt(console_station: Path) -> None:
    import sqlite3

    db = sqlite3.connect(console_station / ".loa" / "web.db")
    (stored,) = db.execute("SELECT password FROM users WHERE name = 'an'").fetchone()
    db.close()
    kind, n, r, p, _salt, _hash = stored.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "5")  # OWASP's 16 MiB equivalent
    assert password_matches(PASSWORD, stored) and not password_matches("sai-mật-khẩu", stored)


def test_hashes_of_the_earlier_parameters_still_match_and_others_are_refused() -> None:
    import hashlib

    def stored(n: int, r: int, p: int) -> str:
        salt = b"0123456789abcdef"
        digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**28)
        return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"

    assert password_matches(PASSWORD, stored(2**15, 8, 1))  # written by the first console
    assert not password_matches(PASSWORD, stored(2**10, 8, 1))  # too cheap to trust
    assert not password_matches(PASSWORD, stored(2**14, 4, 5))


def test_the_session_cookie_is_http_only_and_strict(console_station: Path) -> None:
    with TestClient(create_app(console_station), follow_redirects=False) as client:
        answer = client.post("/login", data={"name": "an", "password": PASSWORD})
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie, "plain http: a Secure cookie would never come back"


def test_a_post_without_the_csrf_token_is_refused(login: Login) -> None:
    client = login("an")
    answer = client.post("/emergency", data={"text": "Cháy ở chợ", "confirm": "yes"})
    assert answer.status_code == 403
    token = csrf_of(client)
    answer = client.post("/emergency", data={"text": "Cháy", "csrf": token + "x"})
    assert answer.status_code == 403
    answer = client.post("/emergency", data={"text": "Cháy", "csrf": token})
    assert answer.status_code == 200 and 'id="emergency-confirm-form"' in answer.text
    header = client.post("/emergency", data={"text": "Cháy"}, headers={"X-CSRF-Token": token})
    assert header.status_code == 200


def test_a_post_from_another_site_is_refused(login: Login) -> None:
    client = login("an")
    token = csrf_of(client)
    foreign = {"Origin": "http://evil.example"}
    answer = client.post("/emergency", data={"text": "Cháy", "csrf": token}, headers=foreign)
    assert answer.status_code == 403
    own = {"Origin": "http://testserver"}
    answer = client.post("/emergency", data={"text": "Cháy", "csrf": token}, headers=own)
    assert answer.status_code == 200


def test_the_sixth_wrong_password_within_30_s_is_refused(console_station: Path) -> None:
    with TestClient(create_app(console_station), follow_redirects=False) as client:
        for _attempt in range(5):
            answer = client.post("/login", data={"name": "an", "password": "sai-mật-khẩu"})
            assert answer.status_code == 401
        answer = client.post("/login", data={"name": "an", "password": PASSWORD})
        assert answer.status_code == 429, "even the right password waits out the window"
        other = client.post("/login", data={"name": "binh", "password": PASSWORD})
        assert other.status_code == 303, "another user is not locked out"
    actions = [row.action for row in Accounts.for_station(console_station).audit_rows()]
    assert "login-blocked" in actions


def test_a_session_dies_with_a_password_change_and_at_logout(
    login: Login, console_station: Path
) -> None:
    client = login("an")
    assert client.get("/").status_code == 200
    Accounts.for_station(console_station).set_password("an", "mật-khẩu-mới-2026")
    assert client.get("/").status_code == 303
    again = login("binh")
    token = csrf_of(again)
    assert again.post("/logout", data={"csrf": token}).status_code == 303
    assert again.get("/").status_code == 303


def test_an_officer_cannot_approve_or_manage_users(login: Login, console_station: Path) -> None:
    client = login("an")
    token = csrf_of(client)
    answer = client.post("/approvals/bluezone-sang", data={"csrf": token, "sha256": "x"})
    assert answer.status_code == 403
    assert client.get("/users").status_code == 403
    assert client.get("/audit").status_code == 403
    answer = client.post(
        "/users", data={"csrf": token, "action": "add", "name": "x", "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert [user.name for user in Accounts.for_station(console_station).users()] == [
        "an",
        "binh",
        "chi",
        "root",
    ]


@pytest.fixture
def approval_station(console_station: Path) -> Path:
    config = console_station / "station.yaml"
    config.write_text(
        config.read_text().replace("require_approval: false", "require_approval: true")
    )
    return console_station


def new_entry(client: TestClient, entry_id: str, times: str = "05:10") -> None:
    token = csrf_of(client, "/schedule/new")
    answer = client.post(
        "/schedule/save",
        data={
            "csrf": token,
            "new": "1",
            "id": entry_id,
            "announcement": "hop-to-dan-pho",
            "times": times,
            "days": "T2-T6",
            "enabled": "on",
        },
    )
    assert answer.status_code == 303, answer.text


def test_nobody_approves_their_own_draft(login: Login, approval_station: Path) -> None:
    binh, chi = login("binh"), login("chi")
    new_entry(binh, "hop-sang")
    text = (approval_station / "schedules" / "lich.yaml").read_text()
    assert "status: draft" in text and "created_by: binh" in text
    page = binh.get("/approvals/hop-sang").text
    assert 'id="own-draft"' in page and 'id="approve-form"' not in page
    digest = page.split('id="approval-sha256">')[1].split("<")[0]
    answer = binh.post("/approvals/hop-sang", data={"csrf": csrf_of(binh), "sha256": digest})
    assert answer.status_code == 403
    assert "status: draft" in (approval_station / "schedules" / "lich.yaml").read_text()

    page = chi.get("/approvals/hop-sang").text
    said = (approval_station / "announcements" / "hop-to-dan-pho.txt").read_text().strip()
    assert 'id="approve-form"' in page and said[:40] in page, "what airs, shown to the approver"
    answer = chi.post("/approvals/hop-sang", data={"csrf": csrf_of(chi), "sha256": digest})
    assert answer.status_code == 303
    text = (approval_station / "schedules" / "lich.yaml").read_text()
    assert "status: approved" in text and "approved_by: chi" in text
    rows = Accounts.for_station(approval_station).audit_rows()
    approved = [row for row in rows if row.action == "approve"]
    assert [(row.user, row.object, row.sha256) for row in approved] == [("chi", "hop-sang", digest)]
    assert any(row.action == "approve-refused" and row.user == "binh" for row in rows)


def test_an_approval_of_something_changed_since_is_refused(
    login: Login, approval_station: Path
) -> None:
    an, chi = login("an"), login("chi")
    new_entry(an, "hop-sang")
    page = chi.get("/approvals/hop-sang").text
    digest = page.split('id="approval-sha256">')[1].split("<")[0]
    text_file = approval_station / "announcements" / "hop-to-dan-pho.txt"
    text_file.write_text("Một nội dung khác hẳn.\n", encoding="utf-8")
    answer = chi.post("/approvals/hop-sang", data={"csrf": csrf_of(chi), "sha256": digest})
    assert answer.status_code == 409
    assert "status: draft" in (approval_station / "schedules" / "lich.yaml").read_text()
