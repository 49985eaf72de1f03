"""Who is asking, for pages and for the API; CSRF on every form.

Pages: the ``hanoinet_session`` cookie (HttpOnly, SameSite=Strict, Secure over
HTTPS). Forms carry the session's CSRF token in a hidden ``csrf`` field (htmx
sends it as ``X-CSRF-Token``); before log-in, a double-submit cookie plays that
part. The API: ``Authorization: Bearer hn_...`` (an API token) or the session
cookie with the ``X-CSRF-Token`` header for unsafe methods.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from hanoinet.services import users
from hanoinet.services.access import Principal
from hanoinet.store import Store

SESSION_COOKIE = "hanoinet_session"
ANON_CSRF_COOKIE = "hanoinet_csrf"
CSRF_HEADER = "x-csrf-token"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def current_session(request: Request, store: Store, at: datetime) -> users.Session | None:
    cached = request.scope.get("hanoinet.session", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    found = users.session(store, request.cookies.get(SESSION_COOKIE), at=at)
    request.scope["hanoinet.session"] = found
    return found


def anonymous_csrf(request: Request) -> str:
    """The pre-log-in form token: the cookie's value, or a new one (set by ``remember``)."""
    token = request.cookies.get(ANON_CSRF_COOKIE) or request.scope.get("hanoinet.anon_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.scope["hanoinet.anon_csrf"] = token
    return str(token)


def remember_anonymous_csrf(request: Request, response: Response) -> None:
    fresh = request.scope.get("hanoinet.anon_csrf")
    if fresh:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            fresh,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def bearer_principal(request: Request, store: Store, at: datetime) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return users.token_principal(store, token.strip(), at=at)
