"""Legal checks as pure functions returning Findings that cite articles.

Completeness (40(15), 42(2) ...), legal basis and scope (65, 35(1), 37(1)),
language and channel (40(13), 40(14), 41(1)), dual criminality on conduct
(35(2), 42(3), 40(9)), personal data (36(3)).
"""

from hanoinet.law.check import check, check_text
from hanoinet.law.context import Context, default_context
from hanoinet.law.document import FORMAT, RequestDocument, parse_request, request_schema, template
from hanoinet.law.findings import Finding, has_errors

__all__ = [
    "FORMAT",
    "Context",
    "Finding",
    "RequestDocument",
    "check",
    "check_text",
    "default_context",
    "has_errors",
    "parse_request",
    "request_schema",
    "template",
]
