"""``hanoinet node`` and ``hanoinet directory``: node identity and the signed directory."""

from __future__ import annotations

import json as jsonlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hanoinet.cli.output import console, fail, parse_time, print_json, read_text, user_errors
from hanoinet.errors import DirectoryRejected
from hanoinet.exchange import directory as directory_mod
from hanoinet.services import node as node_service
from hanoinet.settings import Settings, load_settings

app = typer.Typer(help="This node: keys and descriptor.", no_args_is_help=True)
directory_app = typer.Typer(help="The signed directory of nodes.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]


def _passphrase() -> str | None:
    secret = load_settings().key_passphrase
    return secret.get_secret_value() if secret else None


@app.command("init")
def init_command(
    node_id: Annotated[
        str, typer.Option("--id", help="Node id, unique in the directory, e.g. xa-ca.")
    ],
    state: Annotated[str, typer.Option("--state", help="ISO code of the State it acts for.")],
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="Where peers reach it, e.g. http://127.0.0.1:8101.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Authority name shown to peers.")
    ] = None,
    roles: Annotated[
        str,
        typer.Option(
            "--roles",
            help="Comma-separated: central_authority, point_of_contact, extradition_authority.",
        ),
    ] = "central_authority",
    languages: Annotated[
        str, typer.Option("--languages", help="Comma-separated ISO 639-1 codes it accepts.")
    ] = "en",
    channels: Annotated[
        str, typer.Option("--channels", help="Comma-separated channels it accepts.")
    ] = "central_authority",
    admin: Annotated[
        str, typer.Option("--admin", help="User name of the node's first administrator.")
    ] = "admin",
    json: Json = False,
) -> None:
    """Create this node's keys (encrypted at rest), its public descriptor, its database and its
    first administrator (a random password, written owner-only, to change at first log-in)."""
    settings = load_settings()
    with user_errors():
        result = node_service.init_node(
            settings.data_dir,
            node_id=node_id,
            state=state,
            name=name or node_id,
            roles=[r.strip() for r in roles.split(",") if r.strip()],
            endpoint=endpoint,
            languages=[x.strip() for x in languages.split(",") if x.strip()],
            channels=[x.strip() for x in channels.split(",") if x.strip()],
            at=datetime.now(UTC),
            passphrase=_passphrase(),
            token=node_service.token_for(settings),
        )
    with user_errors():
        admin_file = _create_admin(settings, admin)
    if json:
        print_json(
            {
                "node": result.node.model_dump(mode="json"),
                "descriptor": str(result.descriptor),
                "keys": str(result.keys),
                "token": settings.pkcs11_token if settings.pkcs11_module else None,
                "passphrase_file": str(result.passphrase_file) if result.passphrase_file else None,
                "admin": admin,
                "admin_password_file": str(admin_file),
            }
        )
        return
    console.print(f"Node {node_id} ({state}) created in {settings.data_dir}", markup=False)
    console.print(
        f"  descriptor (public, give it to the directory authority): {result.descriptor}",
        markup=False,
    )
    console.print(f"  keys (encrypted at rest): {result.keys}", markup=False)
    if settings.pkcs11_module:
        console.print(
            f"  signing keys (sig, doc): in PKCS#11 token {settings.pkcs11_token!r}, "
            "never out of it",
            markup=False,
        )
    if result.passphrase_file:
        console.print(
            f"  passphrase: generated into {result.passphrase_file} (owner-only); "
            "move it to a secret store and set HANOINET_KEY_PASSPHRASE",
            markup=False,
        )
    console.print(
        f"  administrator {admin!r}: initial password in {admin_file} (owner-only); "
        "it must be changed at first log-in",
        markup=False,
    )


