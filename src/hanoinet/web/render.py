"""Server-rendered pages: one Jinja2 environment, texts through gettext (Babel catalogs),
dates in the reader's language and time zone.

The language of a page is the user's setting when logged in, else the
``hanoinet_lang`` cookie, else the browser's Accept-Language, else English.
Catalogs live in ``web/locale/<lang>/LC_MESSAGES/messages.po``, read as they are
(docs/translations.md); a text missing from a catalog is shown in English, never blank.
``_("literal")`` in templates formats its ``%(name)s`` arguments; ``tr(value)`` translates a
value (a label, a message) without formatting, so a ``%`` in it is harmless.
"""

from __future__ import annotations

import contextvars
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations
from babel.units import format_unit
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hanoinet import i18n
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED
from hanoinet.errors import HanoinetError, UnknownArticle
from hanoinet.registry.participants import participant
from hanoinet.texts import Text
from hanoinet.web import texts
from hanoinet.web.vocabulary import VOCABULARIES

LANGUAGES = ("en", "ar", "zh", "fr", "ru", "es")
"""The six official languages of the United Nations, English first (the source texts)."""
RTL = frozenset({"ar"})
LANGUAGE_NAMES = {code: Locale.parse(code).get_display_name(code) for code in LANGUAGES}
"""Each language in its own name (CLDR), for the language menu; computed once."""
LANG_COOKIE = "hanoinet_lang"

_current: contextvars.ContextVar[NullTranslations | None] = contextvars.ContextVar(
    "hanoinet_translations", default=None
)
_lang: contextvars.ContextVar[str] = contextvars.ContextVar("hanoinet_lang", default="en")
_ENGLISH = NullTranslations()


def translations(lang: str) -> NullTranslations:
    """The catalog of ``lang``, read from its ``.po`` file once per process (no compiled
    ``.mo`` to keep in step); English is the source text."""
    return i18n.translations("hanoinet.web", "messages", lang)


def gettext(message: str) -> str:
    return (_current.get() or _ENGLISH).ugettext(message)


def current_lang() -> str:
    """The language of the page being rendered (English outside a page)."""
    return _lang.get()


def tr(value: object) -> str:
    """A value in the reader's language: a text of the core (``hanoinet.texts.Text``) with its
    parameters (``web/texts.py``), or a fixed English text through the catalog."""
    if isinstance(value, Text):
        from hanoinet.web.texts import say

        return say(value)
    return gettext(str(value))


def N_(message: str) -> str:
    """Mark an English text for the catalogs where it is defined; translated where shown."""
    return message


def label(vocabulary: str, code: str | None) -> str:
    """The reader's name of a code (``label("state", "in_execution")``); an unknown code is
    shown as it is rather than hidden."""
    if code is None:
        return ""
    return gettext(VOCABULARIES[vocabulary].get(code, code))


def audit_action(code: str) -> str:
    """What an audit entry records, in words: its own name, a lifecycle action's, or the code
    (an entry a newer version wrote)."""
    for vocabulary in ("audit", "action"):
        if code in VOCABULARIES[vocabulary]:
            return label(vocabulary, code)
    return code


def state_name(code: str | None) -> str:
    """A State's name in the page's language (CLDR; the demo States' own names)."""
    if not code:
        return ""
    try:
        return participant(code).name(current_lang())
    except HanoinetError:
        return code


def language_name(code: str) -> str:
    return texts.language_name(code, current_lang())


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_current.get() or _ENGLISH).ungettext(singular, plural, n)


def ltr(value: object) -> Markup:
    """A value that reads left to right in any page, Arabic included: an article key
    (``42(2)(a)``), an id, a hash, a date, a number, isolated in ``<bdi dir="ltr">`` so that
    neither it nor the text around it is reordered (the Unicode bidirectional algorithm would
    otherwise show ``42(2)(a)`` as ``(a)(2)42`` in right-to-left text). Escaped; nothing for
    None or an empty value."""
    if value is None or value == "":
        return Markup("")
    return Markup('<bdi dir="ltr">%s</bdi>') % (value,)


def verified_key(key: str) -> bool:
    """Whether hanoinet's data has checked the paragraph numbering of an article key (an
    unknown key is not: it is shown with the unconfirmed mark rather than as settled)."""
    try:
        return convention().key(key).verified
    except UnknownArticle:
        return False


SIZE_UNITS = (
    (10**12, "digital-terabyte"),
    (10**9, "digital-gigabyte"),
    (10**6, "digital-megabyte"),
    (10**3, "digital-kilobyte"),
)
"""Decimal (SI) units, as the CLDR names them; under a kilobyte, bytes."""


