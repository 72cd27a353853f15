"""`loa say` and `loa play` run as an officer runs them: a real process, real speech, real sound."""

import re
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.render import LEAD_IN_MS, bundled_jingle
from broadcaster.compose import MAX_TEXT_CHARS
from broadcaster.errors import ExitCode
from tests.conftest import RunLoa
from tests.pulse_rig import RATE, PulseRig
from tests.signals import locate, read_wav, window_levels_dbfs

TEXT = "Kính thưa bà con, đây là bản tin thử nghiệm của đài truyền thanh xã."


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "ALSA lib" not in stderr


def test_say_is_heard_as_intro_then_speech_then_outro(pulse: PulseRig, run_loa: RunLoa) -> None:
    with pulse.record() as capture:
        result = run_loa("say", TEXT, env=pulse.env)
    assert result.returncode == ExitCode.OK, result.stderr
    heard = capture.samples
    intro, rate = read_wav(bundled_jingle("intro"))
    outro, _ = read_wav(bundled_jingle("outro"))
    assert rate == RATE
    intro_at, intro_match = locate(heard, intro)
    outro_at, outro_match = locate(heard, outro)
    assert intro_match > 0.9, f"intro not heard (best match {intro_match:.2f})"
    assert outro_match > 0.9, f"outro not heard (best match {outro_match:.2f})"
    assert outro_at > intro_at + len(intro), "the outro must come after the intro"
    speech = heard[intro_at + len(intro) : outro_at]
    levels = window_levels_dbfs(speech, RATE)
    assert len(speech) / RATE > 2.0, "too little between the chimes for the sentence"
    assert np.mean(levels > -35) > 0.5, "the part between the chimes is not speech-level"
    assert np.mean(levels < -45) > 0.02, "speech has pauses between words; this has none"
    assert "Phát xong" in result.stdout


def test_say_without_a_sound_device_says_so_in_vietnamese(run_loa: RunLoa) -> None:
    result = run_loa("say", TEXT)
    assert result.returncode == ExitCode.NO_AUDIO_DEVICE
    assert_no_traceback(result.stderr)
    assert "Không mở được thiết bị âm thanh" in result.stderr
    assert "--out" in result.stderr


def test_say_when_the_sound_server_is_gone(
    tmp_path: Path, run_loa: RunLoa, pulse: PulseRig
) -> None:
    gone = {**pulse.env, "PULSE_SERVER": f"unix:{tmp_path / 'no-such-socket'}"}
    result = run_loa("say", TEXT, env=gone)
    assert result.returncode == ExitCode.NO_AUDIO_DEVICE
    assert_no_traceback(result.stderr)


def test_say_out_writes_the_same_program_to_a_file(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "ban-tin.wav"
    result = run_loa("say", TEXT, "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    audio, rate = read_wav(out)
    intro, _ = read_wav(bundled_jingle("intro"))
    at, match = locate(audio, intro)
    assert rate == RATE and at == LEAD_IN_MS * RATE // 1000 and match > 0.99
    assert str(out) in result.stdout
    assert [p.name for p in tmp_path.iterdir() if p.name != "netguard.log"].count(
        "ban-tin.wav"
    ) == 1
    assert "espeak" in result.stderr, "offline, the fallback voice must be announced"


def test_play_bundled_campaign_announcement_to_a_file(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "bluezone.wav"
    result = run_loa("play", "bluezone", "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    audio, rate = read_wav(out)
    assert len(audio) / rate > 20, "the campaign text is long; its broadcast cannot be short"


def test_english_on_request(run_loa: RunLoa) -> None:
    by_option = run_loa("--lang", "en", "say", " ")
    by_env = run_loa("say", " ", env={"LOA_LANG": "en"})
    for result in (by_option, by_env):
        assert result.returncode == ExitCode.EMPTY_TEXT
        assert "The announcement text is empty" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["say", ""], ExitCode.EMPTY_TEXT, "trống"),
        (["say", " \n\t "], ExitCode.EMPTY_TEXT, "trống"),
        (["say", "a" * (MAX_TEXT_CHARS + 1)], ExitCode.TEXT_TOO_LONG, str(MAX_TEXT_CHARS)),
        (["say", TEXT, "--voice", "vi-VN-Unknown"], ExitCode.UNKNOWN_VOICE, "vi-VN-Unknown"),
        (["say", TEXT, "--out", "/no/such/folder/x.wav"], ExitCode.OUTPUT_FILE, "/no/such/folder"),
        (["say", TEXT, "--out", "/proc/loa.wav"], ExitCode.OUTPUT_FILE, "/proc/loa.wav"),
        (["say", TEXT, "--out", "ban-tin.txt"], ExitCode.OUTPUT_FILE, ".wav"),
        (
            ["--station", "/no/such/station", "say", TEXT],
            ExitCode.STATION_NOT_FOUND,
            "/no/such/station",
        ),
        (["play", "khong-co"], ExitCode.ANNOUNCEMENT, "bluezone"),
        (["say"], ExitCode.USAGE, "Thiếu tham số 'VĂN_BẢN'"),
        (["say", TEXT, "--bogus"], ExitCode.USAGE, "Không có tùy chọn '--bogus'"),
    ],
)
def test_bad_input_gets_one_clear_message_and_its_own_exit_code(
    run_loa: RunLoa, args: list[str], code: ExitCode, words: str
) -> None:
    result = run_loa(*args)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert_no_traceback(result.stderr)


def test_exit_codes_are_distinct() -> None:
    assert len({int(code) for code in ExitCode}) == len(ExitCode)


def test_read_only_folder_leaves_nothing_behind(read_only_dir: Path, run_loa: RunLoa) -> None:
    result = run_loa("say", TEXT, "--out", str(read_only_dir / "x.wav"))
    assert result.returncode == ExitCode.OUTPUT_FILE
    assert str(read_only_dir) in result.stderr
    assert_no_traceback(result.stderr)
    assert list(read_only_dir.iterdir()) == []


def test_full_disk_leaves_nothing_behind(small_disk: Path, run_loa: RunLoa) -> None:
    result = run_loa("play", "bluezone", "--out", str(small_disk / "bluezone.wav"))
    assert result.returncode == ExitCode.OUTPUT_FILE
    assert "Nothing was written" in result.stderr or "Không ghi" in result.stderr
    assert_no_traceback(result.stderr)
    assert list(small_disk.iterdir()) == []


def test_help_is_vietnamese_by_default_and_english_on_request(run_loa: RunLoa) -> None:
    vietnamese = run_loa("say", "--help")
    english = run_loa("--lang", "en", "say", "--help")
    assert vietnamese.returncode == english.returncode == ExitCode.OK
    assert "Cách dùng: loa say [TÙY_CHỌN] VĂN_BẢN" in vietnamese.stdout
    assert "Hiện hướng dẫn này rồi thoát." in vietnamese.stdout
    assert "Usage: loa say [OPTIONS] TEXT" in english.stdout
    assert "Show this message and exit." in english.stdout


def test_debug_shows_the_traceback(run_loa: RunLoa) -> None:
    result = run_loa("--debug", "say", " ")
    assert result.returncode == ExitCode.EMPTY_TEXT
    assert "Traceback" in result.stderr
    assert re.search(r"EmptyTextError", result.stderr)