def _create_admin(settings: Settings, username: str) -> Path:
    """The node's first administrator; the random password goes to an owner-only file."""
    import os

    from hanoinet.services.users import create_user
    from hanoinet.store import open_store

    store = open_store(settings.resolved_database_url())
    try:
        password = create_user(
            store, username, "node_admin", actor="node init", at=datetime.now(UTC)
        )
    finally:
        store.dispose()
    path = settings.data_dir / "secrets" / "admin-password"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{username}\n{password}\n".encode())
    finally:
        os.close(fd)
    return path


@app.command("migrate")
def migrate_command(json: Json = False) -> None:
    """Bring this node's database to this hanoinet's schema, once, before its servers start
    (an upgrade: docs/deploy.md). Servers find it done."""
    from hanoinet.services import runtime
    from hanoinet.store.db import head_revision

    settings = load_settings()
    with user_errors():
        store = runtime.open_node_store(settings, migrate=False)  # no node: said, not made
        try:
            was = store.current_revision()
            store.migrate()  # refuses a database from a newer hanoinet
        finally:
            store.dispose()
    head = head_revision()
    if json:
        print_json({"from": was, "to": head, "migrated": was != head})
        return
    console.print(
        f"Database at schema {head}" + (f" (was {was})" if was != head else " already"),
        markup=False,
    )


@app.command("backup-key")
def backup_key_command(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the new identity (owner-only).")
    ],
    json: Json = False,
) -> None:
    """Make the age identity node backups are encrypted to; keep it offline."""
    from hanoinet.services import backup as backup_service

    with user_errors():
        recipient = backup_service.new_identity(out)
    if json:
        print_json({"identity": str(out), "recipient": recipient})
        return
    console.print(
        f"Identity written to {out} (owner-only): keep it offline, away from the node.\n"
        f"Back up to it with --to {recipient} (or HANOINET_BACKUP_RECIPIENTS).",
        markup=False,
    )


