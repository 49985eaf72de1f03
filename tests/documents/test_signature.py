"""PAdES signatures with the node's own key: made only on a final document, checked against
the signed directory (the one given, or the one the PDF carries); every way a document can
be wrong fails its own check, with a reason."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from hanoinet.documents import signature
from hanoinet.documents.render import request_sha256
from hanoinet.documents.signature import Signer, make, verify
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Trust
from hanoinet.exchange.keys import KeyEntry
from hanoinet.exchange.token import TokenSettings

from .conftest import AT, Issuers, checked, complete, node_entry


def _signed(issuers: Issuers, kind: str = "stored_data", **kwargs: Any) -> Any:
    document = complete(kind)
    doc, findings = checked(document)
    return make(document, doc, findings, lang="en", at=AT, request_id="R-000042", **kwargs)


def _signed_by(signer: Signer) -> Any:
    document = complete("stored_data")
    doc, findings = checked(document)
    return make(document, doc, findings, lang="en", at=AT, request_id="R-1", signer=signer)


def _checks(result: signature.DocumentVerification) -> dict[str, bool | None]:
    return {c.name: c.ok for c in result.checks}


@pytest.mark.parametrize(("use", "named"), [("doc", "ECDSA P-256"), ("sig", "Ed25519")])
def test_a_signed_document_verifies_offline_with_the_directory_it_carries(
    issuers: Issuers, use: str, named: str
) -> None:
    """With the P-256 key nodes sign documents with, and with the Ed25519 key a node made
    before it had one signed them with: hanoinet verifies both."""
    made = _signed(issuers, signer=issuers.signer(use=use))
    assert made.signed
    result = verify(
        made.pdf, issuers.trust, expected_sha256=request_sha256(complete("stored_data"))
    )
    assert result.ok, result.to_json()
    shaped = result.to_json()
    assert shaped["signer"] == {
        "node": "xa-ca",
        "state": "XA",
        "name": "Central authority of XA (demo)",
        "kid": issuers.keys.active(use, AT).kid,  # type: ignore[arg-type]
    }
    assert result.check("signature").detail.startswith(f"{named} key ")
    assert shaped["request_id"] == "R-000042" and shaped["language"] == "en"
    assert shaped["draft"] is False and shaped["signed_at"]
    assert [c["name"] for c in shaped["checks"]] == list(signature.CHECKS)
    assert "matches the one given" in result.check("request").detail


def test_a_changed_byte_breaks_the_signature(issuers: Issuers) -> None:
    pdf = bytearray(_signed(issuers, signer=issuers.signer()).pdf)
    at = pdf.index(b"/MediaBox")
    pdf[at + 12] = ord("9") if pdf[at + 12] != ord("9") else ord("8")
    result = verify(bytes(pdf), issuers.trust)
    assert not result.ok and result.check("signature").ok is False
    assert "altered after signing" in result.check("signature").detail


def test_something_added_after_signing_is_not_covered(issuers: Issuers) -> None:
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = _signed(issuers, signer=issuers.signer()).pdf
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root[NameObject("/Lang")] = TextStringObject("fr")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    result = verify(out.getvalue(), issuers.trust)
    assert result.check("coverage").ok is False and not result.ok


def test_a_key_the_directory_does_not_list_is_refused(issuers: Issuers) -> None:
    outsider = issuers.signer(issuers.outsider_keys)
    made = _signed(issuers, signer=outsider)
    result = verify(made.pdf, issuers.trust)
    assert result.check("signer").ok is False
    assert "not listed for any node" in result.check("signer").detail


@pytest.mark.parametrize("use", ["doc", "sig"])
def test_a_key_revoked_before_signing_is_refused(issuers: Issuers, use: str) -> None:
    key = issuers.keys.active(use, AT)  # type: ignore[arg-type]
    revoked = issuers.keys.revoke(key.kid, AT - timedelta(hours=1))
    entry = issuers.directory.node("xa-ca")
    assert entry is not None
    listed = entry.model_copy(
        update={"keys": tuple(dirmod.PublicKey(**k) for k in revoked.public())}
    )
    directory = issuers.directory.model_copy(
        update={"nodes": (listed, *issuers.directory.nodes[1:])}
    )
    made = _signed(issuers, signer=issuers.signer(use=use))
    result = verify(made.pdf, Trust({}, directory=directory))
    assert result.check("signer").ok is False
    assert "revoked or expired" in result.check("signer").detail


def test_a_certificate_naming_another_node_is_refused(
    issuers: Issuers, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = signature._certificate

    def other_name(key: KeyEntry, node_id: str, state: str) -> Any:
        return real(key, "xb-ca", state)

    monkeypatch.setattr(signature, "_certificate", other_name)
    monkeypatch.setattr(signature, "_CERTIFICATES", {})
    result = verify(_signed(issuers, signer=issuers.signer()).pdf, issuers.trust)
    assert result.check("signer").ok is False
    assert "the certificate names node 'xb-ca'" in result.check("signer").detail


def test_a_directory_from_another_authority_is_refused(issuers: Issuers) -> None:
    from hanoinet.exchange import crypto

    stranger = crypto.generate_signing_key()
    kid = crypto.thumbprint(crypto.public_jwk(stranger))
    result = verify(
        _signed(issuers, signer=issuers.signer()).pdf,
        Trust({kid: crypto.public_jwk(stranger)}),
    )
    assert result.check("signer").ok is False
    assert result.check("signer").detail.startswith("the directory is refused")


def test_a_document_made_from_another_request_does_not_match(issuers: Issuers) -> None:
    made = _signed(issuers, signer=issuers.signer())
    result = verify(made.pdf, issuers.trust, expected_sha256="0" * 64)
    assert result.check("request").ok is False
    assert "not from the one given" in result.check("request").detail


def test_a_draft_is_never_signed(issuers: Issuers) -> None:
    document = complete("stored_data")
    document["facts_summary"] = ""
    doc, findings = checked(document)
    made = make(document, doc, findings, lang="en", at=AT, signer=issuers.signer())
    assert made.draft and not made.signed
    result = verify(made.pdf, issuers.trust)
    assert result.check("signature").ok is False
    assert result.check("request").ok is False and "a draft" in result.check("request").detail


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"hello", "not a PDF file"),
        (b"%PDF-2.0\n" + b"x" * 100, "the PDF cannot be read"),
        (b"%PDF-" + b"0" * (signature.MAX_BYTES + 1), "a formal request is at most"),
    ],
)
def test_what_is_not_a_formal_document_fails_its_structure(
    issuers: Issuers, data: bytes, detail: str
) -> None:
    result = verify(data, issuers.trust)
    assert result.check("structure").ok is False and detail in result.check("structure").detail
    assert not result.ok


def test_an_unsigned_pdf_says_so(issuers: Issuers) -> None:
    made = _signed(issuers)
    result = verify(made.pdf, issuers.trust)
    assert result.check("structure").ok is True
    assert result.check("signature").ok is False
    assert "not signed" in result.check("signature").detail
    assert result.check("request").ok is True  # the request travels, hash and all


def _pdfsig(pdf: bytes, tmp_path: Any) -> str:
    """What Poppler's ``pdfsig`` (the reader behind Evince, Okular and most Linux viewers)
    says about the file's signature."""
    import subprocess

    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdfsig", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


