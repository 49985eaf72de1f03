"""The fixed clauses of a formal request, read from ``data/clauses.yaml``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hanoinet.convention import convention
from hanoinet.convention.loader import load_text
from hanoinet.errors import ConventionDataError
from hanoinet.law.document import RequestDocument

When = Literal[
    "always", "confidential", "no_user_notice", "oral", "mla_to_follow", "onward_transfer"
]


class Clause(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    article: str
    when: When
    forms: tuple[str, ...]
    text: str


class ClausesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    clauses: tuple[Clause, ...]


@cache
def clauses() -> tuple[Clause, ...]:
    """Every clause, checked against the Convention data: each article key and form exists."""
    name = "clauses.yaml"
    text = (resources.files("hanoinet.documents.data") / name).read_text(encoding="utf-8")
    loaded = load_text(ClausesFile, text, name)
    catalog = convention()
    for clause in loaded.clauses:
        catalog.key(clause.article)  # raises UnknownArticle on a key the Convention lacks
        unknown = [f for f in clause.forms if f not in catalog.forms]
        if unknown:
            raise ConventionDataError(name, None, f"clause {clause.id}: no form {unknown[0]}")
    return loaded.clauses


def applicable(doc: RequestDocument) -> list[Clause]:
    """The clauses printed on ``doc``, in the file's order."""
    found = []
    for clause in clauses():
        if doc.kind not in clause.forms:
            continue
        if clause.when == "always" or getattr(doc, clause.when):
            found.append(clause)
    return found
