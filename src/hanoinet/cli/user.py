"""``hanoinet user`` and ``hanoinet token``: the people of a node and the API tokens of other
systems (the node administrator's work; the web desk's log-in uses them)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from hanoinet.cli.output import console, fail, print_json, user_errors
from hanoinet.services import accounts, runtime, users
from hanoinet.services.access import ROLES
from hanoinet.settings import load_settings
from hanoinet.store import Store

T = TypeVar("T")

app = typer.Typer(help="People who log in to this node's web desk.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for other systems.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]
Actor = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def _act(call: Callable[[Store, datetime], T]) -> T:
    """Run one command's service call on the node's store, now; errors as one line, exit 2."""
    store = _store()
    try:
        with user_errors():
            return call(store, datetime.now(UTC))
    finally:
        store.dispose()


def _store() -> Store:
    with user_errors():
        return runtime.open_node_store(load_settings())


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="The new user's name.")],
    role: Annotated[str, typer.Option("--role", help="One of: " + ", ".join(ROLES) + ".")],
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Add a user; prints the initial password once (changed at first log-in, with TOTP)."""
    password = _act(lambda store, at: users.create_user(store, username, role, actor=actor, at=at))
    if json:
        print_json({"username": username, "role": role, "initial_password": password})
        return
    console.print(f"user {username!r} ({role}) created", markup=False)
    console.print(f"initial password (shown once): {password}", markup=False)
    console.print(
        "At first log-in the user sets a new password and an authenticator app (TOTP).",
        markup=False,
    )


@app.command("list")
def list_command(json: Json = False) -> None:
    """The users of this node: role, state, second factor, last log-in, sessions and tokens."""
    store = _store()
    try:
        found = accounts.list_users(store)
    finally:
        store.dispose()
    if json:
        print_json({"users": [u.as_dict() for u in found]})
        return
    table = Table(title="Users", title_justify="left")
    for column in ("User", "Role", "State", "Second factor", "Last log-in", "Sessions", "Tokens"):
        table.add_column(column)
    for u in found:
        table.add_row(
            u.username,
            u.role,
            u.state,
            "set up" if u.totp else "not yet (next log-in)",
            u.last_login_at.isoformat() if u.last_login_at else "never",
            str(u.sessions),
            str(u.api_tokens),
        )
    console.print(table)


Name = Annotated[str, typer.Argument(help="The user's name.")]


def _print_user(info: accounts.UserInfo, done: str, json: bool) -> None:
    if json:
        print_json(info.as_dict())
        return
    console.print(f"user {info.username!r} {done} ({info.role}, {info.state})", markup=False)


@app.command("disable")
def disable_command(username: Name, actor: Actor = "admin", json: Json = False) -> None:
    """Disable a user: no log-in, their sessions end, their API tokens are refused (until
    enable)."""
    info = _act(lambda store, at: accounts.disable(store, username, actor=actor, at=at))
    _print_user(info, "disabled", json)


@app.command("enable")
def enable_command(username: Name, actor: Actor = "admin", json: Json = False) -> None:
    """Enable a disabled user again (same password and authenticator)."""
    info = _act(lambda store, at: accounts.enable(store, username, actor=actor, at=at))
    _print_user(info, "enabled", json)


@app.command("role")
def role_command(
    username: Name,
    role: Annotated[str, typer.Argument(help="One of: " + ", ".join(ROLES) + ".")],
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Give a user another role; it applies from their next request."""
    info = _act(lambda store, at: accounts.change_role(store, username, role, actor=actor, at=at))
    _print_user(info, f"now has the role {role}", json)


@app.command("reset-totp")
def reset_totp_command(username: Name, actor: Actor = "admin", json: Json = False) -> None:
    """Forget a user's authenticator and end their sessions; prints a one-time password with
    which they set up a new password and authenticator at their next log-in."""
    password = _act(lambda store, at: accounts.reset_totp(store, username, actor=actor, at=at))
    if json:
        print_json({"username": username, "initial_password": password})
        return
    console.print(f"authenticator of {username!r} reset; their sessions ended", markup=False)
    console.print(f"one-time password (shown once): {password}", markup=False)
    console.print(
        "Give it to the user by another channel than the one they log in from; with it they "
        "set a new password and authenticator at their next log-in.",
        markup=False,
    )


def _print_ended(ended: accounts.Ended, done: str, json: bool) -> None:
    if json:
        print_json(ended.as_dict())
        return
    console.print(
        f"{done} {ended.username!r}: {ended.sessions} session(s) ended, "
        f"{ended.api_tokens} API token(s) revoked",
        markup=False,
    )


@app.command("end-sessions")
def end_sessions_command(username: Name, actor: Actor = "admin", json: Json = False) -> None:
    """End every session of a user and revoke every API token of theirs, now."""
    ended = _act(lambda store, at: accounts.end_sessions(store, username, actor=actor, at=at))
    _print_ended(ended, "for", json)


@app.command("remove")
def remove_command(
    username: Name,
    yes: Annotated[
        bool, typer.Option("--yes", help="Remove without asking (scripts; there is no undo).")
    ] = False,
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Remove a user for good: no log-in ever again, sessions ended, tokens revoked; the name
    stays taken and the audit log keeps naming them."""
    if not yes:
        if not sys.stdin.isatty():
            fail(f"removing {username!r} cannot be undone; add --yes to confirm")
        if not typer.confirm(f"Remove {username!r} for good? This cannot be undone."):
            fail("nothing removed")
    ended = _act(lambda store, at: accounts.remove(store, username, actor=actor, at=at))
    _print_ended(ended, "removed", json)


@token_app.command("create")
def token_create_command(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What uses it, e.g. 'case system'.")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="read (default), or act (read and act).")
    ] = "read",
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Create an API token acting as a user; prints it once (only its hash is stored)."""
    token = _act(
        lambda store, at: users.create_token(store, username, name, scopes, actor=actor, at=at)
    )
    if json:
        print_json({"token": token, "prefix": token[:10], "username": username, "scopes": scopes})
        return
    console.print(f"token for {username!r} ({scopes}), shown once:", markup=False)
    console.print(token, markup=False)
    console.print("Send it as: Authorization: Bearer <token>", markup=False)


@token_app.command("revoke")
def token_revoke_command(
    prefix: Annotated[str, typer.Argument(help="The token's first characters (hn_...).")],
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Revoke an API token from now on."""
    info = _act(lambda store, at: users.revoke_token(store, prefix, actor=actor, at=at))
    if json:
        print_json(
            {
                "prefix": info.prefix,
                "name": info.name,
                "username": info.username,
                "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
            }
        )
        return
    console.print(f"revoked token {info.prefix}... ({info.name}, {info.username})", markup=False)
