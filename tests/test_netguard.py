"""The guard that keeps the test suite off the internet really fails a test that tries."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NETGUARD_DIR
from tests.netguard.sitecustomize import InternetBlocked, is_local

DOCUMENTATION_ADDRESS = "198.51.100.7"
"""TEST-NET-2 (RFC 5737): never routed; and the guard refuses before any packet is sent."""


def test_a_test_reaching_out_fails_even_if_it_swallows_the_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOA_NETGUARD_LOG", str(pytester.path / "inner.log"))
    pytester.makeconftest(
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent.parent)!r})\n"
        "from tests.conftest import no_internet, pytest_configure  # noqa: F401\n"
    )
    pytester.makepyfile(
        f"""
        import contextlib, socket

        def test_quietly_online():
            with contextlib.suppress(OSError):
                socket.create_connection(("{DOCUMENTATION_ADDRESS}", 443), timeout=1)

        def test_loopback_is_fine():
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen()
            socket.create_connection(server.getsockname()).close()
            server.close()
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*tried to reach the internet*", f"*{DOCUMENTATION_ADDRESS}*"])


def test_child_processes_are_guarded_too(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    env = {**os.environ, "PYTHONPATH": str(NETGUARD_DIR), "LOA_NETGUARD_LOG": str(log)}
    code = "import socket; socket.getaddrinfo('speech.platform.bing.com', 443)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "InternetBlocked" in result.stderr
    assert "speech.platform.bing.com" in log.read_text()
    log.unlink()


def test_in_process_connection_is_refused(no_internet: Path) -> None:
    import socket

    with pytest.raises(InternetBlocked):
        socket.create_connection((DOCUMENTATION_ADDRESS, 80), timeout=1)
    assert DOCUMENTATION_ADDRESS in no_internet.read_text()
    no_internet.unlink()


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        (None, True),
        ("127.8.9.1", True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("speech.platform.bing.com", False),
    ],
)
def test_only_loopback_counts_as_local(host: str | None, local: bool) -> None:
    assert is_local(host) is local


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: __import__("socket").gethostbyname("example.com"),
        lambda: __import__("socket").gethostbyname_ex("example.com"),
        lambda: __import__("socket").socket(2, 2).sendto(b"x", (DOCUMENTATION_ADDRESS, 53)),
    ],
    ids=["gethostbyname", "gethostbyname_ex", "udp-sendto"],
)
def test_lookups_and_datagrams_are_refused_too(no_internet: Path, attempt) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InternetBlocked):
        attempt()
    assert no_internet.read_text().strip()
    no_internet.unlink()
