"""Rendering a program: segment by segment, at broadcast loudness, in the output's format."""

from pathlib import Path

import numpy as np
import pytest
from pydub import AudioSegment

from broadcaster.audio import render
from broadcaster.audio.decode import load_audio
from broadcaster.audio.render import (
    CHUNK_S,
    JOIN_PAUSE_MS,
    LEAD_IN_MS,
    bundled_jingle,
    render_program,
)
from broadcaster.audio.wavfile import write_wav
from broadcaster.core.models import Gap, Jingle, MusicBed, Program, Recording, Speech
from broadcaster.core.settings import OutputSettings
from broadcaster.errors import AudioFileError
from tests.signals import ffmpeg_loudness, locate, read_wav

DATA = Path(__file__).resolve().parent.parent / "data"
JINGLES = Path(__file__).resolve().parents[2] / "broadcaster" / "audio" / "jingles"
SPEECH = Speech("Xin chào", "vi")
PROGRAM = Program((Jingle("intro"), SPEECH, Gap(1.0), SPEECH, Jingle("outro")))


def samples(audio: AudioSegment) -> np.ndarray:
    data = np.frombuffer(audio.raw_data, dtype="<i2").astype(np.float64) / 32768
    return data.reshape(-1, audio.channels).mean(axis=1)


def rendered(
    program: Program,
    output: OutputSettings,
    speech: Path = DATA / "xin-chao.mp3",
    jingles: dict[str, Path] | None = None,
) -> list[AudioSegment]:
    return list(render_program(program, {SPEECH: speech}, jingles or {}, output))


def test_segments_come_one_by_one_in_program_order() -> None:
    parts = rendered(PROGRAM, OutputSettings())
    lengths = [len(p) for p in parts]
    # lead-in, intro, pause, speech, gap (in two: the bed ducks in its last 300 ms), speech,
    # pause, outro
    assert len(parts) == 9
    assert lengths[0] == LEAD_IN_MS and lengths[4] + lengths[5] == 1000
    assert parts[3].raw_data == parts[6].raw_data, "a repeat sounds exactly like the first play"
    intro, _ = read_wav(bundled_jingle("intro"))
    _, match = locate(samples(parts[1]), intro)
    assert match > 0.99


def test_long_parts_come_in_chunks_of_a_few_seconds() -> None:
    two_hours = Program((Gap(7200.0),))
    longest, total = 0, 0
    for part in render_program(two_hours, {}, {}, OutputSettings()):
        longest, total = max(longest, len(part)), total + len(part)
    assert longest <= CHUNK_S * 1000
    assert total == LEAD_IN_MS + 7_200_000


def test_every_part_is_at_the_same_loudness(tmp_path: Path) -> None:
    output = OutputSettings(loudness_lufs=-18.0, true_peak_dbtp=-2.0)
    for index, part in enumerate(rendered(PROGRAM, output)):
        if part.rms == 0:
            continue
        path = tmp_path / f"{index}.wav"
        write_wav(
            path, [part.raw_data], channels=part.channels, sample_width=2, rate=part.frame_rate
        )
        loudness, peak = ffmpeg_loudness(path)
        assert abs(loudness - -18.0) <= 1.0, f"part {index}"
        assert peak <= -2.0, f"part {index}"


@pytest.mark.parametrize("rate", [44100, 8000])
def test_the_whole_program_meets_the_target(tmp_path: Path, rate: int) -> None:
    parts = rendered(PROGRAM, OutputSettings(sample_rate=rate))
    path = tmp_path / "program.wav"
    write_wav(path, [p.raw_data for p in parts], channels=1, sample_width=2, rate=rate)
    loudness, peak = ffmpeg_loudness(path)
    assert abs(loudness - -16.0) <= 1.0
    assert peak <= -1.0


@pytest.mark.parametrize(("rate", "channels"), [(48000, 2), (22050, 1)])
def test_output_format_is_what_the_amplifier_takes(rate: int, channels: int) -> None:
    for part in rendered(
        PROGRAM, OutputSettings(sample_rate=rate, channels=channels), speech=DATA / "xin-chao.ogg"
    ):
        assert (part.frame_rate, part.channels, part.sample_width) == (rate, channels, 2)


def test_a_station_jingle_replaces_the_bundled_one() -> None:
    parts = rendered(
        Program((Jingle("intro"),)),
        OutputSettings(sample_rate=22050),
        jingles={"intro": DATA / "xin-chao.flac"},
    )
    reference, _ = read_wav(DATA / "xin-chao.wav")
    _, match = locate(samples(parts[1]), reference)
    assert match > 0.95


def test_a_phone_recording_plays_like_its_wav_original() -> None:
    phone = rendered(Program((Recording(DATA / "xin-chao.m4a"),)), OutputSettings())
    original = rendered(Program((Recording(DATA / "xin-chao.wav"),)), OutputSettings())
    assert abs(len(phone[1]) - len(original[1])) < 60
    assert len(original[1]) < len(load_audio(DATA / "xin-chao.wav")), "silence around is cut"


def test_a_damaged_recording_is_named() -> None:
    with pytest.raises(AudioFileError) as raised:
        rendered(Program((Recording(DATA / "not-audio.mp3"),)), OutputSettings())
    assert "not-audio.mp3" in raised.value.message


def test_a_clip_too_short_to_measure_is_still_heard(tmp_path: Path) -> None:
    short = tmp_path / "alo.wav"
    words = load_audio(DATA / "xin-chao.wav")
    start = next(i for i in range(len(words)) if words[i : i + 10].dBFS > -30)
    clip = words[start : start + 250]
    write_wav(short, [clip.raw_data], channels=1, sample_width=2, rate=clip.frame_rate)
    parts = rendered(Program((Recording(short),)), OutputSettings())
    assert 150 < len(parts[1]) <= 250
    assert parts[1].dBFS > -30, "short, but at broadcast level, not silenced"


