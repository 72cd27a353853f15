"""A console on a copy of the example station, with three accounts, driven by Starlette's
TestClient (real SQLite, real files, real forms)."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broadcaster.web.app import create_app
from broadcaster.web.auth import Accounts, Role
from tests.conftest import copy_example_station

PASSWORD = "mật-khẩu-đủ-dài"
USERS = {"an": Role.OFFICER, "binh": Role.APPROVER, "chi": Role.APPROVER, "root": Role.ADMIN}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def console_station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    station = copy_example_station(tmp_path / "station")
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", "http://127.0.0.1:9/")
    accounts = Accounts.for_station(station)
    for name, role in USERS.items():
        accounts.add_user(name, role, PASSWORD)
    return station


Login = Callable[[str], TestClient]


@pytest.fixture
def login(console_station: Path) -> Iterator[Login]:
    """A logged-in client per user name (each its own cookies), on one app."""
    app = create_app(console_station)
    clients: list[TestClient] = []

    def as_user(name: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        answer = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/"})
        assert answer.status_code == 303, answer.text
        return client

    yield as_user
    for client in clients:
        client.close()


def csrf_of(client: TestClient, path: str = "/emergency") -> str:
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found[1]
