"""The case page as the requested State's officer works from it (issue 21): the request itself,
every field the requesting State sent, the same as the API gives; what can be done now, in
order, and the confirmation of what was done; a refused action at its field, in the page's
language, with nothing of the command line or of internal action names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.web.case_view import leaves

from .test_pages import T0, Node, action_buttons, csrf_of, first_log_in, make_node

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOCUMENTS = sorted(
    [("examples", p.name, p.read_text("utf-8")) for p in EXAMPLES.glob("*.json")]
    + [
        ("demo_data", f.name, f.read_text("utf-8"))
        for f in resources.files("hanoinet.demo_data").iterdir()
        if f.name.endswith(".json")
    ]
)
"""Every illustrative request the project ships: each form the demo sends."""
LEAF = re.compile(r'<data value="([^"]*)" data-field="([^"]+)">')
CLI_OR_CODE = re.compile(r"--[a-z]|\b[a-z]+_[a-z_]+\b")


@pytest.fixture
def node(tmp_path: Path, store_factory: Any) -> Iterator[Node]:
    """A node on SQLite: what the page shows does not depend on the database."""
    with store_factory("sqlite", tmp_path) as store:
        yield make_node(store)


def receive(node: Node, text: str, **changes: Any) -> str:
    document = {**json.loads(text), **changes}
    return case_service.new_case(
        node.store, json.dumps(document), direction="incoming", actor="node:xa-ca", at=T0
    ).request_id


def shown_leaves(html: str) -> set[tuple[str, str]]:
    return {(path, unescape(value)) for value, path in LEAF.findall(html)}


def visible(html: str) -> str:
    """The text a reader sees: no tags, no attribute values, no scripts."""
    main = html.split("<main", 1)[1]
    return unescape(re.sub(r"<[^>]+>", " ", main))


@pytest.mark.parametrize(("where", "name", "text"), DOCUMENTS, ids=lambda v: str(v)[:30])
def test_the_page_shows_every_field_the_api_gives(
    node: Node, where: str, name: str, text: str
) -> None:
    received = receive(node, text)
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}")
    assert page.status_code == 200
    token = users.create_token(node.store, "carl", "api", "read", actor="admin", at=T0)
    api = officer.get(f"/api/v1/requests/{received}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    sent = json.loads(text)
    (given,) = [r for r in api.json()["requests"] if r["id"] == received]
    assert leaves(given["document"]) == leaves(sent)  # the API gives the document
    assert shown_leaves(page.text) == leaves(sent)  # the page, every leaf and nothing else
    # The user's text is visible as written, isolated, in the document's language.
    assert re.search(
        rf'<bdi data-user-text lang="en">{re.escape(sent["facts_summary"])}</bdi>',
        unescape(page.text),
    )
    assert "Written in English" in page.text
    # Codes are named, not shown raw: the States by their names.
    assert "Aurelia" in visible(page.text).split("The request", 1)[1]


def test_the_most_urgent_field_comes_first(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    emergency = receive(node, by_name["emergency-xa-xb.json"])
    preservation = receive(node, by_name["preservation-xa-xb.json"])
    mla = receive(node, by_name["mla-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")

    def order(ident: str) -> list[str]:
        fields = [path for _v, path in LEAF.findall(officer.get(f"/requests/{ident}").text)]
        return list(dict.fromkeys(p.split(".")[0] for p in fields))

    assert order(emergency)[0] == "emergency"
    assert '<div class="pair first"><dt>The emergency' in officer.get(f"/requests/{emergency}").text
    assert order(preservation)[:2] == ["data", "necessity"]
    assert order(mla)[0] == "assistance_sought"
    # Routing comes last, after the content.
    assert order(mla)[-3:] == ["channel", "language", "format"]


def test_an_unknown_field_is_shown_not_dropped(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["mla-xa-xb.json"], x_note={"said": "Call first"})
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}").text
    assert ("x_note.said", "Call first") in shown_leaves(page)
    assert "<code>x_note</code>" in page


def test_the_request_is_named_in_the_readers_language(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["preservation-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    officer.get("/language", params={"lang": "fr", "next": "/"})
    page = officer.get(f"/requests/{received}").text
    assert "Rédigée en anglais" in page
    assert "Données relatives au trafic" in page  # a code by its translated name
    assert '<bdi data-user-text lang="en">Logs are kept 7 days only.</bdi>' in page  # as written
    # The case's title nobody wrote (the form and the two States) is in French too.
    from hanoinet.web.render import translations

    form = translations("fr").ugettext("Expedited preservation of stored electronic data")
    assert form != "Expedited preservation of stored electronic data"
    heading = re.search(r"<h1>(.*?)</h1>", unescape(page), re.S)
    assert heading is not None and form in heading[1]
    assert re.search(rf"<title>{re.escape(form)}[^<]*· hanoinet</title>", unescape(page))


def test_answering_a_status_enquiry_is_offered_once_one_is_received(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["mla-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}").text
    assert "answer_status_enquiry" not in action_buttons(page)
    # acknowledging comes first
    assert re.findall(r'name="action" value="([a-z_]+)"', page)[0] == "acknowledge"
    case_service.act(
        node.store, received, "status_enquiry", actor="node:xa-ca", at=T0, from_peer=True
    )
    asked = officer.get(f"/requests/{received}").text
    assert "answer_status_enquiry" in action_buttons(asked)
    assert asked.index("What you can do now") < asked.index("The request")


def test_an_action_says_what_it_did(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["emergency-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}")
    done = officer.post(
        f"/requests/{received}/act", data={"csrf": csrf_of(page.text), "action": "acknowledge"}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=acknowledge")
    shown = officer.get(done.headers["location"]).text
    said = re.search(r'<p class="confirmation" role="status">([^<]*)</p>', shown)
    assert said is not None
    assert said.group(1).startswith(f"Acknowledged at {T0:%Y-%m-%d %H:%M} UTC.")
    # The message to the requesting State is queued: said, and no delivery claimed.
    assert "Aurelia (demo State) (XA) is being told: the message is queued" in said.group(1)
    assert "receipt)" not in said.group(1)
    # An action that leaves the state as it was is named.
    consulted = officer.post(
        f"/requests/{received}/act",
        data={"csrf": csrf_of(shown), "action": "consult", "reason": "Can you narrow it?"},
    )
    again = officer.get(consulted.headers["location"]).text
    assert "Done: Consult the requesting State, at 2026-11-24 03:00 UTC." in again
    # A link for an action that is not the last one confirms nothing.
    assert "confirmation" not in officer.get(f"/requests/{received}?done=refuse").text


def test_the_time_of_a_confirmation_reads_left_to_right_in_arabic() -> None:
    """Inside an Arabic sentence the date and time are isolated (U+2066 ... U+2069), else the
    bidirectional algorithm shows the time before the date; other languages need nothing."""
    from hanoinet.cases.lifecycle import Event
    from hanoinet.web.case_view import confirmation

    done = [Event("acknowledge", T0, "dora", "requested", "40(25)", "received", "acknowledged")]
    stamp = f"{T0:%Y-%m-%d %H:%M} UTC"
    arabic = confirmation(done, [], "XA", "acknowledge", "ar")
    assert arabic is not None and f"\u2066{stamp}\u2069" in arabic
    english = confirmation(done, [], "XA", "acknowledge", "en")
    assert english == f"Acknowledged at {stamp}."


def test_the_third_state_is_chosen_from_the_states(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["preservation-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}")
    officer.post(
        f"/requests/{received}/act", data={"csrf": csrf_of(page.text), "action": "acknowledge"}
    )
    form = officer.get(f"/requests/{received}").text
    assert '<select id="disclose_partial_traffic-third_state" name="third_state">' in form
    assert '<option value="XC">' in form and '<option value="FR">France (FR)</option>' in form
    assert 'name="third_state" value=' not in form  # no free text box
    done = officer.post(
        f"/requests/{received}/act",
        data={
            "csrf": csrf_of(form),
            "action": "disclose_partial_traffic",
            "third_state": "XC",
        },
    )
    assert done.status_code == 303


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Give the reasons for the refusal in writing (art. 40(24))"),
        ("fr", "Donnez par écrit les motifs du refus (art. 40(24))"),
    ],
)
def test_a_refused_action_says_what_to_fill_in_at_the_field(
    node: Node, lang: str, expected: str
) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["mla-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    officer.get("/language", params={"lang": lang, "next": "/"})
    token = csrf_of(officer.get(f"/requests/{received}").text)
    officer.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "consult", "reason": "Partial assistance?"},
    )
    refused = officer.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "refuse", "ground": "essential_interests", "reason": ""},
    )
    assert refused.status_code == 400
    at_field = re.search(
        r'<div class="field invalid">\s*<label for="refuse-reason">[^<]*</label>\s*'
        r'<p class="field-error">([^<]*)</p>',
        refused.text,
    )
    assert at_field is not None and unescape(at_field.group(1)) == expected
    problem = visible(refused.text).split("Timeline" if lang == "en" else "Chronologie")[0]
    messages = [
        unescape(m) for m in re.findall(r'<p class="field-error">([^<]*)</p>', refused.text)
    ]
    for message in messages:
        assert not CLI_OR_CODE.search(message), message
    summary = refused.text.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert not CLI_OR_CODE.search(re.sub(r"<[^>]+>", " ", summary)), summary
    assert "--reason" not in problem and "refuse_" not in problem
    # an action not open now says so without its code
    again = officer.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "answer_status_enquiry", "reason": "All fine"},
    )
    assert again.status_code == 400
    summary = again.text.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "answer_status_enquiry" not in summary and "--" not in summary
    assert "(art. 40(25))" in summary


def test_a_role_that_does_not_act_is_told_so_in_the_pages_language(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    received = receive(node, by_name["mla-xa-xb.json"])
    boss, _ = first_log_in(node, "sam", "supervisor")
    boss.get("/language", params={"lang": "fr", "next": "/"})
    token = csrf_of(boss.get(f"/requests/{received}").text)
    refused = boss.post(f"/requests/{received}/act", data={"csrf": token, "action": "acknowledge"})
    assert refused.status_code == 403
    summary = refused.text.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Votre rôle ne permet pas cette action sur cette demande." in summary
    assert "supervisor" not in summary and "acknowledge" not in summary


def _peer(node: Node, request_id: str, ref: str | None, peer: str = "xa-ca") -> None:
    from sqlalchemy import update

    from hanoinet.store.schema import requests

    with node.store.transaction() as conn:
        conn.execute(
            update(requests).where(requests.c.id == request_id).values(peer_node=peer, peer_ref=ref)
        )


def test_both_states_references_on_the_case_page_the_desk_and_the_list(node: Node) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    known = receive(node, by_name["preservation-xa-xb.json"])
    _peer(node, known, "AU/2026-17")
    unknown = receive(node, by_name["emergency-xa-xb.json"])
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = visible(officer.get(f"/requests/{known}").text)
    assert f"Our reference {known} · Reference of Aurelia (demo State) (XA): AU/2026-17" in (
        " ".join(page.split())
    )
    page = visible(officer.get(f"/requests/{unknown}").text)
    assert "Reference of Aurelia (demo State) (XA): not yet known" in " ".join(page.split())
    listed = visible(officer.get("/requests").text)
    assert "Their reference AU/2026-17" in " ".join(listed.split())
    desk, _ = first_log_in(node, "dora", "duty_officer")
    assert "Their reference AU/2026-17" in " ".join(visible(desk.get("/desk").text).split())
    officer.get("/language", params={"lang": "fr", "next": "/"})
    page = " ".join(visible(officer.get(f"/requests/{known}").text).split())
    assert "Référence attribuée par Aurélie (État de démonstration) (XA) : AU/2026-17" in page


def test_a_follow_up_is_linked_both_ways_or_named_by_the_other_states_reference(
    node: Node,
) -> None:
    by_name = {name: text for _where, name, text in DOCUMENTS}
    preservation = receive(node, by_name["preservation-xa-xb.json"])
    _peer(node, preservation, "R-000005")
    mla = receive(node, by_name["mla-xa-xb.json"], related_request="R-000005")
    _peer(node, mla, "R-000009")
    elsewhere = receive(node, by_name["mla-xa-xb.json"], related_request="R-000077")
    _peer(node, elsewhere, "R-000010")
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    html = officer.get(f"/requests/{mla}").text
    assert re.search(rf'<dt>Follows</dt><dd><a href="/requests/{preservation}">', html)
    html = officer.get(f"/requests/{preservation}").text
    assert re.search(rf'<dt>Followed by</dt><dd><a href="/requests/{mla}">', html)
    page = " ".join(visible(officer.get(f"/requests/{elsewhere}").text).split())
    assert "Follows their reference R-000077 (not on this node)" in page
