"""Decoding without ffmpeg: the formats a commune PC meets, and files that only pretend."""

import os
import wave
from pathlib import Path

import pytest

from broadcaster.audio.decode import load_audio, probe_audio
from broadcaster.audio.render import render_program
from broadcaster.core.models import Program, Recording
from broadcaster.core.settings import OutputSettings
from broadcaster.errors import AudioFileError
from broadcaster.programs import find_program

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


def test_phone_formats_are_not_read_whole(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError) as raised:
        load_audio(DATA / "xin-chao.m4a")
    assert "xin-chao.m4a" in raised.value.message
    assert all(kind in raised.value.message for kind in ("WAV", "MP3", "OGG", "FLAC"))


def test_probing_a_phone_recording_needs_ffmpeg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AudioFileError) as raised:
        probe_audio(DATA / "xin-chao.m4a", 60)
    assert "xin-chao.m4a" in raised.value.message and "ffmpeg" in raised.value.message


@pytest.mark.parametrize("name", ["xin-chao.m4a", "xin-chao.mp3"])
def test_probing_measures_the_length(name: str) -> None:
    probe_audio(DATA / name, 1.0)
    with pytest.raises(AudioFileError) as raised:
        probe_audio(DATA / name, 0.5)
    assert name in raised.value.message


def test_a_damaged_phone_recording_is_named(tmp_path: Path) -> None:
    recording = tmp_path / "ghi-am.m4a"
    recording.write_bytes(b"\x00" * 100)
    with pytest.raises(AudioFileError) as raised:
        probe_audio(recording, 60)
    assert "ghi-am.m4a" in raised.value.message


def test_surround_files_are_mixed_down_to_stereo(tmp_path: Path) -> None:
    surround = tmp_path / "6-kenh.wav"
    with wave.open(str(surround), "wb") as wav:
        wav.setnchannels(6)
        wav.setsampwidth(2)
        wav.setframerate(48000)
        wav.writeframes(b"\x10\x00" * 6 * 4800)
    audio = load_audio(surround)
    assert (audio.channels, audio.frame_rate, len(audio)) == (2, 48000, 100)


@pytest.mark.parametrize("name", ["x:y.m4a", "http:foo.m4a"])
def test_a_colon_in_a_file_name_is_never_a_protocol(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes((DATA / "xin-chao.m4a").read_bytes())
    recording = Path(name)  # relative, as an officer's station file names it
    probe_audio(recording, 1.0)
    with pytest.raises(AudioFileError):
        probe_audio(recording, 0.5)
    parts = list(render_program(Program((Recording(recording),)), {}, {}, OutputSettings()))
    assert sum(len(part) for part in parts) > 500


def test_helper_programs_are_never_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    station, tools = tmp_path / "station", tmp_path / "tools"
    for folder in (station, tools):
        folder.mkdir()
        helper = folder / "loa-test-helper"
        helper.write_text("#!/bin/sh\n")
        helper.chmod(0o755)
    monkeypatch.chdir(station)
    monkeypatch.setenv("PATH", os.pathsep.join([".", "", str(station)]))
    assert find_program("loa-test-helper") is None
    monkeypatch.setenv("PATH", os.pathsep.join([".", str(station), str(tools)]))
    assert find_program("loa-test-helper") == str(tools / "loa-test-helper")
