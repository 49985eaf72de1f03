"""The formal letter of one step on a request with a State that runs no node: in each of the
six languages from the documents' catalog (never English passed off), its ground with the
article, the reasons as written, signed and carrying the request it concerns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hanoinet.convention import convention
from hanoinet.convention.model import LANGUAGES
from hanoinet.documents import letter
from hanoinet.documents.render import Phrases, request_sha256
from hanoinet.documents.signature import verify

from .conftest import AT, Issuers, checked, complete, pdf_text, shows

REFUSAL = letter.Step(
    "refuse",
    "40(24)",
    AT - timedelta(days=2),
    {"ground": "essential_interests", "reason": "Prejudice to sovereignty (demo)."},
)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_refusal_letter_is_in_the_requests_language_signed(issuers: Issuers, lang: str) -> None:
    document = complete("stored_data") | {"language": lang}
    doc, _findings = checked(document)
    made = letter.make(
        document,
        doc,
        REFUSAL,
        at=AT,
        request_id="R-000042",
        signer=issuers.signer(),
        peer_reference="NV 45/2026",
    )
    assert made.lang == lang and made.request_sha256 == request_sha256(document)
    result = verify(made.pdf, issuers.trust, expected_sha256=request_sha256(document))
    assert result.ok, result.to_json()
    assert result.request and result.request["letter"] == {
        "action": "refuse",
        "article": "40(24)",
        "params": REFUSAL.params,
    }
    say = Phrases(lang)
    text = pdf_text(made.pdf, layout=lang == "ar")
    assert shows(text, say(letter.TITLES["refuse"]), lang)
    ground = say(convention().grounds["essential_interests"].text)
    assert shows(text, " ".join(ground.split()[1:5]), lang)  # a line may break it
    assert shows(text, "Prejudice to sovereignty (demo).", lang)  # as written
    assert "45/2026" in text


def test_every_step_told_by_letter_has_a_title_in_every_language() -> None:
    for lang in LANGUAGES[1:]:
        say = Phrases(lang)
        for action, title in letter.TITLES.items():
            assert say(title) != title or lang == "en", (lang, action)


def test_a_step_of_the_nodes_own_is_not_told() -> None:
    assert not any(letter.told(a) for a in ("send", "check", "approve", "close", "edit"))
    assert letter.told("acknowledge") and letter.told("withdraw")
