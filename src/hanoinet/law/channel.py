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
from hanoinet.registry.participants import participant
from hanoinet.texts import Codes, FormTitle, Languages, State, States, Text, t


def _is_demo(code: str) -> bool:
    try:
        return participant(code).illustrative
    except Exception:  # an unknown code is reported by the basis check
        return False


def check_channel(doc: RequestDocument, form: CooperationForm, ctx: Context) -> Iterator[Finding]:
    if not doc.language:
        yield Finding(
            "language_missing",
            "error",
            "40(14)",
            "/language",
            t("Say in which language the request is written (an ISO 639-1 code, e.g. fr)"),
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
            "40(13)",
            "",
            t(
                "%(states)s: fictional demo State(s); their designations and domestic law are "
                "illustrative, not facts",
                states=States(tuple(demo), with_codes=False),
            ),
        )
    try:
        participant(doc.requested_state)
    except Exception:  # an unknown code is reported by the basis check
        return
    name = State(doc.requested_state)
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
