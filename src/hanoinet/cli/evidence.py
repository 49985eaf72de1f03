"""``hanoinet evidence``: pack, verify, unpack an evidence package; read its chain of custody."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pyrage import x25519
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from hanoinet.cli.output import console, err_console, fail, parse_time, print_json, user_errors
from hanoinet.cli.trust import Authority, Directory
from hanoinet.cli.trust import trust as read_trust
from hanoinet.errors import InvalidInput
from hanoinet.evidence import custody
from hanoinet.evidence import package as pkg
from hanoinet.services import evidence as service
from hanoinet.services import runtime
from hanoinet.settings import load_settings

app = typer.Typer(
    help="Evidence packages: BagIt + CASE/UCO custody + use conditions, signed, encrypted with age.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
EXIT_NOT_VERIFIED = 1


@contextmanager
def _progress(total: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for a person at a terminal; nothing for --json or a pipe."""
    if quiet or not err_console.is_terminal:
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console.real,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size if path.exists() else 0


@app.command("pack")
def pack_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders to pack (folders are walked).")
    ],
    case: Annotated[
        str, typer.Option("--case", help="The received request the evidence answers (R-...).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The package file to write (must not exist).")],
    collected_by: Annotated[
        str, typer.Option("--collected-by", help="Who collected the items (person or unit).")
    ],
    collected_at: Annotated[
        str,
        typer.Option("--collected-at", help="When they were collected (ISO 8601, UTC if no zone)."),
    ],
    tool: Annotated[
        str | None, typer.Option("--tool", help="The tool used to collect them, with its version.")
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="How they were collected.")] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Where they come from (system, provider, device)."),
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="A further condition the sending State imposes (36(1)), in its words; repeatable.",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Pack evidence answering a received request: one read pass, signed by this node,
    encrypted to the requesting node (and to this node, to verify what it sent)."""
    settings = load_settings()
    with user_errors():
        now = datetime.now(UTC)
        collection = custody.Collection(
            collected_by=collected_by,
            collected_at=parse_time(collected_at, "--collected-at"),
            tool=tool,
            method=method,
            source=source,
        )
        if not collected_by.strip():
            raise InvalidInput("--collected-by is empty: say who collected the evidence")
        ctx, signed = runtime.load_context(settings, now)
        total = sum(_size(p) for p in paths)
        with _progress(total, f"packing {case}", json) as progress:
            packed = service.pack(
                ctx,
                signed.token,
                case,
                paths,
                out,
                collection=collection,
                imposed=tuple(condition or ()),
                actor=settings.user,
                at=now,
                progress=progress,
                timestamper=_timestamper(settings.tsa_url),
            )
    data = packed.as_dict()
    if json:
        print_json(data)
        return
    console.print(
        f"{data['package']}: {len(data['files'])} files, {data['payload_bytes']:,} bytes, "
        f"for {data['recipient']} (answering {data['request']})",
        markup=False,
    )
    console.print(
        f"  written to {data['path']} ({data['package_bytes']:,} bytes, encrypted)", markup=False
    )


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="The files or folders as they arrived (folders are walked)."),
    ],
    case: Annotated[
        str,
        typer.Option("--case", help="The request this node sent that they answer (R-...)."),
    ],
    by: Annotated[
        str,
        typer.Option(
            "--by", help="How they came: post, courier, diplomatic, email, download or hand."
        ),
    ],
    arrived_on: Annotated[
        str,
        typer.Option("--arrived-on", help="When they arrived (ISO 8601: a day, or a time)."),
    ],
    collected_by: Annotated[
        str,
        typer.Option("--collected-by", help="Who collected them, as the covering letter says."),
    ],
    collected_at: Annotated[
        str,
        typer.Option("--collected-at", help="When, as the letter says (ISO 8601, UTC if no zone)."),
    ],
    medium: Annotated[
        str | None,
        typer.Option("--medium", help="What they came on (a USB stick and its serial, a disc)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="The covering letter's reference."),
    ] = None,
    tool: Annotated[
        str | None, typer.Option("--tool", help="The tool the letter says was used.")
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="How, as the letter says.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where they come from, as the letter says.")
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="A condition the other State's letter imposes (36(1)), in its words; repeatable.",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Keep evidence a State that runs no node sent on media or by download as a package of
    this node: its receipt in the chain of custody, the request's use conditions."""
    from hanoinet.services import arrived

    with user_errors():
        now = datetime.now(UTC)
        collection = custody.Collection(
            collected_by=collected_by,
            collected_at=parse_time(collected_at, "--collected-at"),
            tool=tool,
            method=method,
            source=source,
        )
        ctx, signed, folder = _node()
        total = sum(_size(p) for p in paths)
        with _progress(total, f"importing for {case}", json) as progress:
            done = arrived.import_evidence(
                ctx,
                signed.token,
                folder,
                case,
                paths,
                arrived_by=by,
                arrived_at=parse_time(arrived_on, "--arrived-on"),
                collection=collection,
                medium=medium,
                reference=reference,
                imposed=tuple(condition or ()),
                actor=load_settings().user,
                at=now,
                progress=progress,
            )
    data = done.as_dict()
    if json:
        print_json(data)
        return
    console.print(
        f"{data['package']}: {data['files']} files, {data['payload_bytes']:,} bytes from "
        f"{data['from_state']}, kept for {data['request']} (encrypted, verified)",
        markup=False,
    )
    for step in data["custody"]:
        console.print(
            f"  {step['at']}  {step['action']}: {step['description'] or ''}", markup=False
        )