def size_of(count: int, locale: Locale) -> str:
    """A number of bytes as people read it in ``locale``: 1.5 MB, 1,5 Mo, 12.3 GB (one
    decimal; 999,999 bytes is 1 MB, not 1,000 kB)."""
    for factor, unit in SIZE_UNITS:
        if count >= factor * 0.99995:
            return str(format_unit(count / factor, unit, "short", "#,##0.#", locale=locale))
    long = str(format_unit(count, "digital-byte", "long", locale=locale))
    # Some locales (ar) have no long name for a byte; Babel then shows the unit's id.
    return (
        long
        if "digital-" not in long
        else str(format_unit(count, "digital-byte", "short", locale=locale))
    )


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
    # globals: imported macros see them too
    env.globals.update(
        tr=tr,
        case_title=texts.case_title,
        audit_action=audit_action,
        state_name=state_name,
        language_name=language_name,
        user_text=texts.user_text,
        conduct_name=texts.conduct_name,
        label=label,
        ltr=ltr,
        unconfirmed=UNCONFIRMED,
        verified_key=verified_key,
    )
    return env


ENV = _env()


WHEN_STYLES = ("short", "seconds", "medium", "long")


def when_text(at: datetime, style: str, zone: ZoneInfo, locale: Locale) -> str:
    """A date and time no reader can misread, in ``zone``: never a numeric date such as
    ``12/6/26`` (month first in one country, day first in the next).

    - ``short``: ISO 8601 to the minute with the zone, the same in every language
      (``2026-12-06 15:26 UTC``): for tables and countdowns;
    - ``seconds``: the same to the second (the audit log);
    - ``medium``: the month in words in the reader's language (``6 December 2026``,
      ``6 ديسمبر 2026``) and the time to the second;
    - ``long``: the same with the zone.

    Babel's own ``short`` and ``medium`` patterns are numeric in several languages (English
    ``12/6/26``, Arabic ``06/12/2026``), so the date part always comes from its ``long``
    pattern, which spells the month out in all six."""
    if style not in WHEN_STYLES:
        raise ValueError(f"unknown date style {style!r}: one of {', '.join(WHEN_STYLES)}")
    local = at.astimezone(zone)
    if style == "short":
        return local.strftime("%Y-%m-%d %H:%M %Z")
    if style == "seconds":
        return local.strftime("%Y-%m-%d %H:%M:%S %Z")
    day = format_date(local, "long", locale=locale)
    time = format_time(local, "long" if style == "long" else "medium", tzinfo=zone, locale=locale)
    pattern = str(locale.datetime_formats["long"]).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", day)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    lang: str,
    time_zone: str = "UTC",
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in ``lang``; ``when``, ``countdown`` and ``duration`` format times
    for the reader, ``decimal``, ``percent`` and ``size`` numbers, shares and byte counts;
    ``when`` comes isolated left to right (``ltr``), whatever the page's direction."""
    locale = Locale.parse(lang)
    zone = _zone(time_zone)
    rtl = lang in RTL

    def when(at: datetime | str | None, style: str = "medium") -> Markup:
        """A date no reader can misread (``when_text``), isolated left to right (``ltr``). In
        a right-to-left language always ISO 8601 (to the minute, or to the second with
        ``seconds``): a date with the month in Arabic words cannot be isolated left to right
        without reordering its words, and ISO 8601 reads the same in every language."""
        if at is None:
            return Markup("")
        if isinstance(at, str):  # as the services' shapes give it (ISO 8601, with its zone)
            at = datetime.fromisoformat(at)
        if rtl and style != "seconds":
            style = "short"
        return ltr(when_text(at, style, zone, locale))

    def countdown(until: datetime | None, now: datetime) -> str:
        if until is None:
            return ""
        left = until - now
        text = format_timedelta(
            abs(left), threshold=1.5, granularity="minute", locale=locale, add_direction=False
        )
        return text if left >= timedelta(0) else gettext("overdue by %(time)s") % {"time": text}

    def decimal(value: int | float) -> str:
        # one run of digits and separators: it reads left to right in Arabic as it is
        return str(format_decimal(value, locale=locale))

    def size(count: int) -> str:
        # not isolated: in Arabic the unit is in Arabic letters and reads right to left
        return size_of(count, locale)

    def duration(seconds: int | None) -> str:
        """A length of time as people say it: 40 minutes, 5 hours, 12 days (none: a dash)."""
        if seconds is None:
            return "—"
        return str(format_timedelta(timedelta(seconds=seconds), threshold=2, locale=locale))

    def percent(value: float | None) -> str:
        """A share given in percent (12.6 is 13%), in the reader's notation."""
        return "—" if value is None else str(format_percent(value / 100, locale=locale))

    token = _current.set(translations(lang))
    lang_token = _lang.set(lang)
    try:
        html = ENV.get_template(template).render(
            request=request,
            lang=lang,
            direction="rtl" if lang in RTL else "ltr",
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            when=when,
            countdown=countdown,
            decimal=decimal,
            percent=percent,
            duration=duration,
            size=size,
            time_zone=zone.key,
            **context,
        )
    finally:
        _current.reset(token)
        _lang.reset(lang_token)
    return HTMLResponse(Markup(html), status_code=status_code)
