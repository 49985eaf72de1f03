"""What the case page shows of a request beyond its metadata: the request document laid out
for its reader, the actions open now in the order the duties come, the confirmation of the
action just taken, and a refused action's message placed at its field in the page's language.

Pure presentation over what ``services.cases.show`` already returned (no store access, no
query per field): the document is the stored one, every leaf of it shown once, labels from the
drafting wizard's (translated in the catalogs), the user's text as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pycountry
from babel import Locale

from hanoinet.cases.lifecycle import Event
from hanoinet.convention import convention
from hanoinet.convention.model import article_of
from hanoinet.errors import HanoinetError, TransitionRefused
from hanoinet.registry.designations import demo_states
from hanoinet.registry.participants import participant
from hanoinet.web.drafting import LABELS, LISTS, OBJECTS, OPTION_NAMES
from hanoinet.web.render import N_, RTL, label, translations
from hanoinet.web.vocabulary import ACTION_NAMES, STATE_NAMES

MORE_LABELS = {
    "requesting_state": N_("Requesting State"),
    "kind": N_("Form of cooperation"),
    "format": N_("Format of the document"),
}
"""Fields the wizard does not ask (it knows them), named for the reader of a request."""

EMERGENCY = (
    "emergency",
    "deadline",
    "data",
    "persons",
    "assistance_sought",
    "facts_summary",
    "offences",
    "purpose",
)
PRESERVATION = ("data", "period", "necessity", "mla_to_follow", "facts_summary", "offences")
ASSISTANCE = (
    "assistance_sought",
    "procedures_requested",
    "data",
    "period",
    "persons",
    "deadline",
    "offences",
    "facts_summary",
    "matter",
    "purpose",
)
FIRST = {"emergency_disclosure": EMERGENCY, "preservation": PRESERVATION}
"""What the reader needs first, per form: for an emergency the risk to life or safety, for a
preservation the data and where it is; otherwise the measures asked (ASSISTANCE)."""
THEN = (
    "emergency",
    "judgment",
    "consent",
    "agreement",
    "property",
    "order",
    "requesting_authority",
    "related_request",
    "mla_to_follow",
    "confidential",
    "no_user_notice",
    "oral",
    "onward_transfer",
)
ROUTING = (
    "requesting_state",
    "requested_state",
    "kind",
    "urgency",
    "channel",
    "language",
    "format",
)
"""Who sent it to whom, how: shown apart, after the content."""

STATE_FIELDS = frozenset({"requesting_state", "requested_state"})
OPTION_FIELDS = frozenset(OPTION_NAMES)


@dataclass
class Row:
    """One field of the document: a leaf (``value`` with its ``shown`` text) or a group of
    rows (an object, or one item of a list)."""

    path: str
    label: str
    """English (translated in the template) or, for a field hanoinet does not know, the key."""
    known: bool = True
    value: Any = None
    shown: str = ""
    text: bool = False
    """The user's text (shown as written, in the document's language)."""
    english: bool = False
    """A text of the Convention's data, in English (the conduct of an offence)."""
    lines: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    leaf: bool = True


@dataclass
class Layout:
    content: list[Row]
    routing: list[Row]
    language: str | None
    """The document's language code, if it is one the reader's locale can name."""
    language_name: str
    first: str | None
    """The field shown first and marked (an emergency's risk to life)."""


def _generic(path: str) -> str:
    return ".".join(p for p in path.split(".") if not p.isdigit())


def _label(path: str) -> tuple[str, bool]:
    key = _generic(path)
    if key in LABELS:
        return LABELS[key], True
    if key in MORE_LABELS:
        return MORE_LABELS[key], True
    return path.rsplit(".", 1)[-1], False


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def state_name(code: str, lang: str) -> str:
    """A State as the page names it: its name in ``lang`` and its code."""
    try:
        return f"{participant(code).name(lang)} ({code})"
    except HanoinetError:
        return code


def _conduct(article: Any, ident: str) -> str:
    for offence in convention().offences.values():
        if str(article_of(offence.article)) == str(article):
            for conduct in offence.conduct:
                if conduct.id == ident:
                    return conduct.text
            for element in offence.optional_elements:
                if element.id == ident:
                    return element.text
    return ident


