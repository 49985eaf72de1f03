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
from hanoinet.registry.participants import is_known_code
from hanoinet.texts import N_, Codes, Data, State, States, Text, t

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
                t(
                    "Give the %(which)s as an ISO 3166 code (e.g. FR)",
                    which=t(
                        N_("requesting state")
                        if field == "requesting_state"
                        else N_("requested state")
                    ),
                ),
            )
        elif not is_known_code(code):
            yield Finding(
                "state_unknown",
                "error",
                "35(1)",
                f"/{field}",
                t(
                    "'%(code)s' is not an ISO 3166-1 alpha-2 code; write it in capitals, e.g. FR",
                    code=code,
                ),
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
            t("The requesting and the requested State are the same"),
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
            t(
                "Legal basis: the Convention is in force between %(a)s and %(b)s since %(since)s",
                a=State(a, named=False),
                b=State(b, named=False),
                since=since,
            ),
        )
        return
    if not status.in_force:
        article = "65(1)"
        why = t(
            "The Convention is not in force on %(day)s (%(counted)s of %(needed)s instruments "
            "counted, 65(1))",
            day=ctx.as_of,
            counted=status.instruments_counted,
            needed=status.instruments_needed,
        )
    else:
        article = "65(2)"
        why = t(
            "The Convention is not in force for %(states)s on %(day)s (65(2))",
            states=States(tuple(not_bound)),
            day=ctx.as_of,
        )
    other = _other_basis(doc)
    if other is None:
        yield Finding(
            "no_convention_basis",
            "warning",
            article,
            "/legal_basis",
            t(
                "%(why)s; rely on another legal basis (a treaty between the two States, or "
                "reciprocity) and name it in the request",
                why=why,
            ),
        )
    else:
        yield Finding(
            "other_basis",
            "info",
            article,
            "/legal_basis",
            t("%(why)s; the request rests on %(basis)s", why=why, basis=other),
        )


def _other_basis(doc: RequestDocument) -> Text | None:
    """The basis other than the Convention that the request names, in words; None when it
    names none, or names a treaty or a law without saying which."""
    basis = doc.legal_basis
    if basis is None or basis.instrument in (None, "convention"):
        return None
    if basis.instrument == "reciprocity":
        return t("reciprocity")
    if not basis.name or not basis.name.strip():
        return None
    cited = (
        f"{basis.name}, {basis.article}" if basis.article and basis.article.strip() else basis.name
    )
    if basis.instrument == "treaty":
        return t("the treaty %(name)s", name=cited)
    return t("the law %(name)s", name=cited)


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
                t(
                    "Article %(article)s establishes no offence; Convention offences are arts 7 "
                    "to 17, anything else is a national offence (give its name and penalty)",
                    article=offence.article,
                ),
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
                    t(
                        "'%(value)s' is not a conduct of art. %(article)s; use %(choices)s",
                        value=c,
                        article=known.article,
                        choices=Codes("conduct", tuple(sorted(conduct_ids))),
                    ),
                )
        optional = {o.id for o in known.optional_elements}
        for j, e in enumerate(offence.elements):
            if e not in optional:
                yield Finding(
                    "unknown_element",
                    "error",
                    known.article,
                    f"/offences/{i}/elements/{j}",
                    t(
                        "'%(value)s' is not an optional element of art. %(article)s; "
                        "use %(choices)s",
                        value=e,
                        article=known.article,
                        choices=Codes("element", tuple(sorted(optional)))
                        if optional
                        else t("none (it has none)"),
                    ),
                )
    if form.scope == "evidence":
        yield from _evidence_scope(doc, form)
    elif form.scope == "convention_offences":
        if doc.offences and not any(o.article in OFFENCE_ARTICLES for o in doc.offences):
            yield Finding(
                "not_convention_offence",
                "error",
                "35(1)(c)",
                "/offences",
                t(
                    "This form serves only offences established under the Convention (arts 7 "
                    "to 17, 35(1)(a)); for any other serious crime the Convention covers only "
                    "the collecting of evidence in electronic form (35(1)(c)). Name the "
                    "Convention offence the conduct amounts to, or rely on another legal basis"
                ),
            )
    elif form.scope == "extradition":
        yield from _extradition_scope(doc, ctx)


def _evidence_scope(doc: RequestDocument, form: CooperationForm) -> Iterator[Finding]:
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
                t(
                    "For a national offence give its maximum penalty in years: evidence is "
                    "shared for serious crime, punishable by at least %(years)s years "
                    "(2(h), 35(1)(c))",
                    years=threshold,
                ),
            )
    in_scope = any(
        o.article in OFFENCE_ARTICLES or (o.max_penalty_years or 0) >= threshold
        for o in doc.offences
    )
    convention_offence = any(o.article in OFFENCE_ARTICLES for o in doc.offences)
    if in_scope and not convention_offence and form.key == "mla_general":
        yield from _electronic_only(doc)
    if not in_scope and all(
        o.article is not None or o.max_penalty_years is not None for o in doc.offences
    ):
        yield Finding(
            "out_of_scope",
            "error",
            "35(1)(c)",
            "/offences",
            t(
                "No offence is established under the Convention or punishable by at least "
                "%(years)s years (serious crime, 2(h)); the Convention does not cover this "
                "request",
                years=threshold,
            ),
        )


def _electronic_only(doc: RequestDocument) -> Iterator[Finding]:
    """General mutual legal assistance for a serious crime that is not a Convention offence:
    the Convention covers only the evidence in electronic form (35(1)(c)), so the request
    must say which electronic data it seeks; any other assistance needs another basis."""
    if not doc.data:
        yield Finding(
            "evidence_not_electronic",
            "error",
            "35(1)(c)",
            "/data",
            t(
                "For an offence not established under the Convention, cooperation under it "
                "covers only the collecting of evidence in electronic form of a serious crime "
                "(35(1)(c)): list the electronic data sought; a hearing of witnesses, service "
                "of documents or other assistance needs another legal basis"
            ),
        )
    else:
        yield Finding(
            "electronic_evidence_only",
            "info",
            "35(1)(c)",
            "/assistance_sought",
            t(
                "For an offence not established under the Convention, the Convention covers "
                "only the collecting of the electronic data listed (35(1)(c)); any other "
                "assistance asked for (a hearing of witnesses, service of documents) needs "
                "another legal basis"
            ),
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
                t(
                    "Extradition under the Convention is only for offences established under it "
                    "(arts 7-17); give the article"
                ),
            )
            continue
        if offence.max_penalty_years is None:
            yield Finding(
                "penalty_missing",
                "error",
                "37(1)",
                f"{base}/max_penalty_years",
                t(
                    "Give the maximum penalty in the requesting State: at least %(years)s year "
                    "is needed (37(1))",
                    years=minimum,
                ),
            )
        elif offence.max_penalty_years < minimum:
            yield Finding(
                "extradition_penalty_too_low",
                "error",
                "37(1)",
                f"{base}/max_penalty_years",
                t(
                    "Punishable by %(years)s years in the requesting State; extradition needs "
                    "at least %(minimum)s year in both States (37(1))",
                    years=f"{offence.max_penalty_years:g}",
                    minimum=minimum,
                ),
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
                t(
                    "In %(state)s the conduct is '%(offence)s', punishable by %(years)s years; "
                    "extradition needs at least %(minimum)s year in both States (37(1))",
                    state=State(str(doc.requested_state), named=False),
                    offence=Data(verdict.national.name),
                    years=f"{verdict.national.max_penalty_years:g}",
                    minimum=minimum,
                ),
            )
