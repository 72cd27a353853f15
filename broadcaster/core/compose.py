"""Turn an announcement into a Program: attention tone for emergencies, intro chime, the message
repeated with gaps, outro chime. Pure: no files are read here."""

import re
import unicodedata

from broadcaster.core.models import (
    Announcement,
    Gap,
    Jingle,
    MusicBed,
    Program,
    Recording,
    Segment,
    Speech,
)
from broadcaster.errors import EmptyTextError, RepeatError, TextTooLongError
from broadcaster.i18n import _

MAX_TEXT_CHARS = 5000
"""Four to six minutes of speech (espeak-ng reads it in 4¼, the schedule check estimates 5½):
longer texts are almost always a pasted document by mistake."""


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


MAX_REPEAT = 10
MIN_GAP_S, MAX_GAP_S = 1.0, 7200.0
DEFAULT_GAP_S = 30.0
"""Repeats within one slot, as commune stations practise them: 1 to 10 plays, 1 s to 2 h apart."""


def check_repeat(repeat: int, gap_s: float) -> None:
    """The bounds of repeats and gaps, wherever a broadcast is asked for (`loa say --repeat
    --gap`, a control request, a schedule entry's program)."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise RepeatError(
            _("A message can be repeated 1 to {most} times in one broadcast, not {count}.").format(
                most=MAX_REPEAT, count=repeat
            )
        )
    if repeat > 1 and not MIN_GAP_S <= gap_s <= MAX_GAP_S:
        raise RepeatError(
            _("The gap between repeats must be from {least} s to {most} s, not {gap} s.").format(
                least=int(MIN_GAP_S), most=int(MAX_GAP_S), gap=gap_s
            )
        )


def compose_program(
    announcement: Announcement,
    voice: str,
    *,
    repeat: int = 1,
    gap_s: float = DEFAULT_GAP_S,
    emergency: bool = False,
    bed: MusicBed | None = None,
) -> Program:
    """The broadcast of `announcement`: its recording if it has no text, else its text spoken."""
    check_repeat(repeat, gap_s)
    message: Segment
    if announcement.recording is not None and not announcement.text.strip():
        message = Recording(announcement.recording)
    else:
        message = Speech(clean_text(announcement.text), voice)
    body: list[Segment] = [message]
    for _play in range(repeat - 1):
        body += [Gap(gap_s), message]
    opening: list[Segment] = [Jingle("attention")] if emergency else []
    return Program((*opening, Jingle("intro"), *body, Jingle("outro")), bed)
