"""``hanoinet user`` and ``hanoinet token``: the people of a node and the API tokens of other
systems (the node administrator's work; the web desk's log-in uses them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from hanoinet.cli.output import console, print_json, user_errors
from hanoinet.services import users
from hanoinet.services.access import ROLES
from hanoinet.settings import load_settings
from hanoinet.store import Store, open_store

app = typer.Typer(help="People who log in to this node's web desk.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for other systems.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]
Actor = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def _store() -> Store:
    with user_errors():
        return open_store(load_settings().resolved_database_url())


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="The new user's name.")],
    role: Annotated[str, typer.Option("--role", help="One of: " + ", ".join(ROLES) + ".")],
    actor: Actor = "admin",
    json: Json = False,
) -> None:
    """Add a user; prints the initial password once (changed at first log-in, with TOTP)."""
    store = _store()
    try:
        with user_errors():
            password = users.create_user(store, username, role, actor=actor, at=datetime.now(UTC))
    finally:
        store.dispose()
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
    """The users of this node: role, second factor set up, locked or not."""
    store = _store()
    try:
        found = users.list_users(store, at=datetime.now(UTC))
    finally:
        store.dispose()
    if json:
        print_json({"users": [u.as_dict() for u in found]})
        return
    table = Table(title="Users", title_justify="left")
    for column in ("User", "Role", "Second factor", "Locked until", "Created"):
        table.add_column(column)
    for u in found:
        table.add_row(
            u.username,
            u.role,
            "set up" if u.totp else "not yet (first log-in)",
            u.locked_until.isoformat() if u.locked_until else "",
            u.created_at.isoformat(),
        )
    console.print(table)


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
    store = _store()
    try:
        with user_errors():
            token = users.create_token(
                store, username, name, scopes, actor=actor, at=datetime.now(UTC)
            )
    finally:
        store.dispose()
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
    store = _store()
    try:
        with user_errors():
            info = users.revoke_token(store, prefix, actor=actor, at=datetime.now(UTC))
    finally:
        store.dispose()
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
