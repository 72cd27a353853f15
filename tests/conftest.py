"""Shared fixtures: the internet guard, a private PulseAudio rig, running `loa` for real on a copy
of the example station (never the checkout), and the `slow` marks for the quick loop."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
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
    # simulated days, the real-time daemon on the rig
    "tests/test_soak.py",
    "tests/test_daemon_rig.py",
    "tests/test_monitor_commands.py::test_loa_run_with_a_monitor_device_that_is_not_there_stays_on_the_air",
    # fuzzers with many examples
    "tests/test_fuzz_control.py::test_answer_replies_ok_or_why_not_and_never_raises",
    "tests/test_fuzz_schedules.py::test_valid_entries_load_with_the_fields_written",
    "tests/test_fuzz_schedules.py::test_every_bad_entry_is_one_problem_at_its_own_lines",
    # measured above about 4 s with --durations on the loaded 2-core machine
    "tests/audio/test_chimes.py::test_main_regenerates_the_committed_files_byte_for_byte",
    "tests/audio/test_chimes.py::test_attention_alternates_two_tones_unlike_the_chimes",
    "tests/audio/test_playback.py::test_buffer_joins_add_at_most_50_ms_of_silence",
    "tests/audio/test_playback.py::test_a_rendering_error_stops_playback_and_is_raised",
    "tests/audio/test_live_output.py::test_a_live_stream_is_heard_on_the_second_with_no_gap_and_a_constant_latency",
    "tests/audio/test_live_output.py::test_a_stream_that_came_late_is_brought_back_to_its_time",
    "tests/audio/test_live_output.py::test_stop_silences_the_stream_at_once",
    "tests/audio/test_render.py::test_long_parts_come_in_chunks_of_a_few_seconds",
    "tests/audio/test_render.py::test_every_part_is_at_the_same_loudness",
    "tests/audio/test_render.py::test_output_format_is_what_the_amplifier_takes",
    "tests/speech/test_cache.py::test_pruning_removes_thousands_of_entries",
    "tests/speech/test_edge_endpoint.py::test_text_over_4096_bytes_goes_out_in_several_connections",
    "tests/test_setup_commands.py::test_a_sample_is_heard_on_the_sound_card",
    "tests/test_setup_commands.py::test_the_bash_script_completes_in_bash",
    "tests/test_netguard.py::test_a_test_reaching_out_fails_even_if_it_swallows_the_error",
    "tests/test_cli.py::test_cache_warm_stats_and_prune",
    "tests/test_cli.py::test_say_is_heard_as_intro_then_speech_then_outro",
    "tests/test_cli.py::test_next_as_text_and_a_bad_schedule",
    "tests/test_cli.py::test_a_station_in_english_speaks_english",
    "tests/test_cli.py::test_play_an_audio_file_of_the_station",
    "tests/test_cli.py::test_cache_warm_renders_what_the_schedules_air_next",
    "tests/test_cli.py::test_ctrl_c_stops_the_broadcast_cleanly",
    "tests/test_cli.py::test_repeats_gaps_and_the_attention_tone",
    "tests/test_cli.py::test_a_recording_longer_than_a_broadcast_is_refused",
    "tests/test_cli.py::test_mp3_output_meets_the_loudness_target",
    "tests/test_cli.py::test_a_recording_is_found_in_the_announcements_folder",
    "tests/test_cli.py::test_play_bundled_campaign_announcement_to_a_file",
    "tests/test_cli.py::test_say_without_a_sound_device_says_so_in_vietnamese",
    "tests/test_cli.py::test_text_shows_what_each_engine_receives",
    "tests/test_cli.py::test_help_is_vietnamese_by_default_and_english_on_request",
    "tests/test_cli.py::test_full_disk_leaves_nothing_behind",
    "tests/test_cli.py::test_english_on_request",
    "tests/test_cli.py::test_the_online_voice_reads_and_is_cached",
    "tests/test_cli.py::test_say_when_the_sound_server_is_gone",
    "tests/test_cli.py::test_say_out_writes_the_program_to_a_file",
    "tests/test_doctor.py::test_a_broken_station_file_is_reported_and_the_rest_still_checked",
    "tests/test_doctor.py::test_without_a_sound_device_it_fails_with_the_fix_in_vietnamese",
    "tests/test_doctor.py::test_the_rig_hears_the_beep_and_every_check_passes",
    "tests/test_checkout_guard.py::test_loa_without_a_station_runs_on_a_copy",
    # the province link with `loa run` stopped, killed and restarted, and broker restarts
    "tests/province/test_link_restart.py",
    "tests/province/test_end_to_end.py",
    # a real broker and real daemons per test: about a minute each module in all
    "tests/province/test_link.py",
    "tests/province/test_province_link.py",
    "tests/province/test_reports_mqtt.py",
    # a real headless Chromium per module
    "tests/web/test_browser_pages.py",
    "tests/test_browser_rig.py",
    "tests/web/test_entry_relay.py::test_the_relay_pages_pass_every_check_on_a_phone_and_the_pc",
    "tests/web/test_entry_relay.py::test_the_kind_shows_its_own_fields_and_a_relay_is_saved_without_javascript",
    # loa started and interrupted at many moments, and the guide's every command
    "tests/test_interrupt.py::test_ctrl_c_while_loa_starts_always_says_stopped",
    "tests/test_guide.py",
    # relays of a real Icecast and of HLS in real time: sources killed, hung, frozen, restarted
    "tests/test_relay_onair.py",
    "tests/test_monitor_onair.py",
    "tests/relay/test_http.py",
    "tests/relay/test_icecast.py::test_audio_soon_after_connecting_and_the_end_on_time_with_a_fade",
    "tests/relay/test_icecast.py::test_a_killed_source_is_one_dropout_as_long_as_the_gap_heard",
    "tests/relay/test_icecast.py::test_a_hung_source_is_a_stall_within_5_s_and_plays_again_when_it_resumes",
    "tests/relay/test_icecast.py::test_after_fallback_after_the_fallback_plays_until_the_source_returns",
    "tests/relay/test_icecast.py::test_after_a_pause_the_relay_resumes_at_the_live_point",
    "tests/relay/test_icecast.py::test_the_report_and_the_doctor_say_what_a_source_is",
    "tests/relay/test_level.py::test_quiet_and_loud_sources_come_out_at_the_target_over_five_minutes",
    "tests/relay/test_relay_command.py::test_the_report_of_a_source_and_the_file_of_what_came",
    # the on-air monitor on the rig: seconds of sound each, and the capture catching up
    "tests/monitor/test_listening.py::test_what_the_station_plays_is_heard_with_the_delay_the_rig_shows",
    "tests/monitor/test_listening.py::test_sound_routed_to_another_sink_is_not_heard_and_dead_air_is_raised_in_time",
    "tests/monitor/test_listening.py::test_noise_while_nothing_is_sent_is_unexpected_sound",
    "tests/monitor/test_listening.py::test_a_hole_in_what_reaches_the_loudspeakers_is_partly_heard",
    "tests/monitor/test_audiolog.py::test_a_full_disk_stops_the_log_with_an_alarm_and_the_monitor_goes_on",
}
"""Tests (a module, or module::function for all its parameters) left out of the quick loop
`pytest -m "not slow"`; the full suite stays the test command. A name that matches no test is
reported (see `pytest_collection_modifyitems`), so a renamed test cannot drop out silently."""

RunLoa = Callable[..., subprocess.CompletedProcess[str]]


SESSION_NETGUARD_LOG = Path(tempfile.mkdtemp()) / "netguard.log"
"""Attempts made outside any test (session fixtures, collection) land here."""


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(netguard.LOG_ENV, str(SESSION_NETGUARD_LOG))
    netguard.install()
    config.stash[CHECKOUT_BEFORE] = checkout_snapshot()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    used: set[str] = set()
    for item in items:
        names = {item.nodeid.split("::")[0], item.nodeid.split("[")[0]} & SLOW
        if names:
            item.add_marker(pytest.mark.slow)
            used |= names
    collected = {item.nodeid.split("::")[0] for item in items}
    stale = sorted(name for name in SLOW - used if name.split("::")[0] in collected)
    if stale:
        warnings.warn(
            pytest.PytestWarning(f"tests/conftest.py SLOW names tests that do not exist: {stale}"),
            stacklevel=1,
        )


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
