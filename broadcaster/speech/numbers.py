"""Vietnamese numbers in words, as an announcer reads them."""

LONGEST_AMOUNT_DIGITS = 15
"""Beyond hundreds of trillions, digits are a code, read one by one."""

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 1_000_000_000
_GROUPS = ((1_000_000, "triệu"), (1000, "nghìn"), (1, ""))


def read_number(value: int) -> str:
    """Vietnamese words as an announcer reads amounts: 21 "hai mươi mốt", 105 "một trăm linh
    năm", 1005 "một nghìn không trăm linh năm", 10**12 "một nghìn tỷ"."""
    if value < 0:
        return "âm " + read_number(-value)
    return " ".join(_read(value, padded=False)) if value else DIGITS[0]


def _read(value: int, padded: bool) -> list[str]:
    """`padded`: a larger unit was said before, so empty hundreds are said too (không trăm)."""
    if value >= _BILLION:
        high, low = divmod(value, _BILLION)
        billions = [*_read(high, padded), "tỷ"]
        return [*billions, *_read(low, padded=True)] if low else billions
    words: list[str] = []
    for unit, name in _GROUPS:
        group = value // unit % 1000
        if group:
            words += _read_hundreds(group, padded)
            words += [name] if name else []
            padded = True
    return words


def _read_hundreds(value: int, padded: bool) -> list[str]:
    hundreds, tens, units = value // 100, value // 10 % 10, value % 10
    words: list[str] = []
    if hundreds or padded:
        words += [DIGITS[hundreds], "trăm"]
        if tens == 0:
            return [*words, "linh", DIGITS[units]] if units else words
    if tens == 0:
        return [DIGITS[units]]
    words += ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 5:
        words.append("lăm")
    elif units == 1 and tens > 1:
        words.append("mốt")
    elif units == 4 and tens > 1:
        words.append("tư")
    elif units:
        words.append(DIGITS[units])
    return words


def read_digits(digits: str) -> str:
    return " ".join(DIGITS[int(d)] for d in digits)


def read_integer(digits: str) -> str:
    """Codes such as 007 keep every zero, and so do runs too long to be amounts (account and
    document numbers); 08 in a document is just eight."""
    if (len(digits) > 2 and digits[0] == "0") or len(digits) > LONGEST_AMOUNT_DIGITS:
        return read_digits(digits)
    return read_number(int(digits))


def read_ordinal(value: int) -> str:
    return {1: "nhất", 4: "tư"}.get(value) or read_number(value)


def read_month(value: int) -> str:
    return "tư" if value == 4 else read_number(value)


def read_day(value: int) -> str:
    return f"mùng {read_number(value)}" if value <= 10 else read_number(value)
