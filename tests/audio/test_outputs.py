"""Outputs other than the sound card (which tests/test_cli.py checks on the PulseAudio rig)."""

import os
import threading
import time
from pathlib import Path

import pytest
from pydub import AudioSegment

from broadcaster.audio.decode import load_audio
from broadcaster.audio.outputs import OUTPUTS, PlaybackStopped, SilentOutput, file_output
from broadcaster.core.settings import OUTPUT_DEVICES
from broadcaster.errors import OutputFileError
from tests.signals import read_wav

WORDS = AudioSegment.from_wav(str(Path(__file__).resolve().parent.parent / "data" / "xin-chao.wav"))
PARTS = [AudioSegment.silent(duration=300, frame_rate=22050), WORDS, WORDS]


def test_wav_file_holds_every_segment_in_order(tmp_path: Path) -> None:
    out = tmp_path / "ban-tin.wav"
    file_output(out).play(iter(PARTS))
    samples, rate = read_wav(out)
    assert rate == WORDS.frame_rate
    assert len(samples) == sum(int(p.frame_count()) for p in PARTS)
    assert [p.name for p in tmp_path.iterdir()] == ["ban-tin.wav"], "no temporary file left"


def test_mp3_file_is_encoded_with_ffmpeg(tmp_path: Path) -> None:
    out = tmp_path / "ban-tin.mp3"
    file_output(out).play(iter(PARTS))
    assert abs(len(load_audio(out)) - sum(len(p) for p in PARTS)) < 100
    assert [p.name for p in tmp_path.iterdir()] == ["ban-tin.mp3"]


def test_mp3_without_ffmpeg_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OutputFileError) as raised:
        file_output(tmp_path / "a.mp3")
    assert "ffmpeg" in raised.value.message and ".wav" in raised.value.message


def test_files_get_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        file_output(tmp_path / "a.wav").play(iter(PARTS))
    finally:
        os.umask(umask)
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o644


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    out.write_bytes(b"old")
    file_output(out).play(iter(PARTS))
    assert out.read_bytes()[:4] == b"RIFF"


def test_an_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    def interrupted() -> object:
        yield WORDS
        raise KeyboardInterrupt

    out = tmp_path / "a.wav"
    with pytest.raises(KeyboardInterrupt):
        file_output(out).play(interrupted())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a.ogg", "a", "a.wav.txt"])
def test_only_wav_and_mp3_are_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputFileError) as raised:
        file_output(tmp_path / name)
    assert ".wav" in raised.value.message and ".mp3" in raised.value.message


def test_silent_output_keeps_what_it_was_given() -> None:
    output = OUTPUTS["silent"]()
    assert isinstance(output, SilentOutput)
    began = time.monotonic()
    output.play(iter(PARTS))
    took_s = time.monotonic() - began
    assert (output.chunks, output.played_ms) == (3, sum(len(p) for p in PARTS))
    assert took_s >= output.played_ms / 1000 - 0.01, "as long as the program on air"


def test_silent_output_stops_when_asked() -> None:
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    with pytest.raises(PlaybackStopped):
        SilentOutput().play(iter([AudioSegment.silent(duration=10_000)]), stop)


def test_every_output_a_station_may_name_exists() -> None:
    assert set(OUTPUTS) == set(OUTPUT_DEVICES)


def test_mp3_file_with_a_colon_in_its_name_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    file_output(Path("x:y.mp3")).play(iter(PARTS))
    assert abs(len(load_audio(tmp_path / "x:y.mp3")) - sum(len(p) for p in PARTS)) < 100
    assert [p.name for p in tmp_path.iterdir()] == ["x:y.mp3"]
