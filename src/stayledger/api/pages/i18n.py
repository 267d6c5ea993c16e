"""The portal's languages: gettext catalogs (.po, shipped in the package) compiled in memory with Babel at start."""

from __future__ import annotations

import io
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
# Code in URLs -> (Babel locale, HTML lang, name in its own language). English is the source language.
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "en": ("en", "en", "English"),
    "es": ("es", "es", "Español"),
    "fr": ("fr", "fr", "Français"),
    "ar": ("ar", "ar", "العربية"),
    "zh": ("zh_Hans", "zh-Hans", "简体中文"),
}
DEFAULT = "en"


@lru_cache(maxsize=None)
def translations(code: str) -> Translations:
    po = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return Translations()  # English: the msgids themselves
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=LANGUAGES[code][0])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def choose(lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the browser's Accept-Language (with q-values), else English."""
    if lang:
        code = lang.split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    wanted = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag:
            wanted.append((-weight, i, tag.split("-")[0].lower()))
    for _, _, code in sorted(wanted):
        if code in LANGUAGES:
            return code
    return DEFAULT


def is_rtl(code: str) -> bool:
    return Locale.parse(LANGUAGES[code][0]).character_order == "right-to-left"


def long_date(value: str | date | None, code: str) -> str:
    """A date as the reader writes it (11 mars 2024, ١١ مارس ٢٠٢٤, 2024年3月11日); partial dates left as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    return str(format_date(value, format="long", locale=LANGUAGES[code][0]))
