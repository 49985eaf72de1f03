"""Dual criminality, judged on conduct, not on names (35(2)).

Not required for preservation (42(3)); a discretion for mutual legal
assistance (40(9)), so a gap is a warning; required for extradition (37(1)),
so a gap is an error.
"""

from __future__ import annotations

from collections.abc import Iterator

from hanoinet.convention import convention
from hanoinet.convention.model import CooperationForm, Offence
from hanoinet.law.context import Context
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding, Severity
from hanoinet.law.profiles import judge
from hanoinet.registry.participants import is_known_code
from hanoinet.texts import Codes, Data, Field, State, Text, t


def check_dual_criminality(
    doc: RequestDocument, form: CooperationForm, ctx: Context
) -> Iterator[Finding]:
    article = form.dual_criminality_article
    if form.dual_criminality == "not_applicable" or article is None:
        return
    if form.dual_criminality == "not_required":
        yield Finding(
            "dual_criminality_not_required",
            "info",
            article,
            "/offences",
            t("Dual criminality is not required for this form (%(article)s)", article=article),
        )
        return
    if not (doc.requested_state and is_known_code(doc.requested_state)):
        return  # no State to compare with: the basis check reports the code
    severity: Severity = "error" if form.dual_criminality == "required" else "warning"
    offences = {o.article: o for o in convention().offences.values()}
    profile = ctx.profiles.get(doc.requested_state)
    for i, offence in enumerate(doc.offences):
        base = f"/offences/{i}"
        known = offences.get(offence.article or "")
        if known is not None and not _all_known(known, offence.conduct, offence.elements):
            continue  # an unknown conduct or element is reported by the scope check
        if known is None:
            if offence.article is None:
                yield Finding(
                    "dual_criminality_unassessed",
                    "info",
                    "35(2)",
                    base,
                    t(
                        "Dual criminality is judged on conduct (35(2)): give the Convention "
                        "offence (article) and the conduct alleged so the requested State's law "
                        "can be compared"
                    ),
                )
            continue
        verdict = judge(profile, known.id, tuple(offence.conduct), tuple(offence.elements))
        if verdict.verdict == "unknown":
            yield Finding(
                "no_domestic_profile",
                "info",
                "35(2)",
                base,
                t(
                    "hanoinet has no profile of %(state)s's law to compare the conduct with",
                    state=State(str(doc.requested_state), named=False),
                ),
            )
        elif verdict.verdict == "not_met":
            consequence: Text = (
                t("extradition requires it (37(1))")
                if severity == "error"
                else t("the requested State may refuse (%(article)s)", article=article)
            )
            if verdict.national is not None and verdict.missing:
                missing = Codes("element", tuple(verdict.missing))
                yield Finding(
                    "dual_criminality_not_met",
                    severity,
                    article,
                    f"{base}/elements",
                    t(
                        "As alleged, the conduct is not a crime in %(state)s: its '%(offence)s' "
                        "also requires %(missing)s; %(consequence)s. If the facts show it, add it "
                        "to %(field)s",
                        state=State(str(doc.requested_state), named=False),
                        offence=Data(verdict.national.name),
                        missing=missing,
                        consequence=consequence,
                        field=Field(f"{base}/elements"),
                    ),
                )
            else:
                yield Finding(
                    "dual_criminality_not_met",
                    severity,
                    article,
                    base,
                    t(
                        "No offence of %(state)s covers this conduct of art. %(article)s; "
                        "%(consequence)s",
                        state=State(str(doc.requested_state), named=False),
                        article=known.article,
                        consequence=consequence,
                    ),
                )


def _all_known(known: Offence, conduct: list[str], elements: list[str]) -> bool:
    return {c.id for c in known.conduct} >= set(conduct) and {
        e.id for e in known.optional_elements
    } >= set(elements)