def _identities(identity: Path | None, source: Path) -> list[x25519.Identity]:
    """The keys to open an encrypted package: an age identity file, else this node's keys."""
    if not pkg.is_encrypted(source):
        return []
    if identity is not None:
        try:
            lines = identity.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInput(f"--identity {identity}: {exc.strerror}") from None
        keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
        if not keys:
            raise InvalidInput(f"--identity {identity}: no AGE-SECRET-KEY line in the file")
        try:
            return [x25519.Identity.from_str(k) for k in keys]
        except Exception:  # pyrage raises its own error type per key kind
            raise InvalidInput(f"--identity {identity}: not a valid age X25519 identity") from None
    settings = load_settings()
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    from hanoinet.services import node as node_service

    try:
        keys_set = node_service.load_keys(settings.data_dir, passphrase)
    except Exception as exc:
        raise InvalidInput(
            f"{source} is encrypted: give --identity FILE, or run this on the receiving node "
            f"({exc})"
        ) from None
    return service.identities(keys_set)


Identity = Annotated[
    Path | None,
    typer.Option(
        "--identity", help="An age identity file to decrypt with (default: this node's keys)."
    ),
]


def _report(result: pkg.Verification, json: bool, extra: dict[str, Any] | None = None) -> None:
    data = {**result.as_dict(), **(extra or {})}
    if json:
        print_json(data)
    else:
        mark = {"passed": "ok  ", "failed": "FAIL", "not_checked": "--  "}
        for check in result.checks:
            console.print(f"  {mark[check.status]} {check.name:<14} {check.detail}", markup=False)
        for problem in result.problems:
            console.print(
                f"  problem [{problem.code}] {problem.where}: {problem.message}", markup=False
            )
        verdict = "VERIFIED" if result.ok else "NOT VERIFIED"
        console.print(f"{verdict}: {data.get('package') or result.source}", markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command("verify")
def verify_command(
    package: Annotated[
        Path, typer.Argument(help="An encrypted package, a plain tar, or an unpacked bag folder.")
    ],
    authority: Authority = None,
    directory: Directory = None,
    identity: Identity = None,
    no_case: Annotated[
        bool, typer.Option("--no-case", help="Skip the CASE/UCO validation (a few seconds).")
    ] = False,
    receipt: Annotated[
        list[Path] | None,
        typer.Option(
            "--receipt",
            help="The receiving node's signed receipt of the package (evidence receipt): the "
            "signing time is checked against it, not the signer's own clock; repeatable.",
        ),
    ] = None,
    tsa_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--tsa-root",
            help="A time-stamping authority's root certificate (PEM): the package's RFC 3161 "
            "time-stamp is checked against it (default: HANOINET_TSA_ROOTS); repeatable.",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Verify a package offline: decryption, bag completeness, every hash, the signature
    against the directory (at the time a receipt anchors, if given), the custody file and
    CASE validity. Exit 1 if anything failed."""
    with user_errors():
        if not package.exists():
            raise InvalidInput(f"{package}: no such file or folder")
        trust = read_trust(authority, directory)
        identities = _identities(identity, package)
        receipts = [_receipt_file(r) for r in receipt or []]
        roots = _tsa_roots(tsa_root)
        with _progress(_size(package), "verifying", json) as progress:
            result = pkg.verify(
                package,
                trust=trust,
                identities=identities,
                validate_case=not no_case,
                progress=progress,
                receipts=receipts,
                tsa_roots=roots,
            )
    _report(result, json)


def _timestamper(url: str | None) -> Callable[[bytes], bytes] | None:
    """The TSA that stamps each package's signature (HANOINET_TSA_URL), or None."""
    if not url:
        return None
    from hanoinet.evidence import timestamp

    return lambda digest: timestamp.request(url, digest)


def _tsa_roots(given: list[Path] | None) -> list[Any]:
    """The TSA root certificates to check a time-stamp against: --tsa-root, else
    HANOINET_TSA_ROOTS, else none (a time-stamp is then reported, not checked)."""
    from hanoinet.evidence import timestamp

    configured = load_settings().tsa_roots
    paths = given or ([configured] if configured is not None else [])
    roots: list[Any] = []
    for path in paths:
        try:
            roots.extend(timestamp.load_roots(path))
        except ValueError as exc:
            raise InvalidInput(f"--tsa-root {exc}") from None
    return roots


def _receipt_file(path: Path) -> str:
    from hanoinet.evidence.receipt import MAX_TOKEN

    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_TOKEN + 1)
    except OSError as exc:
        raise InvalidInput(f"--receipt {path}: {exc.strerror}") from None
    if len(raw) > MAX_TOKEN:
        raise InvalidInput(f"--receipt {path}: larger than a receipt ({MAX_TOKEN} bytes at most)")
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidInput(f"--receipt {path}: not a receipt (a compact JWS is ASCII)") from None


@app.command("receipt")
def receipt_command(
    package: Annotated[str, typer.Argument(help="A package this node sent or received (EV-...).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the receipt (a compact JWS) to this file."),
    ] = None,
    json: Json = False,
) -> None:
    """The receiving node's signed receipt of a package: when it arrived, for its exact
    content and signature. Hand it over with the package: `evidence verify --receipt` checks
    the signer's key against that time, which the signer cannot backdate."""
    settings = load_settings()
    with user_errors():
        ctx, _, _ = _node()
        try:
            found = service.receipt(ctx.store, package, actor=settings.user, at=datetime.now(UTC))
        finally:
            ctx.store.dispose()
        if out is not None:
            try:
                out.write_text(found["receipt"] + "\n", encoding="ascii")
            except OSError as exc:
                raise InvalidInput(f"--out {out}: {exc.strerror}") from None
    if json:
        print_json(found | {"written_to": str(out) if out else None})
        return
    console.print(
        f"{package}: received by {found['receiver']} at {found['received_at']} "
        f"(SHA-256 {found['sha256']})",
        markup=False,
    )
    if out is None:
        console.print(found["receipt"], markup=False, soft_wrap=True)
    else:
        console.print(f"  written to {out}", markup=False)


def _staging_journal() -> Path | None:
    """On a node, where an unpack lists the folder it writes in clear, after the node has
    removed what an unpack killed earlier left (with an audit entry); None off a node."""
    from hanoinet.evidence.staging import JOURNAL
    from hanoinet.services import node as node_service
    from hanoinet.services import runtime

    settings = load_settings()
    if not (settings.data_dir / node_service.KEYS).is_file():
        return None
    try:
        runtime.open_node_store(settings).dispose()  # it sweeps as it opens
    except Exception:  # the node's database is out of reach: unpack as off a node
        return None
    return settings.data_dir / runtime.EVIDENCE / JOURNAL


@app.command("unpack")
def unpack_command(
    package: Annotated[Path, typer.Argument(help="The package to unpack.")],
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="The folder to unpack into (the bag goes in a folder named after the package).",
        ),
    ],
    authority: Authority = None,
    directory: Directory = None,
    identity: Identity = None,
    json: Json = False,
) -> None:
    """Verify and unpack: the bag is written only if every check passes; nothing is left
    behind otherwise."""
    with user_errors():
        if not package.exists():
            raise InvalidInput(f"{package}: no such file or folder")
        trust = read_trust(authority, directory)
        identities = _identities(identity, package)
        journal = _staging_journal()
        with _progress(_size(package), "unpacking", json) as progress:
            result = pkg.unpack(
                package, to, trust=trust, identities=identities, progress=progress, journal=journal
            )
    unpacked = next(
        (c.detail for c in result.checks if c.name == "unpack" and c.status == "passed"), None
    )
    _report(result, json, {"unpacked_to": unpacked})


