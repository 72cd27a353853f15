"""Outputs other than the sound card (which tests/test_cli.py checks on the PulseAudio rig)."""

import os
from pathlib import Path

import pytest
from pydub import AudioSegment

from broadcaster.audio.outputs import OUTPUTS, SilentOutput, WavFileOutput
from broadcaster.errors import OutputFileError
from broadcaster.settings import OUTPUT_DEVICES
from tests.signals import read_wav

TONE = AudioSegment.silent(duration=500, frame_rate=22050).overlay(
    AudioSegment.from_wav(str(Path(__file__).resolve().parent.parent / "data" / "xin-chao.wav"))
)


def test_wav_file_holds_exactly_what_was_played(tmp_path: Path) -> None:
    out = tmp_path / "ban-tin.wav"
    WavFileOutput(out).play(TONE)
    samples, rate = read_wav(out)
    assert rate == TONE.frame_rate
    assert len(samples) == int(TONE.frame_count())
    assert [p.name for p in tmp_path.iterdir()] == ["ban-tin.wav"], "no temporary file left"


def test_wav_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        WavFileOutput(tmp_path / "a.wav").play(TONE)
    finally:
        os.umask(umask)
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o644


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    out.write_bytes(b"old")
    WavFileOutput(out).play(TONE)
    assert out.read_bytes()[:4] == b"RIFF"


@pytest.mark.parametrize("name", ["a.mp3", "a", "a.wav.txt"])
def test_only_wav_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputFileError) as raised:
        WavFileOutput(tmp_path / name)
    assert ".wav" in raised.value.message


def test_silent_output_keeps_what_it_was_given() -> None:
    output = OUTPUTS["silent"]()
    assert isinstance(output, SilentOutput)
    output.play(TONE)
    assert output.played == [TONE]


def test_every_output_a_station_may_name_exists() -> None:
    assert set(OUTPUTS) == set(OUTPUT_DEVICES)
