"""Cut long texts where a reader would pause, so each request to an online voice stays small.

Small requests fail less often, and a failure costs one piece, not the whole announcement.
"""

import re

CHUNK_CHARS = 500
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+")
_CLAUSE_END = re.compile(r"(?<=,)\s+")


def split_text(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut after sentences, else after commas, else between
    words; a single word longer than `limit` is left whole."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        for clause in _fit(sentence, _CLAUSE_END, limit):
            pieces.extend(_fit(clause, re.compile(r"\s+"), limit))
    return _merge(pieces, limit)


def _fit(text: str, boundary: re.Pattern[str], limit: int) -> list[str]:
    return [text] if len(text) <= limit else _merge(boundary.split(text), limit)


def _merge(parts: list[str], limit: int) -> list[str]:
    """Join neighbouring parts back together while they fit, so pieces are as long as allowed."""
    merged: list[str] = []
    for part in filter(None, (p.strip() for p in parts)):
        if merged and len(merged[-1]) + 1 + len(part) <= limit:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged
