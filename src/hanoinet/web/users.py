"""The node administrator's page of users (``users.manage``): the list, and one page per user
with the acts of the lifecycle (services/accounts.py): another role, disable or enable, reset
the authenticator, end every session and API token, remove.

Routes translate HTTP only. A refusal comes back as its reason code (``AccountRefused``) and is
shown in the reader's language at the form it concerns; a done act is shown on the user's page
with what it did (a one-time password once, on that page only, never in a URL).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hanoinet.errors import AccountRefused
from hanoinet.services import access, accounts
from hanoinet.web import auth
from hanoinet.web.common import forbidden, login_first, message_page, now, page, session, web
from hanoinet.web.render import N_

router = APIRouter(include_in_schema=False)

ACTS = ("role", "disable", "enable", "reset_totp", "end_sessions", "remove")
"""The forms of a user's page; each is its own field, where its refusal is shown."""
REFUSALS = {
    "unknown": N_("There is no user %(name)s on this node."),
    "removed": N_(
        "%(name)s was removed: a removed user cannot come back. Add a new user with another name."
    ),
    "last_admin": N_(
        "%(name)s is the last active node administrator. Add or enable another node "
        "administrator first."
    ),
    "yourself": N_("You cannot do this to your own account. Ask another node administrator."),
    "disabled_already": N_("%(name)s is disabled already."),
    "active_already": N_("%(name)s is active already."),
    "same_role": N_("%(name)s has this role already. Choose another role."),
    "unknown_role": N_("Choose one of the roles in the list."),
    "confirm": N_("Tick the box to confirm that %(name)s is to be removed for good."),
    "expired": N_("This form had expired. Please try again."),
}
"""Why an act was refused, by reason code, in words for the reader (translated)."""


def _allowed(request: Request) -> Response | None:
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "users.manage"):
        return forbidden(request)
    return None


@router.get("/users")
def users_page(request: Request) -> Response:
    refused = _allowed(request)
    if refused is not None:
        return refused
    return page(
        request,
        "users.html",
        N_("Users"),
        active="users",
        people=accounts.list_users(web(request).ctx.store),
    )


def _user_page(
    request: Request,
    username: str,
    *,
    errors: dict[str, str] | None = None,
    done: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        info = accounts.user_info(web(request).ctx.store, username)
    except AccountRefused:
        return message_page(
            request,
            N_("Not found"),
            N_("No such user"),
            N_("There is no user by that name on this node. The list of users shows them all."),
            404,
        )
    return page(
        request,
        "user.html",
        N_("User"),
        active="users",
        person=info,
        roles=access.ROLES,
        errors=errors or {},
        refusals=REFUSALS,
        done=done,
        status_code=status_code,
    )


@router.get("/users/{username:path}")
def user_page(request: Request, username: str) -> Response:
    refused = _allowed(request)
    if refused is not None:
        return refused
    return _user_page(request, username)


@router.post("/users/{username:path}")
async def user_act(request: Request, username: str) -> Response:
    refused = _allowed(request)
    if refused is not None:
        return refused
    current = session(request)
    assert current is not None  # _allowed said so
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    act = form.get("act", "")
    field = act if act in ACTS else ""
    if not auth.csrf_ok(current.csrf, form.get("csrf")):
        return _user_page(request, username, errors={field: "expired"}, status_code=400)
    if act not in ACTS:
        return _user_page(request, username, errors={"": "expired"}, status_code=400)
    if act == "remove" and form.get("confirm") != "yes":
        return _user_page(request, username, errors={"remove": "confirm"}, status_code=400)
    store, actor, at = web(request).ctx.store, current.username, now(request)
    done: dict[str, Any] = {"act": act}
    try:
        if act == "role":
            done["role"] = form.get("role", "")
            accounts.change_role(store, username, done["role"], actor=actor, at=at)
        elif act == "disable":
            accounts.disable(store, username, actor=actor, at=at)
        elif act == "enable":
            accounts.enable(store, username, actor=actor, at=at)
        elif act == "reset_totp":
            done["password"] = accounts.reset_totp(store, username, actor=actor, at=at)
        elif act == "end_sessions":
            done["ended"] = accounts.end_sessions(store, username, actor=actor, at=at)
        else:
            done["ended"] = accounts.remove(store, username, actor=actor, at=at)
    except AccountRefused as exc:
        status = 404 if exc.reason == "unknown" else 400
        if status == 404:
            return _user_page(request, username)
        return _user_page(request, username, errors={field: exc.reason}, status_code=status)
    return _user_page(request, username, done=done)
