"""Turning an officer's text into a Program, and the Program's own views of its segments."""

import subprocess
import unicodedata
import wave
from pathlib import Path, PurePath

import pytest

from broadcaster.core.compose import MAX_TEXT_CHARS, clean_text, compose_program
from broadcaster.core.models import Announcement, Gap, Jingle, Program, Recording, Speech
from broadcaster.errors import EmptyTextError, ExitCode, RepeatError, TextTooLongError
from broadcaster.station.schedule_check import CHARS_PER_SECOND

COMPOSED = "Thông báo họp tổ dân phố lúc mười chín giờ ba mươi."
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


# --- clean_text -------------------------------------------------------------------------------


def test_the_test_text_really_is_decomposed() -> None:
    assert DECOMPOSED != COMPOSED
    assert len(DECOMPOSED) > len(COMPOSED)


def test_decomposed_vietnamese_is_normalized_to_nfc() -> None:
    cleaned = clean_text(DECOMPOSED)
    assert cleaned == COMPOSED
    assert unicodedata.is_normalized("NFC", cleaned)


def test_mixed_composition_is_normalized_character_by_character() -> None:
    # "ệ" written as e + dot below + circumflex, and "ờ" as o + horn + grave (NFD orders them).
    assert clean_text("Vi\u0065\u0323\u0302t Nam, gi\u006f\u031b\u0300") == "Việt Nam, giờ"


