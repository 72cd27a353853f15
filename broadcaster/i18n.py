"""gettext set-up: Vietnamese by default for officers, English on request.

The language is chosen by Loa (option, LOA_LANG, station config), never by the PC's locale: a
commune PC often runs an English Windows, and officers still expect Vietnamese.
"""

import gettext as _gettext
from pathlib import Path

DOMAIN = "loa"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_translation: _gettext.NullTranslations = _gettext.translation(
    DOMAIN, LOCALE_DIR, languages=[DEFAULT_LANGUAGE], fallback=True
)


def set_language(language: str) -> None:
    """Switch every later message to `language` (one of LANGUAGES)."""
    global _translation
    _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def gettext(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation.ngettext(singular, plural, count)


_ = gettext


def current_language() -> str:
    info = _translation.info()
    return info.get("language", DEFAULT_LANGUAGE) if info else DEFAULT_LANGUAGE


def format_decimal(value: float, digits: int = 1) -> str:
    """Vietnamese writes 12,5 where English writes 12.5."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if current_language() == "vi" else text
