"""Findings: what a check says about a request, citing the article it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hanoinet.convention import convention
from hanoinet.errors import UnknownArticle
from hanoinet.texts import Data, Text, t

Severity = Literal["error", "warning", "info"]
Basis = Literal["convention", "format", "node policy", "good practice", "requested state"]
"""What a finding rests on. ``convention``: the article it cites. Without an article:
``format``, the request format itself (a value of the wrong type, an unknown field);
``node policy``, a rule of this node, not of the Convention; ``good practice``, what
templates and central authorities ask for though the Convention does not require it;
``requested state``, the requested State's own published requirements (its law or an
applicable treaty), named in the message."""
BASES: tuple[Basis, ...] = (
    "convention",
    "format",
    "node policy",
    "good practice",
    "requested state",
)


@dataclass(frozen=True)
class Finding:
    code: str
    """Stable identifier of the rule (other programs match on it)."""
    severity: Severity
    article: str | None
    """The article key the finding rests on, e.g. ``42(2)(c)``; None when it rests on
    something else (``basis``)."""
    field: str
    """A JSON pointer into the document (``/data/0/custodian``); empty for the whole document."""
    text: Text
    """What it says: an English template and its parameters (``hanoinet.texts``), so the web
    shows it in the reader's language; a plain string is kept as English data."""
    basis: Basis | None = None
    """What it rests on (``Basis``): ``convention`` exactly when it cites an article, else
    given; never left unsaid."""

    def __post_init__(self) -> None:
        if isinstance(self.text, str):
            object.__setattr__(self, "text", t("%(message)s", message=Data(self.text)))
        if self.article is not None:
            if self.basis not in (None, "convention"):
                raise ValueError(
                    f"finding {self.code} cites {self.article} but rests on {self.basis}"
                )
            object.__setattr__(self, "basis", "convention")
        elif self.basis in (None, "convention"):
            raise ValueError(f"finding {self.code} cites no article: say what it rests on")

    @property
    def message(self) -> str:
        """The English sentence (CLI, API, JSON)."""
        return str(self.text)

    @property
    def article_verified(self) -> bool | None:
        """Whether the data has verified the paragraph key it cites (None without one): an
        unverified key is shown with its mark wherever the finding is shown."""
        if self.article is None:
            return None
        try:
            return convention().key(self.article).verified
        except UnknownArticle:
            return False

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "article": self.article,
            "article_verified": self.article_verified,
            "basis": self.basis,
            "field": self.field,
            "message": self.message,
        }


ORDER = {"error": 0, "warning": 1, "info": 2}


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then information; within each, in document order."""
    return sorted(findings, key=lambda f: ORDER[f.severity])