def test_a_common_reader_finds_the_signature_valid_and_the_document_whole(
    issuers: Issuers, tmp_path: Any
) -> None:
    """Item 5 of issue 24: what a State outside the network opens it with verifies it."""
    made = _signed(issuers, signer=issuers.signer())
    said = _pdfsig(made.pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in said, said
    assert "Total document signed" in said
    assert "OU=xa-ca" in said and "Signing Hash Algorithm: SHA-256" in said
    assert verify(made.pdf, issuers.trust).ok


def test_a_common_reader_sees_a_changed_byte(issuers: Issuers, tmp_path: Any) -> None:
    pdf = bytearray(_signed(issuers, signer=issuers.signer()).pdf)
    at = pdf.index(b"/MediaBox")
    pdf[at + 12] = ord("9") if pdf[at + 12] != ord("9") else ord("8")
    said = _pdfsig(bytes(pdf), tmp_path)
    assert "Signature is Valid." not in said, said
    assert "Digest Mismatch" in said or "Signature is Invalid" in said


def test_a_p256_key_listed_for_another_node_is_refused(issuers: Issuers) -> None:
    """The document key is matched by its whole point (x and y), and for the node that the
    certificate names: another node's P-256 key does not sign for this one."""
    made = _signed(issuers, signer=issuers.signer(issuers.other_keys, node="xa-ca"))
    result = verify(made.pdf, issuers.trust)
    assert result.check("signer").ok is False
    assert "the certificate names node 'xa-ca', but the key is xb-ca's" in (
        result.check("signer").detail
    )


@pytest.mark.parametrize("use", ["doc", "sig"])
def test_a_document_signed_in_a_token_verifies_here_and_in_a_common_reader(
    softhsm: TokenSettings, use: str, tmp_path: Any
) -> None:
    """Issue 25 item 1: with the node's keys in a PKCS#11 token, the certificate and the
    document are signed there, and both hanoinet and Poppler find the signature valid."""
    from hanoinet.exchange import crypto
    from hanoinet.exchange.directory import Directory
    from hanoinet.exchange.keys import KeySet
    from hanoinet.exchange.token import open_token

    keys = KeySet.generate(AT - timedelta(days=10), open_token(softhsm))
    assert keys.active(use, AT).kept_in == "token"  # type: ignore[arg-type]
    authority = crypto.generate_signing_key()
    kid = crypto.thumbprint(crypto.public_jwk(authority))
    directory = Directory(
        version=1,
        issued_at=AT - timedelta(days=1),
        valid_until=AT + timedelta(days=90),
        nodes=(node_entry("xa-ca", "XA", keys),),
    )
    token = dirmod.issue(directory, authority, kid).token
    entry = directory.node("xa-ca")
    assert entry is not None
    made = _signed_by(Signer(entry, keys.active(use, AT), token))  # type: ignore[arg-type]
    result = verify(made.pdf, Trust({kid: crypto.public_jwk(authority)}))
    assert result.ok, result.to_json()
    assert result.to_json()["signer"]["kid"] == keys.active(use, AT).kid  # type: ignore[arg-type]
    if use == "doc":
        said = _pdfsig(made.pdf, tmp_path)
        assert "Signature Validation: Signature is Valid." in said, said
        assert "Total document signed" in said


def test_a_document_signed_in_its_keys_first_second_is_listed(issuers: Issuers) -> None:
    """A PDF's signing time is to the second; a key made half a second into that second
    signed it (a fast node renders within the second its keys were made): listed, where a
    time a whole second earlier is not."""
    entry = issuers.directory.node("xa-ca")
    assert entry is not None
    made = AT.replace(microsecond=0) + timedelta(milliseconds=500)
    keys = tuple(k.model_copy(update={"valid_from": made}) for k in entry.keys)
    directory = issuers.directory.model_copy(
        update={"nodes": (entry.model_copy(update={"keys": keys}), *issuers.directory.nodes[1:])}
    )
    doc = next(k for k in keys if k.use == "doc")
    members = ("doc", doc.x, doc.y)
    listed = signature._listed_signer(directory, members, made.replace(microsecond=0))
    assert not isinstance(listed, str) and listed[1].kid == doc.kid
    earlier = signature._listed_signer(directory, members, made - timedelta(seconds=2))
    assert isinstance(earlier, str) and "was not valid at" in earlier