def test_a_music_bed_sounds_between_plays_and_ducks_under_speech() -> None:
    gap_s = 4.0
    plain = Program((Jingle("intro"), SPEECH, Gap(gap_s), SPEECH, Jingle("outro")))
    bed = MusicBed(JINGLES / "attention.wav", level_lu=-8, duck_lu=14)
    with_bed = Program(plain.segments, bed)
    output = OutputSettings()
    clean = np.concatenate([samples(p) for p in rendered(plain, output)])
    mixed = np.concatenate([samples(p) for p in rendered(with_bed, output)])
    music = mixed - clean
    rate = output.sample_rate
    intro, _ = read_wav(bundled_jingle("intro"))
    intro_end = LEAD_IN_MS * rate // 1000 + len(intro)
    speech_start = intro_end + JOIN_PAUSE_MS * rate // 1000
    rms = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12)  # noqa: E731
    under_speech = music[speech_start + rate // 10 : speech_start + rate // 2]
    between = music[speech_start + rate * 2 : speech_start + rate * 3]
    assert np.max(np.abs(music[:intro_end])) == 0, "no music under the intro chime"
    assert rms(between) - rms(under_speech) > 10, "ducked under speech"
    assert rms(between) > -40, "the music sounds between plays"


def test_an_empty_music_bed_adds_nothing_and_does_not_hang(tmp_path: Path) -> None:
    empty = tmp_path / "trong.wav"
    write_wav(empty, [], channels=1, sample_width=2, rate=22050)
    plain = Program((Jingle("intro"), SPEECH, Jingle("outro")))
    with_bed = Program(plain.segments, MusicBed(empty))
    clean = np.concatenate([samples(p) for p in rendered(plain, OutputSettings())])
    mixed = np.concatenate([samples(p) for p in rendered(with_bed, OutputSettings())])
    assert len(mixed) == len(clean)
    assert np.max(np.abs(mixed - clean)) < 0.01, "only the final limiter's rounding differs"


@pytest.mark.parametrize("frames", [0, 22050], ids=["empty", "digital-silence"])
def test_a_silent_recording_stops_the_broadcast_before_it_starts(
    tmp_path: Path, frames: int
) -> None:
    quiet = tmp_path / "im-lang.wav"
    write_wav(quiet, [b"\x00\x00" * frames], channels=1, sample_width=2, rate=22050)
    parts = render_program(
        Program((Jingle("intro"), Recording(quiet), Jingle("outro"))), {}, {}, OutputSettings()
    )
    with pytest.raises(AudioFileError) as raised:
        next(parts)  # not even the lead-in comes out
    assert "im-lang.wav" in raised.value.message


def test_hiss_is_not_blown_up_into_a_broadcast(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 10 ** (-80 / 20), 22050 * 3)
    hiss[22050] = hiss[44100] = 10 ** (-45 / 20)  # two handling clicks
    path = tmp_path / "xi.wav"
    pcm = np.clip(np.round(hiss * 32768), -32768, 32767).astype("<i2")
    write_wav(path, [pcm.tobytes()], channels=1, sample_width=2, rate=22050)
    with pytest.raises(AudioFileError):
        rendered(Program((Recording(path),)), OutputSettings())


def test_a_quiet_recording_still_reaches_the_target(tmp_path: Path) -> None:
    words, rate = read_wav(DATA / "xin-chao.wav")
    quiet = tmp_path / "nho.wav"
    pcm = np.round(np.tile(words, 3) * 0.1 * 32768).astype("<i2")  # 20 dB too quiet
    write_wav(quiet, [pcm.tobytes()], channels=1, sample_width=2, rate=rate)
    parts = rendered(Program((Recording(quiet),)), OutputSettings())
    out = tmp_path / "out.wav"
    write_wav(out, [parts[1].raw_data], channels=1, sample_width=2, rate=44100)
    loudness, peak = ffmpeg_loudness(out)
    assert abs(loudness - -16.0) <= 1.0 and peak <= -1.0


def test_opus_in_ogg_goes_through_ffmpeg() -> None:
    opus = rendered(Program((Recording(DATA / "xin-chao-opus.ogg"),)), OutputSettings())
    original = rendered(Program((Recording(DATA / "xin-chao.wav"),)), OutputSettings())
    assert abs(len(opus[1]) - len(original[1])) < 60


def test_the_same_audio_is_measured_once_whatever_its_file(tmp_path: Path) -> None:
    """A cache hit is copied to a new file for each broadcast: its analysis is found by content."""
    first, second = tmp_path / "a.mp3", tmp_path / "b.mp3"
    first.write_bytes((DATA / "xin-chao.mp3").read_bytes())
    second.write_bytes(first.read_bytes())
    output = OutputSettings(sample_rate=22050)
    once = rendered(PROGRAM, output, first)
    measured = len(render._levels)
    again = rendered(PROGRAM, output, second)
    assert len(render._levels) == measured, "nothing new was measured"
    assert [p.raw_data for p in again] == [p.raw_data for p in once]
    quieter = AudioSegment.from_file(first) - 12
    quieter.export(second, format="wav")
    changed = rendered(PROGRAM, output, second)
    assert len(render._levels) == measured + 1, "other audio under a known name is measured"
    assert changed[3].rms == pytest.approx(once[3].rms, rel=0.1), "and brought to the target"
