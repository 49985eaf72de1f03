"""What every page and API route shares: the node context, the clock, who is asking, and
``page`` to render a template with the layout's context."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hanoinet import __version__
from hanoinet.cases.approval import DEFAULT_POLICY, Policy
from hanoinet.services import users
from hanoinet.services.access import Principal, permissions
from hanoinet.services.cases import ACK_TARGETS
from hanoinet.services.evidence import STALL_AFTER
from hanoinet.services.federation import NodeContext
from hanoinet.services.stats import DEFAULT_THRESHOLD
from hanoinet.web import auth
from hanoinet.web.render import N_, choose_language, render
from hanoinet.web.vocabulary import ROLE_NAMES


@dataclass
class Web:
    """Stored on ``app.state.web``: the node and its clock (tests set the clock)."""

    ctx: NodeContext
    clock: Callable[[], datetime]
    directory_token: str | None = None
    ack_targets: dict[str, timedelta] = field(default_factory=lambda: dict(ACK_TARGETS))
    """The 24/7 desk's acknowledgement targets by urgency (docs/settings.md)."""
    approval: Policy = DEFAULT_POLICY
    """Which outgoing requests a supervisor approves before they are sent (HANOINET_APPROVAL)."""
    evidence_dir: Path | None = None
    """Where evidence packages are received and kept (``<data dir>/evidence``); None: none."""
    stats_threshold: int = DEFAULT_THRESHOLD
    """Counts below this are withheld from the statistics (HANOINET_STATS_THRESHOLD)."""
    mailer: Any = None
    """The mail server for requests to States that run no node (services/outside.py
    ``Mailer``, HANOINET_SMTP_*); None: sending by e-mail is not offered."""
    transfer_alarm: timedelta = STALL_AFTER
    """An evidence transfer unmoved for longer is stalled (HANOINET_TRANSFER_ALARM_MINUTES)."""


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def now(request: Request) -> datetime:
    return web(request).clock()


def session(request: Request) -> users.Session | None:
    """The logged-in (full) session of the request, or None."""
    found = auth.current_session(request, web(request).ctx.store, now(request))
    return found if found is not None and found.stage == "full" else None


def principal(request: Request) -> Principal | None:
    """A person logged in, or a system with an API token."""
    found = session(request)
    if found is not None:
        return found.principal
    return auth.bearer_principal(request, web(request).ctx.store, now(request))


def page(
    request: Request,
    template: str,
    title: str,
    *,
    status_code: int = 200,
    active: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the layout's context: the user, their permissions, the form token,
    the language and time zone."""
    current = session(request)
    csrf = current.csrf if current else auth.anonymous_csrf(request)
    lang = choose_language(request, current.locale if current else None)
    response = render(
        request,
        template,
        {
            "title": title,
            "user": current,
            "permissions": permissions(current.role) if current else frozenset(),
            "role_names": ROLE_NAMES,
            "csrf": csrf,
            "node_id": web(request).ctx.node_id,
            "version": __version__,
            "active": active,
            **context,
        },
        lang=lang,
        time_zone=current.time_zone if current else "UTC",
        status_code=status_code,
    )
    if current is None:
        auth.remember_anonymous_csrf(request, response)
    response.headers["cache-control"] = "no-store"
    return response


def message_page(
    request: Request, title: str, heading: str, text: str, status_code: int
) -> HTMLResponse:
    """A page that only says something: not found, not allowed, not saved (English texts
    marked with ``N_``, translated when shown)."""
    return page(request, "message.html", title, heading=heading, text=text, status_code=status_code)


def login_first(request: Request, *, to: str | None = None) -> Response:
    """To the log-in page, and back to this page (or the page ``to``) once logged in."""
    back = to or request.url.path
    return RedirectResponse("/login?" + urlencode({"next": back}), status_code=303)


def attachment(
    body: str | bytes,
    media_type: str,
    name: str,
    *,
    inline: bool = False,
    cache: str = "no-store",
) -> Response:
    """A file to save as ``name`` (or, ``inline``, to open in the browser); by default never
    kept by a browser or proxy (what it holds is the node's, not public)."""
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": disposition("inline" if inline else "attachment", name),
            "cache-control": cache,
        },
    )


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")


def disposition(kind: str, name: str) -> str:
    """A Content-Disposition header (RFC 6266) that stays one well-formed header whatever
    ``name`` holds: letters, digits, ``.``, ``_`` and ``-`` as they are, anything else ``_``
    in ``filename``; the name as it is, percent-encoded, in ``filename*`` (RFC 8187)."""
    plain = _UNSAFE_IN_NAME.sub("_", name) or "download"
    if plain == name:
        return f'{kind}; filename="{plain}"'
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def forbidden(request: Request) -> HTMLResponse:
    """The page of a role that does not open this one."""
    return message_page(
        request,
        N_("Not allowed"),
        N_("Your role does not open this page"),
        N_("Ask your node administrator if you need it."),
        403,
    )


def no_such_request(request: Request) -> HTMLResponse:
    """The one answer for a request that does not exist and one the reader may not see."""
    return message_page(
        request,
        N_("Not found"),
        N_("No such case or request"),
        N_("It does not exist on this node, or your role does not show it."),
        404,
    )
