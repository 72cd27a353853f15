"""Rewrite an announcement so a voice says what a listener expects to hear.

Officers write as in official documents: abbreviations (UBND), dates (01/8/2020), times (14h30),
amounts (1.500.000đ), phone numbers, web addresses, units (100-200mm, 60 km/h), fractions (1/3
số hộ). The online voice reads numbers itself but not local abbreviations, nor units, ranges of
measures and fractions (measures.py writes those for both voices); espeak-ng reads Vietnamese
numbers wrongly (1.500.000 ends in "không trăm") and skips dates, so for it everything is written
out in words here.
"""

import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from broadcaster.core.settings import LEXICON_FILE
from broadcaster.errors import LexiconError
from broadcaster.files import read_text
from broadcaster.i18n import _
from broadcaster.speech.measures import say_measures
from broadcaster.speech.numbers import (
    DIGITS,
    read_day,
    read_digits,
    read_integer,
    read_month,
    read_number,
    read_ordinal,
)

__all__ = [
    "LEXICON_FILE",
    "Lexicon",
    "load_lexicon",
    "normalize_for_edge",
    "normalize_for_espeak",
    "read_number",
]


_EXAMPLE_ENTRY = "UBND = Ủy ban nhân dân"


@dataclass(frozen=True)
class Lexicon:
    """Abbreviations and how to say them, matched as whole words, case-sensitively."""

    entries: Mapping[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = MappingProxyType(dict(self.entries))
        object.__setattr__(self, "entries", entries)
        # Longest first, so "UBMTTQ" wins over "MTTQ" and "TP.HCM" over "TP".
        written = sorted(entries, key=len, reverse=True)
        pattern = rf"(?<!\w)(?:{'|'.join(map(re.escape, written))})(?!\w)" if written else None
        object.__setattr__(self, "_pattern", re.compile(pattern) if pattern else None)

    def apply(self, text: str) -> str:
        """Each abbreviation is replaced once; what it expands to is never expanded again."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda found: self.entries[found[0]], text)


def load_lexicon(path: Path, inside: Path | None = None) -> Lexicon:
    """The station's lexicon; a station without the file simply has no abbreviations. With
    `inside` (the station), a file that a link leads outside it is refused: its lines would be
    read out on the loudspeakers and sent to the online voice."""
    if not path.exists():
        return Lexicon()
    entries: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(read_text(path, LexiconError, inside).split("\n"), start=1):
        line = _fold_space(_canonical(raw.split("#", 1)[0]))
        if not line:
            continue
        where = f"{path}:{number}: "
        if "=" not in line:
            raise LexiconError(
                where
                + _(
                    "this line has no '=': write the short form, then '=', then how to say it, "
                    "like {example}."
                ).format(example=_EXAMPLE_ENTRY)
            )
        written, spoken = (_fold_space(side) for side in line.split("=", 1))
        if "=" in spoken:
            raise LexiconError(
                where
                + _("this line has more than one '=': keep only the one after the short form.")
            )
        if not written or not spoken:
            raise LexiconError(
                where
                + _(
                    "one side of '=' is empty: write the short form on the left and how to say it "
                    "on the right, like {example}."
                ).format(example=_EXAMPLE_ENTRY)
            )
        if written in lines:
            raise LexiconError(
                where
                + _(
                    "'{written}' is already on line {line}: keep only one of the two lines."
                ).format(written=written, line=lines[written])
            )
        entries[written], lines[written] = spoken, number
    return Lexicon(entries)


def normalize_for_edge(text: str, lexicon: Lexicon) -> str:
    """Text for the online voice: abbreviations expanded, document clutter removed, units,
    measure ranges and fractions in words; numbers stay, the service reads them better than we
    could."""
    text = _unwrap_markup(_canonical(text))
    text = _join_lines(text)
    text = _EMPHASIS.sub("", text)
    text = "".join(c for c in text if not _is_pictograph(c))
    text = _DOCUMENT_END.sub(".", text)
    text = _PUNCTUATION_RUN.sub(_fold_punctuation, text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", _fold_space(text))
    text = lexicon.apply(text)
    text = _WEEKDAY.sub(_say_weekdays, text)
    text = say_measures(text)
    return unicodedata.normalize("NFC", text)


def normalize_for_espeak(text: str, lexicon: Lexicon) -> str:
    """Text for espeak-ng: as for the online voice, then every number, date, time, phone number
    and address written out in Vietnamese words."""
    text = normalize_for_edge(text, lexicon)
    for pattern, replace in _SPELLING:
        text = pattern.sub(replace, text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", _fold_space(text))
    return unicodedata.normalize("NFC", text)


# --- Clean-up for both voices ------------------------------------------------------------------

_ETH = str.maketrans("Ðð", "Đđ")
"""Icelandic eth looks exactly like Đ and comes with texts converted from old Vietnamese fonts."""


def _canonical(text: str) -> str:
    """NFC without invisible format characters, so the same word is always the same string."""
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", visible).translate(_ETH).replace("\r\n", "\n")


def _fold_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


_BRACKETED_ADDRESS = re.compile(r"<((?:https?://|www\.|mailto:)[^\s<>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
_LINE_BREAK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _unwrap_markup(text: str) -> str:
    """Text pasted from web pages and e-mails keeps tags and entities the voice would spell."""
    text = _BRACKETED_ADDRESS.sub(r"\1", text)
    text = _TAG.sub(lambda tag: "\n" if tag[1].lower() in _LINE_BREAK_TAGS else "", text)
    return _ENTITY.sub(lambda entity: html.unescape(entity[0]), text)


_BULLET = re.compile(r"[ \t]*(?:[•◦▪▫●○■□►▸▶➢➤✓✔]|[-+*\u2013\u2014](?=[ \t]))[ \t]*")
_ENDS_WITH_PAUSE = re.compile(r"[.,;:!?…][\"'\u201d\u2019)\]]*$")


def _join_lines(text: str) -> str:
    """One line, with a full stop where a paragraph or a list item ended without punctuation, so
    headings and list items do not run into each other; an indented line continues its item."""
    joined: list[str] = []
    in_item = False
    for raw in text.split("\n"):
        bullet = _BULLET.match(raw)
        line = raw[bullet.end() :].strip() if bullet else raw.strip()
        continues_item = in_item and raw[:1] in (" ", "\t")
        ends_sentence = bullet or not line or (in_item and not continues_item)
        if ends_sentence and joined and not _ENDS_WITH_PAUSE.search(joined[-1]):
            joined[-1] += "."
        if line:
            joined.append(line)
            in_item = bool(bullet) or continues_item
    return " ".join(joined)


_EMPHASIS = re.compile(r"(?<!\w)[*_]+|[*_]+(?!\w)")
"""**bold**, _italic_: asterisks and underscores not inside a word (nguyen_van_a stays)."""
_DOCUMENT_END = re.compile(r"\./\.")
"""The "./." that closes Vietnamese official letters."""
_PUNCTUATION_RUN = re.compile(r"[.,;:!?…]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[.,;:!?…](?:\s|$))")


def _is_pictograph(char: str) -> bool:
    """Emoji and decorative symbols (☎, ✅, ★) that voices spell out or choke on; ° and © stay."""
    return (
        ord(char) >= 0x2190 and unicodedata.category(char) == "So"
    ) or char in "\ufe0e\ufe0f\u20e3"


def _fold_punctuation(run: re.Match[str]) -> str:
    """Three "!" become one, "...." a full stop, ",..." a comma; a question stays a question."""
    marks = run[0]
    for mark in "?!":
        if mark in marks:
            return mark
    return marks[0] if marks[0] in ",;:" else "."


_WEEKDAY = re.compile(
    r"(?<![\w&-])(T[2-7]|CN)(?:\s*[-\u2013\u2014]\s*(T[2-7]|CN))?(?![\w&]|/[0-9])"
)
"""T2…T7 and CN of schedules, alone or as a range (T2-T6); not T8/2020 (a month) nor the CN of
KH&CN."""


def _say_weekdays(found: re.Match[str]) -> str:
    days = (f"thứ {day[1]}" if day[0] == "T" else "chủ nhật" for day in found.groups() if day)
    return " đến ".join(days)


# --- Spelling everything out for espeak-ng -----------------------------------------------------

_ADDRESS = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:https?://|www\.)[^\s<>\"'()]+"
    r"|(?<![\w@.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:vn|com|net|org|gov|edu|info)\b"
    r"(?:/[^\s<>\"'()]*)?",
    re.IGNORECASE,
)
"""E-mail addresses, addresses with http(s):// or www., and bare domains with a common ending
(dichvucong.gov.vn). Each starts where its run of letters starts, so that a long word is
scanned once, not once for each of its letters."""
_ADDRESS_SYMBOLS = {
    ".": "chấm",
    "/": "gạch chéo",
    "@": "a còng",
    "-": "gạch ngang",
    "_": "gạch dưới",
    ":": "hai chấm",
}


def _say_address(found: re.Match[str]) -> str:
    """bluezone chấm gov chấm vn: scheme, www and a bare final slash are not said; a sentence's
    full stop after the address stays a full stop."""
    address = found[0].rstrip(".,;:!?")
    trailing = found[0][len(address) :]
    address = re.sub(r"^(?:https?://)?(?:www\.)?", "", address, flags=re.IGNORECASE).rstrip("/")
    words = []
    for part in re.findall(r"[^\W\d_]+|[0-9]+|.", address):
        if part[0].isdigit():
            words.append(read_digits(part))
        elif part.isalpha():
            words.append(part)
        elif part in _ADDRESS_SYMBOLS:
            words.append(_ADDRESS_SYMBOLS[part])
    return " ".join(words) + trailing


_DATE_WITH_YEAR = r"[0-9]{1,2}([/.-])[0-9]{1,2}\1[0-9]{4}"
_PHONE = re.compile(
    rf"(?<![0-9./-]){_DATE_WITH_YEAR}"
    r"|(?<![\w+.,])(?:\+84|0)(?:[ .-]?[0-9]){8,10}(?![0-9]|[.,-][0-9])"
    r"|(?<![\w.,])1[89]00(?:[ .-]?[0-9]){4}(?:(?:[ .-]?[0-9]){2})?(?![0-9]|[.,-][0-9])"
)
"""Mobiles and landlines (0 or +84, 9 to 11 digits) and 1900/1800 hotlines; dates such as
01.08.2020 are matched only to be left alone."""


def _say_phone(found: re.Match[str]) -> str:
    if found[1]:
        return found[0]
    groups = re.split(r"[ .-]", found[0])
    spoken = [("cộng " + read_digits(g[1:])) if g[0] == "+" else read_digits(g) for g in groups]
    return ", ".join(spoken)


_EMERGENCY = re.compile(
    r"(\b(?i:gọi|hotline|đường dây nóng|tổng đài)(?:\s+(?i:ngay|số|đến|tới))?\s+)(11[1-5])"
    r"(?![0-9]|[.,][0-9])"
)
"""113, 114, 115 (and 111, 112) are said digit by digit only right after a word for calling."""

_RANGE = re.compile(
    rf"(?<![0-9./-]){_DATE_WITH_YEAR}|\b(?i:ngày)\s+[0-9]{{1,2}}-[0-9]{{1,2}}\b(?!-[0-9])"
    r"|(?:(?<=[0-9])|(?<=[0-9][hH]))\s*[-\u2013\u2014]\s*(?=[0-9])"
)
"""A dash between numbers or times is a range (17h-18h, 1-3 ngày); 01-8-2020 and "ngày 2-9" are
dates and are kept for the date rule."""


def _say_range(found: re.Match[str]) -> str:
    return found[0] if found[0][0].isalnum() else " đến "


_DATE = re.compile(
    r"(?<!(?i:ngõ) )(?<!(?i:ngách) )(?<!(?i:hẻm) )(?<!(?i:kiệt) )(?<!(?i:số) )(?<!(?i:nhà) )"
    r"(?<![0-9./-])(?:\b((?i:ngày))\s+)?([0-9]{1,2})([/.-])([0-9]{1,2})(?:\3([0-9]{4}))?"
    r"(?![0-9]|[/.,-][0-9])"
)
_HOUSE_NUMBER = re.compile(
    r"\b((?i:ngõ|ngách|hẻm|kiệt|số|nhà))\s+([0-9]{1,4})/([0-9]{1,4})(?![0-9/])"
)
"""ngõ 12/3 is "ngõ mười hai trên ba", an alley, not the twelfth of March."""
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _say_date(found: re.Match[str]) -> str:
    """Day/month[/year]; a short date only with "/" (or "ngày 2-9"), since 5.3 and 1-3 are not
    dates. Impossible dates (32/13) are left as numbers."""
    word, day, separator, month, year = found.groups()
    d, m = int(day), int(month)
    short_ok = separator == "/" or (separator == "-" and word is not None)
    if not (year or short_ok) or not 1 <= m <= 12 or not 1 <= d <= _days_in(m, year):
        return found[0]
    spoken = f"{word or 'ngày'} {read_day(d)} tháng {read_month(m)}"
    return f"{spoken} năm {read_number(int(year))}" if year else spoken


def _days_in(month: int, year: str | None) -> int:
    leap = year is None or (int(year) % 4 == 0 and (int(year) % 100 != 0 or int(year) % 400 == 0))
    return 28 if month == 2 and not leap else _DAYS_IN_MONTH[month - 1]


_MONTH_OF_YEAR = re.compile(r"\b((?i:tháng)\s+|T)([0-9]{1,2})/([0-9]{4})(?![0-9])")
"""tháng 8/2020, and T8/2020 as written in reports."""
_DAY_BEFORE_MONTH = re.compile(r"\b((?i:ngày))\s+([0-9]{1,2})(?=\s+(?i:tháng)\s+[0-9])")
_MONTH = re.compile(r"\b((?i:tháng))\s+([0-9]{1,2})(?![0-9]|[/.,:][0-9])")


def _say_month_of_year(found: re.Match[str]) -> str:
    word, month, year = found[1].strip(), int(found[2]), int(found[3])
    if not 1 <= month <= 12:
        return found[0]
    return f"{'tháng' if word == 'T' else word} {read_month(month)} năm {read_number(year)}"


def _say_day_before_month(found: re.Match[str]) -> str:
    day = int(found[2])
    return f"{found[1]} {read_day(day)}" if 1 <= day <= 31 else found[0]


def _say_month(found: re.Match[str]) -> str:
    month = int(found[2])
    return f"{found[1]} {read_month(month)}" if 1 <= month <= 12 else found[0]


_CLOCK_H = re.compile(r"(?<![\w.,:])([0-9]{1,2})[hH](?:([0-9]{2})(?:ph|p|')?)?(?!\w)")
_CLOCK_COLON = re.compile(
    r"(?<![\w.,:/])([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?![0-9]|[:.,][0-9])"
)


def _say_time(found: re.Match[str]) -> str:
    """6h30, 17h, 17:00, 06:30:15; zero minutes are not said (17:00 is "mười bảy giờ")."""
    hour, minute, second = (int(part) if part else 0 for part in (*found.groups(), None)[:3])
    if hour > 24 or minute > 59 or second > 59:
        return found[0]
    words = [read_number(hour), "giờ"]
    if minute or second:
        words += [read_number(minute), "phút"]
    if second:
        words += [read_number(second), "giây"]
    return " ".join(words)


_ROMAN = re.compile(
    r"\b((?i:thứ|chương|điều|phần|mục|khóa|khoá|thế kỷ|thế kỉ|quý|đợt|giai đoạn|đại hội|tập"
    r"|phụ lục|kỳ|kì|vòng))\s+([IVX]+)(?!\w)"
)
"""Roman numerals only after the words that take them in documents, and only I, V and X: a lone
"I", "C" (Phần C) or "MC" is left alone."""
_ROMAN_VALUES = re.compile(r"(X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_UNITS = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")


def _say_roman(found: re.Match[str]) -> str:
    valid = _ROMAN_VALUES.fullmatch(found[2])
    if valid is None:
        return found[0]
    tens, units = valid.groups()
    value = 10 * len(tens) + _ROMAN_UNITS.index(units)
    read = read_ordinal if found[1].lower() == "thứ" else read_number
    return f"{found[1]} {read(value)}"


_ORDINAL = re.compile(r"\b((?i:thứ))\s+([0-9]{1,3})(?![0-9]|[.,][0-9])")
_F_CASE = re.compile(r"(?<![\w-])F([0-9])(?!\w)")
"""F0, F1: the contact levels of the Covid years."""
_DASH_BEFORE_NUMBER = re.compile(r"(?<=[^\W\d_])-(?=[0-9])")
"""Covid-19, SARS-CoV-2: the dash is not said."""

_NUMBER = re.compile(
    r"(?<![\w.,])"
    r"([0-9]{1,3}(?:\.[0-9]{3})+(?![0-9])|[0-9]{1,3}(?:,[0-9]{3}){2,}(?![0-9])|[0-9]+)"
    r"(?:,([0-9]+))?(?![0-9]|[.,][0-9])"
    r"(\s?%|\s?(?:đồng|đ|VNĐ|VND)(?!\w))?"
)
"""1.500.000 (dots group thousands), 3,5 (comma before decimals), 1,500,000 from English
spreadsheets (two or more comma groups), then % or a currency sign."""


def _say_number(found: re.Match[str]) -> str:
    whole, decimals, unit = found.groups()
    words = read_integer(re.sub(r"[.,]", "", whole))
    if decimals:
        plain = decimals[0] != "0" and len(decimals) <= 3
        words += " phẩy " + (read_number(int(decimals)) if plain else read_digits(decimals))
    if unit:
        words += " phần trăm" if unit.strip() == "%" else " đồng"
    return _apart(found, words)


_OTHER_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)*")
"""Whatever is left: Điều 5.3 (section numbers are read with "chấm"), H5N1, Số2841."""


def _say_other_digits(found: re.Match[str]) -> str:
    return _apart(found, " chấm ".join(read_integer(part) for part in found[0].split(".")))


def _apart(found: re.Match[str], words: str) -> str:
    """Keep the words of a number off the letters it was glued to (25h, 5G, H5N1)."""
    before = found.string[found.start() - 1 : found.start()] if found.start() else ""
    after = found.string[found.end() : found.end() + 1]
    return f"{' ' if before.isalnum() else ''}{words}{' ' if after.isalnum() else ''}"


_SPELLING: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_ADDRESS, _say_address),
    (_PHONE, _say_phone),
    (_EMERGENCY, lambda found: found[1] + read_digits(found[2])),
    (_RANGE, _say_range),
    (
        _HOUSE_NUMBER,
        lambda found: f"{found[1]} {read_integer(found[2])} trên {read_integer(found[3])}",
    ),
    (_DATE, _say_date),
    (_MONTH_OF_YEAR, _say_month_of_year),
    (_DAY_BEFORE_MONTH, _say_day_before_month),
    (_MONTH, _say_month),
    (_CLOCK_H, _say_time),
    (_CLOCK_COLON, _say_time),
    (_ROMAN, _say_roman),
    (_ORDINAL, lambda found: f"{found[1]} {read_ordinal(int(found[2]))}"),
    (_F_CASE, lambda found: f"ép {DIGITS[int(found[1])]}"),
    (_DASH_BEFORE_NUMBER, lambda found: " "),
    (re.compile(r"\s*&\s*"), lambda found: " và "),
    (_NUMBER, _say_number),
    (_OTHER_DIGITS, _say_other_digits),
)
"""In this order: addresses and phone numbers hold digits that are not amounts, ranges and dates
hold dashes and slashes that later rules would misread; plain numbers come last."""
