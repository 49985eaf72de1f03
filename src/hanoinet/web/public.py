"""Public pages, no log-in: treaty status and the directory of designated authorities.

- ``GET /public/treaty`` (HTML), ``/public/treaty.json`` (the object of
  ``hanoinet treaty status --json``, docs/cli.md), ``/public/treaty.csv`` (one row per
  participant): computed on the app clock's date (UTC) from the packaged treaty record, with
  the same registry functions as the command line.
- ``GET /public/directory`` (HTML), ``/public/directory.json``, ``/public/directory.csv``
  (one row per node): the node directory this node verified, and the designations States
  have notified (the demo States' ones labelled illustrative).

Routes translate HTTP only; the rules are in ``hanoinet.registry``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from hanoinet.convention import convention
from hanoinet.errors import UnknownParticipant
from hanoinet.exchange.directory import ROLE_ARTICLES, Directory, NodeEntry, PublicKey
from hanoinet.registry import TreatyStatus, packaged_actions, participant, treaty_status
from hanoinet.registry.actions import PACKAGED_RECORD
from hanoinet.registry.designations import (
    Designation,
    demo_designations,
    real_designations,
    reservation_dict,
)
from hanoinet.registry.status import participant_dict, status_dict
from hanoinet.web.common import attachment, now, page, web
from hanoinet.web.render import N_

router = APIRouter(include_in_schema=False)

RECORD = f"{PACKAGED_RECORD} (packaged)"
"""How the packaged record is named, as ``hanoinet treaty status`` names it."""
TREATY_COLUMNS = (
    "code",
    "name",
    "kind",
    "state",
    "signed",
    "instrument",
    "deposit",
    "counted",
    "in_force_for_party",
    "denunciation_notified",
    "denunciation_effective",
    "sources",
)
"""Columns of ``/public/treaty.csv``: the keys of ``participant_dict`` (docs/cli.md)."""
DIRECTORY_COLUMNS = (
    "id",
    "state",
    "state_name",
    "name",
    "roles",
    "endpoint",
    "languages",
    "channels",
    "valid_from",
    "valid_until",
    "illustrative",
    "kids",
)
"""Columns of ``/public/directory.csv``; lists are separated by spaces."""
DOWNLOAD_CACHE = "public, max-age=300"


def _today(request: Request) -> date:
    """The app clock's date in UTC, as ``hanoinet treaty status`` takes today (UTC)."""
    at = now(request)
    return (at.astimezone(UTC) if at.tzinfo is not None else at).date()


def _status(day: date) -> TreatyStatus:
    """Exactly what ``hanoinet treaty status --as-of DAY`` computes (packaged record,
    confirmed actions only)."""
    return treaty_status(packaged_actions(), day, include_unconfirmed=False)


def _cell(value: object) -> str:
    """One CSV cell: empty for None, yes/no for booleans, lists joined by spaces; a text
    that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list | tuple):
        text = " ".join(str(v) for v in value)
    else:
        text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return attachment(
        out.getvalue().encode("utf-8"), "text/csv; charset=utf-8", filename, cache=DOWNLOAD_CACHE
    )


def _json(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(data, headers={"cache-control": DOWNLOAD_CACHE})


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


# -- Treaty status -------------------------------------------------------------------------


@router.get("/public/treaty")
def treaty_page(request: Request) -> HTMLResponse:
    day = _today(request)
    status = _status(day)
    dates = convention().dates
    return page(
        request,
        "public_treaty.html",
        N_("Treaty status"),
        active="treaty",
        day=day.isoformat(),
        status=status,
        record=RECORD,
        signature_opens=dates["signature_opens"].date.isoformat(),
        signature_closes=dates["signature_closes"].date.isoformat(),
        entry_days=convention().period("entry_into_force_days").value,
        iso=lambda value: value.isoformat() if value is not None else "",
        host=_host,
    )


@router.get("/public/treaty.json")
def treaty_json(request: Request) -> JSONResponse:
    """The object of ``hanoinet treaty status --json`` on today's date (docs/cli.md)."""
    status = _status(_today(request))
    return _json(status_dict(status, RECORD, False))


@router.get("/public/treaty.csv")
def treaty_csv(request: Request) -> Response:
    """One row per participant (signed or deposited on or before today), in the shape of
    ``hanoinet treaty state --json`` without the per-action detail."""
    day = _today(request)
    status = _status(day)
    return _csv(
        TREATY_COLUMNS,
        (participant_dict(p, day) for p in status.participants),
        f"hanoinet-treaty-status-{day.isoformat()}.csv",
    )


