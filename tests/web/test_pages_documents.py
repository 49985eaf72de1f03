"""The formal document section of the case page (web/templates/_document.html) and its PDF
routes (web/documents.py): what was issued or received, in words; the kept PDF as it was
signed; a document made on demand in the language asked, signed only when this node sent the
request; every PDF served audited. Who may read them, role by role:
tests/web/test_authorization.py."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from hanoinet.documents.signature import verify
from hanoinet.exchange.directory import Trust
from hanoinet.services import cases as case_service
from hanoinet.services import documents
from hanoinet.store import Store
from hanoinet.store.schema import audit, formal_documents

from . import test_pages_evidence
from .test_pages_evidence import T0, Desk

desk = test_pages_evidence.desk  # the fixture: a node with a request received and one sent


def _audited(store: Store, action: str) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(audit).where(audit.c.action == action)))


def _text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_an_issued_document_is_listed_opened_and_verifies(desk: Desk) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    page = carl.get(f"/requests/{desk.sent}").text
    assert "Formal request document" in page
    assert "This node issues it, signed, when the request is sent" in page
    assert "Not signed until the request is sent" in page
    case_service.act(desk.store, desk.sent, "check", actor="carl", at=T0)
    case_service.act(desk.store, desk.sent, "send", actor="carl", at=T0)
    page = carl.get(f"/requests/{desk.sent}").text
    assert "Being made: the worker signs it" in page
    ctx = desk.app.state.web.ctx
    [issued] = documents.issue_pending(ctx, None, now=T0 + timedelta(minutes=1))
    page = carl.get(f"/requests/{desk.sent}").text
    assert "Issued: signed by this node and sent after the request" in page
    link = f"/requests/{desk.sent}/documents/{issued.document_id}.pdf"
    assert f'href="{link}"' in page and f'href="{link}?download=1"' in page
    assert "Signed by this node, as of now." in page
    response = carl.get(link)
    assert response.status_code == 200
    result = verify(response.content, Trust({}, directory=ctx.directory))
    assert result.ok, result.to_json()
    [read] = _audited(desk.store, "document.read")
    assert (read.actor, read.target) == ("carl", desk.sent)


def test_a_received_document_that_did_not_verify_says_why(desk: Desk) -> None:
    with desk.store.transaction() as conn:
        conn.execute(
            insert(formal_documents).values(
                request_id=desk.received,
                direction="incoming",
                status="invalid",
                lang="fr",
                request_sha256="0" * 64,
                pdf=b"%PDF-2.0 altered",
                signer=None,
                problem="signature: the signature does not match the document",
                created_at=T0,
                updated_at=T0,
            )
        )
    carl = desk.reader("carl", "central_authority_officer")
    page = carl.get(f"/requests/{desk.received}").text
    assert "Received from the requesting State" in page
    assert "Received, but it did not verify" in page
    assert "signature: the signature does not match the document" in page
    assert "For reading: not signed, as this node did not issue the request." in page


def test_made_on_demand_in_the_language_asked_and_audited(desk: Desk) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    response = carl.get(f"/requests/{desk.received}/document.pdf?lang=fr&download=1")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{desk.received}-fr.pdf"'
    )
    text = _text(response.content)
    assert "Entraide judiciaire" in text or "entraide judiciaire" in text
    assert "Ministry of Justice" in text  # the requesting authority's own words, as written
    unsigned = verify(response.content, Trust({}, directory=desk.app.state.web.ctx.directory))
    assert unsigned.check("signature").ok is False  # an incoming request: not this node's
    [made] = _audited(desk.store, "document.render")
    assert (made.actor, made.target) == ("carl", desk.received)
    assert '"lang":"fr"' in made.detail.replace(" ", "")


@pytest.mark.parametrize("lang", ["xx", "de"])
def test_a_language_that_is_not_a_un_language_is_refused(desk: Desk, lang: str) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    response = carl.get(f"/requests/{desk.received}/document.pdf?lang={lang}")
    assert response.status_code == 422
    assert "Choose one of the six UN languages." in response.text
    assert _audited(desk.store, "document.render") == []


def test_the_form_offers_the_six_languages(desk: Desk) -> None:
    page = desk.reader("dora", "central_authority_officer", locale="fr").get(
        f"/requests/{desk.received}"
    )
    assert page.status_code == 200
    for code in ("en", "ar", "es", "fr", "ru", "zh"):
        assert f'<option value="{code}" lang="{code}">' in page.text
    assert f'action="/requests/{desk.received}/document.pdf"' in page.text


@pytest.mark.parametrize("number", ["0", "2147483648", "9" * 40])
def test_a_document_number_past_any_kept_is_not_found(desk: Desk, number: str) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    response = carl.get(f"/requests/{desk.received}/documents/{number}.pdf")
    assert response.status_code == 404
    assert "No such case or request" in response.text


def test_a_peers_language_code_never_shapes_the_download_header(desk: Desk) -> None:
    with desk.store.transaction() as conn:
        kept = conn.execute(
            insert(formal_documents)
            .values(
                request_id=desk.received,
                direction="incoming",
                status="invalid",
                lang='"\r\nX-A:1',  # the column holds 8 characters: enough to break a header
                request_sha256="0" * 64,
                pdf=b"%PDF-2.0 altered",
                signer=None,
                problem="signature: the signature does not match the document",
                created_at=T0,
                updated_at=T0,
            )
            .returning(formal_documents.c.id)
        ).scalar_one()
    carl = desk.reader("carl", "central_authority_officer")
    response = carl.get(f"/requests/{desk.received}/documents/{kept}.pdf?download=1")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{desk.received}-incoming-{kept}-xx.pdf"'
    )
    assert "x-a" not in response.headers
