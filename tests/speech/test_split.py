"""Long texts are cut where a reader pauses, never mid-word, and nothing is lost."""

import pytest

from broadcaster.speech.split import CHUNK_CHARS, split_text

SENTENCE = "Kính thưa bà con, xã tổ chức tiêm phòng dại cho chó mèo vào sáng chủ nhật tuần này."


def words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_piece() -> None:
    assert split_text(SENTENCE) == [SENTENCE]


def test_long_text_is_cut_after_sentences_and_loses_nothing() -> None:
    text = " ".join([SENTENCE] * 20)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(p) <= CHUNK_CHARS for p in pieces)
    assert all(p.endswith(".") for p in pieces), "cut after a sentence, not inside one"
    assert words(" ".join(pieces)) == words(text)


def test_a_long_sentence_is_cut_after_commas() -> None:
    clause = "bà con cần mang theo sổ tiêm chủng và giấy tờ tùy thân"
    sentence = ", ".join([clause] * 15) + "."
    pieces = split_text(sentence, 200)
    assert len(pieces) > 1 and all(len(p) <= 200 for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)
    assert words(" ".join(pieces)) == words(sentence)


def test_text_without_punctuation_is_cut_between_words() -> None:
    text = " ".join(["loa"] * 300)
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert words(" ".join(pieces)) == words(text)


@pytest.mark.parametrize("limit", [1, 5])
def test_a_word_longer_than_the_limit_stays_whole(limit: int) -> None:
    assert split_text("https://www.bluezone.gov.vn", limit) == ["https://www.bluezone.gov.vn"]
