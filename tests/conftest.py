"""Shared fixtures: the internet guard, a private PulseAudio rig, running `loa` for real on a copy
of the example station (never the checkout), and the `slow` marks for the quick loop."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from edge_tts.drm import DRM
from hypothesis import settings

from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from tests.edge_endpoint import TRUNCATED_SHARE, EdgeEndpoint
from tests.netguard import sitecustomize as netguard
from tests.pulse_rig import PulseRig

ROOT = Path(__file__).resolve().parent.parent
NETGUARD_DIR = Path(__file__).parent / "netguard"
CLOSED_EDGE_ENDPOINT = "ws://127.0.0.1:9/edge/v1?TrustedClientToken=none"
"""A loopback port nobody listens on: the online voice fails at once, as when offline."""

pytest_plugins = ["pytester"]

settings.register_profile("loa", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("LOA_HYPOTHESIS_PROFILE", "loa"))
"""The fuzzers try the same examples on every run, so a failure in CI fails the same way on a
laptop; LOA_HYPOTHESIS_PROFILE=explore draws new ones (with LOA_FUZZ_EXAMPLES for how many)."""

EXAMPLE_STATION = ("station.yaml", "holidays.yaml", "announcements", "schedules")
"""The bundled example station: what a test that gives no station of its own runs on, copied."""
CHECKOUT_WATCHED = (".loa", "asrun.db", "asrun.db-wal", "asrun.db-shm", "logs", "audio_cache")
CHECKOUT_WATCHED += EXAMPLE_STATION
"""What a station run in the checkout would write or read: the suite must leave it all alone."""

SLOW = {
    "tests/test_soak.py",
    "tests/test_daemon_rig.py",
}
"""Tests (a module, or module::function) left out of the quick loop `pytest -m "not slow"`: each
takes more than about 5 s on a 2-core machine. The full suite stays the test command."""

RunLoa = Callable[..., subprocess.CompletedProcess[str]]


SESSION_NETGUARD_LOG = Path(tempfile.mkdtemp()) / "netguard.log"
"""Attempts made outside any test (session fixtures, collection) land here."""


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(netguard.LOG_ENV, str(SESSION_NETGUARD_LOG))
    netguard.install()
    config.stash[CHECKOUT_BEFORE] = checkout_snapshot()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::")[0]
        function = item.nodeid.split("[")[0]
        if module in SLOW or function in SLOW:
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log = Path(os.environ[netguard.LOG_ENV])
    if log.exists() and log.read_text().strip():
        print(f"\nthe test session tried to reach the internet:\n{log.read_text()}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    before = session.config.stash.get(CHECKOUT_BEFORE, None)
    if before is not None and (changed := checkout_changes(before, checkout_snapshot())):
        print(
            "\nthe test session wrote into the checkout's own station (a `loa run` there would "
            f"have aired it; or one was running during the session): {changed[:10]}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


Snapshot = dict[str, tuple[int, int]]
CHECKOUT_BEFORE = pytest.StashKey[Snapshot]()


def checkout_snapshot(root: Path = ROOT) -> Snapshot:
    """Size and modification time of everything a station run in `root` reads or writes."""
    found: Snapshot = {}
    for name in CHECKOUT_WATCHED:
        top = root / name
        for path in [top, *sorted(top.rglob("*"))] if top.is_dir() else [top]:
            if path.exists():
                stat = path.stat()
                found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def checkout_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What was created, removed or modified between two snapshots."""
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


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
def loa_env(tmp_path: Path, example_station: Path) -> dict[str, str]:
    """Environment for a `loa` child process: guarded, offline edge, no user settings leaking,
    and a copy of the example station (LOA_STATION) so that no child ever runs on the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOA_", "ALSA_", "PULSE_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD_DIR), str(ROOT)]),
            netguard.LOG_ENV: os.environ[netguard.LOG_ENV],
            "LOA_EDGE_ENDPOINT": CLOSED_EDGE_ENDPOINT,
            "LOA_STATION": str(example_station),
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


def default_sigint() -> None:
    """`preexec_fn` for a child a test interrupts with SIGINT: Ctrl+C's default handling even
    when pytest runs as a background job of a non-interactive shell (which starts its children
    with SIGINT ignored, and Python keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def copy_example_station(target: Path) -> Path:
    """The whole bundled example station (schedules and holidays too), copied to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE_STATION:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target / name)
        else:
            shutil.copy(ROOT / name, target / name)
    return target


@pytest.fixture
def example_station(tmp_path: Path) -> Path:
    """The station `run_loa` uses when a test gives none: a fresh copy for each test, so no test
    sees another's as-run log or cache, and none reaches the checkout."""
    return copy_example_station(tmp_path / "example-station")


@pytest.fixture
def run_loa(loa_env: dict[str, str], tmp_path: Path) -> RunLoa:
    """Run `python cli.py ARGS` as a user would, in an empty folder, on a copy of the example
    station (LOA_STATION) unless the test gives its own (`--station` or `env`): the checkout's
    own station, the last place Loa looks, is never reached."""
    folder = tmp_path / "cwd"
    folder.mkdir()

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args],
            env={**loa_env, **(env or {})},
            cwd=folder,
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
