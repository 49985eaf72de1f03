"""Statistics from the event log, and signed aggregate reports without case content
(issue 9, arts 55 and 57): what each measure counts (``definitions``), the figures of a set
of requests (``measures``, pure), small counts suppressed (``suppress``, pure), the report
and its schema, signed, verified and combined (``report``)."""
