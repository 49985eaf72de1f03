"""Completeness: every content the form requires is there (40(15), 42(2), 45, 46, 37 ...).

What is required comes from ``cooperation.yaml`` (``requires``); this module
only knows what "present" means for each kind of field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from hanoinet.convention.model import CooperationForm, Requirement
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.law.identifiers import is_time_zone
from hanoinet.texts import N_, Field, t

IDENTITY_ONLY = frozenset({"40(15)(a)", "42(2)(a)"})
"""The paragraphs that ask for the identity of the requesting authority, and nothing more of
it: a contact person is good practice, not their requirement."""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _missing(req: Requirement, pointer: str, what: str | None = None) -> Finding:
    return Finding(
        "missing_content",
        "error",
        req.article,
        pointer,
        t(
            "Missing: %(what)s (%(article)s). Add it at %(field)s",
            what=t(what) if what else t(req.text),
            article=req.article,
            field=Field(pointer),
        ),
    )


def check_completeness(
    doc: RequestDocument, form: CooperationForm, as_of: date
) -> Iterator[Finding]:
    for req in form.requires:
        yield from _check_requirement(doc, form, req)
    yield from _consistency(doc, as_of, {r.field for r in form.requires})
    yield from _contacts(doc)


def _check_requirement(
    doc: RequestDocument, form: CooperationForm, req: Requirement
) -> Iterator[Finding]:
    field = req.field
    value = getattr(doc, field)
    pointer = f"/{field}"
    if field == "language":
        return  # reported once, with the accepted languages, by the channel check (40(14))
    if req.when is not None:
        if field == "persons" and not doc.persons:
            yield Finding(
                "persons_not_named",
                "info",
                req.article,
                pointer,
                t(
                    "%(what)s: give them where possible (%(article)s)",
                    what=t(req.text),
                    article=req.article,
                ),
            )
        return
    if field == "requesting_authority":
        auth = doc.requesting_authority
        if auth is None or _blank(auth.name):
            yield _missing(
                req, "/requesting_authority/name", N_("The name of the requesting authority")
            )
        if (auth is None or _blank(auth.contact)) and (
            doc.contacts is None or _blank(doc.contacts.name)
        ):
            yield Finding(
                "contact_missing",
                "warning",
                None,
                "/requesting_authority/contact",
                t(
                    "Give a person the requested State can ask, with a telephone or e-mail: "
                    "templates and central authorities ask for one, though %(article)s requires "
                    "only the identity of the requesting authority",
                    article=req.article,
                )
                if req.article in IDENTITY_ONLY
                else t(
                    "Give a person the requested State can ask, with a telephone or e-mail: "
                    "templates and central authorities ask for one, though the Convention does "
                    "not require it"
                ),
                basis="good practice",
            )
    elif field == "matter":
        matter = doc.matter
        if matter is None or matter.nature is None:
            yield _missing(
                req,
                "/matter/nature",
                N_("Whether it is an investigation, prosecution or judicial proceeding"),
            )
        if matter is None or _blank(matter.description):
            yield _missing(
                req, "/matter/description", N_("The subject matter and nature of the matter")
            )
        if matter is None or _blank(matter.authority):
            yield _missing(req, "/matter/authority", N_("The authority conducting the matter"))
    elif field == "offences":
        if not doc.offences:
            yield _missing(req, pointer)
        for i, offence in enumerate(doc.offences):
            if offence.article is None and _blank(offence.name):
                yield _missing(
                    req,
                    f"/offences/{i}",
                    N_("The offence (a Convention article or the national offence)"),
                )
    elif field == "data":
        yield from _check_data(doc, req)
    elif field == "period":
        yield from _check_period(doc, req)
    elif field == "mla_to_follow":
        if doc.mla_to_follow is None:
            yield _missing(
                req,
                pointer,
                N_("A statement that a request for mutual legal assistance will follow"),
            )
        elif doc.mla_to_follow is False:
            yield Finding(
                "no_mla_to_follow",
                "error",
                req.article,
                pointer,
                t(
                    "Preservation is for data for which a request for mutual legal assistance "
                    "will follow (%(article)s); if none will, this is not a preservation request",
                    article=req.article,
                ),
            )
    elif field == "urgency":
        if form.key == "emergency_disclosure" and doc.urgency != "emergency":
            yield Finding(
                "not_marked_emergency",
                "error",
                req.article,
                pointer,
                t(
                    'An emergency disclosure must be marked urgency "emergency" (%(article)s)',
                    article=req.article,
                ),
            )
        elif form.key == "provisional_arrest" and doc.urgency == "routine":
            yield Finding(
                "not_urgent",
                "error",
                req.article,
                pointer,
                t(
                    "Provisional arrest is sought in urgency; set urgency and explain it "
                    "(%(article)s)",
                    article=req.article,
                ),
            )
    elif _blank(value):
        yield _missing(req, pointer)


def _check_data(doc: RequestDocument, req: Requirement) -> Iterator[Finding]:
    if not doc.data:
        yield _missing(req, "/data")
        return
    for i, item in enumerate(doc.data):
        base = f"/data/{i}"
        if req.article.endswith("(d)"):  # custodian or location of the system (42(2)(d))
            if _blank(item.custodian) and _blank(item.location):
                yield _missing(
                    req,
                    f"{base}/custodian",
                    N_("The custodian of the data or the location of the system"),
                )
            continue
        if item.category is None:
            yield _missing(
                req,
                f"{base}/category",
                N_("The category of data (subscriber, traffic, content, other)"),
            )
        if not item.identifiers:
            yield _missing(
                req,
                f"{base}/identifiers",
                N_("Identifiers of the data (accounts, addresses, numbers)"),
            )
        if req.article.endswith("(c)") and _blank(item.relation_to_offence):
            yield _missing(
                req,
                f"{base}/relation_to_offence",
                N_("The relationship of the data to the offence"),
            )


def _check_period(doc: RequestDocument, req: Requirement) -> Iterator[Finding]:
    period = doc.period
    if period is None or period.start is None:
        yield _missing(req, "/period/start", N_("The start of the period"))
    if period is None or period.end is None:
        yield _missing(req, "/period/end", N_("The end of the period"))
    if period is None or _blank(period.justification):
        yield _missing(req, "/period/justification", N_("Why the period is needed"))
    if period is not None and period.start and period.end and period.end <= period.start:
        yield Finding(
            "period_reversed",
            "error",
            req.article,
            "/period/end",
            t(
                "The period ends (%(end)s) on or before it starts (%(start)s) (%(article)s)",
                end=period.end,
                start=period.start,
                article=req.article,
            ),
        )


def _contacts(doc: RequestDocument) -> Iterator[Finding]:
    zone = doc.contacts.time_zone if doc.contacts else None
    if zone and zone.strip() and not is_time_zone(zone.strip()):
        yield Finding(
            "time_zone_unknown",
            "error",
            None,
            "/contacts/time_zone",
            t(
                "'%(zone)s' is not a time zone; write it as the IANA database names it, "
                "e.g. Europe/Paris or Asia/Ho_Chi_Minh",
                zone=zone,
            ),
            basis="format",
        )


def _consistency(doc: RequestDocument, as_of: date, required: set[str]) -> Iterator[Finding]:
    deadline = doc.deadline
    if deadline is not None and deadline.date is not None:
        if _blank(deadline.reason):
            yield Finding(
                "deadline_without_reason",
                "warning",
                "40(25)",
                "/deadline/reason",
                t(
                    "The requested State takes full account of deadlines for which reasons are "
                    "given (40(25)); say why this date matters"
                ),
            )
        if deadline.date < as_of:
            yield Finding(
                "deadline_passed",
                "warning",
                "40(25)",
                "/deadline/date",
                t(
                    "The deadline %(deadline)s is already past on %(day)s",
                    deadline=deadline.date,
                    day=as_of,
                ),
            )
    if doc.urgency == "emergency" and _blank(doc.emergency) and "emergency" not in required:
        yield Finding(
            "emergency_not_described",
            "error",
            "2(o)",
            "/emergency",
            t(
                "An emergency is a significant and imminent risk to the life or safety of a "
                "person (2(o)); describe the risk"
            ),
        )
    if doc.oral and doc.urgency == "routine":
        yield Finding(
            "oral_not_urgent",
            "error",
            "40(14)",
            "/urgency",
            t(
                "A request may be made orally only in urgent circumstances (40(14)); set the "
                "urgency and say why, or make the request in writing"
            ),
        )
    elif doc.oral:
        yield Finding(
            "oral_confirm_in_writing",
            "info",
            "40(14)",
            "/oral",
            t(
                "An urgent oral request must be confirmed in writing forthwith (40(14)); "
                "hanoinet records the confirmation as due"
            ),
        )
