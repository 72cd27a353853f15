"""Rendering a program: chimes and speech at even levels, in order, in the output's format."""

from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.render import (
    JINGLE_LEVEL_DBFS,
    JOIN_PAUSE_MS,
    LEAD_IN_MS,
    PEAK_LIMIT_DBFS,
    SPEECH_LEVEL_DBFS,
    bundled_jingle,
    render_program,
)
from broadcaster.models import Gap, Jingle, Program, Speech
from broadcaster.settings import OutputSettings
from tests.signals import locate, read_wav

DATA = Path(__file__).resolve().parent.parent / "data"
SPEECH = Speech("Xin chào", "vi")
PROGRAM = Program((Jingle("intro"), SPEECH, Gap(1.0), SPEECH, Jingle("outro")))


def samples(audio) -> np.ndarray:  # type: ignore[no-untyped-def]
    data = np.frombuffer(audio.raw_data, dtype="<i2").astype(np.float64) / 32768
    return data.reshape(-1, audio.channels).mean(axis=1)


def test_program_order_and_lead_in() -> None:
    audio = render_program(PROGRAM, {SPEECH: DATA / "xin-chao.mp3"}, {}, OutputSettings())
    track = samples(audio)
    intro, _ = read_wav(bundled_jingle("intro"))
    outro, _ = read_wav(bundled_jingle("outro"))
    intro_at, intro_match = locate(track, intro)
    outro_at, outro_match = locate(track, outro)
    assert intro_match > 0.99 and outro_match > 0.99
    assert intro_at == LEAD_IN_MS * 44100 // 1000
    assert np.max(np.abs(track[:intro_at])) == 0, "the lead-in is silence"
    speech_and_gap = track[intro_at + len(intro) : outro_at]
    assert 2.5 < len(speech_and_gap) / 44100 < 5, "speech twice with a one-second gap between"


def test_levels_are_even_and_peaks_limited() -> None:
    audio = render_program(
        Program((Jingle("intro"), SPEECH)), {SPEECH: DATA / "xin-chao.wav"}, {}, OutputSettings()
    )
    track = samples(audio)
    intro_len = len(read_wav(bundled_jingle("intro"))[0])
    start = LEAD_IN_MS * 44100 // 1000
    chime = track[start : start + intro_len]
    speech = track[start + intro_len + JOIN_PAUSE_MS * 44100 // 1000 :]
    rms_db = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert abs(rms_db(chime) - JINGLE_LEVEL_DBFS) < 1.0
    speech_peak_db = 20 * np.log10(np.max(np.abs(speech)))
    at_target = abs(rms_db(speech) - SPEECH_LEVEL_DBFS) < 0.5
    held_by_peak_limit = (
        rms_db(speech) < SPEECH_LEVEL_DBFS and speech_peak_db > PEAK_LIMIT_DBFS - 0.5
    )
    assert at_target or held_by_peak_limit, "speech sits at its target unless its peaks forbid it"
    assert rms_db(speech) > SPEECH_LEVEL_DBFS - 3
    assert 20 * np.log10(np.max(np.abs(track))) <= PEAK_LIMIT_DBFS + 0.1


@pytest.mark.parametrize(("rate", "channels"), [(48000, 2), (22050, 1)])
def test_output_format_is_what_the_amplifier_takes(rate: int, channels: int) -> None:
    audio = render_program(
        PROGRAM,
        {SPEECH: DATA / "xin-chao.ogg"},
        {},
        OutputSettings(sample_rate=rate, channels=channels),
    )
    assert (audio.frame_rate, audio.channels, audio.sample_width) == (rate, channels, 2)


def test_a_station_jingle_replaces_the_bundled_one() -> None:
    own = DATA / "xin-chao.flac"
    audio = render_program(
        Program((Jingle("intro"),)), {}, {"intro": own}, OutputSettings(sample_rate=22050)
    )
    reference, _ = read_wav(DATA / "xin-chao.wav")
    _, match = locate(samples(audio), reference)
    assert match > 0.95
