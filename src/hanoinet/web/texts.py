"""The core's texts (findings, clock reminders, case titles) in the reader's language.

The core gives an English template and its parameters (``hanoinet.texts``); here the
template goes through the catalog and each parameter is shown by its kind: a State by its
name in the reader's language, a channel or an urgency by its name, a language by its name
(CLDR), a field by its label in the drafting wizard, an article key or a date isolated left
to right (``ltr``), English data marked ``lang="en"``, and a value someone typed marked as
user text (``data-user-text``, docs/translations.md). Called while a page renders (``tr`` in
templates), so the catalog and the language are the page's.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.lists import format_list
from markupsafe import Markup

from hanoinet.convention import convention
from hanoinet.errors import HanoinetError
from hanoinet.registry.participants import participant
from hanoinet.texts import (
    N_,
    Codes,
    Data,
    Field,
    FormTitle,
    Languages,
    State,
    States,
    Text,
    visible,
)

ON_THE_WEB = {
    "Missing: %(what)s (%(article)s). Add it at %(field)s": N_("Missing: %(what)s (%(article)s)"),
    "%(problem)s; the field is ignored until corrected (see hanoinet schema request)": N_(
        "This value is not of the kind the field takes; it is ignored until corrected"
    ),
    "'%(name)s' is not a field of a request; check the spelling (fields: %(known)s)": N_(
        "'%(name)s' is not a field of a request; it is ignored"
    ),
}
"""Templates the web says otherwise: without a JSON pointer (the page links the finding to
its field) or the command line's syntax."""

ISOLATED = frozenset({"article", "at", "deadline", "day", "since", "start", "end"})
"""Parameters that read left to right in any page: article keys, dates."""


def user_text(value: object) -> Markup:
    """A value someone typed (or a peer sent), as written."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi data-user-text>%s</bdi>") % (str(value),)


@cache
def _elements() -> dict[str, str]:
    """The English text of each conduct and optional element of the Convention offences."""
    found: dict[str, str] = {}
    for offence in convention().offences.values():
        for conduct in offence.conduct:
            found.setdefault(conduct.id, conduct.text)
        for element in offence.optional_elements:
            found.setdefault(element.id, element.text)
    return found


def conduct_name(code: str) -> str:
    """A conduct (or optional element) of a Convention offence, in the page's language."""
    from hanoinet.web.render import gettext

    return gettext(_elements().get(code, code))


def _code_name(vocabulary: str, code: str) -> str:
    from hanoinet.web.drafting import OPTION_NAMES
    from hanoinet.web.render import gettext
    from hanoinet.web.vocabulary import VOCABULARIES

    names = VOCABULARIES.get(vocabulary) or OPTION_NAMES.get(vocabulary)
    if names is None and vocabulary in ("conduct", "element"):
        names = _elements()
    return gettext(names.get(code, code)) if names else code


def _field_label(pointer: str) -> str:
    """The wizard's label of the field a pointer names (its nearest labelled parent)."""
    from hanoinet.web.drafting import ITEM_LABELS, LABELS
    from hanoinet.web.render import gettext

    parts = [p for p in pointer.split("/")[1:] if p and not p.isdigit()]
    while parts:
        path = ".".join(parts)
        found = LABELS.get(path) or (ITEM_LABELS.get(path) if len(parts) == 1 else None)
        if found:
            return gettext(found)
        parts.pop()
    return gettext("the request")


def _param(name: str, value: object, lang: str) -> Markup | str:
    from hanoinet.web.render import gettext, ltr

    if isinstance(value, Text):
        return say(value, lang)
    if isinstance(value, State):
        return _state_name(value.code, lang)
    if isinstance(value, States):
        names = [
            f"{participant(c).name(lang)} ({c})" if value.with_codes else participant(c).name(lang)
            for c in value.codes
        ]
        return str(format_list(names, locale=lang))
    if isinstance(value, FormTitle):
        return gettext(value.title).lower()
    if isinstance(value, Codes):
        return str(
            format_list([_code_name(value.vocabulary, c) for c in value.values], locale=lang)
        )
    if isinstance(value, Languages):
        return str(format_list([language_name(c, lang) for c in value.values], locale=lang))
    if isinstance(value, Field):
        return _field_label(value.pointer)
    if isinstance(value, Data):
        return Markup('<bdi lang="en">%s</bdi>') % (visible(value.text),)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date | datetime) or name in ISOLATED:
        return ltr(visible(str(value)))
    return user_text(visible(str(value)))


def language_name(code: str, lang: str) -> str:
    """An ISO 639-1 code's language, named in ``lang`` (CLDR); the code when unknown."""
    try:
        return str(Locale.parse(code).get_display_name(lang) or code)
    except (ValueError, TypeError):
        return code


def say(text: Text, lang: str | None = None) -> Markup:
    """``text`` in ``lang`` (the page's): its template from the catalog, its parameters by
    their kind."""
    from hanoinet.web.render import current_lang, gettext

    lang = lang or current_lang()
    template = ON_THE_WEB.get(text.template, text.template)
    translated = Markup.escape(gettext(template))
    if not text.params:
        return translated
    return translated % {k: _param(k, v, lang) for k, v in text.params.items()}


def _state_name(code: str | None, lang: str) -> str:
    try:
        return participant(code).name(lang) if code else "?"
    except HanoinetError:
        return code or "?"


def case_title(case: Any) -> Markup:
    """A case's title (``services.cases.CaseDetail``): as its user wrote it, or, when the
    node made it (a received request, a draft opened without a title), the node's title in the
    reader's language."""
    from hanoinet.services.cases import SYSTEM_TITLE, system_title
    from hanoinet.web.render import current_lang, gettext

    title = case.title
    first = case.requests[0].summary if case.requests else None
    if first is None:
        return user_text(title)
    kind, requesting, requested = first.kind, first.requesting_state, first.requested_state
    if title != system_title(kind, requesting, requested):
        return user_text(title)
    return Markup.escape(gettext(SYSTEM_TITLE)) % {
        "form": gettext(convention().forms[kind].title),
        "from": _state_name(requesting, current_lang()),
        "to": _state_name(requested, current_lang()),
    }
