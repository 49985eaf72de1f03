"""The core's texts: ``str()`` is the English sentence the CLI and the API give, whatever the
kinds of its parameters."""

from __future__ import annotations

from hanoinet.law.findings import Finding
from hanoinet.texts import Codes, Data, Field, FormTitle, Languages, State, States, t


def test_the_english_sentence_is_the_template_filled_in() -> None:
    text = t(
        "%(state)s accepts requests in %(languages)s by %(channels)s%(demo)s; see %(field)s",
        state=State("XB"),
        languages=Languages(("fr", "en")),
        channels=Codes("channel", ("central_authority", "interpol")),
        demo=t(" (illustrative demo designation)"),
        field=Field("/data/0/custodian"),
    )
    assert str(text) == (
        "Borealis (demo State) accepts requests in fr, en by central_authority, interpol"
        " (illustrative demo designation); see /data/0/custodian"
    )
    assert str(t("%(s)s and %(f)s", s=States(("XA", "XB")), f=FormTitle("Preservation"))) == (
        "Aurelia (demo State) (XA) and Borealis (demo State) (XB) and preservation"
    )
    assert str(t("No placeholder, 100%")) == "No placeholder, 100%"
    assert str(t("between %(a)s", a=State("XA", named=False))) == "between XA"


def test_a_finding_keeps_its_english_message_and_shape() -> None:
    finding = Finding("c", "error", "40(14)", "/language", t("In %(x)s", x=Data("English data")))
    assert finding.message == "In English data"
    assert finding.as_dict() == {
        "code": "c",
        "severity": "error",
        "article": "40(14)",
        "article_verified": False,
        "basis": "convention",
        "field": "/language",
        "message": "In English data",
    }
    plain = Finding("c", "info", None, "", "50% as typed", basis="format")
    assert plain.message == "50% as typed" and isinstance(plain.text.params["message"], Data)
    assert len({finding, finding}) == 1  # hashable, as before