@app.command("custody")
def custody_command(
    package: Annotated[
        str,
        typer.Argument(
            help="A package file or unpacked bag folder, or on a node the id of a package it holds (EV-...)."
        ),
    ],
    authority: Authority = None,
    directory: Directory = None,
    identity: Identity = None,
    json: Json = False,
) -> None:
    """The chain of custody as a timeline, read only from a package whose signature verifies;
    on a node, followed by what happened to the package there (offer, receipt, exports)."""
    local: list[dict[str, Any]] = []
    path = Path(package)
    with user_errors():
        if not path.exists() and package.startswith("EV-"):
            settings = load_settings()
            ctx, _, folder = _node()
            try:
                result, local = service.read_custody(
                    ctx, folder, package, actor=settings.user, at=datetime.now(UTC)
                )
            finally:
                ctx.store.dispose()
        else:
            if not path.exists():
                raise InvalidInput(f"{package}: no such file or folder, and not a package id")
            trust = read_trust(authority, directory)
            result = pkg.verify(
                path, trust=trust, identities=_identities(identity, path), validate_case=False
            )
    if result.custody is None:
        _report(result, json)
        fail("the chain of custody could not be read from a verified package")
    steps = custody.timeline(result.custody)
    claims = result.claims or {}
    if json:
        print_json(
            {
                "package": claims.get("package"),
                "verified": result.ok,
                "anchor": result.anchor.as_dict() if result.anchor else None,
                "steps": [s.as_dict() for s in steps],
                "on_this_node": local,
            }
        )
    else:
        console.print(
            f"Chain of custody of {claims.get('package')} (signature verified)", markup=False
        )
        if result.anchor is not None:
            console.print(f"  signing time: {result.anchor.describe()}", markup=False)
        for s in steps:
            who = f" by {s.performer}" if s.performer else ""
            tool = f" with {s.tool}" if s.tool else ""
            console.print(f"  {s.at}  {s.action}{who}{tool}", markup=False)
            if s.description:
                console.print(f"      {s.description}", markup=False)
            for item in s.items:
                console.print(f"      - {item}", markup=False)
        if local:
            console.print("On this node:", markup=False)
        for e in local:
            console.print(f"  {e['at'][:19]}Z  {e['action']} by {e['actor']}", markup=False)
        if not result.ok:
            console.print("NOT VERIFIED: see `hanoinet evidence verify`", markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _node() -> tuple[Any, Any, Path]:
    settings = load_settings()
    ctx, signed = runtime.load_context(settings, datetime.now(UTC))
    return ctx, signed, settings.data_dir / "evidence"


@app.command("send")
def send_command(
    package: Annotated[Path, typer.Argument(help="A package this node packed (evidence pack).")],
    chunk_mib: Annotated[
        int, typer.Option("--chunk-mib", min=1, max=16, help="Chunk size in MiB (first send only).")
    ] = 8,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Send it from this command, with its progress, until every chunk is there "
            "(without it the worker sends it).",
        ),
    ] = False,
    json: Json = False,
) -> None:
    """Queue a package for the node it is for: the worker sends it in acknowledged chunks,
    resumes after any restart and raises the NOT DELIVERED alarm if it stalls. With --wait,
    send it now and follow it."""
    from hanoinet.services import transfer

    settings = load_settings()
    with user_errors():
        ctx, _, _ = _node()
        made = transfer.offer(
            ctx, package, actor=settings.user, at=datetime.now(UTC), chunk_size=chunk_mib << 20
        )
        if wait:
            sent = _send_now(ctx, made, settings.user, json)
        else:
            sent = transfer.standing(ctx, made.package)
    data = sent.as_dict()
    if json:
        print_json(data)
    else:
        resumed = f", resumed at chunk {sent.resumed_at}" if sent.resumed_at else ""
        done = f", {sent.sent} sent now{resumed}" if wait else ""
        chunks = f"{sent.chunks} chunk{'s' if sent.chunks != 1 else ''}"
        console.print(f"{sent.package}: {sent.state} ({chunks}{done})", markup=False)
        for p in sent.problems:
            console.print(f"  problem [{p['code']}] {p['where']}: {p['message']}", markup=False)
        if sent.state in transfer.UNSENT:
            console.print(
                "  the worker sends it and resumes after any restart (`hanoinet evidence list` "
                "shows where it stands; --wait sends it from here)",
                markup=False,
            )
        if sent.state == "verifying":
            console.print(
                "  every chunk is there: the receiving node verifies the package and sends its "
                "signed decision (evidence list shows it when it comes)",
                markup=False,
            )
    if sent.state == "refused":
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _send_now(ctx: Any, made: Any, actor: str, quiet: bool) -> Any:
    """Send from this command with a progress bar; if the worker is sending it already,
    follow the worker's progress instead, until every chunk is there or the transfer stalls."""
    import time

    from hanoinet.errors import TransferBusy
    from hanoinet.exchange.transport import HttpTransport
    from hanoinet.services import transfer

    transport = HttpTransport()
    try:
        with _progress(made.size, f"sending {made.package} to {made.recipient}", quiet) as bar:
            done = {"chunks": 0}

            def advance(next_chunk: int, total: int) -> None:
                if bar is not None:
                    step = sum(made.chunk_length(n) for n in range(done["chunks"], next_chunk))
                    bar(step)
                done["chunks"] = next_chunk

            try:
                return transfer.send(
                    ctx,
                    transport,
                    made.package,
                    actor=actor,
                    clock=lambda: datetime.now(UTC),
                    progress=advance,
                )
            except TransferBusy:
                settings = load_settings()
                stall = timedelta(minutes=settings.transfer_alarm_minutes)
                while True:  # the worker holds it: follow it (Ctrl-C leaves it to the worker)
                    [held] = service.holdings(ctx.store, package_id=made.package, stall_after=stall)
                    advance(held.next_chunk, held.chunks)
                    if held.state not in transfer.UNSENT:
                        return transfer.standing(ctx, made.package)
                    if held.stalled_since is not None:
                        raise InvalidInput(
                            f"{made.package} is stalled since {held.stalled_since:%Y-%m-%d %H:%M} "
                            f"UTC: {held.last_error or 'no sender has moved it'}"
                        ) from None
                    time.sleep(1.0)
    finally:
        transport.close()


