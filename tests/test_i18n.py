"""Every message an officer can see exists in Vietnamese, and the compiled catalogs are current."""

import gettext
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from broadcaster import i18n

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{\w+\}")


def catalog(language: str) -> dict[str, str]:
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "loa.mo").open("rb") as mo:
        return {k: v for k, v in gettext.GNUTranslations(mo)._catalog.items() if k}  # type: ignore[attr-defined]


def source_messages(tmp_path: Path) -> set[str]:
    """The msgids xgettext finds in the code today (not the possibly stale loa.pot)."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: apt install gettext (./setup.sh installs it)")
    pot = tmp_path / "loa.pot"
    sources = sorted(str(p) for p in (ROOT / "broadcaster").rglob("*.py"))
    subprocess.run(
        [
            "xgettext",
            "--language=Python",
            "--keyword=_",
            "--from-code=UTF-8",
            "--no-wrap",
            "-o",
            str(pot),
            *sources,
        ],
        check=True,
    )
    compiled = tmp_path / "loa.mo"
    subprocess.run(["msgen", "-o", str(tmp_path / "en.po"), str(pot)], check=True)
    subprocess.run(["msgfmt", "-o", str(compiled), str(tmp_path / "en.po")], check=True)
    with compiled.open("rb") as mo:
        return {k for k in gettext.GNUTranslations(mo)._catalog if k}  # type: ignore[attr-defined]


def test_every_message_in_the_code_has_a_vietnamese_translation(tmp_path: Path) -> None:
    vietnamese = catalog("vi")
    missing = source_messages(tmp_path) - vietnamese.keys()
    assert not missing, f"run tools/update-translations.sh and translate: {sorted(missing)}"
    untranslated = [k for k, v in vietnamese.items() if v == k and PLACEHOLDER.sub("", k).strip()]
    assert not untranslated


def test_translations_keep_every_placeholder_and_are_nfc() -> None:
    for language in i18n.LANGUAGES:
        for msgid, msgstr in catalog(language).items():
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
            assert unicodedata.normalize("NFC", msgstr) == msgstr, msgid


def test_compiled_catalogs_match_their_sources(tmp_path: Path) -> None:
    for language in i18n.LANGUAGES:
        po = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "loa.po"
        fresh = tmp_path / f"{language}.mo"
        subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True)
        with fresh.open("rb") as mo:
            expected = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
        assert {k: v for k, v in expected.items() if k} == catalog(language), (
            f"{po} changed: run tools/update-translations.sh"
        )


def test_vietnamese_is_the_default_and_english_is_available() -> None:
    message = "Stopped."
    try:
        assert i18n.gettext(message) == "Đã dừng."
        i18n.set_language("en")
        assert i18n.gettext(message) == message
        assert i18n.format_decimal(12.5) == "12.5"
        i18n.set_language("vi")
        assert i18n.format_decimal(12.5) == "12,5"
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
