"""A corpus of bulletin sentences as communes write them — storms, floods, vaccination days,
meetings, land notices — and what espeak-ng must be given for each (issue 17, item 5).

The data is in data/reading_corpus.txt so it reads as a table of sentences. The readings were
written by the normaliser once and then reviewed line by line, fixing the rules where a reading
was wrong; a reading that changes must be reviewed the same way, not just pasted back."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from broadcaster.speech.normalize import LEXICON_FILE, load_lexicon, normalize_for_espeak

ROOT = Path(__file__).resolve().parents[2]
LEXICON = load_lexicon(ROOT / "announcements" / LEXICON_FILE)
CORPUS_FILE = Path(__file__).parent / "data" / "reading_corpus.txt"


def read_corpus(path: Path) -> list[tuple[str, str]]:
    """Pairs of "< text" and "> reading" lines; anything else out of place fails loudly."""
    cases: list[tuple[str, str]] = []
    text: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        mark, _, content = line.partition(" ")
        if mark == "<" and text is None:
            text = content
        elif mark == ">" and text is not None:
            cases.append((text, content))
            text = None
        else:
            raise ValueError(f"{path}:{number}: expected a '<' line then a '>' line")
    if text is not None:
        raise ValueError(f"{path}: the last '<' line has no '>' reading")
    return cases


CORPUS = read_corpus(CORPUS_FILE)


def test_the_corpus_has_at_least_100_sentences() -> None:
    assert len(CORPUS) >= 100
    assert len({text for text, _reading in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("text", "reading"), CORPUS, ids=[f"{i:03}" for i in range(len(CORPUS))])
def test_each_sentence_is_read_as_expected(text: str, reading: str) -> None:
    assert normalize_for_espeak(text, LEXICON) == reading


def test_no_digit_and_no_slash_reaches_espeak() -> None:
    """espeak-ng says nothing for "/" and reads digits in English-like ways."""
    for text, _reading in CORPUS:
        spoken = normalize_for_espeak(text, LEXICON)
        assert not re.search(r"[0-9/]", spoken), text


def test_espeak_reads_the_whole_corpus_without_complaint() -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: apt install espeak-ng (./setup.sh installs it)")
    result = subprocess.run(
        [espeak, "-v", "vi", "-q", "--stdin"],
        input="\n".join(reading for _text, reading in CORPUS).encode("utf-8"),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")
