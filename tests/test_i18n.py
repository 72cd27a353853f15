"""Every message an officer can see exists in Vietnamese, and the compiled catalogs are current."""

import gettext
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import click
import pytest

from broadcaster import i18n

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{\w+\}")


DOMAINS = {"loa": ("vi", "en"), "click": ("vi",)}
"""click's own messages need no English catalog: their msgids are English."""


def catalog(domain: str, language: str) -> dict[object, str]:
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.mo").open("rb") as mo:
        entries = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    return {k: v for k, v in entries.items() if k}


def msgids(entries: dict[object, str]) -> set[str]:
    """Plural entries are keyed (msgid, n); keep just the msgid."""
    return {k[0] if isinstance(k, tuple) else k for k in entries}  # type: ignore[misc]


def extracted(tmp_path: Path, sources: list[str]) -> set[str]:
    """The msgids xgettext finds in `sources` today (not the possibly stale .pot files)."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: apt install gettext (./setup.sh installs it)")
    pot, po, mo = tmp_path / "x.pot", tmp_path / "x.po", tmp_path / "x.mo"
    keywords = ["--keyword=_", "--keyword=N_", "--keyword=ngettext:1,2"]
    subprocess.run(
        ["xgettext", "--language=Python", *keywords, "--from-code=UTF-8", "-o", str(pot), *sources],
        check=True,
    )
    subprocess.run(["msgen", "-o", str(po), str(pot)], check=True)
    po.write_text(
        po.read_text()
        .replace("nplurals=INTEGER; plural=EXPRESSION", "nplurals=2; plural=n != 1")
        .replace("charset=CHARSET", "charset=UTF-8")
    )
    subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    with mo.open("rb") as compiled:
        return msgids({k: v for k, v in gettext.GNUTranslations(compiled)._catalog.items() if k})  # type: ignore[attr-defined]


def test_every_message_of_loa_has_a_vietnamese_translation(tmp_path: Path) -> None:
    sources = sorted(str(p) for p in (ROOT / "broadcaster").rglob("*.py"))
    vietnamese = catalog("loa", "vi")
    missing = extracted(tmp_path, sources) - msgids(vietnamese)
    assert not missing, f"run tools/update-translations.sh and translate: {sorted(missing)}"
    untranslated = [k for k, v in vietnamese.items() if v == k and PLACEHOLDER.sub("", str(k))]
    assert not untranslated


def test_every_message_of_click_has_a_vietnamese_translation(tmp_path: Path) -> None:
    sources = sorted(str(p) for p in Path(click.__file__).parent.glob("*.py"))
    in_click = extracted(tmp_path, sources)
    translated = msgids(catalog("click", "vi"))
    assert in_click - translated == set(), "click gained messages: tools/update-translations.sh"
    assert translated - in_click == set(), "click dropped messages: tools/update-translations.sh"


def test_translations_keep_placeholders_and_are_nfc() -> None:
    for domain, languages in DOMAINS.items():
        for language in languages:
            for msgid, msgstr in catalog(domain, language).items():
                if isinstance(msgid, tuple):
                    continue  # plural forms: checked by msgfmt --check in the update script
                assert sorted(PLACEHOLDER.findall(msgid)) == sorted(  # type: ignore[arg-type]
                    PLACEHOLDER.findall(msgstr)
                ), msgid
                assert unicodedata.normalize("NFC", msgstr) == msgstr, msgid


def test_compiled_catalogs_match_their_sources(tmp_path: Path) -> None:
    for domain, languages in DOMAINS.items():
        for language in languages:
            po = i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
            fresh = tmp_path / f"{domain}-{language}.mo"
            subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True)
            with fresh.open("rb") as mo:
                expected = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
            assert {k: v for k, v in expected.items() if k} == catalog(domain, language), (
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