@app.command("list")
def list_command(
    case: Annotated[
        str | None, typer.Option("--case", help="Only the packages of this request.")
    ] = None,
    json: Json = False,
) -> None:
    """The packages this node sent and received, and where each transfer stands."""
    from hanoinet.cli.case import _store

    store = _store()
    settings = load_settings()
    try:
        with user_errors():
            found = service.holdings(
                store,
                request_id=case,
                actor=settings.user,
                at=datetime.now(UTC),
                stall_after=timedelta(minutes=settings.transfer_alarm_minutes),
            )
    finally:
        store.dispose()
    if json:
        print_json({"packages": [h.as_dict() for h in found]})
        return
    if not found:
        console.print("No evidence packages.", markup=False)
    for h in found:
        console.print(
            f"{h.id}  {h.direction:<8} {h.state:<9} {h.request_id}  {h.peer_node}  "
            f"{h.size:,} bytes  {h.next_chunk}/{h.chunks} chunks",
            markup=False,
        )
        if h.stalled_since is not None:
            console.print(
                f"  NOT DELIVERED: stalled since {h.stalled_since:%Y-%m-%d %H:%M} UTC", markup=False
            )
        if h.last_error:
            tried = f"{h.attempts} failed attempt{'s' if h.attempts != 1 else ''}"
            again = f", next at {h.next_attempt_at:%H:%M:%S} UTC" if h.next_attempt_at else ""
            console.print(f"  {tried}{again}: {h.last_error}", markup=False)


