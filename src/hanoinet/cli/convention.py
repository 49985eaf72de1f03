"""``hanoinet convention``: what an article says, in any of the six UN languages."""

from __future__ import annotations

from typing import Annotated

import typer

from hanoinet.cli.output import fail, print_json, say, user_errors
from hanoinet.convention import (
    AUTHORITATIVE_TEXT,
    LANGUAGES,
    UNCONFIRMED,
    UNVERIFIED_ARTICLE,
    convention,
)

app = typer.Typer(
    help="The Convention as data: articles and their provisions.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]


def _mark(verified: bool, article_level: bool = False) -> str:
    if verified:
        return ""
    return f" [{UNVERIFIED_ARTICLE if article_level else UNCONFIRMED}]"


@app.command("article")
def article_command(
    given: Annotated[str, typer.Argument(help="Article number, 1 to 68.", metavar="N")],
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the title: " + ", ".join(LANGUAGES) + ".")
    ] = "en",
    json: Json = False,
) -> None:
    """An article: chapter, title, the provisions hanoinet knows, and what cites it."""
    if lang not in LANGUAGES:
        fail(f"--lang '{lang}' is not a UN language; use one of {', '.join(LANGUAGES)}")
    if not given.isascii() or not given.isdigit():
        fail(f'"{given}" is not an article number (1-68)')
    number = int(given)
    c = convention()
    with user_errors():
        article = c.article(number)
    chapter = c.chapter_of(article)
    title = article.title.get(lang)
    chapter_title = chapter.title.get(lang)
    provisions = c.provisions_of(number)
    key = str(number)
    forms = [
        f
        for f in c.forms.values()
        if any(k == key or k.startswith(key + "(") for k in f.articles)
        or any(r.article == key or r.article.startswith(key + "(") for r in f.requires)
    ]
    periods = [p for p in c.periods.values() if p.article == key or p.article.startswith(key + "(")]
    if json:
        print_json(
            {
                "number": article.number,
                "chapter": {
                    "number": chapter.roman,
                    "title": chapter_title.text,
                    "status": chapter_title.status,
                },
                "lang": lang,
                "title": title.text,
                "title_status": title.status,
                "title_source": title.source,
                "titles": {
                    code: {
                        "text": article.title.get(code).text,
                        "status": article.title.get(code).status,
                    }
                    for code in LANGUAGES
                },
                "verified": article.verified,
                "text_url": AUTHORITATIVE_TEXT[lang],
                "provisions": [
                    {"key": p.key, "text": p.text, "verified": p.verified} for p in provisions
                ],
                "cooperation_forms": [f.key for f in forms],
                "periods": [
                    {"id": p.id, "value": p.value, "unit": p.unit, "article": p.article}
                    for p in periods
                ],
            }
        )
        return
    translation = "" if title.status == "official" else " (unofficial translation)"
    say(
        f"Article {article.number} — {title.text}{translation}{_mark(article.verified, True)}",
    )
    say(f"Chapter {chapter.roman}: {chapter_title.text}")
    say(f"Authoritative text: {AUTHORITATIVE_TEXT[lang]} (A/RES/79/243, annex)")
    if provisions:
        say("Provisions (paraphrase, not the text of the Convention):")
        for p in provisions:
            say(f"  {p.key}{_mark(p.verified)} {p.text}")
    if forms:
        say(
            "Cooperation forms citing it: " + ", ".join(f"{f.key} ({f.title})" for f in forms),
        )
    for period in periods:
        say(
            f"Period: {period.value} {period.unit} — {period.text} ({period.article})",
        )


@app.command("search")
def search_command(
    text: Annotated[
        str, typer.Argument(help="Words to find in titles (any UN language) and provisions.")
    ],
    json: Json = False,
) -> None:
    """Find articles and provisions by words in their title or paraphrase."""
    if not text.strip():
        fail("give some words to search for, e.g. hanoinet convention search preservation")
    hits = convention().search(text)
    if json:
        print_json(
            {
                "query": text,
                "hits": [
                    {"key": h.key, "lang": h.lang, "text": h.text, "verified": h.verified}
                    for h in hits
                ],
            }
        )
        return
    if not hits:
        say(f"Nothing in the Convention's titles or provisions matches '{text}'.")
        return
    for h in hits:
        say(f"{h.key:<10} {h.text}{_mark(h.verified, '(' not in h.key)}")
