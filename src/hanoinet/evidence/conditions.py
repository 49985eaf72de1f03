"""The use conditions that travel with the evidence, each citing its article.

- speciality, 40(19): no use for other proceedings without the sender's prior consent;
- confidentiality, 40(20): when the request asked for it;
- onward transfer, 36(3): no transfer to a third State or organization without the
  sender's prior authorization;
- conditions the sending State imposed (36(1)), in its own words;
- conditions agreed in consultation (40(27)): proposed by the sending (requested) State and
  accepted by the requesting State, as recorded on the request.

The paraphrase and the paragraph key's verified mark are copied from the
Convention data at packing, so a package says what hanoinet knew when it was
made and never presents an unconfirmed key as settled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from hanoinet.convention.catalog import convention

FORMAT: Literal["hanoinet.conditions/1"] = "hanoinet.conditions/1"
Kind = Literal["speciality", "confidentiality", "onward_transfer", "imposed", "agreed"]

ARTICLE: dict[Kind, str] = {
    "speciality": "40(19)",
    "confidentiality": "40(20)",
    "onward_transfer": "36(3)",
    "imposed": "36(1)",
    "agreed": "40(27)",
}


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    article: str
    verified: bool
    text: str
    matter: str | None = None
    """For speciality: the proceedings the evidence was given for."""


class UseConditions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["hanoinet.conditions/1"] = FORMAT
    request: str
    """The global id (uid) of the request the evidence answers."""
    reference: str
    """The request's reference at the sending node."""
    conditions: tuple[Condition, ...]

    def of(self, kind: Kind) -> Condition | None:
        return next((c for c in self.conditions if c.kind == kind), None)


def _from_data(kind: Kind, **extra: str | None) -> Condition:
    info = convention().key(ARTICLE[kind])
    return Condition(
        kind=kind, article=info.key, verified=info.verified, text=info.text or "", **extra
    )


def conditions_for(
    *,
    request_uid: str,
    reference: str,
    matter: str | None,
    confidential: bool,
    imposed: tuple[str, ...] = (),
    agreed: tuple[str, ...] = (),
) -> UseConditions:
    """The conditions of a package answering a request: speciality for its matter, onward
    transfer always, confidentiality when the request asked for it, any imposed ones, and
    those agreed in consultation (``agreed``, from the request's accept_conditions)."""
    items = [_from_data("speciality", matter=matter), _from_data("onward_transfer")]
    if confidential:
        items.append(_from_data("confidentiality"))
    for text in imposed:
        if not text.strip():
            raise ValueError("an imposed condition needs its text")
        info = convention().key(ARTICLE["imposed"])
        items.append(Condition(kind="imposed", article=info.key, verified=info.verified, text=text))
    info = convention().key(ARTICLE["agreed"])
    for text in agreed:
        items.append(Condition(kind="agreed", article=info.key, verified=info.verified, text=text))
    return UseConditions(request=request_uid, reference=reference, conditions=tuple(items))