def test_text_that_is_already_nfc_comes_back_unchanged() -> None:
    assert clean_text(COMPOSED) == COMPOSED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Kính   thưa  bà con  ", "Kính thưa bà con"),
        ("Dòng một\nDòng hai\r\n\r\nDòng ba", "Dòng một Dòng hai Dòng ba"),
        ("Cột\tmột\t\tcột hai", "Cột một cột hai"),
        ("không\u00a0ngắt\u2003dòng\u3000nhé", "không ngắt dòng nhé"),
        ("dòng\u2028mới\u2029đoạn", "dòng mới đoạn"),
    ],
    ids=["spaces", "newlines", "tabs", "unicode-spaces", "unicode-line-breaks"],
)
def test_white_space_runs_fold_to_one_space_and_ends_are_trimmed(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t \r\n ", "\u00a0\u3000"])
def test_empty_or_blank_text_is_refused(text: str) -> None:
    with pytest.raises(EmptyTextError) as caught:
        clean_text(text)
    assert caught.value.exit_code == ExitCode.EMPTY_TEXT
    assert caught.value.message


def test_exactly_the_limit_is_accepted() -> None:
    text = "a" * MAX_TEXT_CHARS
    assert clean_text(text) == text


def test_one_character_over_the_limit_is_refused_with_both_numbers() -> None:
    with pytest.raises(TextTooLongError) as caught:
        clean_text("a" * (MAX_TEXT_CHARS + 1))
    assert caught.value.exit_code == ExitCode.TEXT_TOO_LONG
    assert str(MAX_TEXT_CHARS + 1) in caught.value.message
    assert str(MAX_TEXT_CHARS) in caught.value.message


def test_the_limit_counts_characters_after_normalizing() -> None:
    word = "Việt "  # 5 composed characters; 7 once decomposed
    text = (word * (MAX_TEXT_CHARS // len(word)))[: MAX_TEXT_CHARS - 1] + "ệ"
    assert len(text) == MAX_TEXT_CHARS
    decomposed = unicodedata.normalize("NFD", text)
    assert len(decomposed) > MAX_TEXT_CHARS
    assert clean_text(decomposed) == text


def test_the_limit_counts_characters_after_folding_white_space() -> None:
    raw_body = "a \n\t " * (MAX_TEXT_CHARS // 2 - 1)  # each "a" and its run fold to "a "
    at_limit = "\n  " + raw_body + "ab\r\n"
    assert len(at_limit) > MAX_TEXT_CHARS
    assert clean_text(at_limit) == "a " * (MAX_TEXT_CHARS // 2 - 1) + "ab"
    assert len(clean_text(at_limit)) == MAX_TEXT_CHARS
    with pytest.raises(TextTooLongError):
        clean_text("\n  " + raw_body + "abc\r\n")


def test_the_longest_text_is_four_to_six_minutes_of_speech(tmp_path: Path) -> None:
    """The limit's claim, measured: espeak-ng (the fastest voice) reads the longest text in over
    four minutes; at the schedule check's 15 characters a second it is five and a half."""
    sentence = (
        "Kính thưa bà con nhân dân, Ủy ban nhân dân xã đề nghị bà con cài đặt ứng dụng Bluezone "
        "trên điện thoại thông minh, để phát hiện người tiếp xúc gần với người mắc bệnh. "
    )
    longest = clean_text((sentence * 40)[:MAX_TEXT_CHARS].rstrip().ljust(MAX_TEXT_CHARS, "."))
    assert len(longest) == MAX_TEXT_CHARS
    with pytest.raises(TextTooLongError):
        clean_text(longest + " x")
    (tmp_path / "text.txt").write_text(longest, encoding="utf-8")
    speech = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "vi", "-w", str(speech), "-f", str(tmp_path / "text.txt")], check=True
    )
    with wave.open(str(speech)) as audio:
        minutes = audio.getnframes() / audio.getframerate() / 60
    assert 4.0 < minutes < 6.0
    assert 5.0 < MAX_TEXT_CHARS / CHARS_PER_SECOND / 60 < 6.0


# --- compose_program ------------------------------------------------------------------------------


def test_a_program_is_intro_speech_outro() -> None:
    program = compose_program(Announcement("a", DECOMPOSED + "\n"), "vi-VN-NamMinhNeural")
    assert program == Program(
        (Jingle("intro"), Speech(COMPOSED, "vi-VN-NamMinhNeural"), Jingle("outro"))
    )


def test_composing_refuses_what_clean_text_refuses() -> None:
    with pytest.raises(EmptyTextError):
        compose_program(Announcement("a", " \n "), "vi")
    with pytest.raises(TextTooLongError):
        compose_program(Announcement("a", "x" * (MAX_TEXT_CHARS + 1)), "vi")


# --- Program ------------------------------------------------------------------------------------


def test_speeches_keep_their_order_and_drop_repeats() -> None:
    first = Speech("Thông báo lần một", "vi")
    second = Speech("Thông báo lần hai", "vi")
    program = Program(
        (Jingle("attention"), first, Gap(2.0), second, Gap(2.0), Speech(first.text, "vi"))
    )
    assert program.speeches() == (first, second)


def test_the_same_text_in_two_voices_is_two_speeches() -> None:
    north = Speech("Xin chào", "vi-VN-HoaiMyNeural")
    south = Speech("Xin chào", "vi-vn-x-south")
    assert Program((south, north, south)).speeches() == (south, north)


def test_a_program_without_speech_or_jingles_has_none() -> None:
    assert Program((Gap(1.0),)).speeches() == ()
    assert Program(()).speeches() == ()


def test_a_composed_program_lists_one_speech() -> None:
    program = compose_program(Announcement("a", "Xin chào bà con"), "vi")
    assert program.speeches() == (Speech("Xin chào bà con", "vi"),)


@pytest.mark.parametrize("text", ["\ufeff", "\ufeff\r\n", "\u200b \u200b"])
def test_text_of_invisible_characters_only_is_refused_as_empty(text: str) -> None:
    with pytest.raises(EmptyTextError):
        clean_text(text)


# --- repeats, emergencies, recordings ---------------------------------------------------------


def test_repeats_are_separated_by_the_gap() -> None:
    speech = Speech("Xin chào", "vi")
    program = compose_program(Announcement("a", "Xin chào"), "vi", repeat=3, gap_s=5)
    assert program.segments == (
        Jingle("intro"),
        speech,
        Gap(5),
        speech,
        Gap(5),
        speech,
        Jingle("outro"),
    )


def test_an_emergency_opens_with_the_attention_tone() -> None:
    program = compose_program(Announcement("a", "Cháy!"), "vi", emergency=True)
    assert program.segments[:2] == (Jingle("attention"), Jingle("intro"))


def test_an_announcement_with_only_a_recording_plays_the_recording() -> None:
    recording = PurePath("announcements/tieng-hmong.m4a")
    program = compose_program(Announcement("a", "", recording=recording), "vi", repeat=2, gap_s=1)
    assert program.segments == (
        Jingle("intro"),
        Recording(recording),
        Gap(1),
        Recording(recording),
        Jingle("outro"),
    )
    assert program.speeches() == ()
    assert program.recordings() == (Recording(recording),)


@pytest.mark.parametrize(("repeat", "gap"), [(0, 30), (11, 30), (2, 0.5), (2, 7201)])
def test_repeats_and_gaps_stay_in_the_practised_ranges(repeat: int, gap: float) -> None:
    with pytest.raises(RepeatError) as raised:
        compose_program(Announcement("a", "Xin chào"), "vi", repeat=repeat, gap_s=gap)
    assert str(repeat) in raised.value.message or str(gap) in raised.value.message


def test_a_single_play_ignores_the_gap() -> None:
    program = compose_program(Announcement("a", "Xin chào"), "vi", repeat=1, gap_s=0)
    assert Gap(0) not in program.segments
