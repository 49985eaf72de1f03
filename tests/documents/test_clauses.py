"""The fixed clauses: every one under an article key the Convention data has, printed on the
forms and in the cases its ``when`` names."""

from __future__ import annotations

from hanoinet.convention import convention
from hanoinet.documents.clauses import applicable, clauses

from .conftest import checked, complete


def test_every_clause_cites_a_known_article_for_known_forms() -> None:
    catalog = convention()
    assert clauses()
    for clause in clauses():
        assert catalog.key(clause.article)
        assert set(clause.forms) <= set(catalog.forms)


def _ids(document: dict[str, object]) -> list[str]:
    doc, _ = checked(document)
    return [c.id for c in applicable(doc)]


def test_a_preservation_request_carries_its_undertakings() -> None:
    document = complete("preservation")
    assert _ids(document) == [
        "speciality",
        "preservation_confidential",
        "no_user_notice",
        "mla_to_follow",
    ]
    document.update(confidential=False, no_user_notice=False, mla_to_follow=False)
    assert _ids(document) == ["speciality"]


def test_an_oral_request_is_confirmed_in_writing() -> None:
    document = {**complete("stored_data"), "oral": True}
    assert "written_confirmation" in _ids(document)
    assert "written_confirmation" not in _ids(complete("stored_data"))
    assert "confidentiality" in _ids({**document, "confidential": True})
