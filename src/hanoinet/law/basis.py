"""Legal basis and scope.

- Basis: the Convention applies between two States when it is in force for
  both on the day (65(1), 65(2)); otherwise another basis is needed.
- Scope: evidence may be sought for Convention offences or any serious crime,
  punishable by at least four years (35(1)(b)-(c), 2(h)); extradition only for
  Convention offences punishable by at least one year in both States (37(1)).
"""

from __future__ import annotations

from collections.abc import Iterator

from hanoinet.convention import convention
from hanoinet.convention.model import CooperationForm
from hanoinet.law.context import Context
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.law.profiles import judge
from hanoinet.registry.participants import is_known_code, participant

OFFENCE_ARTICLES = {o.article: o for o in convention().offences.values()}


def check_basis(doc: RequestDocument, ctx: Context) -> Iterator[Finding]:
    codes = {"requesting_state": doc.requesting_state, "requested_state": doc.requested_state}
    for field, code in codes.items():
        if not code:
            yield Finding(
                "state_missing",
                "error",
                "35(1)",
                f"/{field}",
                f"Give the {field.replace('_', ' ')} as an ISO 3166 code (e.g. FR)",
            )
        elif not is_known_code(code):
            yield Finding(
                "state_unknown",
                "error",
                "35(1)",
                f"/{field}",
                f"'{code}' is not an ISO 3166-1 alpha-2 code; write it in capitals, e.g. FR",
            )
    a, b = doc.requesting_state, doc.requested_state
    if not (a and b and is_known_code(a) and is_known_code(b)):
        return
    if a == b:
        yield Finding(
            "same_state",
            "error",
            "35(1)",
            "/requested_state",
            "The requesting and the requested State are the same",
        )
        return
    status = ctx.status
    by_code = {p.code: p for p in status.participants}
    not_bound = [code for code in (a, b) if code not in by_code or by_code[code].state != "party"]
    if not not_bound:
        since = max(
            by_code[a].in_force_for_party or ctx.as_of, by_code[b].in_force_for_party or ctx.as_of
        )
        yield Finding(
            "convention_basis",
            "info",
            "65(2)",
            "",
            f"Legal basis: the Convention is in force between {a} and {b} since {since}",
        )
        return
    names = " and ".join(f"{participant(c).name()} ({c})" for c in not_bound)
    if not status.in_force:
        article = "65(1)"
        why = (
            f"The Convention is not in force on {ctx.as_of} ({status.instruments_counted} of "
            f"{status.instruments_needed} instruments counted, 65(1))"
        )
    else:
        article = "65(2)"
        why = f"The Convention is not in force for {names} on {ctx.as_of} (65(2))"
    yield Finding(
        "no_convention_basis",
        "warning",
        article,
        "",
        f"{why}; rely on another legal basis (a treaty between the two States, or "
        "reciprocity) and name it in the request",
    )


def check_scope(doc: RequestDocument, form: CooperationForm, ctx: Context) -> Iterator[Finding]:
    for i, offence in enumerate(doc.offences):
        if offence.article is None:
            continue
        known = OFFENCE_ARTICLES.get(offence.article)
        if known is None:
            yield Finding(
                "not_an_offence_article",
                "error",
                "35(1)(a)",
                f"/offences/{i}/article",
                f"Article {offence.article} establishes no offence; Convention offences are "
                "arts 7 to 17, anything else is a national offence (give its name and penalty)",
            )
            continue
        conduct_ids = {c.id for c in known.conduct}
        for j, c in enumerate(offence.conduct):
            if c not in conduct_ids:
                yield Finding(
                    "unknown_conduct",
                    "error",
                    known.article,
                    f"/offences/{i}/conduct/{j}",
                    f"'{c}' is not a conduct of art. {known.article}; use {', '.join(sorted(conduct_ids))}",
                )
        optional = {o.id for o in known.optional_elements}
        for j, e in enumerate(offence.elements):
            if e not in optional:
                yield Finding(
                    "unknown_element",
                    "error",
                    known.article,
                    f"/offences/{i}/elements/{j}",
                    f"'{e}' is not an optional element of art. {known.article}; "
                    f"use {', '.join(sorted(optional)) or 'none (it has none)'}",
                )
    if form.scope == "evidence":
        yield from _evidence_scope(doc)
    elif form.scope == "convention_offences":
        if doc.offences and not any(o.article in OFFENCE_ARTICLES for o in doc.offences):
            yield Finding(
                "not_convention_offence",
                "warning",
                "35(1)(a)",
                "/offences",
                "This form serves offences established under the Convention (arts 7-17); "
                "name the Convention offence the conduct amounts to",
            )
    elif form.scope == "extradition":
        yield from _extradition_scope(doc, ctx)


def _evidence_scope(doc: RequestDocument) -> Iterator[Finding]:
    threshold = convention().period("serious_crime_years").value
    if not doc.offences:
        return
    for i, offence in enumerate(doc.offences):
        if offence.article is None and offence.max_penalty_years is None:
            yield Finding(
                "penalty_missing",
                "error",
                "2(h)",
                f"/offences/{i}/max_penalty_years",
                f"For a national offence give its maximum penalty in years: evidence is shared "
                f"for serious crime, punishable by at least {threshold} years (2(h), 35(1)(c))",
            )
    in_scope = any(
        o.article in OFFENCE_ARTICLES or (o.max_penalty_years or 0) >= threshold
        for o in doc.offences
    )
    if not in_scope and all(
        o.article is not None or o.max_penalty_years is not None for o in doc.offences
    ):
        yield Finding(
            "out_of_scope",
            "error",
            "35(1)(c)",
            "/offences",
            f"No offence is established under the Convention or punishable by at least "
            f"{threshold} years (serious crime, 2(h)); the Convention does not cover this request",
        )


def _extradition_scope(doc: RequestDocument, ctx: Context) -> Iterator[Finding]:
    minimum = convention().period("extradition_threshold_years").value
    profile = ctx.profiles.get(doc.requested_state)
    for i, offence in enumerate(doc.offences):
        base = f"/offences/{i}"
        known = OFFENCE_ARTICLES.get(offence.article or "")
        if known is None:
            yield Finding(
                "extradition_not_convention_offence",
                "error",
                "37(1)",
                f"{base}/article",
                "Extradition under the Convention is only for offences established under it "
                "(arts 7-17); give the article",
            )
            continue
        if offence.max_penalty_years is None:
            yield Finding(
                "penalty_missing",
                "error",
                "37(1)",
                f"{base}/max_penalty_years",
                f"Give the maximum penalty in the requesting State: at least {minimum} year is needed (37(1))",
            )
        elif offence.max_penalty_years < minimum:
            yield Finding(
                "extradition_penalty_too_low",
                "error",
                "37(1)",
                f"{base}/max_penalty_years",
                f"Punishable by {offence.max_penalty_years:g} years in the requesting State; "
                f"extradition needs at least {minimum} year in both States (37(1))",
            )
        verdict = judge(profile, known.id, tuple(offence.conduct), tuple(offence.elements))
        if (
            verdict.verdict == "met"
            and verdict.national is not None
            and verdict.national.max_penalty_years < minimum
        ):
            yield Finding(
                "extradition_penalty_too_low",
                "error",
                "37(1)",
                base,
                f"In {doc.requested_state} the conduct is '{verdict.national.name}', punishable by "
                f"{verdict.national.max_penalty_years:g} years; extradition needs at least {minimum} "
                "year in both States (37(1))",
            )
