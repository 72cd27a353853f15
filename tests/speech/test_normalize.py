"""What each voice is given to say, and the station's lexicon of abbreviations.

Expected outputs are exact: a listener hears every word, so "hai mươi bốn" instead of "hai mươi
tư" or a date read as a fraction is a bug, not a detail.
"""

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster import i18n
from broadcaster.errors import LexiconError
from broadcaster.speech import normalize
from broadcaster.speech.normalize import (
    LEXICON_FILE,
    Lexicon,
    load_lexicon,
    normalize_for_edge,
    normalize_for_espeak,
    read_number,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "announcements" / LEXICON_FILE
LEXICON = load_lexicon(BUNDLED)
NO_ABBREVIATIONS = Lexicon()


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English, so the expected texts do not depend on the Vietnamese catalog."""
    i18n.set_language("en")
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


# --- Whole announcements -----------------------------------------------------------------------

ANNOUNCEMENTS = [
    (
        "Kính thưa bà con nhân dân!!! Thực hiện Công văn của Sở TT&TT, UBND xã đề nghị bà con "
        "cài đặt ứng dụng Bluezone từ ngày 01/8/2020.",
        "Kính thưa bà con nhân dân! Thực hiện Công văn của Sở Thông tin và Truyền thông, Ủy ban "
        "nhân dân xã đề nghị bà con cài đặt ứng dụng Bluezone từ ngày 01/8/2020.",
        "Kính thưa bà con nhân dân! Thực hiện Công văn của Sở Thông tin và Truyền thông, Ủy ban "
        "nhân dân xã đề nghị bà con cài đặt ứng dụng Bluezone từ ngày mùng một tháng tám năm hai "
        "nghìn không trăm hai mươi.",
    ),
    (
        "Thông báo: 19h30 tối nay, Chi bộ và BCH Đoàn thôn họp tại nhà văn hóa thôn số 3.",
        "Thông báo: 19h30 tối nay, Chi bộ và Ban Chấp hành Đoàn thôn họp tại nhà văn hóa thôn "
        "số 3.",
        "Thông báo: mười chín giờ ba mươi phút tối nay, Chi bộ và Ban Chấp hành Đoàn thôn họp "
        "tại nhà văn hóa thôn số ba.",
    ),
    (
        "Từ 06:30 đến 17:00 ngày 15/08, Trạm Y tế tiêm vắc xin phòng Covid-19 cho người có thẻ "
        "BHYT.",
        "Từ 06:30 đến 17:00 ngày 15/08, Trạm Y tế tiêm vắc xin phòng Covid-19 cho người có thẻ "
        "bảo hiểm y tế.",
        "Từ sáu giờ ba mươi phút đến mười bảy giờ ngày mười lăm tháng tám, Trạm Y tế tiêm vắc "
        "xin phòng Covid mười chín cho người có thẻ bảo hiểm y tế.",
    ),
    (
        "Mức phạt vi phạm ATGT từ 1.500.000đ đến 2.000.000 VNĐ; lãi suất 3,5% một năm.",
        "Mức phạt vi phạm an toàn giao thông từ 1.500.000đ đến 2.000.000 VNĐ; lãi suất 3,5% "
        "một năm.",
        "Mức phạt vi phạm an toàn giao thông từ một triệu năm trăm nghìn đồng đến hai triệu "
        "đồng; lãi suất ba phẩy năm phần trăm một năm.",
    ),
    (
        "Khi có cháy, gọi ngay 114 hoặc số 0912 345 678 của Đội PCCC xã; đường dây nóng: "
        "1900 1234.",
        "Khi có cháy, gọi ngay 114 hoặc số 0912 345 678 của Đội phòng cháy, chữa cháy xã; "
        "đường dây nóng: 1900 1234.",
        "Khi có cháy, gọi ngay một một bốn hoặc số không chín một hai, ba bốn năm, sáu bảy tám "
        "của Đội phòng cháy, chữa cháy xã; đường dây nóng: một chín không không, một hai ba bốn.",
    ),
    (
        "Đại hội Đoàn TNCS Hồ Chí Minh xã lần thứ XV, nhiệm kỳ 2022-2027, khai mạc lúc 7h30 "
        "Thứ 2, ngày 15 tháng 4.",
        "Đại hội Đoàn Thanh niên Cộng sản Hồ Chí Minh xã lần thứ XV, nhiệm kỳ 2022-2027, khai "
        "mạc lúc 7h30 Thứ 2, ngày 15 tháng 4.",
        "Đại hội Đoàn Thanh niên Cộng sản Hồ Chí Minh xã lần thứ mười lăm, nhiệm kỳ hai nghìn "
        "không trăm hai mươi hai đến hai nghìn không trăm hai mươi bảy, khai mạc lúc bảy giờ ba "
        "mươi phút Thứ hai, ngày mười lăm tháng tư.",
    ),
    (
        "Thông tin chi tiết xem tại <https://www.bluezone.gov.vn/> hoặc gửi thư về "
        "ubnd.xa@gmail.com.",
        "Thông tin chi tiết xem tại https://www.bluezone.gov.vn/ hoặc gửi thư về "
        "ubnd.xa@gmail.com.",
        "Thông tin chi tiết xem tại bluezone chấm gov chấm vn hoặc gửi thư về ubnd chấm xa a "
        "còng gmail chấm com.",
    ),
    (
        "Lịch trực: T2-T6 từ 7h đến 17h; T7, CN nghỉ.",
        "Lịch trực: thứ 2 đến thứ 6 từ 7h đến 17h; thứ 7, chủ nhật nghỉ.",
        "Lịch trực: thứ hai đến thứ sáu từ bảy giờ đến mười bảy giờ; thứ bảy, chủ nhật nghỉ.",
    ),
    (
        "Các hộ có F0, F1 thực hiện cách ly 14 ngày theo hướng dẫn của BCĐ phòng, chống dịch.",
        "Các hộ có F0, F1 thực hiện cách ly 14 ngày theo hướng dẫn của Ban Chỉ đạo phòng, "
        "chống dịch.",
        "Các hộ có ép không, ép một thực hiện cách ly mười bốn ngày theo hướng dẫn của Ban Chỉ "
        "đạo phòng, chống dịch.",
    ),
    (
        "THÔNG BÁO\n\nV/v nộp BHXH tự nguyện\n- Thời gian: tháng 8/2020\n"
        "- Địa điểm: hội trường UBND xã,\n  thôn Đông\nTrân trọng./.",
        "THÔNG BÁO. về việc nộp bảo hiểm xã hội tự nguyện. Thời gian: tháng 8/2020. Địa điểm: "
        "hội trường Ủy ban nhân dân xã, thôn Đông. Trân trọng.",
        "THÔNG BÁO. về việc nộp bảo hiểm xã hội tự nguyện. Thời gian: tháng tám năm hai nghìn "
        "không trăm hai mươi. Địa điểm: hội trường Ủy ban nhân dân xã, thôn Đông. Trân trọng.",
    ),
    (
        "Nhiệt độ cao nhất 37°C; bà con hạn chế ra ngoài từ 11h-15h.",
        "Nhiệt độ cao nhất 37 độ C; bà con hạn chế ra ngoài từ 11h-15h.",
        "Nhiệt độ cao nhất ba mươi bảy độ C; bà con hạn chế ra ngoài từ mười một giờ đến mười "
        "lăm giờ.",
    ),
    (
        "**Khẩn**: lũ trên sông đang lên, bà con vùng trũng di dời trước 17h ngày 15/10/2022....",
        "Khẩn: lũ trên sông đang lên, bà con vùng trũng di dời trước 17h ngày 15/10/2022.",
        "Khẩn: lũ trên sông đang lên, bà con vùng trũng di dời trước mười bảy giờ ngày mười lăm "
        "tháng mười năm hai nghìn không trăm hai mươi hai.",
    ),
    (
        "Học sinh THCS, THPT tựu trường ngày 5 tháng 9; kinh phí hỗ trợ 500.000 đồng mỗi em.",
        "Học sinh trung học cơ sở, trung học phổ thông tựu trường ngày 5 tháng 9; kinh phí hỗ "
        "trợ 500.000 đồng mỗi em.",
        "Học sinh trung học cơ sở, trung học phổ thông tựu trường ngày mùng năm tháng chín; kinh "
        "phí hỗ trợ năm trăm nghìn đồng mỗi em.",
    ),
    (
        "Quỹ khuyến học năm 2023 đạt 123.456.789 đồng, tăng 12,5% so với năm 2022.",
        "Quỹ khuyến học năm 2023 đạt 123.456.789 đồng, tăng 12,5% so với năm 2022.",
        "Quỹ khuyến học năm hai nghìn không trăm hai mươi ba đạt một trăm hai mươi ba triệu bốn "
        "trăm năm mươi sáu nghìn bảy trăm tám mươi chín đồng, tăng mười hai phẩy năm phần trăm "
        "so với năm hai nghìn không trăm hai mươi hai.",
    ),
]


@pytest.mark.parametrize(("text", "edge", "espeak"), ANNOUNCEMENTS)
def test_announcements_for_each_voice(text: str, edge: str, espeak: str) -> None:
    assert normalize_for_edge(text, LEXICON) == edge
    assert normalize_for_espeak(text, LEXICON) == espeak


def test_espeak_is_given_no_digits() -> None:
    for text, _edge, _espeak in ANNOUNCEMENTS:
        assert not re.search(r"[0-9]", normalize_for_espeak(text, LEXICON)), text


def test_espeak_reads_every_output_without_complaint() -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: apt install espeak-ng (./setup.sh installs it)")
    texts = [espeak_text for _text, _edge, espeak_text in ANNOUNCEMENTS]
    result = subprocess.run(
        [espeak, "-v", "vi", "-q", "--stdin"],
        input="\n".join(texts).encode("utf-8"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")


def test_output_is_nfc_whatever_the_keyboard_sent() -> None:
    decomposed = unicodedata.normalize("NFD", "Ủy ban nhân dân xã thông báo: họp lúc 14h30.")
    for normalize_text in (normalize_for_edge, normalize_for_espeak):
        spoken = normalize_text(decomposed, LEXICON)
        assert unicodedata.is_normalized("NFC", spoken)
        assert spoken == normalize_text(unicodedata.normalize("NFC", decomposed), LEXICON)


# --- Numbers -----------------------------------------------------------------------------------

NUMBERS = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (31, "ba mươi mốt"),
    (44, "bốn mươi tư"),
    (55, "năm mươi lăm"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1100, "một nghìn một trăm"),
    (2020, "hai nghìn không trăm hai mươi"),
    (10000, "mười nghìn"),
    (1000000, "một triệu"),
    (1050000, "một triệu không trăm năm mươi nghìn"),
    (1500000, "một triệu năm trăm nghìn"),
    (1000000000, "một tỷ"),
    (1000000005, "một tỷ không trăm linh năm"),
    (1001000000, "một tỷ không trăm linh một triệu"),
    (123456789, "một trăm hai mươi ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín"),
    (10**12, "một nghìn tỷ"),
    (2_500_000_000_000, "hai nghìn năm trăm tỷ"),
    (-5, "âm năm"),
]


@pytest.mark.parametrize(("value", "words"), NUMBERS)
def test_read_number(value: int, words: str) -> None:
    assert read_number(value) == words


# --- Each rule for espeak, on its own ----------------------------------------------------------

ESPEAK_RULES = [
    ("ngày 15-10-2023", "ngày mười lăm tháng mười năm hai nghìn không trăm hai mươi ba"),
    ("nhiệt độ -5°C", "nhiệt độ âm năm độ C"),
    ("ngõ 12/3 phố Huế", "ngõ mười hai trên ba phố Huế"),
    ("nhà số 5/7", "nhà số năm trên bảy"),
    # dates
    ("01/8/2020", "ngày mùng một tháng tám năm hai nghìn không trăm hai mươi"),
    ("15/08", "ngày mười lăm tháng tám"),
    ("Ngày 10/10/2024", "Ngày mùng mười tháng mười năm hai nghìn không trăm hai mươi tư"),
    ("29/2/2024", "ngày hai mươi chín tháng hai năm hai nghìn không trăm hai mươi tư"),
    ("01.08.2020", "ngày mùng một tháng tám năm hai nghìn không trăm hai mươi"),
    ("01-08-2020", "ngày mùng một tháng tám năm hai nghìn không trăm hai mươi"),
    ("ngày 2-9", "ngày mùng hai tháng chín"),
    ("01/8 - 15/8", "ngày mùng một tháng tám đến ngày mười lăm tháng tám"),
    ("32/13/2020", "ba mươi hai/mười ba/hai nghìn không trăm hai mươi"),
    ("29/2/2023", "hai mươi chín/hai/hai nghìn không trăm hai mươi ba"),
    ("ngày 01 tháng 08 năm 2020", "ngày mùng một tháng tám năm hai nghìn không trăm hai mươi"),
    ("tháng 4", "tháng tư"),
    ("Tháng 12", "Tháng mười hai"),
    ("tháng 8/2020", "tháng tám năm hai nghìn không trăm hai mươi"),
    ("T8/2020", "tháng tám năm hai nghìn không trăm hai mươi"),
    ("T2/2021", "tháng hai năm hai nghìn không trăm hai mươi mốt"),
    ("uống ngày 3 lần", "uống ngày ba lần"),
    ("Thông tư 39/2020/TT-BTTTT", "Thông tư ba mươi chín/hai nghìn không trăm hai mươi/TT-BTTTT"),
    # times
    ("6h30", "sáu giờ ba mươi phút"),
    ("14h30", "mười bốn giờ ba mươi phút"),
    ("17h", "mười bảy giờ"),
    ("6h05", "sáu giờ năm phút"),
    ("17:00", "mười bảy giờ"),
    ("06:30", "sáu giờ ba mươi phút"),
    ("06:30:15", "sáu giờ ba mươi phút mười lăm giây"),
    ("17h-18h", "mười bảy giờ đến mười tám giờ"),
    ("25h", "hai mươi lăm h"),
    ("QCVN 26:2010", "QCVN hai mươi sáu:hai nghìn không trăm mười"),
    # amounts, decimals, percent
    ("1.500.000", "một triệu năm trăm nghìn"),
    ("1.005", "một nghìn không trăm linh năm"),
    ("1.500.000 đồng", "một triệu năm trăm nghìn đồng"),
    ("1.500.000đ", "một triệu năm trăm nghìn đồng"),
    ("1.500.000 VNĐ", "một triệu năm trăm nghìn đồng"),
    ("10.000 VND", "mười nghìn đồng"),
    ("1.000.000.000 đồng", "một tỷ đồng"),
    ("1,500,000 người", "một triệu năm trăm nghìn người"),
    ("3,5", "ba phẩy năm"),
    ("2,25", "hai phẩy hai mươi lăm"),
    ("12,3456", "mười hai phẩy ba bốn năm sáu"),
    ("0,05 ha", "không phẩy không năm héc-ta"),
    ("3,5%", "ba phẩy năm phần trăm"),
    ("15 %", "mười lăm phần trăm"),
    ("1-3 ngày", "một đến ba ngày"),
    ("số 3", "số ba"),
    ("số 03", "số ba"),
    ("mã 007", "mã không không bảy"),
    ("Điều 5.3", "Điều năm chấm ba"),
    ("H5N1", "H năm N một"),
    # phone numbers
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912.345.678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912-345-678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912345678", "không chín một hai ba bốn năm sáu bảy tám"),
    ("024 3825 1234", "không hai bốn, ba tám hai năm, một hai ba bốn"),
    ("+84 912 345 678", "cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám"),
    ("hotline 1900 1234", "hotline một chín không không, một hai ba bốn"),
    ("gọi 113", "gọi một một ba"),
    ("Gọi ngay 115", "Gọi ngay một một năm"),
    ("Cứu hỏa 114", "Cứu hỏa một trăm mười bốn"),
    ("gọi 100 hộ dân", "gọi một trăm hộ dân"),
    ("0912 345 678 10 lần", "không chín một hai, ba bốn năm, sáu bảy tám mười lần"),
    # Roman numerals
    ("Chương II", "Chương hai"),
    ("Điều IV", "Điều bốn"),
    ("khóa XV", "khóa mười lăm"),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("lần thứ III", "lần thứ ba"),
    ("kỳ họp thứ I", "kỳ họp thứ nhất"),
    ("Đại hội XIII", "Đại hội mười ba"),
    ("học kỳ IX", "học kỳ chín"),
    ("Tôi là I", "Tôi là I"),
    ("Phần C", "Phần C"),
    ("Nhóm XV", "Nhóm XV"),
    ("Mục IIII", "Mục IIII"),
    # web and e-mail addresses
    ("https://www.bluezone.gov.vn/", "bluezone chấm gov chấm vn"),
    ("Xem bluezone.gov.vn.", "Xem bluezone chấm gov chấm vn."),
    ("http://dichvucong.gov.vn/p/home", "dichvucong chấm gov chấm vn gạch chéo p gạch chéo home"),
    ("www.ytehanoi.vn/covid-19", "ytehanoi chấm vn gạch chéo covid gạch ngang một chín"),
    ("ubnd.xa@gmail.com", "ubnd chấm xa a còng gmail chấm com"),
    ("nguyen_van_a@gmail.com", "nguyen gạch dưới van gạch dưới a a còng gmail chấm com"),
    # tokens
    ("Covid-19", "Covid mười chín"),
    ("SARS-CoV-2", "SARS-CoV hai"),
    ("F0/F1", "ép không/ép một"),
    ("thứ 2", "thứ hai"),
    ("thứ 4", "thứ tư"),
    ("Thứ 7", "Thứ bảy"),
    ("lần thứ 14", "lần thứ mười bốn"),
    ("T2, T4, T6", "thứ hai, thứ tư, thứ sáu"),
    ("T2-CN", "thứ hai đến chủ nhật"),
    ("T7 và CN", "thứ bảy và chủ nhật"),
    ("37°C", "ba mươi bảy độ C"),
    ("góc 90°", "góc chín mươi độ"),
    ("phòng & khám", "phòng và khám"),
    ("Bộ KH&CN", "Bộ KH và CN"),
]


@pytest.mark.parametrize(("text", "spoken"), ESPEAK_RULES)
def test_espeak_rule(text: str, spoken: str) -> None:
    assert normalize_for_espeak(text, NO_ABBREVIATIONS) == spoken


@pytest.mark.parametrize("position", range(len(normalize._SPELLING)))
def test_every_espeak_rule_is_checked(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    """Mutation check: without any one rule, some expected output above must change."""
    rules = list(normalize._SPELLING)
    del rules[position]
    monkeypatch.setattr(normalize, "_SPELLING", tuple(rules))
    cases = [(text, LEXICON, spoken) for text, _edge, spoken in ANNOUNCEMENTS] + [
        (text, NO_ABBREVIATIONS, spoken) for text, spoken in ESPEAK_RULES
    ]
    assert any(normalize_for_espeak(text, lexicon) != spoken for text, lexicon, spoken in cases)


# --- Clean-up for the online voice -------------------------------------------------------------

EDGE_RULES = [
    ("Kính thưa bà con!!!", "Kính thưa bà con!"),
    ("Chúng tôi xin thông báo....", "Chúng tôi xin thông báo."),
    ("doanh nghiệp,... trên địa bàn", "doanh nghiệp, trên địa bàn"),
    ("Bà con đã cài chưa?!", "Bà con đã cài chưa?"),
    ("Trân trọng./.", "Trân trọng."),
    ("Bà con   chú ý ,  sáng mai\thọp .", "Bà con chú ý, sáng mai họp."),
    ("• Tiêm phòng\n• Khám bệnh", "Tiêm phòng. Khám bệnh"),
    ("Nội dung:\n- tiêm phòng;\n- khám bệnh", "Nội dung: tiêm phòng; khám bệnh"),
    ("cài đặt\nứng dụng Bluezone", "cài đặt ứng dụng Bluezone"),
    ("<b>Thông báo</b>&nbsp;khẩn<br>Bà con chú ý", "Thông báo khẩn Bà con chú ý"),
    ("<https://www.bluezone.gov.vn/>", "https://www.bluezone.gov.vn/"),
    (
        "**Khẩn cấp** _lũ quét_ gửi nguyen_van_a@gmail.com",
        "Khẩn cấp lũ quét gửi nguyen_van_a@gmail.com",
    ),
    ("📢 Thông báo ☎️ 0912 345 678 ✅", "Thông báo 0912 345 678"),
    ("Ủy ban\u200b nhân dân\ufeff", "Ủy ban nhân dân"),
    ("HÐND xã", "Hội đồng nhân dân xã"),
    (
        "Từ 01/8/2020, lúc 14h30, phí 1.500.000đ, gọi 0912 345 678.",
        "Từ 01/8/2020, lúc 14h30, phí 1.500.000đ, gọi 0912 345 678.",
    ),
    ("T2-T6 và CN", "thứ 2 đến thứ 6 và chủ nhật"),
    ("T2/2021, Bộ KH&CN", "T2/2021, Bộ KH&CN"),
]


@pytest.mark.parametrize(("text", "spoken"), EDGE_RULES)
def test_edge_clean_up(text: str, spoken: str) -> None:
    assert normalize_for_edge(text, LEXICON) == spoken


# --- The lexicon -------------------------------------------------------------------------------


def test_lexicon_matches_whole_words_case_sensitively() -> None:
    lexicon = Lexicon({"BCĐ": "Ban Chỉ đạo"})
    text = "BCĐX, BCĐ, (BCĐ) aBCĐ bcđ BCĐ."
    assert lexicon.apply(text) == "BCĐX, Ban Chỉ đạo, (Ban Chỉ đạo) aBCĐ bcđ Ban Chỉ đạo."


def test_longer_lexicon_entries_win() -> None:
    lexicon = Lexicon({"TT": "tê tê", "TT&TT": "Thông tin và Truyền thông", "TP": "thành phố"})
    lexicon = Lexicon({**lexicon.entries, "TP.HCM": "Thành phố Hồ Chí Minh"})
    assert (
        lexicon.apply("Sở TT&TT, TT, TP.HCM, TP Huế")
        == "Sở Thông tin và Truyền thông, tê tê, Thành phố Hồ Chí Minh, thành phố Huế"
    )


def test_lexicon_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / LEXICON_FILE
    nfd = unicodedata.normalize("NFD", "HĐND  =  Hội  đồng nhân dân")
    lines = ["# Từ điển", "", "UBND = Ủy ban nhân dân   # ghi chú", nfd, "KT-XH=kinh tế - xã hội"]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    assert dict(load_lexicon(path).entries) == {
        "UBND": "Ủy ban nhân dân",
        "HĐND": "Hội đồng nhân dân",
        "KT-XH": "kinh tế - xã hội",
    }


def test_missing_lexicon_file_means_no_abbreviations(tmp_path: Path) -> None:
    assert dict(load_lexicon(tmp_path / LEXICON_FILE).entries) == {}


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (
            ["# ok", "UBND = Ủy ban nhân dân", "HĐND Hội đồng nhân dân"],
            3,
            "this line has no '=': write the short form, then '=', then how to say it, like "
            "UBND = Ủy ban nhân dân.",
        ),
        (
            ["", "", "", " = Ủy ban nhân dân"],
            4,
            "one side of '=' is empty: write the short form on the left and how to say it on "
            "the right, like UBND = Ủy ban nhân dân.",
        ),
        (
            ["UBND =   # chưa biết"],
            1,
            "one side of '=' is empty: write the short form on the left and how to say it on "
            "the right, like UBND = Ủy ban nhân dân.",
        ),
        (
            ["UBND = Ủy ban = nhân dân"],
            1,
            "this line has more than one '=': keep only the one after the short form.",
        ),
        (
            ["# từ điển", "UBND = Ủy ban nhân dân", "", "HĐND = Hội đồng nhân dân", "UBND = UB"],
            5,
            "'UBND' is already on line 2: keep only one of the two lines.",
        ),
    ],
)
@pytest.mark.usefixtures("english")
def test_lexicon_mistakes_are_located(
    tmp_path: Path, lines: list[str], line: int, problem: str
) -> None:
    path = tmp_path / LEXICON_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(LexiconError) as raised:
        load_lexicon(path)
    assert raised.value.message == f"{path}:{line}: {problem}"


@pytest.mark.usefixtures("english")
def test_lexicon_not_in_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / LEXICON_FILE
    path.write_bytes(b"\xef\xbb\xbfUBND = \xe1\xbb\xa6y ban\r\n# ok\r\nHDND = H\xf4i \r\n")
    with pytest.raises(LexiconError) as raised:
        load_lexicon(path)
    assert raised.value.message == (
        f"{path}:3: this line is not UTF-8 text; save the file as UTF-8."
    )


def test_bundled_lexicon_loads_and_is_nfc() -> None:
    text = BUNDLED.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)
    assert {
        "UBND": "Ủy ban nhân dân",
        "HĐND": "Hội đồng nhân dân",
        "MTTQ": "Mặt trận Tổ quốc",
        "UBMTTQ": "Ủy ban Mặt trận Tổ quốc",
        "BCĐ": "Ban Chỉ đạo",
        "TT&TT": "Thông tin và Truyền thông",
        "PCCC": "phòng cháy, chữa cháy",
        "PCTT": "phòng, chống thiên tai",
        "ATGT": "an toàn giao thông",
        "BHYT": "bảo hiểm y tế",
        "BHXH": "bảo hiểm xã hội",
        "THCS": "trung học cơ sở",
        "THPT": "trung học phổ thông",
        "CSGT": "Cảnh sát giao thông",
        "CAND": "Công an nhân dân",
        "QĐND": "Quân đội nhân dân",
        "TNCS": "Thanh niên Cộng sản",
        "CCB": "Cựu chiến binh",
        "KT-XH": "kinh tế - xã hội",
        "TP": "thành phố",
        "TX": "thị xã",
    }.items() <= LEXICON.entries.items()


def test_bundled_lexicon_has_no_single_letters() -> None:
    """A lone "P." or "Q." also means Phó or Quyền: such entries would garble names and titles."""
    for written in LEXICON.entries:
        assert sum(c.isalpha() for c in written) >= 2, written


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("ngõ 12/3 phố Huế", "ngõ mười hai trên ba phố Huế"),
        ("nhà số 5/7", "nhà số năm trên bảy"),
        ("họp ngày 12/3", "họp ngày mười hai tháng ba"),
        ("tài khoản 1" + "2" * 20, "tài khoản một" + " hai" * 20),
    ],
)
def test_house_numbers_and_long_codes(text: str, spoken: str) -> None:
    assert normalize_for_espeak(text, Lexicon({})) == spoken