@app.command("permit")
def permit_command(
    package: Annotated[str, typer.Argument(help="A package this node received (EV-...).")],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="The reference of the sending State's written consent or authorization.",
        ),
    ] = None,
    from_case: Annotated[
        bool,
        typer.Option(
            "--from-case",
            help="The consent is the sending State's give_consent message on the request, for the matter it names (or --consent-for MATTER, one of those it names).",
        ),
    ] = False,
    consent_for: Annotated[
        str | None,
        typer.Option(
            "--consent-for", help="The other matter the sending State consented to (40(19))."
        ),
    ] = None,
    authorize_transfer_to: Annotated[
        str | None,
        typer.Option(
            "--authorize-transfer-to",
            help="The third State or body the sending State authorized an onward transfer to (36(3)).",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Record the sending State's consent to another use, or its authorization of an onward
    transfer, so that `evidence export` allows it."""
    from hanoinet.cli.case import _store

    if from_case and (authorize_transfer_to is not None or reference is not None):
        fail("--from-case records a consent (40(19)) and takes the place of --reference")
    if not from_case and (consent_for is None) == (authorize_transfer_to is None):
        fail("give exactly one of --consent-for MATTER or --authorize-transfer-to STATE")
    kind: Literal["consent", "authorization"] = (
        "consent" if authorize_transfer_to is None else "authorization"
    )
    scope = consent_for if authorize_transfer_to is None else authorize_transfer_to
    if not from_case and reference is None:
        fail("give --reference REF: the sending State's written record of it (or --from-case)")
    settings = load_settings()
    store = _store()
    try:
        with user_errors():
            if from_case:
                reference, scope = service.consent_from_case(store, package, consent_for)
            assert reference is not None and scope is not None
            held = service.permit(
                store, package, kind, scope, reference, actor=settings.user, at=datetime.now(UTC)
            )
    finally:
        store.dispose()
    if json:
        print_json(held.as_dict())
    else:
        console.print(
            f"{held.id}: {kind} recorded ({service.PERMISSION_ARTICLE[kind]}) for {scope}, reference {reference}",
            markup=False,
        )


@app.command("export")
def export_command(
    package: Annotated[str, typer.Argument(help="A package this node received (EV-...).")],
    to: Annotated[Path, typer.Option("--to", help="The folder to write the bag into.")],
    for_matter: Annotated[
        str | None,
        typer.Option(
            "--for-matter",
            help="Use in a matter other than the request's: needs a recorded consent (40(19)).",
        ),
    ] = None,
    transfer_to: Annotated[
        str | None,
        typer.Option(
            "--transfer-to",
            help="An onward transfer to a third State or body: needs a recorded authorization (36(3)).",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Open a received package for use: verified again as it is written, allowed only as its
    use conditions permit, recorded in the audit log."""
    if for_matter is not None and transfer_to is not None:
        fail("give at most one of --for-matter and --transfer-to")
    purpose: service.Purpose = "request"
    scope = None
    if for_matter is not None:
        purpose, scope = "other_matter", for_matter
    elif transfer_to is not None:
        purpose, scope = "onward_transfer", transfer_to
    settings = load_settings()
    with user_errors():
        ctx, _, folder = _node()
        try:
            size = next((h.size for h in service.holdings(ctx.store, package_id=package)), 0)
            with _progress(size, f"opening {package}", json) as bar:
                done = service.export(
                    ctx,
                    folder,
                    package,
                    to,
                    purpose=purpose,
                    scope=scope,
                    actor=settings.user,
                    at=datetime.now(UTC),
                    progress=bar,
                )
        except service.PermissionMissing as exc:
            flag = "--consent-for" if exc.kind == "consent" else "--authorize-transfer-to"
            fail(
                f"{exc.message} On the command line: hanoinet evidence permit {package} "
                f"{flag} '{exc.scope}' --reference REF"
            )
        finally:
            ctx.store.dispose()
    if json:
        print_json(done.as_dict())
        return
    console.print(
        f"{done.holding.id} exported to {done.folder} ({purpose.replace('_', ' ')})", markup=False
    )
    for c in (done.holding.conditions or {}).get("conditions", []):
        marks = "" if c["verified"] else " (para. number unconfirmed)"
        console.print(
            f"  condition {c['kind']} {c['article']}{marks}: {c.get('matter') or c['text']}",
            markup=False,
        )
