"""Decoding without ffmpeg: the formats a commune PC meets, and files that only pretend."""

from pathlib import Path

import pytest

from broadcaster.audio import decode
from broadcaster.audio.decode import load_audio
from broadcaster.errors import AudioFileError

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize("name", ["xin-chao.wav", "xin-chao.mp3", "xin-chao.ogg", "xin-chao.flac"])
def test_each_format_decodes_to_the_same_speech(name: str) -> None:
    reference = load_audio(DATA / "xin-chao.wav")
    audio = load_audio(DATA / name)
    assert abs(len(audio) - len(reference)) < 80, "same words, same length (codec padding aside)"
    assert abs(audio.dBFS - reference.dBFS) < 1.5, "same words, same level"


def test_decoding_needs_no_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert len(load_audio(DATA / "xin-chao.mp3")) > 500


@pytest.mark.parametrize("name", ["not-audio.mp3", "empty.wav", "missing.ogg"])
def test_unreadable_files_are_named_in_the_error(name: str) -> None:
    with pytest.raises(AudioFileError) as raised:
        load_audio(DATA / name)
    assert name in raised.value.message


def test_unsupported_format_says_which_are_supported(tmp_path: Path) -> None:
    recording = tmp_path / "ghi-am.m4a"
    recording.write_bytes(b"\x00" * 100)
    with pytest.raises(AudioFileError) as raised:
        load_audio(recording)
    assert "ghi-am.m4a" in raised.value.message
    assert all(kind in raised.value.message for kind in ("WAV", "MP3", "OGG", "FLAC"))
    assert decode.MINIAUDIO_SUFFIXES == (".mp3", ".ogg", ".flac")
