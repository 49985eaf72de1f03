"""Every page of the desk in each of the five languages other than English shows no English
fixed text (issue 21): findings, clock reminders, case titles the node makes, wizard hints,
State and language names, "art.", all in the reader's language.

One node with demo-like data (requests received and sent in several states, findings, clocks,
a status enquiry, an escalation), each role logged in once; every page is fetched in ar, zh,
fr, ru, es. What a page shows, less what people typed (``data-user-text``) and what says it is
in another language (a ``lang`` attribute other than the page's: the document's own text, the
language menu, English data), must contain no English text of the catalog (a msgid translated
otherwise, or a piece of one between its placeholders), no English State name and no English
language name. The failure names the page, the language and the English text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from hanoinet.registry.participants import participant
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.store import open_store
from hanoinet.web.catalogs import po_path
from hanoinet.web.render import LANGUAGES

from .test_pages import EXAMPLES, FAST_HASHER, T0, Node, first_log_in, make_node
from .test_pages_evidence import _conditions, put_package, put_permission

OTHERS = LANGUAGES[1:]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
SKIPPED_TAGS = {"script", "style", "textarea", "code", "pre", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
SAME_EVERYWHERE = {"INTERPOL", "hanoinet", "SHA-256", "UTC", "TOTP", "PDF", "CSV", "JSON"}
"""Names that are the same in every language (and so never a sign of English)."""


class _Reader(HTMLParser):
    """The text of a page in the page's language: less user text and other languages."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[bool] = []  # per open element: is it skipped?
        self.parts: list[str] = []

    def _skipped(self, tag: str, attrs: dict[str, str | None]) -> bool:
        declared = attrs.get("lang")
        return (
            tag in SKIPPED_TAGS
            or "data-user-text" in attrs
            or (declared is not None and declared != self.lang)
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        skipped = (bool(self.stack) and self.stack[-1]) or self._skipped(tag, found)
        if not skipped:
            self.parts.extend(str(found[a]) for a in ATTRIBUTES if found.get(a))
            if tag == "input" and found.get("type") in ("submit", "button"):
                self.parts.append(str(found.get("value") or ""))
        if tag not in VOID:
            self.stack.append(skipped)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not (self.stack and self.stack[-1]) and not self._skipped(tag, dict(attrs)):
            self.parts.extend(str(v) for a, v in attrs if a in ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def shown(html: str, lang: str) -> str:
    reader = _Reader(lang)
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


def _fragments(msgid: str) -> Iterator[str]:
    for piece in PLACEHOLDER.split(msgid):
        piece = " ".join(piece.split()).strip(" ,;:.()—·'\"")
        words = re.findall(r"[A-Za-z]{2,}", piece)
        if piece in SAME_EVERYWHERE or not words:
            continue
        if len(words) >= 2 or len(piece) >= 4:
            yield piece


def _strings(message: Any) -> tuple[str, ...]:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return tuple(s for s in strings if s)


def english_texts(lang: str) -> list[str]:
    """What would be English on a page in ``lang``: the catalog's texts this language
    translates otherwise (less any that is also a word of the language, as "Article" is in
    French), English State names and English language names."""
    with po_path(lang).open("rb") as handle:
        catalog = read_po(handle)
    found: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = _strings(message)
        for msgid in ids:
            if msgid in strings:
                continue
            found.update(f for f in _fragments(msgid) if not any(f in s for s in strings))
    translated = " ".join(s for m in catalog for s in _strings(m))
    found = {f for f in found if not re.search(rf"\b{re.escape(f)}\b", translated)}
    for code in ("XA", "XB", "XC"):
        found.add(participant(code).name("en"))
    for code in LANGUAGES:
        english = Locale.parse(code).get_display_name("en")
        if english and english != Locale.parse(code).get_display_name(lang):
            found.add(english)
    return sorted(found, key=len, reverse=True)


@cache
def _needle(text: str) -> re.Pattern[str]:
    """The pattern of one English text, compiled once: there are some 2,000 a language, past
    what the re module keeps, so each page compiled them all again."""
    pattern = (r"\b" if text[0].isalnum() else "") + re.escape(text)
    return re.compile(pattern + (r"\b" if text[-1].isalnum() else ""))


def english_on(text: str, needles: list[str]) -> list[str]:
    """Each English text found, with a few words around it."""
    hits = []
    for needle in needles:
        found = _needle(needle).search(text)
        if found:
            around = text[max(0, found.start() - 40) : found.end() + 40]
            hits.append(f"{needle!r} in «{around}»")
    return hits


# --- one node with demo-like data, every role logged in ---------------------------------------


@dataclass
class Desk:
    node: Node
    clients: dict[str, TestClient]
    pages: dict[str, tuple[str, str]]
    """name -> (role, path)"""


def _document(example: str, **changes: Any) -> str:
    return json.dumps({**json.loads((EXAMPLES / f"{example}-xa-xb.json").read_text()), **changes})


def _seed(node: Node) -> dict[str, tuple[str, str]]:
    store = node.store

    def received(example: str, **changes: Any) -> str:
        return case_service.new_case(
            store, _document(example, **changes), direction="incoming", actor="node:xa-ca", at=T0
        ).request_id

    def act(rid: str, *actions: str, **kw: Any) -> None:
        for action in actions:
            case_service.act(store, rid, action, actor="carl", at=T0 + timedelta(minutes=5), **kw)

    mla = received("mla", deadline={"date": "2026-12-20", "reason": "Trial date"})
    preserved = received("preservation")
    act(preserved, "acknowledge", "record_preserved")
    emergency = received("emergency", oral=True)
    enquired = received("mla")
    act(enquired, "acknowledge")
    case_service.act(store, enquired, "status_enquiry", actor="node:xa-ca", at=T0, from_peer=True)
    # outgoing: a draft with errors (XB to XA) and one checked
    draft_doc = json.loads(_document("mla"))
    draft_doc.update(requesting_state="XB", requested_state="XA", facts_summary="")
    draft_doc.pop("matter", None)
    draft = case_service.new_case(
        store, json.dumps(draft_doc), direction="outgoing", actor="carl", at=T0
    ).request_id
    case_service.tick(store, at=T0 + timedelta(days=2), ack_targets=case_service.ACK_TARGETS)
    # evidence: one on its way out, one delivered; one accepted in (with permissions), one
    # refused
    put_package(store, "EV-xb-ca-000001", mla, "outgoing", "sending", next_chunk=3)
    put_package(store, "EV-xb-ca-000002", mla, "outgoing", "delivered", conditions=_conditions(mla))
    imposed = ("Not to be shown to the press before the trial",)
    put_package(
        store,
        "EV-xa-ca-000001",
        draft,
        "incoming",
        "accepted",
        chunks=2,
        next_chunk=2,
        conditions=_conditions(draft, imposed=imposed),
    )
    put_permission(store, "EV-xa-ca-000001", "consent", "Proceedings 2027/44", "XA-44/1")
    put_package(
        store,
        "EV-xa-ca-000003",
        draft,
        "incoming",
        "refused",
        reason=[{"code": "damaged", "where": "EV-xa-ca-000003", "message": "chunks missing"}],
    )
    return {
        "incoming MLA, received": ("officer", f"/requests/{mla}"),
        "incoming preservation, preserved": ("officer", f"/requests/{preserved}"),
        "incoming emergency, oral": ("officer", f"/requests/{emergency}"),
        "incoming MLA, status enquiry": ("officer", f"/requests/{enquired}"),
        "evidence section, sent": ("officer", f"/requests/{mla}/evidence"),
        "evidence section, received": ("officer", f"/requests/{draft}/evidence"),
        "outgoing draft": ("officer", f"/requests/{draft}"),
        "drafting, new": ("officer", "/drafts/new"),
        "drafting, first step": ("officer", f"/drafts/{draft}"),
        "drafting, preview": ("officer", f"/drafts/{draft}/preview"),
        "desk": ("duty", "/desk"),
        "requests": ("officer", "/requests"),
        "audit": ("supervisor", "/audit"),
        "statistics": ("supervisor", "/statistics"),
        "users": ("admin", "/users"),
        "a user": ("admin", "/users/carl"),
        "article 42": ("officer", "/convention/42"),
        "article 40": ("officer", "/convention/40"),
        "treaty": ("anonymous", "/public/treaty"),
        "directory": ("anonymous", "/public/directory"),
        "log-in": ("anonymous", "/login"),
    }


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder: Path = tmp_path_factory.mktemp("translations")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "_HASHER", FAST_HASHER)
        store = open_store(f"sqlite:///{folder / 'node.db'}")
        try:
            node = make_node(store)
            pages = _seed(node)
            node.at(timedelta(days=3))
            clients = {"anonymous": node.client()}
            for name, username, role in (
                ("officer", "carl", "central_authority_officer"),
                ("duty", "dora", "duty_officer"),
                ("supervisor", "sue", "supervisor"),
                ("admin", "ada", "node_admin"),
            ):
                clients[name], _ = first_log_in(node, username, role)
            # the wizard's other steps, from the first step's links
            first = clients["officer"].get(pages["drafting, first step"][1]).text
            for step in sorted(set(re.findall(r'\?step=([a-z_]+)"', first))):
                pages[f"drafting, step {step}"] = (
                    "officer",
                    f"{pages['drafting, first step'][1]}?step={step}",
                )
            evidence = clients["officer"].get(pages["evidence section, received"][1]).text
            assert "EV-xa-ca-000001" in evidence and "EV-xa-ca-000003" in evidence
            yield Desk(node, clients, pages)
        finally:
            store.dispose()


@pytest.mark.parametrize("lang", OTHERS)
def test_no_english_fixed_text_on_any_page(desk: Desk, lang: str) -> None:
    needles = english_texts(lang)
    for client in desk.clients.values():
        client.cookies.set("hanoinet_lang", lang)
        if client is not desk.clients["anonymous"]:
            client.get("/language", params={"lang": lang, "next": "/"})
    problems = []
    for name, (role, path) in desk.pages.items():
        response = desk.clients[role].get(path)
        assert response.status_code == 200, f"{name} ({path}) in {lang}: {response.status_code}"
        if "<html" in response.text[:200]:  # a whole page (the evidence section is a part)
            assert f'<html lang="{lang}"' in response.text, f"{name} is not in {lang}"
        for english in english_on(shown(response.text, lang), needles):
            problems.append(f"{name} ({path}), {lang}: {english}")
    assert not problems, "English on a page in another language:\n" + "\n".join(problems)


def test_the_reader_skips_user_text_and_other_languages() -> None:
    html = (
        '<p>Bonjour <bdi data-user-text>Status</bdi> <span lang="en">Findings</span> '
        '<span title="Clocks">x</span><code>art.</code></p>'
    )
    assert shown(html, "fr") == "Bonjour Clocks x"
    assert english_on("Les Clocks", ["Clocks", "art."]) == ["'Clocks' in «Les Clocks»"]
    assert english_on("Clockswork", ["Clocks"]) == []
