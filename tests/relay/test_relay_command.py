"""`loa relay test NAME`: an unknown name from the real command; a real source through the
command with a station built in the test (station.yaml's `relay_sources:` is read by the
station's files, which come separately: the end-to-end run is the lead's, once both are in)."""

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli.relay_commands import relay
from broadcaster.cli.session import Session
from broadcaster.core.settings import RelaySource, Station
from broadcaster.relay.probe import GAINS_FILE
from tests.conftest import RunLoa
from tests.icecast import Icecast, ToneSource
from tests.relay.rig import OUTPUT, icecast

__all__ = ["icecast"]


def test_an_unknown_source_is_named_with_the_ones_there_are(run_loa: RunLoa):
    answer = run_loa("--lang", "en", "relay", "test", "vov9")
    assert answer.returncode == 1
    assert "no relay source named vov9" in answer.stderr
    assert "Traceback" not in answer.stderr


@pytest.fixture
def tone(icecast: Icecast) -> Iterator[ToneSource]:
    source = ToneSource(icecast, "command").start()
    yield source
    source.kill()


@pytest.mark.usefixtures("english")
def test_the_report_of_a_source_and_the_file_of_what_came(
    icecast: Icecast, tone: ToneSource, tmp_path: Path
):
    station = Station(
        tmp_path,
        output=OUTPUT,
        relay_sources={"vov1": RelaySource("vov1", (icecast.url("command"),))},
    )
    session = Session(tmp_path, language_chosen=True, _station=station)
    out = tmp_path / "vov1.wav"
    answer = CliRunner().invoke(
        relay, ["test", "vov1", "--seconds", "2", "--out", str(out)], obj=session
    )
    assert answer.exit_code == 0, answer.output
    assert f"{icecast.url('command')}: mp3, 64 kbit/s; first audio after" in answer.output
    assert "LUFS on the air" in answer.output
    with wave.open(str(out)) as written:
        assert written.getframerate() == OUTPUT.sample_rate
        assert written.getnframes() == 2 * OUTPUT.sample_rate
    assert not (tmp_path / ".loa" / GAINS_FILE).exists()  # 2 s teach nothing about a source
