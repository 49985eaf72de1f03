"""The case page's evidence, beyond where each transfer stands: verify a package again and
export a received one (docs/evidence.md, "On the case page").

- ``POST /evidence/{package}/verify``: the eight checks of ``evidence verify`` run again on the
  package as this node keeps it (decrypted in the stream, nothing written), the result kept
  for the case page and audited (services/evidence.py ``verify_held``); back to the case page.
- ``POST /evidence/{package}/export``: ``evidence export`` from a browser. The service decides
  (the use conditions: a consent recorded for another matter, 40(19), an authorization for an
  onward transfer, 36(3)) and audits the export before a byte is written; it opens the verified
  bag into a private folder of this node, which is sent as one tar stream
  (``EV-...-export.tar``, the bag as ``bagit`` and ``evidence verify`` read it) and deleted
  once sent. Packages larger than ``WEB_EXPORT_LIMIT`` are exported with the CLI.

Who: the readers of the request verify (a request the reader may not see answers like a
missing one); export is for those who act on the request (``access.may_act``), never the
supervisor, who reads and approves.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from hanoinet.errors import HanoinetError, UnknownCase
from hanoinet.evidence.staging import JOURNAL, Staging
from hanoinet.services import access
from hanoinet.services import cases as case_service
from hanoinet.services import evidence as evidence_service
from hanoinet.services.access import Principal
from hanoinet.web import auth
from hanoinet.web.common import (
    disposition,
    forbidden,
    login_first,
    no_such_request,
    now,
    page,
    session,
    web,
)
from hanoinet.web.render import N_

router = APIRouter(include_in_schema=False)

IN_TRANSFER = frozenset({"queued", "sending", "receiving", "verifying"})
"""The states of an evidence package whose chunks are still moving (services/transfer.py)."""
WEB_EXPORT_LIMIT = 4 << 30
"""The largest package a browser download exports (4 GiB): larger ones go through
``hanoinet evidence export``, which writes to a folder and shows its progress."""
PURPOSES: dict[str, evidence_service.Purpose] = {
    "request": "request",
    "other_matter": "other_matter",
    "onward_transfer": "onward_transfer",
}
TAR_BLOCK = 1 << 20


def sections(
    request: Request,
    summaries: list[Any],
    principal: Principal,
    *,
    audited_at: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Per request (its summary: ``id``, ``direction``), its evidence packages, whether the
    section polls (a package is in transfer) and whether this reader may export (acts on the
    request). With ``audited_at`` (a read outside the audited case page), a section that shows
    a kept verification (file names, custody) is read again as an audited read."""
    found: dict[str, dict[str, Any]] = {}
    store, at, stall = web(request).ctx.store, now(request), web(request).transfer_alarm
    for s in summaries:
        packages = evidence_service.holdings(store, request_id=s.id, now=at, stall_after=stall)
        if audited_at is not None and any(h.verification for h in packages):
            packages = evidence_service.holdings(
                store, request_id=s.id, actor=principal.actor, at=audited_at, stall_after=stall
            )
        found[s.id] = {
            "packages": packages,
            "polling": any(h.state in IN_TRANSFER for h in packages),
            "states": ",".join(f"{h.id}={h.state}" for h in packages),
            "may_export": access.may_act(principal, direction=s.direction),
            "on_this_node": {
                h.id: evidence_service.local_custody(store, h.id)
                for h in packages
                if h.state not in IN_TRANSFER
            },
        }
    return found


SEEN_MAX = 4096
"""The longest list of states a poll says it has seen (``seen``): longer is ignored."""


def changed_since(seen: str | None, packages: list[Any]) -> list[Any]:
    """The packages whose state is not the one the polling page last showed (``seen``, as
    ``sections`` wrote it): what the page's live region announces. None when the page did not
    say (a first load announces nothing: the page itself shows it)."""
    if seen is None or len(seen) > SEEN_MAX:
        return []
    before = dict(item.split("=", 1) for item in seen.split(",") if "=" in item)
    return [h for h in packages if before.get(h.id) != h.state]


def _package_of_visible_request(
    request: Request, package_id: str, principal: Principal
) -> tuple[evidence_service.Holding, str] | None:
    """The package and its request's direction, if the reader sees that request (else None:
    one answer for a package that does not exist and one the reader may not see)."""
    held = evidence_service.holdings(web(request).ctx.store, package_id=package_id)
    if not held:
        return None
    try:
        found = case_service.find(web(request).ctx.store, held[0].request_id, principal=principal)
    except UnknownCase:
        return None
    return held[0], str(found.direction)


