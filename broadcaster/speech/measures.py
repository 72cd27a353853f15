"""Measures and slashes, for both voices: units after a number in words ("60 km/h" → "60
ki-lô-mét trên giờ"), a range of a measure read "từ … đến …", wind-force ranges ("cấp 8-9"),
fractions ("1/3 số hộ" → "một phần ba số hộ"), rates ("50.000đ/kg") and road markers.

The digits themselves are left for the voice (the online voice reads them; for espeak-ng the
number rules that run afterwards write them out), except in fractions, whose reading ("một phần
tư") no voice would guess.

How a slash between two numbers is told (after addresses, house numbers "ngõ 12/3" and documents
"39/2020/TT-BTTTT", which never match here):
- 24/7 and 24/24 ("trực 24/7") are "24 trên 7", unless a date word comes before;
- a leading zero (01/8), a numerator not smaller than the denominator (15/8, 2/2) or a year after
  it (1/3/2024): a date, left for the date rules;
- a denominator above 12 (1/20, 3/100): no month has it, a fraction;
- otherwise both readings are possible (1/3, 2/9, 3/4): it is a fraction only with a quantity
  cue — a quantity word after it ("số", "diện tích", "dân số", "tổng"…) or a word of proportion
  before it ("chiếm", "khoảng", "gần", "hơn", "trên", "đạt", "tỷ lệ"…) — and never after a date
  word ("ngày", "từ", "đến", "sáng", "dịp"…). Without a cue it stays a date: bulletins name days
  such as 2/9, 1/6 and 1/5 far more often than bare fractions.
"""

import re
from collections.abc import Iterable

from broadcaster.speech.numbers import read_number

_NUMBER = r"[0-9]+(?:\.[0-9]{3})*(?:,[0-9]+)?"
"""Digits as Vietnamese write them: 2.000 (thousands), 1,5 (decimals)."""

UNITS = {
    "mm": "mi-li-mét",
    "cm": "xen-ti-mét",
    "dm": "đề-xi-mét",
    "m": "mét",
    "km": "ki-lô-mét",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "km²": "ki-lô-mét vuông",
    "km2": "ki-lô-mét vuông",
    "ha": "héc-ta",
    "mg": "mi-li-gam",
    "g": "gam",
    "kg": "ki-lô-gam",
    "ml": "mi-li-lít",
    "l": "lít",
    "L": "lít",
    "m³": "mét khối",
    "m3": "mét khối",
    "°C": "độ C",
    "°": "độ",
    "kW": "ki-lô-oát",
    "kWh": "ki-lô-oát giờ",
}
"""Written after a number, case-sensitively: "5G" and "H5N1" are not grams. A minus before a
measure is said: "-5°C" is "âm 5 độ C"."""
_UNIT_WORDS = ("tấn", "tạ", "mét", "lít", "độ", "héc-ta", "ki-lô-mét", "ki-lô-gam")
"""Units already written as words: only their ranges need "từ … đến …"."""
PER = {
    "h": "trên giờ",
    "giờ": "trên giờ",
    "s": "trên giây",
    "giây": "trên giây",
    "24h": "trong hai mươi tư giờ",
    "24 giờ": "trong hai mươi tư giờ",
    "ngày": "một ngày",
    "tháng": "một tháng",
    "năm": "một năm",
}
"""What follows a unit's slash: speeds (km/h, m³/s) and rain in a day (mm/24h)."""


