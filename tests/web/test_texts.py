"""The core's texts on a page: the template from the reader's catalog, each parameter by its
kind (a State's name, a field's label, channel and language names, an article key isolated,
English data and typed values marked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from types import SimpleNamespace

from hanoinet.convention import convention
from hanoinet.law.completeness import _missing
from hanoinet.services.cases import system_title
from hanoinet.texts import Codes, Data, Languages, State, t
from hanoinet.web import render
from hanoinet.web.texts import case_title, say


@contextmanager
def page_in(lang: str) -> Iterator[None]:
    token = render._current.set(render.translations(lang))
    lang_token = render._lang.set(lang)
    try:
        yield
    finally:
        render._current.reset(token)
        render._lang.reset(lang_token)


def test_each_parameter_is_shown_by_its_kind() -> None:
    text = t(
        "%(state)s does not accept requests by %(channel)s; it accepts %(channels)s%(demo)s",
        state=State("XA"),
        channel=Codes("channel", ("interpol",)),
        channels=Codes("channel", ("central_authority", "point_of_contact")),
        demo="",
    )
    with page_in("fr"):
        shown = unescape(say(text))
    assert shown.startswith("Aurélie (État de démonstration) n'accepte pas")
    assert "central_authority" not in shown and "Autorité centrale" in shown
    with page_in("ar"):
        assert "أوريليا" in say(text)
    with page_in("zh"):  # a State the English gives by its code is named on the page
        assert say(t("%(a)s", a=State("XB", named=False))).startswith("北极光")


def test_a_missing_content_names_the_field_by_its_label_and_isolates_the_key() -> None:
    requirement = next(r for r in convention().forms["mla_general"].requires if r.field == "matter")
    finding = _missing(requirement, "/matter/authority", "The authority conducting the matter")
    assert finding.message.endswith("Add it at /matter/authority")  # the CLI's English
    with page_in("es"):
        shown = say(finding.text)
    assert shown.startswith("Falta: La autoridad que dirige el asunto (")
    assert f'<bdi dir="ltr">{requirement.article}</bdi>' in shown
    assert "/matter" not in shown


def test_english_data_and_typed_values_are_marked() -> None:
    text = t(
        "In %(state)s the conduct is '%(offence)s', punishable by %(years)s years; extradition "
        "needs at least %(minimum)s year in both States (37(1))",
        state="QQ<b>",
        offence=Data("Computer trespass"),
        years="0.5",
        minimum=1,
    )
    with page_in("ru"):
        shown = say(text)
    assert '<bdi lang="en">Computer trespass</bdi>' in shown
    assert "<bdi data-user-text>QQ&lt;b&gt;</bdi>" in shown  # escaped, marked as typed
    assert shown.startswith("В государстве")  # noqa: RUF001


def test_languages_are_named_in_the_readers_language() -> None:
    text = t(
        "%(state)s accepts requests in %(languages)s",
        state=State("XB"),
        languages=Languages(("fr", "en")),
    )
    with page_in("es"):
        shown = say(text)
    assert "francés" in shown and "inglés" in shown and "fr, en" not in shown


def _case(title: str) -> SimpleNamespace:
    summary = SimpleNamespace(kind="preservation", requesting_state="XA", requested_state="XB")
    return SimpleNamespace(title=title, requests=[SimpleNamespace(summary=summary)])


def test_a_title_the_node_made_is_shown_translated_and_a_typed_one_as_written() -> None:
    made = system_title("preservation", "XA", "XB")
    assert made == f"{convention().forms['preservation'].title}: XA to XB"
    with page_in("fr"):
        assert "Aurélie (État de démonstration)" in case_title(_case(made))
        assert "XA to XB" not in case_title(_case(made))
        assert case_title(_case("Hospital intrusion")) == (
            "<bdi data-user-text>Hospital intrusion</bdi>"
        )