def _shown(path: str, value: Any, lang: str, item: dict[str, Any]) -> tuple[str, bool]:
    """(what the reader sees, whether it is the user's own text)."""
    key = _generic(path)
    gettext = translations(lang).ugettext
    raw = _raw(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No"), False
    if not isinstance(value, str | int | float):
        return raw, True
    if key in STATE_FIELDS:
        return state_name(raw, lang), False
    if key == "urgency":
        return gettext(label("urgency", raw)) if raw else raw, False
    if key == "kind" and raw in convention().forms:
        return gettext(convention().forms[raw].title), False
    if key == "language":
        return Locale.parse(lang).languages.get(raw, raw), False
    if key in OPTION_FIELDS and raw in OPTION_NAMES[key]:
        return gettext(OPTION_NAMES[key][raw]), False
    if key == "offences.article":
        try:
            title = convention().article(int(raw)).title.get(lang).text
        except (HanoinetError, ValueError):
            return raw, True
        return f"{gettext('art.')} {raw}: {title}", False
    if key in ("offences.conduct", "offences.elements"):
        return _conduct(item.get("article"), raw), False  # English data: see _row
    if key == "format":
        return raw, False
    return raw, True


def _row(path: str, value: Any, lang: str, item: dict[str, Any]) -> Row:
    name, known = _label(path)
    if isinstance(value, dict):
        order = OBJECTS.get(_generic(path)) or LISTS.get(_generic(path)) or ()
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return Row(
            path,
            name,
            known,
            leaf=False,
            lines=[_row(f"{path}.{k}", value[k], lang, value) for k in keys],
        )
    if isinstance(value, list):
        return Row(
            path,
            name,
            known,
            leaf=False,
            items=[_row(f"{path}.{i}", v, lang, item) for i, v in enumerate(value)],
        )
    shown, text = _shown(path, value, lang, item)
    english = _generic(path) in ("offences.conduct", "offences.elements") and shown != value
    return Row(path, name, known, value=_raw(value), shown=shown, text=text, english=english)


def layout(document: dict[str, Any], kind: str, lang: str) -> Layout:
    """The document as its reader needs it in ``lang``: content (most urgent first, then the
    rest, then any field hanoinet does not know) and routing; every leaf exactly once."""
    first = FIRST.get(kind, ASSISTANCE)
    order = [k for k in (*first, *ASSISTANCE, *THEN) if k not in ROUTING]
    seen: list[str] = []
    for k in order:
        if k in document and k not in seen:
            seen.append(k)
    unknown = [k for k in document if k not in seen and k not in ROUTING]
    content = [_row(k, document[k], lang, document) for k in (*seen, *unknown)]
    routing = [_row(k, document[k], lang, document) for k in ROUTING if k in document]
    code = document.get("language")
    names = Locale.parse(lang).languages
    known_language = isinstance(code, str) and code in names
    return Layout(
        content,
        routing,
        code if known_language else None,
        names[code] if known_language else "",
        "emergency" if "emergency" in document and kind == "emergency_disclosure" else None,
    )


def leaves(value: Any, path: str = "") -> set[tuple[str, str]]:
    """Every leaf of a JSON value as (dotted path, value as the page writes it)."""
    if isinstance(value, dict):
        return set().union(*(leaves(v, f"{path}.{k}" if path else k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(leaves(v, f"{path}.{i}") for i, v in enumerate(value)))
    return {(path, _raw(value))}


# --- what you can do now -------------------------------------------------------------------------

PRIORITY = (
    "acknowledge",
    "answer_status_enquiry",
    "confirm_in_writing",
    "record_preserved",
    "start_execution",
    "execute",
    "execute_partially",
    "answer_consultation",
    "accept_conditions",
    "propose_conditions",
    "extend_preservation",
    "release",
    "provide_more_info",
    "request_more_info",
    "check",
    "approve",
    "send",
    "resume",
    "link_mla",
    "proceed_anyway",
    "disclose_partial_traffic",
    "consult",
    "notify_not_ensured",
    "notify_cannot_keep_confidential",
    "postpone",
    "give_consent",
    "decline_consent",
    "request_consent",
    "use_for_other_matter",
    "notify_exculpatory_disclosure",
    "status_enquiry",
    "refuse",
    "close",
    "withdraw",
)
"""The order of the actions open now: the duties that run on a clock first (acknowledge,
answer an enquiry, preserve), then executing, then what slows or ends a request."""


def by_priority(actions: list[str]) -> list[str]:
    rank = {a: i for i, a in enumerate(PRIORITY)}
    return sorted(actions, key=lambda a: rank.get(a, len(PRIORITY)))


@cache
def _state_codes() -> tuple[str, ...]:
    codes = {c.alpha_2 for c in pycountry.countries} | set(demo_states())
    return tuple(sorted(codes))


def state_choices(lang: str, exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every State by its name in ``lang`` (the demo States first), for a third State."""
    demo = set(demo_states())
    choices = [(c, state_name(c, lang)) for c in _state_codes() if c not in exclude]
    return sorted(choices, key=lambda c: (c[0] not in demo, c[1].casefold()))


# --- what happened, and what went wrong ----------------------------------------------------------

DONE = N_("Done: %(action)s, at %(at)s.")
NOW_IN = N_("%(state)s at %(at)s.")
"""An action that moved the request: its new state says what happened (Acknowledged at ...)."""
TOLD = {
    "pending": N_(
        "%(state)s is being told: the message is queued; its signed receipt will show below."
    ),
    "delivered": N_("%(state)s was told (signed receipt)."),
    "rejected": N_("The message to %(state)s was rejected; see below."),
}


def when_utc(at: datetime) -> str:
    """ISO 8601 to the minute, in UTC: the same in every language."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def confirmation(
    events: list[Event], messages: list[Any], peer: str, action: str, lang: str
) -> str | None:
    """The line that says what the action just taken did, or None if the last event is not
    that action (someone else acted meanwhile, or a stale link)."""
    if not events or events[-1].action != action or action not in ACTION_NAMES:
        return None
    gettext = translations(lang).ugettext
    event = events[-1]
    at = when_utc(event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC))
    if lang in RTL:  # isolated (U+2066 ... U+2069), else Arabic text reorders it
        at = f"\u2066{at}\u2069"
    if event.to_state != event.from_state and event.to_state in STATE_NAMES:
        said = gettext(NOW_IN) % {"state": gettext(STATE_NAMES[event.to_state]), "at": at}
    else:
        said = gettext(DONE) % {"action": gettext(ACTION_NAMES[action]), "at": at}
    sent = [m for m in messages if m.action == action]
    if sent:
        status = "pending" if sent[-1].status not in TOLD else sent[-1].status
        said += " " + gettext(TOLD[status]) % {"state": state_name(peer, lang)}
    return said


REASON_FOR = {
    "refuse": N_("Give the reasons for the refusal in writing (art. %(article)s)"),
    "postpone": N_("Give the reason for the postponement in writing (art. %(article)s)"),
    "request_more_info": N_("Say in writing what information is needed (art. %(article)s)"),
    "provide_more_info": N_("Give the information asked for in writing (art. %(article)s)"),
    "answer_status_enquiry": N_("Write the answer to the status enquiry (art. %(article)s)"),
    "consult": N_("Write what you ask or propose to the requesting State (art. %(article)s)"),
    "propose_conditions": N_("Say why you propose these conditions (art. %(article)s)"),
    "request_consent": N_(
        "Say why the information or evidence is needed in the other matter (art. %(article)s)"
    ),
    "give_consent": N_("Write the consent and any conditions it is given under (art. %(article)s)"),
    "decline_consent": N_("Give the reasons for declining consent (art. %(article)s)"),
    "notify_exculpatory_disclosure": N_(
        "Say what exculpatory information will be disclosed, in which proceedings and when "
        "(art. %(article)s)"
    ),
    "answer_consultation": N_(
        "Write how your State proposes to coordinate with the other State (art. %(article)s)"
    ),
}
GUARD_MESSAGES = {
    "reason": N_("Give the reason in writing (art. %(article)s)"),
    "refusal_ground": N_("Choose the ground from the list (art. %(article)s)"),
    "postponement_ground": N_("Choose the ground from the list (art. %(article)s)"),
    "related_request": N_(
        "Choose the mutual legal assistance request that follows; it must have reached the "
        "other State (art. %(article)s)"
    ),
    "third_state": N_(
        "Choose from the list the State where the service provider is (art. %(article)s)"
    ),
    "consulted": N_(
        "First consult the requesting State, to see whether assistance can be given under "
        "conditions (art. %(article)s)"
    ),
    "enquiry_received": N_("No status enquiry is waiting for an answer (art. %(article)s)"),
    "consent_matter": N_("Name the other matter the consent covers (art. %(article)s)"),
    "conditions_given": N_("State the conditions in writing (art. %(article)s)"),
    "conditions_bounded": N_("State the conditions in at most 2,000 characters (art. %(article)s)"),
}
NOT_NOW = N_("This action is not open now; the page shows what you can do now.")
NOT_YOUR_ROLE = {
    "approve": N_(
        "A supervisor approves a request this node sends, before it is sent (node policy)."
    ),
    "": N_("Your role does not take this action on this request."),
}
FIELD_OF_GUARD = {
    "reason": "reason",
    "refusal_ground": "ground",
    "postponement_ground": "ground",
    "related_request": "related",
    "third_state": "third_state",
    "consent_matter": "matter",
    "conditions_given": "conditions",
    "conditions_bounded": "conditions",
}


def not_your_role(action: str, lang: str) -> dict[str, str]:
    """A role's refusal (services/access.py says it in English for the API and the CLI) as
    the page says it."""
    text = NOT_YOUR_ROLE.get(action, NOT_YOUR_ROLE[""])
    return {"": translations(lang).ugettext(text)}


def refusal(exc: HanoinetError, action: str, fields: list[str], lang: str) -> dict[str, str]:
    """A refused action as the page shows it: {form field id: message in ``lang``}. Never the
    command line's options nor an action's code: the guard that refused names the field."""
    gettext = translations(lang).ugettext
    guard = getattr(exc, "guard", None) if isinstance(exc, TransitionRefused) else None
    article = getattr(exc, "article", None) or ""
    if guard == "reason" and action in REASON_FOR:
        text = REASON_FOR[action]
    elif guard in GUARD_MESSAGES:
        text = GUARD_MESSAGES[guard]
    else:
        return {"": gettext(NOT_NOW)}
    said = gettext(text) % {"article": article}
    field_name = FIELD_OF_GUARD.get(guard or "")
    if field_name in fields:
        return {f"{action}-{field_name}": said}
    return {"": said}