async def _checked(
    request: Request, package_id: str
) -> tuple[Any, evidence_service.Holding, str, dict[str, str]] | Response:
    """The session, the package and the form of a POST, or the answer that refuses it."""
    current = session(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if current is None:
        return login_first(request, to="/requests")
    if not access.can(current.principal, "cases.read"):
        return forbidden(request)
    visible = _package_of_visible_request(request, package_id, current.principal)
    if visible is None:
        return no_such_request(request)
    held, direction = visible
    if not auth.csrf_ok(current.csrf, form.get("csrf") or request.headers.get(auth.CSRF_HEADER)):
        return _refused(
            request, N_("This form had expired. Please try again."), held.request_id, 400
        )
    return current, held, direction, form


def _refused(request: Request, reason: str, request_id: str, status_code: int) -> Response:
    """Why the service said no, as it said it (English, like the checks' findings), with the
    way back to the case page."""
    return page(
        request,
        "evidence_refused.html",
        N_("Evidence"),
        reason=reason,
        back=f"/requests/{request_id}",
        status_code=status_code,
    )


@router.post("/evidence/{package_id}/verify")
async def verify_again(request: Request, package_id: str) -> Response:
    checked = await _checked(request, package_id)
    if isinstance(checked, Response):
        return checked
    current, held, _direction, _form = checked
    folder = web(request).evidence_dir or Path(tempfile.gettempdir())
    try:
        evidence_service.verify_held(
            web(request).ctx, folder, package_id, actor=current.principal.actor, at=now(request)
        )
    except HanoinetError as exc:
        return _refused(request, exc.message, held.request_id, 409)
    return RedirectResponse(f"/requests/{held.request_id}#pkg-{package_id}", status_code=303)


def _tar_stream(folder: Path, name: str, then: Callable[[], None]) -> Iterator[bytes]:
    """The folder as a tar stream (POSIX pax), written through a pipe a block at a time;
    ``then`` runs when the stream ends, however it ends (the reader gone too)."""
    try:
        yield from _tar_blocks(folder, name)
    finally:
        then()


def _tar_blocks(folder: Path, name: str) -> Iterator[bytes]:
    read_fd, write_fd = os.pipe()

    def produce() -> None:
        # the reader gone (the browser closed the download): the pipe breaks, nothing else
        with (
            contextlib.suppress(BrokenPipeError),
            open(write_fd, "wb") as writer,
            tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            tar.add(str(folder), arcname=name, recursive=True)

    thread = threading.Thread(target=produce, daemon=True, name="hanoinet-export")
    thread.start()
    with open(read_fd, "rb") as reader:
        while block := reader.read(TAR_BLOCK):
            yield block
    thread.join()


@router.post("/evidence/{package_id}/export")
async def export(request: Request, package_id: str) -> Response:
    checked = await _checked(request, package_id)
    if isinstance(checked, Response):
        return checked
    current, held, direction, form = checked
    if not access.may_act(current.principal, direction=direction):
        return forbidden(request)
    evidence_dir = web(request).evidence_dir
    if evidence_dir is None:
        return forbidden(request)
    if held.size > WEB_EXPORT_LIMIT:
        return _refused(
            request,
            f"{package_id} is larger than a browser download takes here (4 GiB): the node's "
            "administrator exports it into a folder on the server, with its progress shown",
            held.request_id,
            413,
        )
    purpose = PURPOSES.get(form.get("purpose", "request"), "request")
    scope = form.get("scope", "").strip() or None
    # the bag is in clear until the download ends: a staging folder the next start of the node
    # removes if this process dies meanwhile (evidence/staging.py)
    held_open = Staging(evidence_dir, evidence_dir / JOURNAL)
    try:
        done = evidence_service.export(
            web(request).ctx,
            evidence_dir,
            package_id,
            held_open.path,
            purpose=purpose,
            scope=scope if purpose != "request" else None,
            actor=current.principal.actor,
            at=now(request),
        )
    except HanoinetError as exc:
        held_open.close()
        status = 403 if exc.code == "transition_refused" else 409
        return _refused(request, exc.message, held.request_id, status)
    except BaseException:
        held_open.close()
        raise
    name = f"{package_id}-export.tar"
    return StreamingResponse(
        _tar_stream(done.folder, package_id, held_open.close),
        media_type="application/x-tar",
        headers={
            "content-disposition": disposition("attachment", name),
            "cache-control": "no-store",
        },
    )
