"""Server-rendered pages: one Jinja2 environment, texts through gettext (Babel catalogs),
dates in the reader's language and time zone.

The language of a page is the user's setting when logged in, else the
``hanoinet_lang`` cookie, else the browser's Accept-Language, else English.
Catalogs live in ``web/locale/<lang>/LC_MESSAGES/messages.po`` (compiled to
``.mo`` when the package is installed from source; see docs/translations.md);
a language without a catalog falls back to English text, never to a blank.
"""

from __future__ import annotations

import contextvars
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

LANGUAGES = ("en", "ar", "zh", "fr", "ru", "es")
"""The six official languages of the United Nations, English first (the source texts)."""
RTL = frozenset({"ar"})
LANGUAGE_NAMES = {code: Locale.parse(code).get_display_name(code) for code in LANGUAGES}
"""Each language in its own name (CLDR), for the language menu; computed once."""
LANG_COOKIE = "hanoinet_lang"

_current: contextvars.ContextVar[NullTranslations | None] = contextvars.ContextVar(
    "hanoinet_translations", default=None
)
_ENGLISH = NullTranslations()


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    if lang == "en":
        return NullTranslations()
    folder = resources.files("hanoinet.web") / "locale"
    loaded = Translations.load(str(folder), [lang], domain="messages")
    return loaded


def gettext(message: str) -> str:
    return (_current.get() or _ENGLISH).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_current.get() or _ENGLISH).ungettext(singular, plural, n)


def choose_language(request: Request, preferred: str | None = None) -> str:
    if preferred in LANGUAGES:
        return str(preferred)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    header = request.headers.get("accept-language", "")
    ranked = []
    for part in header.split(","):
        tag, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((weight, tag.split("-")[0].lower()))
    for _weight, tag in sorted(ranked, reverse=True):
        if tag in LANGUAGES:
            return tag
    return "en"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("hanoinet.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


ENV = _env()


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    lang: str,
    time_zone: str = "UTC",
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in ``lang``; ``when`` and ``countdown`` format times for the reader."""
    locale = Locale.parse(lang)
    zone = _zone(time_zone)

    def when(at: datetime | None, style: str = "medium") -> str:
        if at is None:
            return ""
        return format_datetime(at, style, tzinfo=zone, locale=locale)

    def countdown(until: datetime | None, now: datetime) -> str:
        if until is None:
            return ""
        left = until - now
        text = format_timedelta(
            abs(left), threshold=1.5, granularity="minute", locale=locale, add_direction=False
        )
        return text if left >= timedelta(0) else gettext("overdue by %(time)s") % {"time": text}

    token = _current.set(translations(lang))
    try:
        html = ENV.get_template(template).render(
            request=request,
            lang=lang,
            direction="rtl" if lang in RTL else "ltr",
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            when=when,
            countdown=countdown,
            time_zone=zone.key,
            **context,
        )
    finally:
        _current.reset(token)
    return HTMLResponse(Markup(html), status_code=status_code)
