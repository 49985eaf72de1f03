"""The Convention's articles as hanoinet knows them, for the links beside every finding.

hanoinet keeps paraphrases, not the treaty's text (convention/data): each page shows the
article's title in the reader's language (marked where the translation is ours), the
provisions hanoinet cites with their verified mark, and links to the authoritative text
(A/RES/79/243) in the reader's language. Public: no log-in, no case content.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hanoinet.convention import convention
from hanoinet.convention.catalog import AUTHORITATIVE_TEXT, UNCONFIRMED, UNVERIFIED_ARTICLE
from hanoinet.errors import UnknownArticle
from hanoinet.web.common import message_page, page, session
from hanoinet.web.render import N_, choose_language

router = APIRouter(include_in_schema=False)


@router.get("/convention/{number}")
def article_page(request: Request, number: str) -> Response:
    current = session(request)
    lang = choose_language(request, current.locale if current else None)
    try:
        if not number.isascii() or not number.isdigit() or len(number) > 3:
            raise ValueError(number)  # one address per article: /convention/42 only
        article = convention().article(int(number))
    except (UnknownArticle, ValueError):
        return message_page(
            request,
            N_("Not found"),
            N_("No such article"),
            N_("Use the number of one of the Convention's articles, such as 42."),
            404,
        )
    chapter = convention().chapter_of(article)
    offences = [o for o in convention().offences.values() if o.article == str(article.number)]
    return page(
        request,
        "article.html",
        N_("Convention article"),
        article=article,
        title_label=article.title.get(lang),
        chapter=chapter,
        chapter_label=chapter.title.get(lang),
        provisions=convention().provisions_of(article.number),
        offences=offences,
        forms=[f for f in convention().forms.values() if str(article.number) in f.articles],
        text_url=AUTHORITATIVE_TEXT.get(lang, AUTHORITATIVE_TEXT["en"]),
        unconfirmed=UNCONFIRMED,
        unverified=UNVERIFIED_ARTICLE,
        previous=article.number - 1 if article.number > 1 else None,
        following=article.number + 1 if article.number < len(convention().articles) else None,
    )
