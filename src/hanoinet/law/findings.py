"""Findings: what a check says about a request, citing the article it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hanoinet.texts import Data, Text, t

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    code: str
    """Stable identifier of the rule (other programs match on it)."""
    severity: Severity
    article: str | None
    """The article key the finding rests on, e.g. ``42(2)(c)``; None only for format errors
    of a field no article requires."""
    field: str
    """A JSON pointer into the document (``/data/0/custodian``); empty for the whole document."""
    text: Text
    """What it says: an English template and its parameters (``hanoinet.texts``), so the web
    shows it in the reader's language; a plain string is kept as English data."""

    def __post_init__(self) -> None:
        if isinstance(self.text, str):
            object.__setattr__(self, "text", t("%(message)s", message=Data(self.text)))

    @property
    def message(self) -> str:
        """The English sentence (CLI, API, JSON)."""
        return str(self.text)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "article": self.article,
            "field": self.field,
            "message": self.message,
        }


ORDER = {"error": 0, "warning": 1, "info": 2}


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then information; within each, in document order."""
    return sorted(findings, key=lambda f: ORDER[f.severity])
