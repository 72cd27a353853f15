"""Shared fixtures: the internet guard, a private PulseAudio rig, and running `loa` for real."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from edge_tts.drm import DRM

from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from tests.edge_endpoint import TRUNCATED_SHARE, EdgeEndpoint
from tests.netguard import sitecustomize as netguard
from tests.pulse_rig import PulseRig

ROOT = Path(__file__).resolve().parent.parent
NETGUARD_DIR = Path(__file__).parent / "netguard"
CLOSED_EDGE_ENDPOINT = "ws://127.0.0.1:9/edge/v1?TrustedClientToken=none"
"""A loopback port nobody listens on: the online voice fails at once, as when offline."""

pytest_plugins = ["pytester"]

RunLoa = Callable[..., subprocess.CompletedProcess[str]]


SESSION_NETGUARD_LOG = Path(tempfile.mkdtemp()) / "netguard.log"
"""Attempts made outside any test (session fixtures, collection) land here."""


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(netguard.LOG_ENV, str(SESSION_NETGUARD_LOG))
    netguard.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log = Path(os.environ[netguard.LOG_ENV])
    if log.exists() and log.read_text().strip():
        print(f"\nthe test session tried to reach the internet:\n{log.read_text()}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def no_internet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fail any test that tried to reach past loopback, in pytest or in a child process."""
    log = tmp_path / "netguard.log"
    monkeypatch.setenv(netguard.LOG_ENV, str(log))
    yield log
    if log.exists() and log.read_text().strip():
        pytest.fail(f"the test tried to reach the internet:\n{log.read_text()}")


@pytest.fixture
def english() -> Iterator[None]:
    """Messages made inside the test process in English, for tests that read them."""
    set_language("en")
    yield
    set_language(DEFAULT_LANGUAGE)


@pytest.fixture
def loa_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a `loa` child process: guarded, offline edge, no user settings leaking."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOA_", "ALSA_", "PULSE_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD_DIR), str(ROOT)]),
            netguard.LOG_ENV: os.environ[netguard.LOG_ENV],
            "LOA_EDGE_ENDPOINT": CLOSED_EDGE_ENDPOINT,
            "ALSA_CONFIG_PATH": str(tmp_path / "no-sound-card.conf"),
            "HOME": str(tmp_path),
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    (tmp_path / "no-sound-card.conf").write_text("pcm.!default { type hw card 97 }\n")
    return env


@pytest.fixture
def station(tmp_path: Path) -> Path:
    """A copy of the bundled example station, so tests never write into the checkout."""
    target = tmp_path / "station"
    shutil.copytree(ROOT / "announcements", target / "announcements")
    shutil.copy(ROOT / "station.yaml", target / "station.yaml")
    return target


@pytest.fixture
def run_loa(loa_env: dict[str, str]) -> RunLoa:
    """Run `python cli.py ARGS` as a user would, from the checkout; returns the finished process."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args],
            env={**loa_env, **(env or {})},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def edge_server() -> Iterator[EdgeEndpoint]:
    """One local Edge speech endpoint for the session, so each text is synthesized once."""
    with EdgeEndpoint() as server:
        yield server


@pytest.fixture
def edge(edge_server: EdgeEndpoint, monkeypatch: pytest.MonkeyPatch) -> EdgeEndpoint:
    """The local endpoint, reset to answer normally; loopback bypasses any configured proxy."""
    edge_server.mode = "ok"
    edge_server.delay_s = 0.0
    edge_server.requests.clear()
    edge_server.mute_voices.clear()
    edge_server.truncate_at = TRUNCATED_SHARE
    DRM.clock_skew_seconds = 0.0  # class-level and cumulative: a 403 in one test must not leak
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return edge_server


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseRig]:
    rig = PulseRig(tmp_path_factory.mktemp("pulse"))
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()


def _mount_tmpfs(target: Path, options: str) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write to, root included (root ignores permission bits)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    _mount_tmpfs(folder, "ro,size=1m")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB file system, to fill up (needs root to mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root; CI runs as root")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    _mount_tmpfs(folder, "size=256k")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)
