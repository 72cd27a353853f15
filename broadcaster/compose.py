"""Turn an officer's text into a Program: checks the text, then intro, speech, outro."""

import re
import unicodedata

from broadcaster.errors import EmptyTextError, TextTooLongError
from broadcaster.i18n import _
from broadcaster.models import Jingle, Program, Speech

MAX_TEXT_CHARS = 5000
"""About eight minutes of speech: longer texts are almost always a pasted document by mistake."""


def clean_text(text: str) -> str:
    """NFC-normalize, drop invisible format characters (byte order marks, zero-width spaces pasted
    from the web) and fold white space, refusing empty or overlong text."""
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    cleaned = re.sub(r"\s+", " ", unicodedata.normalize("NFC", visible)).strip()
    if not cleaned:
        raise EmptyTextError(
            _("The announcement text is empty: type what the loudspeakers should say.")
        )
    if len(cleaned) > MAX_TEXT_CHARS:
        raise TextTooLongError(
            _(
                "The text has {count} characters, more than the limit of {limit}: "
                "split it into several announcements."
            ).format(count=len(cleaned), limit=MAX_TEXT_CHARS)
        )
    return cleaned


def compose_announcement(text: str, voice: str) -> Program:
    """The standard program: intro chime, the spoken text, outro chime."""
    return Program((Jingle("intro"), Speech(clean_text(text), voice), Jingle("outro")))