# -- Directory -----------------------------------------------------------------------------


def _names(code: str) -> dict[str, str]:
    """The State's names in the six languages, from the registry (the code if unknown)."""
    try:
        return dict(participant(code).names)
    except UnknownParticipant:
        return {}


def _illustrative(code: str) -> bool:
    try:
        return participant(code).illustrative
    except UnknownParticipant:
        return False


def _key_dict(key: PublicKey) -> dict[str, object]:
    return {
        "kid": key.kid,
        "use": key.use,
        "crv": key.crv,
        "alg": key.alg,
        "valid_from": key.valid_from.isoformat(),
        "valid_until": key.valid_until.isoformat() if key.valid_until else None,
        "revoked": key.revoked.isoformat() if key.revoked else None,
    }


def _node_dict(node: NodeEntry) -> dict[str, object]:
    return {
        "id": node.id,
        "state": node.state,
        "state_name": _names(node.state).get("en", node.state),
        "name": node.name,
        "roles": list(node.roles),
        "endpoint": node.endpoint,
        "languages": list(node.languages),
        "channels": list(node.channels),
        "valid_from": node.valid_from.isoformat(),
        "valid_until": node.valid_until.isoformat() if node.valid_until else None,
        "illustrative": node.illustrative or _illustrative(node.state),
        "keys": [_key_dict(k) for k in node.keys],
    }


def _designations() -> list[tuple[Designation, bool]]:
    """Every designation a node checks requests against, with whether it is illustrative
    (a demo State's, invented) rather than notified by a real State."""
    real = real_designations().by_state
    found = []
    for code, designation in sorted(demo_designations().by_state.items()):
        illustrative = real.get(code) != designation or _illustrative(code)
        found.append((designation, illustrative))
    return found


def _designation_dict(
    designation: Designation, illustrative: bool, directory: Directory
) -> dict[str, object]:
    def contact(value: Any) -> dict[str, str | None] | None:
        if value is None:
            return None
        return {
            "name": value.name,
            "contact": value.contact,
            "postal_address": value.postal_address,
            "email": value.email,
            "telephone": value.telephone,
        }

    return {
        "state": designation.state,
        "state_name": _names(designation.state).get("en", designation.state),
        "illustrative": illustrative,
        "central_authority": contact(designation.central_authority),
        "point_of_contact": contact(designation.point_of_contact),
        "languages": list(designation.languages),
        "channels": list(designation.channels),
        "interpol_in_urgency": designation.interpol_in_urgency,
        "oral_in_urgency": designation.oral_in_urgency,
        "runs_a_node": bool(directory.nodes_of(designation.state)),
        "source": designation.source,
        "as_of": designation.as_of.isoformat() if designation.as_of else None,
        "reservations": [reservation_dict(r) for r in designation.reservations],
    }


def directory_dict(directory: Directory) -> dict[str, object]:
    """The shape of ``/public/directory.json``."""
    return {
        "directory_version": directory.version,
        "issued_at": directory.issued_at.isoformat(),
        "valid_until": directory.valid_until.isoformat(),
        "nodes": [_node_dict(n) for n in directory.nodes],
        "designations": [_designation_dict(d, i, directory) for d, i in _designations()],
    }


@router.get("/public/directory")
def directory_page(request: Request) -> HTMLResponse:
    current = web(request)
    directory = current.ctx.directory
    at = now(request)
    found = _designations()
    codes = {n.state for n in directory.nodes} | {d.state for d, _ in found}
    return page(
        request,
        "public_directory.html",
        N_("Directory"),
        active="directory",
        directory=directory,
        expired=at >= directory.valid_until,
        state_names={code: _names(code) for code in codes},
        illustrative_states={code for code in codes if _illustrative(code)},
        role_articles=ROLE_ARTICLES,
        forms=convention().forms,
        real_designations=[d for d, illustrative in found if not illustrative],
        demo_designations=[d for d, illustrative in found if illustrative],
        outside=[d for d, _ in found if not directory.nodes_of(d.state)],
        signed_available=current.directory_token is not None,
    )


@router.get("/public/directory.json")
def directory_json(request: Request) -> JSONResponse:
    return _json(directory_dict(web(request).ctx.directory))


@router.get("/public/directory.csv")
def directory_csv(request: Request) -> Response:
    directory = web(request).ctx.directory
    rows = []
    for node in directory.nodes:
        row = _node_dict(node)
        row["kids"] = [k.kid for k in node.keys]
        rows.append(row)
    return _csv(DIRECTORY_COLUMNS, rows, f"hanoinet-directory-v{directory.version}.csv")
