"""The bundled lexicon (issue 17, item 3): every entry is read in full by both voices, none
hides a rule of its own, and an officer's line in the station's copy is the one that counts."""

import shutil
from pathlib import Path

import pytest

from broadcaster import i18n
from broadcaster.errors import LexiconError
from broadcaster.speech.measures import UNITS
from broadcaster.speech.normalize import (
    LEXICON_FILE,
    load_lexicon,
    normalize_for_edge,
    normalize_for_espeak,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "announcements" / LEXICON_FILE
LEXICON = load_lexicon(BUNDLED)


def test_the_bundled_lexicon_has_at_least_150_entries() -> None:
    assert len(LEXICON.entries) >= 150


@pytest.mark.parametrize(("written", "spoken"), sorted(LEXICON.entries.items()))
def test_each_bundled_entry_is_read_in_full(written: str, spoken: str) -> None:
    text = f"{written} xã thông báo: mời ({written} xã) và {written} huyện."
    expected = f"{spoken} xã thông báo: mời ({spoken} xã) và {spoken} huyện."
    assert normalize_for_edge(text, LEXICON) == expected
    assert normalize_for_espeak(text, LEXICON) == expected


def test_no_bundled_entry_is_a_weekday_or_a_unit() -> None:
    """CN is Chủ nhật and "m" a metre: rules of their own, which an entry would shadow."""
    for written in LEXICON.entries:
        assert written not in UNITS and written not in {"CN", "T2", "T7"}, written


def test_titles_and_documents_as_officers_write_them() -> None:
    assert normalize_for_espeak(
        "Đ/c Nguyễn Văn A, PCT UBND xã, đề nghị các hộ trong TDP số 3 mang CCCD đến BPMC.",
        LEXICON,
    ) == (
        "đồng chí Nguyễn Văn A, Phó Chủ tịch Ủy ban nhân dân xã, đề nghị các hộ trong tổ dân "
        "phố số ba mang căn cước công dân đến BPMC."
    )


@pytest.fixture
def station_lexicon(tmp_path: Path) -> Path:
    """The station's own copy of the bundled lexicon, as an officer edits it."""
    path = tmp_path / "announcements" / LEXICON_FILE
    path.parent.mkdir()
    shutil.copyfile(BUNDLED, path)
    return path


def test_an_officers_edit_of_a_bundled_line_is_what_is_read(station_lexicon: Path) -> None:
    text = station_lexicon.read_text(encoding="utf-8")
    station_lexicon.write_text(
        text.replace("TDP = tổ dân phố\n", "TDP = tổ dân phố số\n")
        + "\n# Của đài\nBPMC = Bộ phận Một cửa\n",
        encoding="utf-8",
    )
    lexicon = load_lexicon(station_lexicon)
    assert normalize_for_espeak("Các TDP nộp hồ sơ tại BPMC.", lexicon) == (
        "Các tổ dân phố số nộp hồ sơ tại Bộ phận Một cửa."
    )


def test_an_officers_second_line_for_a_bundled_entry_is_located(station_lexicon: Path) -> None:
    """Two meanings for one abbreviation would be a silent guess: the file says which line."""
    lines = station_lexicon.read_text(encoding="utf-8").splitlines()
    first = lines.index("CCCD = căn cước công dân") + 1
    station_lexicon.write_text("\n".join([*lines, "CCCD = thẻ căn cước"]), encoding="utf-8")
    i18n.set_language("en")
    try:
        with pytest.raises(LexiconError) as raised:
            load_lexicon(station_lexicon)
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
    assert raised.value.message == (
        f"{station_lexicon}:{len(lines) + 1}: 'CCCD' is already on line {first}: keep only one "
        "of the two lines."
    )
