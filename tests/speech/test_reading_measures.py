"""Units, measure ranges, wind forces, prices per thing and fractions (issue 17, items 1, 2 and 4),
for each voice, and what odd input becomes."""

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.speech.measures import UNITS
from broadcaster.speech.normalize import (
    Lexicon,
    normalize_for_edge,
    normalize_for_espeak,
    read_number,
)

NO_ABBREVIATIONS = Lexicon()

# text, what the online voice gets, what espeak-ng gets
MEASURES = [
    (
        "Mưa 100-200mm/24h",
        "Mưa từ 100 đến 200 mi-li-mét trong hai mươi tư giờ",
        "Mưa từ một trăm đến hai trăm mi-li-mét trong hai mươi tư giờ",
    ),
    (
        "lượng mưa từ 50-100 mm",
        "lượng mưa từ 50 đến 100 mi-li-mét",
        "lượng mưa từ năm mươi đến một trăm mi-li-mét",
    ),
    ("sóng cao 2-4m", "sóng cao từ 2 đến 4 mét", "sóng cao từ hai đến bốn mét"),
    ("mực nước 3,2 m.", "mực nước 3,2 mét.", "mực nước ba phẩy hai mét."),
    ("cách bờ 500 m", "cách bờ 500 mét", "cách bờ năm trăm mét"),
    ("dài 1,2 km", "dài 1,2 ki-lô-mét", "dài một phẩy hai ki-lô-mét"),
    ("ống 90 mm", "ống 90 mi-li-mét", "ống chín mươi mi-li-mét"),
    ("dày 2,5 cm", "dày 2,5 xen-ti-mét", "dày hai phẩy năm xen-ti-mét"),
    ("sâu 3 dm", "sâu 3 đề-xi-mét", "sâu ba đề-xi-mét"),
    ("1,5 ha lúa", "1,5 héc-ta lúa", "một phẩy năm héc-ta lúa"),
    ("thửa 2.000 m2", "thửa 2.000 mét vuông", "thửa hai nghìn mét vuông"),
    ("150 m² đất ở", "150 mét vuông đất ở", "một trăm năm mươi mét vuông đất ở"),
    ("25,6 km²", "25,6 ki-lô-mét vuông", "hai mươi lăm phẩy sáu ki-lô-mét vuông"),
    ("12 km2", "12 ki-lô-mét vuông", "mười hai ki-lô-mét vuông"),
    ("10 kg gạo", "10 ki-lô-gam gạo", "mười ki-lô-gam gạo"),
    ("500 g", "500 gam", "năm trăm gam"),
    ("250 mg", "250 mi-li-gam", "hai trăm năm mươi mi-li-gam"),
    ("từ 10-15 tấn", "từ 10 đến 15 tấn", "từ mười đến mười lăm tấn"),
    ("3-5 tạ", "từ 3 đến 5 tạ", "từ ba đến năm tạ"),
    ("0,5 ml vắc xin", "0,5 mi-li-lít vắc xin", "không phẩy năm mi-li-lít vắc xin"),
    ("20 l nước, 1,5 L", "20 lít nước, 1,5 lít", "hai mươi lít nước, một phẩy năm lít"),
    ("bể 3 m3, hồ 2 m³", "bể 3 mét khối, hồ 2 mét khối", "bể ba mét khối, hồ hai mét khối"),
    (
        "sức gió 60 km/h, giật 90 km/giờ",
        "sức gió 60 ki-lô-mét trên giờ, giật 90 ki-lô-mét trên giờ",
        "sức gió sáu mươi ki-lô-mét trên giờ, giật chín mươi ki-lô-mét trên giờ",
    ),
    ("15 m/s", "15 mét trên giây", "mười lăm mét trên giây"),
    (
        "lưu lượng 1.200 m³/s",
        "lưu lượng 1.200 mét khối trên giây",
        "lưu lượng một nghìn hai trăm mét khối trên giây",
    ),
    (
        "nhiệt độ 20-25°C",
        "nhiệt độ từ 20 đến 25 độ C",
        "nhiệt độ từ hai mươi đến hai mươi lăm độ C",
    ),
    ("dưới 10 °C", "dưới 10 độ C", "dưới mười độ C"),
    ("nhiệt độ -3°C", "nhiệt độ âm 3 độ C", "nhiệt độ âm ba độ C"),
    ("góc 90°", "góc 90 độ", "góc chín mươi độ"),
    ("100 kWh, 5 kW", "100 ki-lô-oát giờ, 5 ki-lô-oát", "một trăm ki-lô-oát giờ, năm ki-lô-oát"),
    # weather words
    (
        "gió mạnh cấp 6, giật cấp 8-9",
        "gió mạnh cấp 6, giật cấp 8 đến cấp 9",
        "gió mạnh cấp sáu, giật cấp tám đến cấp chín",
    ),
    ("Cấp 10 - 11", "Cấp 10 đến Cấp 11", "Cấp mười đến Cấp mười một"),
    # prices per thing
    (
        "50.000đ/kg, 200.000 đồng/tháng",
        "50.000đ một ki-lô-gam, 200.000 đồng một tháng",
        "năm mươi nghìn đồng một ki-lô-gam, hai trăm nghìn đồng một tháng",
    ),
    ("30.000 VNĐ/người", "30.000 VNĐ một người", "ba mươi nghìn đồng một người"),
    # percentages, rates and roads
    ("độ ẩm 45-50%", "độ ẩm từ 45 đến 50%", "độ ẩm từ bốn mươi lăm đến năm mươi phần trăm"),
    (
        "từ 2,5-3,5 %",
        "từ 2,5 đến 3,5%",
        "từ hai phẩy năm đến ba phẩy năm phần trăm",
    ),
    (
        "1.134.000 đồng/người/năm",
        "1.134.000 đồng một người một năm",
        "một triệu một trăm ba mươi tư nghìn đồng một người một năm",
    ),
    ("lãi 0,66%/tháng", "lãi 0,66% một tháng", "lãi không phẩy sáu mươi sáu phần trăm một tháng"),
    ("2 lần/tuần", "2 lần một tuần", "hai lần một tuần"),
    ("2 thửa/hộ", "2 thửa một hộ", "hai thửa một hộ"),
    ("ngày/tháng/năm sinh", "ngày/tháng/năm sinh", "ngày/tháng/năm sinh"),
    ("tại Km 12+500", "tại ki-lô-mét 12 cộng 500", "tại ki-lô-mét mười hai cộng năm trăm"),
    ("trên QL1A, TL 8", "trên quốc lộ 1A, tỉnh lộ 8", "trên quốc lộ một A, tỉnh lộ tám"),
    (
        "trực 24/7, 24/24 giờ",
        "trực 24 trên 7, 24 trên 24 giờ",
        "trực hai mươi tư trên bảy, hai mươi tư trên hai mươi tư giờ",
    ),
    ("ngày 24/7", "ngày 24/7", "ngày hai mươi tư tháng bảy"),
    ("cao khoảng 1m65", "cao khoảng 1 mét 65", "cao khoảng một mét sáu mươi lăm"),
    # what is not a unit
    ("5 mẫu ruộng", "5 mẫu ruộng", "năm mẫu ruộng"),
    ("mạng 5G", "mạng 5G", "mạng năm G"),
    ("cúm H5N1", "cúm H5N1", "cúm H năm N một"),
    ("5 ft", "5 ft", "năm ft"),
    ("Covid-19 m", "Covid-19 m", "Covid mười chín m"),
    ("lúc 6h30", "lúc 6h30", "lúc sáu giờ ba mươi phút"),
    ("1-3 ngày", "1-3 ngày", "một đến ba ngày"),
    ("giật cấp 10", "giật cấp 10", "giật cấp mười"),
    ("và/hoặc", "và/hoặc", "và/hoặc"),
]


