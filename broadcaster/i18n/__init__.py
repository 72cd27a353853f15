"""gettext set-up: Vietnamese by default for officers, English on request.

The language is chosen by Loa (option, LOA_LANG, station config), never by the PC's locale: a
commune PC often runs an English Windows, and officers still expect Vietnamese.
"""

import gettext as _gettext
from pathlib import Path

DOMAIN = "loa"
CLICK_DOMAIN = "click"
"""click's own messages (usage, option errors, help headings), translated by Loa."""
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def _load(domain: str, language: str) -> _gettext.NullTranslations:
    return _gettext.translation(domain, LOCALE_DIR, languages=[language], fallback=True)


_translation = _load(DOMAIN, DEFAULT_LANGUAGE)
_click_translation = _load(CLICK_DOMAIN, DEFAULT_LANGUAGE)


def set_language(language: str) -> None:
    """Switch every later message to `language` (one of LANGUAGES)."""
    global _translation, _click_translation
    _translation = _load(DOMAIN, language)
    _click_translation = _load(CLICK_DOMAIN, language)


def gettext(message: str) -> str:
    return _translation.gettext(message)


_ = gettext


def click_gettext(message: str) -> str:
    return _click_translation.gettext(message)


def click_ngettext(singular: str, plural: str, count: int) -> str:
    return _click_translation.ngettext(singular, plural, count)


def current_language() -> str:
    info = _translation.info()
    return info.get("language", DEFAULT_LANGUAGE) if info else DEFAULT_LANGUAGE


def format_decimal(value: float, digits: int = 1) -> str:
    """Vietnamese writes 12,5 where English writes 12.5."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if current_language() == "vi" else text