def _alternatives(words: Iterable[str]) -> str:
    """Longest first, so "mm" is not taken for "m" and "km²" not for "km"."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_MEASURE = re.compile(
    rf"(?<![\w.,/-])(-?{_NUMBER})(?:\s*[-\u2013]\s*({_NUMBER}))?"
    rf"(?:\s?({_alternatives(UNITS)})(?:/({_alternatives(PER)}))?|\s({_alternatives(_UNIT_WORDS)}))"
    r"(?![\w²³/])"
)
_FROM = re.compile(r"(?i:\b(?:từ|khoảng từ))\s*$")


def _say_measure(found: re.Match[str]) -> str:
    """A range of a measure says where it starts: 100-200mm is "từ 100 đến 200 mi-li-mét"."""
    low, high, unit, per, word = found.groups()
    if low.startswith("-"):
        low = "âm " + low[1:]
    spoken = UNITS[unit] if unit else word
    if per:
        spoken += " " + PER[per]
    if high is None:
        return f"{low} {spoken}"
    return f"{_start(found)}{low} đến {high} {spoken}"


def _start(found: re.Match[str]) -> str:
    return "" if _FROM.search(_just_before(found)) else "từ "


def _just_before(found: re.Match[str]) -> str:
    """The few words before a match: enough for a cue, and a long text is not scanned again for
    each match in it."""
    return found.string[max(0, found.start() - 30) : found.start()]


_PERCENT_RANGE = re.compile(rf"(?<![\w.,/-])({_NUMBER})\s*[-\u2013]\s*({_NUMBER})\s?%")
"""45-50% is "từ 45 đến 50%"; the percent sign itself is left to the voice."""


_WIND_FORCE = re.compile(r"\b((?i:cấp))\s+([0-9]{1,2})\s*[-\u2013]\s*([0-9]{1,2})(?![0-9])")
"""Beaufort forces "cấp 8-9" are said "cấp 8 đến cấp 9", as forecasters do."""

_PER_WHAT = (
    *("tháng", "năm", "ngày", "tuần", "buổi", "giờ", "ca", "lần"),
    *("người", "hộ", "em", "trẻ", "con", "lượt", "suất", "mũi", "liều", "lô", "thửa", "sào"),
    *UNITS,
)
_PER_THING = re.compile(
    rf"(?:(?<![^\W\d_])(đồng|đ|VNĐ|VND|%)|(?:(?<=[0-9])|(?<=[0-9]\s))([^\W\d_]+))"
    rf"((?:/(?:{_alternatives(_PER_WHAT)}))+)(?!\w)"
)
"""The slash of a rate is "một": 50.000đ/kg, 1.134.000 đồng/người/năm, 0,66%/tháng, 2 lần/tuần.
Only after money, a percentage or a word counted by a number, so "ngày/tháng/năm sinh" stays."""


def _say_per_thing(found: re.Match[str]) -> str:
    counted = found[1] or found[2]
    things = (UNITS.get(thing, thing) for thing in found[3].split("/")[1:])
    return counted + "".join(f" một {thing}" for thing in things)


_ROAD = re.compile(r"\b(Km|QL|TL|ĐH)\s?([0-9]+[A-Z]?)(?:\+([0-9]+))?(?![\w+])")
"""Road markers and numbers: "Km 12+500" is "ki-lô-mét 12 cộng 500", "QL1A" is "quốc lộ 1A".
"ĐT" is left to the lexicon (điện thoại), as notices use it more for phones than for roads."""
_ROADS = {"Km": "ki-lô-mét", "QL": "quốc lộ", "TL": "tỉnh lộ", "ĐH": "đường huyện"}


def _say_road(found: re.Match[str]) -> str:
    road, number, plus = found.groups()
    return f"{_ROADS[road]} {number}" + (f" cộng {plus}" if plus else "")


_FRACTION = re.compile(r"(?<![\w.,/-])([1-9][0-9]{0,2})/([1-9][0-9]{0,2})(?![\w/]|[.,-][0-9])")
_BEFORE = re.compile(r"(\S+)\s+$")
_QUANTITY_AFTER = re.compile(
    r"\s+(?:số|tổng|diện tích|dân số|khối lượng|sản lượng|lượng|thời gian|chiều|quãng|đoạn"
    r"|phần|giá trị|kinh phí|công suất|dung tích|lưu lượng|quân số|trữ lượng)(?!\w)",
    re.IGNORECASE,
)
_PROPORTION_BEFORE = {
    *("chiếm", "khoảng", "gần", "hơn", "trên", "dưới", "đạt", "bằng", "còn", "mất", "lệ"),
    *("quá", "thêm", "giảm", "tăng", "nhất", "thiểu", "đa"),
}
"""The last word before a fraction ("tỷ lệ", "ít nhất", "tối thiểu", "tối đa" end in these)."""
_HOUSE_OR_DATE_BEFORE = {
    *("ngày", "từ", "đến", "tới", "hôm", "mùng", "sáng", "trưa", "chiều", "tối", "đêm", "trước"),
    *("sau", "hạn", "dịp", "lễ", "tết"),
    *("số", "nhà", "ngõ", "ngách", "hẻm", "kiệt"),
}


_ROUND_THE_CLOCK = {(24, 7), (24, 24)}
"""Trực 24/7, 24/24: "hai mươi tư trên bảy", unless a date word makes 24/7 the 24th of July."""


def _say_fraction(found: re.Match[str]) -> str:
    numerator, denominator = int(found[1]), int(found[2])
    before = _BEFORE.search(_just_before(found))
    word = before[1].lower().strip("(,;:") if before else ""
    if word in _HOUSE_OR_DATE_BEFORE:
        return found[0]
    if (numerator, denominator) in _ROUND_THE_CLOCK:
        return f"{numerator} trên {denominator}"
    if numerator >= denominator:
        return found[0]
    cued = word in _PROPORTION_BEFORE or _QUANTITY_AFTER.match(found.string, found.end())
    if denominator <= 12 and not cued:
        return found[0]
    below = "tư" if denominator == 4 else read_number(denominator)
    return f"{read_number(numerator)} phần {below}"


_HEIGHT = re.compile(r"(?<![\w.,/-])([0-9])m([0-9]{2})(?!\w)")
"""A person's height, "cao 1m65": "1 mét 65"."""


def say_measures(text: str) -> str:
    """Units, measure ranges, wind forces, rates, roads and fractions, in this order."""
    text = _HEIGHT.sub(r"\1 mét \2", text)
    text = _MEASURE.sub(_say_measure, text)
    text = _PERCENT_RANGE.sub(lambda found: f"{_start(found)}{found[1]} đến {found[2]}%", text)
    text = _WIND_FORCE.sub(lambda found: f"{found[1]} {found[2]} đến {found[1]} {found[3]}", text)
    text = _PER_THING.sub(_say_per_thing, text)
    text = _ROAD.sub(_say_road, text)
    return _FRACTION.sub(_say_fraction, text)
