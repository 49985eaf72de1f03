"""Language and channel: what the requested State accepts, from its designations.

Requests go in a language acceptable to the requested State (40(14)), to its
central authority (40(13)) or, for preservation and emergencies, its 24/7
point of contact (41(1)); through INTERPOL only in urgency and where both
States agree (40(13)).
"""

from __future__ import annotations

from collections.abc import Iterator

from hanoinet.convention.model import CooperationForm
from hanoinet.law.context import Context
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.registry.designations import Designation
from hanoinet.registry.participants import participant
from hanoinet.texts import Codes, Data, FormTitle, Languages, State, States, Text, t


def _is_demo(code: str) -> bool:
    try:
        return participant(code).illustrative
    except Exception:  # an unknown code is reported by the basis check
        return False


def check_channel(doc: RequestDocument, form: CooperationForm, ctx: Context) -> Iterator[Finding]:
    by_state = form.language_and_channel == "requested_state"
    if not doc.language:
        yield Finding(
            "language_missing",
            "error",
            None if by_state else "40(14)",
            "/language",
            t("Say in which language the request is written (an ISO 639-1 code, e.g. fr)"),
            basis="requested state" if by_state else None,
        )
    if doc.channel is None:
        yield Finding(
            "channel_missing",
            "warning",
            form.articles[0],
            "/channel",
            t(
                "Say how the request travels; this form goes by %(channels)s",
                channels=Codes("channel", tuple(form.channels)),
            ),
        )
    elif doc.channel not in form.channels:
        yield Finding(
            "channel_wrong_for_form",
            "error",
            form.articles[0],
            "/channel",
            t(
                "A %(form)s request does not travel by %(channel)s; use %(channels)s",
                form=FormTitle(form.title),
                channel=Codes("channel", (doc.channel,)),
                channels=Codes("channel", tuple(form.channels)),
            ),
        )
    designation = ctx.designations.get(doc.requested_state)
    if doc.requested_state is None:
        return
    demo = [c for c in (doc.requesting_state, doc.requested_state) if c and _is_demo(c)]
    if demo:
        yield Finding(
            "illustrative_states",
            "info",
            None,
            "",
            t(
                "%(states)s: fictional demo State(s); their designations and domestic law are "
                "illustrative, not facts",
                states=States(tuple(demo), with_codes=False),
            ),
            basis="node policy",
        )
    try:
        participant(doc.requested_state)
    except Exception:  # an unknown code is reported by the basis check
        return
    name = State(doc.requested_state)
    if by_state:
        yield from _by_requested_state(doc, form, designation)
        return
    if doc.oral:
        yield from _oral_agreed(doc, ctx)
    if designation is None:
        yield Finding(
            "no_designation",
            "warning",
            "40(13)",
            "/requested_state",
            t(
                "%(state)s has published no designation of its central authority, 24/7 point "
                "of contact or accepted languages that hanoinet knows; confirm them before "
                "sending (40(13), 40(14), 41(1))",
                state=name,
            ),
        )
        return
    illustrative: Text | str = (
        t(" (illustrative demo designation)")
        if participant(doc.requested_state).illustrative
        else ""
    )
    if doc.language and doc.language not in designation.languages:
        yield Finding(
            "language_not_accepted",
            "error",
            "40(14)",
            "/language",
            t(
                "%(state)s accepts requests in %(languages)s, not '%(language)s'%(demo)s; "
                "translate the request",
                state=name,
                languages=Languages(tuple(designation.languages)),
                language=doc.language,
                demo=illustrative,
            ),
        )
    channel = doc.channel
    if channel is None or channel not in form.channels:
        return
    if channel not in designation.channels:
        yield Finding(
            "channel_not_accepted",
            "error",
            "40(13)",
            "/channel",
            t(
                "%(state)s does not accept requests by %(channel)s; it accepts "
                "%(channels)s%(demo)s",
                state=name,
                channel=Codes("channel", (channel,)),
                channels=Codes("channel", tuple(designation.channels)),
                demo=illustrative,
            ),
        )
    if channel == "point_of_contact" and designation.point_of_contact is None:
        yield Finding(
            "no_point_of_contact",
            "error",
            "41(1)",
            "/channel",
            t(
                "%(state)s has designated no 24/7 point of contact%(demo)s; send through its "
                "central authority",
                state=name,
                demo=illustrative,
            ),
        )
    if channel == "central_authority" and designation.central_authority is None:
        yield Finding(
            "no_central_authority",
            "error",
            "40(13)",
            "/channel",
            t(
                "%(state)s has designated no central authority%(demo)s",
                state=name,
                demo=illustrative,
            ),
        )
    if channel == "interpol":
        if doc.urgency == "routine":
            yield Finding(
                "interpol_not_urgent",
                "error",
                "40(13)",
                "/urgency",
                t(
                    "INTERPOL may carry a request only in urgent circumstances (40(13)); "
                    "set urgency or use the central authority"
                ),
            )
        mine = ctx.designations.get(doc.requesting_state)
        if not designation.interpol_in_urgency or mine is None or not mine.interpol_in_urgency:
            yield Finding(
                "interpol_not_agreed",
                "error",
                "40(13)",
                "/channel",
                t(
                    "INTERPOL may be used only where both States agree (40(13)); one of them "
                    "has not said it accepts it"
                ),
            )