@pytest.mark.parametrize(("text", "edge", "espeak"), MEASURES)
def test_measures_for_each_voice(text: str, edge: str, espeak: str) -> None:
    assert normalize_for_edge(text, NO_ABBREVIATIONS) == edge
    assert normalize_for_espeak(text, NO_ABBREVIATIONS) == espeak


# text, what both voices get for the slash (digits elsewhere are read only for espeak)
FRACTIONS = [
    ("1/3 số hộ", "một phần ba số hộ"),
    ("2/3 diện tích", "hai phần ba diện tích"),
    ("3/4 dân số", "ba phần tư dân số"),
    ("chiếm 1/4", "chiếm một phần tư"),
    ("gần 2/3", "gần hai phần ba"),
    ("tỷ lệ 1/10", "tỷ lệ một phần mười"),
    ("khoảng 1/2 tổng số hộ", "khoảng một phần hai tổng số hộ"),
    ("1/20 số hộ", "một phần hai mươi số hộ"),
    ("3/100", "ba phần một trăm"),
    ("ít nhất 1/5 thời gian", "ít nhất một phần năm thời gian"),
]


@pytest.mark.parametrize(("text", "spoken"), FRACTIONS)
def test_fractions_for_each_voice(text: str, spoken: str) -> None:
    assert normalize_for_edge(text, NO_ABBREVIATIONS) == spoken
    assert normalize_for_espeak(text, NO_ABBREVIATIONS) == spoken


