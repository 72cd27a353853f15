"""Announcement files in a station's announcements/ folder: ID.yaml or ID.txt."""

import unicodedata
from pathlib import Path

import pytest

from broadcaster.core.compose import clean_text
from broadcaster.core.models import Announcement
from broadcaster.core.settings import Station
from broadcaster.errors import AnnouncementError, ExitCode
from broadcaster.station.announcements import list_announcements, load_announcement
from broadcaster.station.station_file import load_station

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def station(tmp_path: Path) -> Station:
    """An empty station with an empty announcements/ folder."""
    (tmp_path / "station.yaml").write_text("name: Đài xã thử\n", encoding="utf-8")
    (tmp_path / "announcements").mkdir()
    return load_station(tmp_path, environ={})


def put(station: Station, file_name: str, content: str) -> Path:
    path = station.announcements_dir / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def load_error(station: Station, announcement_id: str) -> str:
    with pytest.raises(AnnouncementError) as caught:
        load_announcement(station, announcement_id)
    assert caught.value.exit_code == ExitCode.ANNOUNCEMENT
    return caught.value.message


def assert_at(message: str, path: Path, line: int) -> None:
    assert message.startswith(f"{path}:{line}: "), message


# --- loading ----------------------------------------------------------------------------------


def test_a_yaml_announcement_has_title_text_and_voice(station: Station) -> None:
    put(
        station,
        "mua-bao.yaml",
        "# Bản tin phòng chống bão\n"
        "title: Phòng chống bão số 3\n"
        "text: |\n"
        "  Kính thưa bà con!\n"
        "  Bão số ba sắp đổ bộ.\n"
        "voice: vi-VN-NamMinhNeural\n",
    )
    assert load_announcement(station, "mua-bao") == Announcement(
        id="mua-bao",
        text="Kính thưa bà con!\nBão số ba sắp đổ bộ.\n",
        title="Phòng chống bão số 3",
        voice="vi-VN-NamMinhNeural",
    )


def test_a_yaml_announcement_needs_only_text(station: Station) -> None:
    put(station, "ngan.yaml", "text: Xin chào bà con.\n")
    assert load_announcement(station, "ngan") == Announcement(
        id="ngan", text="Xin chào bà con.", title="", voice=None
    )


def test_a_txt_announcement_is_just_its_text(station: Station) -> None:
    content = "Thông báo: tiêm phòng dại cho chó, mèo\nvào sáng thứ bảy.\n"
    put(station, "tiem-phong.txt", content)
    announcement = load_announcement(station, "tiem-phong")
    assert announcement.id == "tiem-phong"
    assert announcement.text.strip() == content.strip()
    assert (announcement.title, announcement.voice) == ("", None)


def test_a_txt_file_that_looks_like_yaml_is_still_plain_text(station: Station) -> None:
    put(station, "giong-yaml.txt", "title: không phải tiêu đề\ntext: [\n")
    assert load_announcement(station, "giong-yaml").text.startswith("title: không phải")


def test_yaml_wins_over_txt_of_the_same_id(station: Station) -> None:
    put(station, "hop.txt", "Bản cũ.\n")
    put(station, "hop.yaml", "title: Họp\ntext: Bản mới.\n")
    assert load_announcement(station, "hop").text == "Bản mới."
    assert list_announcements(station) == ["hop"]


def test_a_yaml_announcement_saved_with_a_byte_order_mark_loads(station: Station) -> None:
    path = station.announcements_dir / "bom.yaml"
    path.write_bytes("title: Họp\ntext: Xin chào.\n".encode("utf-8-sig"))
    announcement = load_announcement(station, "bom")
    assert (announcement.title, announcement.text) == ("Họp", "Xin chào.")


def test_a_txt_announcement_saved_with_a_byte_order_mark_loses_the_mark(
    station: Station,
) -> None:
    path = station.announcements_dir / "bom.txt"
    path.write_bytes("Xin chào bà con.\r\n".encode("utf-8-sig"))
    assert not load_announcement(station, "bom").text.startswith("\ufeff")


# --- bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("title: Họp\ntext: Họp lúc: 19 giờ: tại nhà văn hóa\n", 2),
        ("title: Họp\ntext: |\n  Dòng một\n\tDòng hai\n", 4),
        ("title: Họp\ntext: a\n\n\ntitle: Họp lại\n", 5),
    ],
    ids=["mapping-value", "tab", "duplicate-key"],
)
def test_invalid_yaml_is_reported_at_its_line(station: Station, content: str, line: int) -> None:
    path = put(station, "hong.yaml", content)
    assert_at(load_error(station, "hong"), path, line)


@pytest.mark.parametrize(
    "content",
    ["title: Họp\n", "title: Họp\ntext:\n", "", "# chỉ có ghi chú\n", "- text: a\n", "Họp\n"],
    ids=["no-text", "empty-text", "empty-file", "comment-only", "list", "scalar"],
)
def test_an_announcement_without_text_is_reported_at_line_1(station: Station, content: str) -> None:
    path = put(station, "thieu.yaml", content)
    message = load_error(station, "thieu")
    assert_at(message, path, 1)
    assert "'text:'" in message


def test_an_unknown_key_is_reported_at_its_line(station: Station) -> None:
    path = put(station, "la.yaml", "title: Họp\ntext: Xin chào.\n\nrepeat: 3\n")
    message = load_error(station, "la")
    assert_at(message, path, 4)
    assert "'repeat'" in message