@app.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="The archive to write (must not exist).")],
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="An age recipient (age1...) to encrypt to; repeatable. "
            "Default: HANOINET_BACKUP_RECIPIENTS.",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Write one encrypted, consistent archive of this node while it runs: database,
    evidence store, keys not in a token, directories, settings (docs/backup.md)."""
    from hanoinet.services import backup as backup_service

    settings = load_settings()
    recipients = list(to or []) or [
        r.strip() for r in (settings.backup_recipients or "").split(",") if r.strip()
    ]
    with user_errors():
        made = backup_service.backup(
            settings, out, recipients, actor=settings.user, at=datetime.now(UTC)
        )
    if json:
        print_json(made.as_dict())
        return
    console.print(
        f"Backup of {made.files} files ({made.database}, schema {made.revision}) written to "
        f"{made.path}: {made.bytes:,} bytes, encrypted",
        markup=False,
    )


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="A backup made by `node backup`.")],
    identity: Annotated[
        Path, typer.Option("--identity", help="The age identity file that opens it.")
    ],
    json: Json = False,
) -> None:
    """Rebuild a node from its backup into an empty HANOINET_DATA_DIR (and, for
    PostgreSQL, an empty HANOINET_DATABASE_URL); the audit chain is verified after."""
    from hanoinet.services import backup as backup_service

    settings = load_settings()
    with user_errors():
        identities = backup_service.read_identities(identity)
        done = backup_service.restore(
            settings, archive, identities, actor=settings.user, at=datetime.now(UTC)
        )
    if json:
        print_json(done.as_dict())
    else:
        console.print(
            f"Node {done.node} restored into {done.data_dir} ({done.database}, {done.files} "
            f"files, backup of {done.created}); audit chain: "
            f"{'intact' if done.audit_ok else 'BROKEN'} ({done.audit_entries} entries)",
            markup=False,
        )
    if not done.audit_ok:
        raise typer.Exit(1)


@app.command("rotate-keys")
def rotate_command(
    use: Annotated[
        str,
        typer.Option(
            "--use",
            help="sig (signing messages), enc (encryption) or doc (signing formal documents).",
        ),
    ] = "sig",
    overlap_days: Annotated[
        int, typer.Option("--overlap-days", help="Days the old key stays valid.")
    ] = 14,
    json: Json = False,
) -> None:
    """Add a new key; the old one stays valid for the overlap. Then have the directory reissued."""
    settings = load_settings()
    with user_errors():
        keys, node = node_service.rotate_keys(
            settings.data_dir,
            use=use,
            overlap=timedelta(days=overlap_days),
            at=datetime.now(UTC),
            passphrase=_passphrase(),
            token=node_service.token_for(settings) if use in ("sig", "doc") else None,
        )
    active = keys.active(use, datetime.now(UTC))  # type: ignore[arg-type]
    if json:
        print_json(
            {
                "active": active.kid,
                "kept_in": active.kept_in,
                "keys": [k.model_dump(mode="json") for k in node.keys],
            }
        )
        return
    where = f" in token {settings.pkcs11_token!r}" if active.kept_in == "token" else ""
    console.print(
        f"New {use} key {active.kid}{where}; the previous one stays valid {overlap_days} days. "
        "Give node.json to the directory authority for the next version.",
        markup=False,
    )


@app.command("revoke-key")
def revoke_command(
    kid: Annotated[
        str,
        typer.Argument(
            help="The key id to revoke (one that begins with '-' goes after '--').", metavar="KID"
        ),
    ],
    json: Json = False,
) -> None:
    """Revoke a key now (compromise). Peers refuse it once the reissued directory says so."""
    settings = load_settings()
    with user_errors():
        node = node_service.revoke_key(
            settings.data_dir, kid=kid, at=datetime.now(UTC), passphrase=_passphrase()
        )
    if json:
        print_json({"revoked": kid, "keys": [k.model_dump(mode="json") for k in node.keys]})
        return
    console.print(f"Key {kid} revoked. Have the directory reissued now.", markup=False)


@directory_app.command("fetch")
def fetch_command(
    url: Annotated[
        str, typer.Argument(help="A node's or the authority's URL, e.g. http://127.0.0.1:8101.")
    ],
    json: Json = False,
) -> None:
    """Fetch a peer's directory over HTTP, verify it and keep it (like `accept`)."""
    import httpx

    from hanoinet.services import runtime

    try:
        response = httpx.get(url.rstrip("/") + "/api/v1/directory", timeout=10)
    except httpx.HTTPError as exc:
        fail(f"cannot fetch the directory from {url}: {exc}")
    if response.status_code != 200:
        fail(f"{url} answered HTTP {response.status_code}; it has no directory to give")
    settings = load_settings()
    with user_errors():
        signed = runtime.accept_directory(settings, response.text, datetime.now(UTC))
    if json:
        print_json(
            {
                "version": signed.directory.version,
                "sha256": signed.digest,
                "nodes": [n.id for n in signed.directory.nodes],
            }
        )
        return
    console.print(
        f"Directory version {signed.directory.version} fetched from {url}, verified and kept.",
        markup=False,
    )


@directory_app.command("authority-init")
def authority_init_command(
    key: Annotated[Path, typer.Option("--key", help="Where to write the locked authority key.")],
    json: Json = False,
) -> None:
    """Create a directory authority key (the depositary's role); prints its public JWK."""
    passphrase = _passphrase()
    if not passphrase:
        fail("set HANOINET_KEY_PASSPHRASE (16+ characters) to lock the authority key")
    with user_errors():
        public = node_service.authority_init(key, passphrase)
    if json:
        print_json({"authority": public, "public_key_file": str(key.with_suffix(".pub.json"))})
        return
    console.print(
        f"Authority key {public['kid']} written to {key}; public key: {key.with_suffix('.pub.json')}",
        markup=False,
    )


def _authorities(paths: list[Path]) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for path in paths:
        jwk = jsonlib.loads(read_text(path, "--authority"))
        kid = jwk.get("kid") or ""
        if not kid:
            fail(f"--authority {path}: the public key has no kid")
        found[str(kid)] = jwk
    return found