DATES_NOT_FRACTIONS = [
    ("Quốc khánh 2/9", "Quốc khánh ngày mùng hai tháng chín"),
    ("ngày 1/6", "ngày mùng một tháng sáu"),
    ("ngày 1/3 số hộ đi họp", "ngày mùng một tháng ba số hộ đi họp"),
    ("từ 1/3 đến 5/3", "từ ngày mùng một tháng ba đến ngày mùng năm tháng ba"),
    ("2/3", "ngày mùng hai tháng ba"),
    ("01/3 số", "ngày mùng một tháng ba số"),
    ("15/8", "ngày mười lăm tháng tám"),
    ("1/3/2024", "ngày mùng một tháng ba năm hai nghìn không trăm hai mươi tư"),
    ("Tết 1/1", "Tết ngày mùng một tháng một"),
    ("ngõ 1/2", "ngõ một trên hai"),
    ("Thông tư 39/2020/TT", "Thông tư ba mươi chín/hai nghìn không trăm hai mươi/TT"),
]


@pytest.mark.parametrize(("text", "spoken"), DATES_NOT_FRACTIONS)
def test_dates_and_addresses_keep_their_reading(text: str, spoken: str) -> None:
    assert normalize_for_espeak(text, NO_ABBREVIATIONS) == spoken
    assert normalize_for_edge(text, NO_ABBREVIATIONS) == text


# --- odd input --------------------------------------------------------------------------------

ODD = [
    ("1" * 40 + " m", "một" + " một" * 39 + " mét"),
    ("5 км", "năm км"),
    ("5 m 📢 2 kg ✅", "năm mét hai ki-lô-gam"),
    ("Nhiệt độ 30°C 東京 Ελλάδα", "Nhiệt độ ba mươi độ C 東京 Ελλάδα"),
    ("999999/1000000", "chín trăm chín mươi chín nghìn chín trăm chín mươi chín/một triệu"),
    ("1/0", "một/không"),
    ("0/5", "không/năm"),
    ("5 - - 6 m", "năm - - sáu mét"),
]


@pytest.mark.parametrize(("text", "spoken"), ODD)
def test_odd_input_is_read_sensibly(text: str, spoken: str) -> None:
    assert normalize_for_espeak(text, NO_ABBREVIATIONS) == spoken


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=10**9),
    decimals=st.one_of(st.none(), st.integers(min_value=1, max_value=99)),
    unit=st.sampled_from(sorted(UNITS)),
    space=st.sampled_from(["", " "]),
)
def test_any_measure_is_read_in_words(
    value: int, decimals: int | None, unit: str, space: str
) -> None:
    written = f"{value:,}".replace(",", ".") + (f",{decimals}" if decimals else "")
    spoken = normalize_for_espeak(f"Đo được {written}{space}{unit}.", NO_ABBREVIATIONS)
    assert spoken.startswith(f"Đo được {read_number(value)}")
    assert spoken.endswith(f" {UNITS[unit]}.")
    assert not re.search(r"[0-9]", spoken)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    numerator=st.integers(min_value=1, max_value=999),
    denominator=st.integers(min_value=13, max_value=999),
)
def test_a_fraction_no_month_can_be_is_read_as_one(numerator: int, denominator: int) -> None:
    spoken = normalize_for_espeak(f"{numerator}/{denominator}", NO_ABBREVIATIONS)
    if numerator < denominator:
        assert spoken == f"{read_number(numerator)} phần {read_number(denominator)}"
    else:
        assert "phần" not in spoken


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"0123456789 /-.,°²³hmkgslLCđ%", "km", "ha", "tấn", "cấp", "số", "ngày", "📢"]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_mix_of_digits_units_and_slashes_is_read_without_error(text: str) -> None:
    for normalize_text in (normalize_for_edge, normalize_for_espeak):
        assert unicodedata.is_normalized("NFC", normalize_text(text, NO_ABBREVIATIONS))