def _oral_agreed(doc: RequestDocument, ctx: Context) -> Iterator[Finding]:
    """An oral request only where both States agree (40(14)): each says so in its
    designation. Unknown is a warning (agree it first), a designation without it an error."""
    for code in (doc.requested_state, doc.requesting_state):
        if not code:
            continue
        designation = ctx.designations.get(code)
        if designation is None:
            yield Finding(
                "oral_not_agreed",
                "warning",
                "40(14)",
                "/oral",
                t(
                    "An oral request only where the States agree (40(14)): hanoinet does not "
                    "know whether %(state)s accepts one; agree it before relying on it",
                    state=State(code),
                ),
            )
        elif not designation.oral_in_urgency:
            yield Finding(
                "oral_not_agreed",
                "error",
                "40(14)",
                "/oral",
                t(
                    "An oral request only where the States agree (40(14)): %(state)s has not "
                    "said it accepts one; make the request in writing",
                    state=State(code),
                ),
            )


def _by_requested_state(
    doc: RequestDocument, form: CooperationForm, designation: Designation | None
) -> Iterator[Finding]:
    """Language and channel of a form the requested State's own law and treaties govern
    (extradition, provisional arrest, transfers), not 40(13)-(14): what that State publishes
    for the form, cited by what it rests on."""
    state = State(str(doc.requested_state))
    required = designation.forms.get(form.key) if designation else None
    if required is None:
        yield Finding(
            "form_requirements_unknown",
            "warning",
            None,
            "/requested_state",
            t(
                "%(state)s has published no language or channel for %(form)s requests that "
                "hanoinet knows: its law and the treaties that bind it set them; confirm them "
                "before sending",
                state=state,
                form=FormTitle(form.title),
            ),
            basis="requested state",
        )
        return
    demo: Text | str = (
        t(" (illustrative demo designation)")
        if participant(str(doc.requested_state)).illustrative
        else ""
    )
    if doc.language and required.languages and doc.language not in required.languages:
        yield Finding(
            "language_not_accepted",
            "error",
            None,
            "/language",
            t(
                "%(state)s takes %(form)s requests in %(languages)s, not '%(language)s' "
                "(%(rests_on)s)%(demo)s; translate the request",
                state=state,
                form=FormTitle(form.title),
                languages=Languages(tuple(required.languages)),
                language=doc.language,
                rests_on=Data(required.rests_on),
                demo=demo,
            ),
            basis="requested state",
        )
    channel = doc.channel
    if channel in form.channels and required.channels and channel not in required.channels:
        yield Finding(
            "channel_not_accepted",
            "error",
            None,
            "/channel",
            t(
                "%(state)s takes %(form)s requests by %(channels)s, not by %(channel)s "
                "(%(rests_on)s)%(demo)s",
                state=state,
                form=FormTitle(form.title),
                channels=Codes("channel", tuple(required.channels)),
                channel=Codes("channel", (str(channel),)),
                rests_on=Data(required.rests_on),
                demo=demo,
            ),
            basis="requested state",
        )