@directory_app.command("issue")
def issue_command(
    nodes: Annotated[
        list[Path],
        typer.Argument(help="Node descriptors (node.json) to list.", metavar="NODE.json..."),
    ],
    key: Annotated[Path, typer.Option("--key", help="The locked authority key.")],
    version: Annotated[
        int, typer.Option("--version", help="Directory version, higher than the last.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed directory.")],
    days: Annotated[int, typer.Option("--days", help="Valid for this many days.")] = 30,
) -> None:
    """Sign a directory of the given nodes with the authority key."""
    passphrase = _passphrase()
    if not passphrase:
        fail("set HANOINET_KEY_PASSPHRASE to unlock the authority key")
    now = datetime.now(UTC)
    with user_errors():
        entries = tuple(node_service.load_descriptor(p) for p in nodes)
        authority, kid = node_service.authority_key(key, passphrase)
        doc = directory_mod.Directory(
            version=version, issued_at=now, valid_until=now + timedelta(days=days), nodes=entries
        )
        signed = directory_mod.issue(doc, authority, kid)
    out.write_text(signed.token + "\n", encoding="ascii")
    console.print(
        f"Directory version {version} with {len(entries)} node(s) signed by {kid}: {out}",
        markup=False,
    )


@directory_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="A signed directory (compact JWS).", metavar="FILE")],
    authority: Annotated[
        list[Path],
        typer.Option("--authority", help="Trusted authority public key(s) (JWK with kid)."),
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="Verify as of this UTC time (default now).")
    ] = None,
    json: Json = False,
) -> None:
    """Verify a directory offline: signature, format, validity. Exit 1 if refused."""
    when = parse_time(at)
    token = read_text(file, "FILE")
    try:
        signed = directory_mod.verify(token, _authorities(authority), now=when)
    except DirectoryRejected as exc:
        if json:
            print_json({"ok": False, "reason": exc.reason, "message": exc.message})
        else:
            console.print(f"REFUSED: {exc.message}", markup=False)
        raise typer.Exit(1) from None
    d = signed.directory
    if json:
        print_json(
            {
                "ok": True,
                "version": d.version,
                "issued_at": d.issued_at.isoformat(),
                "valid_until": d.valid_until.isoformat(),
                "sha256": signed.digest,
                "nodes": [
                    {
                        "id": n.id,
                        "state": n.state,
                        "roles": list(n.roles),
                        "endpoint": n.endpoint,
                        "illustrative": n.illustrative,
                    }
                    for n in d.nodes
                ],
            }
        )
        return
    console.print(
        f"Directory version {d.version}: signature valid, valid until {d.valid_until:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )
    for n in d.nodes:
        mark = " (illustrative)" if n.illustrative else ""
        console.print(
            f"  {n.id:<12} {n.state} {', '.join(n.roles)} {n.endpoint}{mark}", markup=False
        )


@directory_app.command("accept")
def accept_command(
    file: Annotated[
        Path, typer.Argument(help="A signed directory to verify and keep.", metavar="FILE")
    ],
    json: Json = False,
) -> None:
    """Verify a directory against HANOINET_DIRECTORY_AUTHORITY and keep it (history kept).

    Refuses an older version than one already kept (downgrade)."""
    from hanoinet.services import runtime

    settings = load_settings()
    token = read_text(file, "FILE")
    with user_errors():
        signed = runtime.accept_directory(settings, token, datetime.now(UTC))
    if json:
        print_json(
            {
                "version": signed.directory.version,
                "sha256": signed.digest,
                "nodes": [n.id for n in signed.directory.nodes],
            }
        )
        return
    console.print(
        f"Directory version {signed.directory.version} verified and kept "
        f"({len(signed.directory.nodes)} nodes).",
        markup=False,
    )
