"""Run every check on a request: the one entry point for CLI, web and exchange."""

from __future__ import annotations

from hanoinet.convention import convention
from hanoinet.law.basis import check_basis, check_scope
from hanoinet.law.channel import check_channel
from hanoinet.law.completeness import check_completeness
from hanoinet.law.context import Context
from hanoinet.law.data_protection import check_data_protection
from hanoinet.law.document import RequestDocument, parse_request, set_aside
from hanoinet.law.dual_criminality import check_dual_criminality
from hanoinet.law.findings import Finding, sort_findings
from hanoinet.law.identifiers import check_identifiers


def check(doc: RequestDocument, ctx: Context) -> list[Finding]:
    """Findings on a parsed request, errors first."""
    form = convention().forms[doc.kind]
    findings: list[Finding] = []
    findings.extend(check_completeness(doc, form, ctx.as_of))
    findings.extend(check_basis(doc, ctx))
    findings.extend(check_scope(doc, form, ctx))
    findings.extend(check_channel(doc, form, ctx))
    findings.extend(check_dual_criminality(doc, form, ctx))
    findings.extend(check_data_protection(doc))
    findings.extend(check_identifiers(doc))
    return sort_findings(findings)


def check_parsed(doc: RequestDocument, shape: list[Finding], ctx: Context) -> list[Finding]:
    """The findings on a document read with ``shape`` findings (values of the wrong shape,
    set aside): those, and the checks' findings less any about a value set aside. A bad
    value is reported once, where it is: not again as missing, nor by a check that would
    judge what is left without it."""
    aside = {set_aside(f.field) for f in shape}
    return sort_findings(
        [*shape, *(f for f in check(doc, ctx) if not any(_within(f.field, a) for a in aside))]
    )


def _within(field: str, part: str) -> bool:
    return field == part or field.startswith(part + "/")


def check_text(
    text: str, ctx: Context, name: str = "the document"
) -> tuple[RequestDocument, list[Finding]]:
    """Parse and check; raises NotARequest when ``text`` is not a request at all."""
    doc, shape = parse_request(text, name)
    return doc, check_parsed(doc, shape, ctx)