@pytest.mark.parametrize(
    ("content", "line", "key"),
    [
        ("title: 2024\ntext: Xin chào.\n", 1, "'title'"),
        ("text: Xin chào.\nvoice: 5\n", 2, "'voice'"),
        ("# c\ntext: Xin chào.\ntitle: [Họp, Tổ]\n", 3, "'title'"),
    ],
    ids=["number-title", "number-voice", "list-title"],
)
def test_a_value_that_is_not_text_is_reported_at_its_line(
    station: Station, content: str, line: int, key: str
) -> None:
    path = put(station, "so.yaml", content)
    message = load_error(station, "so")
    assert_at(message, path, line)
    assert key in message


def test_a_text_that_is_not_a_string_is_reported_at_its_line(station: Station) -> None:
    path = put(station, "nam.yaml", "# c\ntitle: Năm mới\ntext: 2024\n")
    assert_at(load_error(station, "nam"), path, 3)


def test_an_unclosed_quote_is_reported_where_it_opens(station: Station) -> None:
    path = put(station, "ngoac.yaml", 'title: "Họp\ntext: Xin chào.\nvoice: vi\n')
    assert_at(load_error(station, "ngoac"), path, 1)


def test_a_control_character_in_yaml_is_reported_at_its_line(station: Station) -> None:
    path = put(station, "word.yaml", "title: Họp\ntext: Dòng một\x0bDòng hai\n")
    assert_at(load_error(station, "word"), path, 2)


def test_a_bad_explicit_tag_is_reported_at_its_line(station: Station) -> None:
    path = put(station, "tag.yaml", "text: Xin chào.\ntitle: !!float abc\n")
    assert_at(load_error(station, "tag"), path, 2)


def test_a_file_that_is_not_utf8_is_reported_with_its_path(station: Station) -> None:
    path = station.announcements_dir / "cu.txt"
    path.write_bytes(b"Th\xf4ng b\xe1o h\xd2p\n")  # Windows-1258, not UTF-8
    assert str(path) in load_error(station, "cu")


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "announcement_id",
    ["../station", "a/b", "/etc/hostname", "..", ".an", "", "mua-bao\n", "mua-bao/"],
)
def test_an_id_that_is_not_a_plain_name_is_unknown(station: Station, announcement_id: str) -> None:
    # Make each refused id point at a real file, so only the id check can refuse it.
    put(station, "a/b.txt", "Trong thư mục con.\n")
    put(station, ".an.txt", "Tệp ẩn.\n")
    put(station, "mua-bao.txt", "Mưa bão.\n")
    assert (station.directory / "station.yaml").is_file()  # what ../station would reach
    message = load_error(station, announcement_id)
    assert str(station.announcements_dir) in message
    assert "mua-bao" in message


def test_an_unknown_id_lists_the_announcements_there(station: Station) -> None:
    put(station, "hop-chi-bo.txt", "Họp chi bộ.\n")
    put(station, "don-ve-sinh.yaml", "text: Dọn vệ sinh.\n")
    message = load_error(station, "khong-co")
    assert "'khong-co'" in message
    assert "don-ve-sinh, hop-chi-bo" in message


def test_an_unknown_id_without_any_announcements_folder(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_text("", encoding="utf-8")
    station = load_station(tmp_path, environ={})
    assert list_announcements(station) == []
    message = load_error(station, "bat-ky")
    assert "'bat-ky'" in message
    assert message.rstrip(".").endswith("-")


def test_ids_may_use_digits_underscores_and_capitals(station: Station) -> None:
    put(station, "Ban_tin_2024-01.txt", "Bản tin tháng một.\n")
    assert load_announcement(station, "Ban_tin_2024-01").id == "Ban_tin_2024-01"


# --- listing ------------------------------------------------------------------------------------


def test_list_announcements_is_sorted_deduplicated_and_only_yaml_or_txt(
    station: Station,
) -> None:
    put(station, "zeta.txt", "z\n")
    put(station, "alpha.yaml", "text: a\n")
    put(station, "alpha.txt", "a\n")
    put(station, "beta.yaml", "text: b\n")
    put(station, "ghi-chu.md", "# not an announcement\n")
    put(station, "nhac.wav", "RIFF")
    put(station, "cu.yml", "text: c\n")
    assert list_announcements(station) == ["alpha", "beta", "zeta"]


def test_an_empty_folder_lists_nothing(station: Station) -> None:
    assert list_announcements(station) == []


def test_every_listed_announcement_can_be_loaded(station: Station) -> None:
    put(station, "Thông báo họp.txt", "Thông báo họp.\n")
    put(station, "hop.txt", "Họp.\n")
    loaded = {
        announcement_id: load_announcement(station, announcement_id).text.strip()
        for announcement_id in list_announcements(station)
    }
    assert loaded == {"Thông báo họp": "Thông báo họp.", "hop": "Họp."}


# --- the bundled announcements ------------------------------------------------------------------


def test_the_bundled_announcements_load_are_nfc_and_fit() -> None:
    station = load_station(ROOT, environ={})
    ids = list_announcements(station)
    assert {"bluezone", "hop-to-dan-pho"} <= set(ids)
    for announcement_id in ids:
        announcement = load_announcement(station, announcement_id)
        assert announcement.id == announcement_id
        for value in (announcement.text, announcement.title):
            assert unicodedata.is_normalized("NFC", value), announcement_id
        assert not announcement.text.startswith("\ufeff"), announcement_id
        clean_text(announcement.text)  # neither empty nor too long


def test_the_bundled_bluezone_announcement() -> None:
    bluezone = load_announcement(load_station(ROOT, environ={}), "bluezone")
    assert bluezone.title == "Tuyên truyền cài đặt ứng dụng Bluezone"
    assert bluezone.voice is None
    assert clean_text(bluezone.text).startswith("Kính thưa bà con nhân dân! Thực hiện chỉ đạo")
    assert bluezone.text.rstrip().endswith("Xin trân trọng cảm ơn bà con!")
