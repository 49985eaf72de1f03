"""The receiving side of an evidence transfer: the offer, then each chunk (docs/evidence.md).

Peers only, like the inbox: no user session or token. An offer counts only when signed
by a node's key in the directory (checked before anything in it is read); a chunk counts
only when it matches its hash in that offer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hanoinet.errors import TransferRefused
from hanoinet.evidence.offer import MAX_CHUNK_SIZE
from hanoinet.services import transfer
from hanoinet.web import api
from hanoinet.web import openapi as doc
from hanoinet.web.common import web

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
MAX_OFFER_BYTES = 16 << 20
"""An offer of a 1 TiB package at 8 MiB chunks lists 131,072 hashes: about 12 MB as a JWS."""
PACKAGE_ID = r"^EV-[A-Za-z0-9._-]{1,60}-[0-9]{6}$"


async def _body(request: Request, limit: int) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def _refused(exc: TransferRefused) -> JSONResponse:
    return api.problem(exc.status, "Transfer refused", exc.message, exc.reason)


@router.post(
    "/offers",
    summary="Offer an evidence package (signed list of its chunks); answers the next chunk needed",
    response_model=doc.TransferAnswer,
    responses=doc.problems(404, 409, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                doc.JOSE: {
                    "schema": {
                        "type": "string",
                        "maxLength": MAX_OFFER_BYTES,
                        "description": "A compact JWS by the sending node (docs/evidence.md)",
                    }
                }
            },
        }
    },
)
async def offer(request: Request) -> JSONResponse:
    state = web(request)
    if state.evidence_dir is None:
        return api.problem(404, "No evidence here", "this node receives no evidence", "no_evidence")
    body = await _body(request, MAX_OFFER_BYTES)
    if body is None:
        return api.problem(413, "Offer too large", f"at most {MAX_OFFER_BYTES} bytes", "too_large")
    try:
        answer = await run_in_threadpool(
            transfer.receive_offer,
            state.ctx,
            state.evidence_dir,
            body.decode("ascii", errors="replace"),
            at=state.clock(),
        )
    except TransferRefused as exc:
        return _refused(exc)
    return JSONResponse(answer.as_dict())


@router.put(
    "/{package}/chunks/{n}",
    summary="One chunk of an offered package; after the last, the package's verification",
    response_model=doc.TransferAnswer,
    responses=doc.problems(404, 409, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary", "maxLength": MAX_CHUNK_SIZE}
                }
            },
        }
    },
)
async def chunk(
    request: Request,
    package: Annotated[str, Path(pattern=PACKAGE_ID, description="The package id")],
    n: Annotated[int, Path(ge=0, le=1 << 20, description="The chunk's number, from 0")],
) -> JSONResponse:
    state = web(request)
    if state.evidence_dir is None:
        return api.problem(404, "No evidence here", "this node receives no evidence", "no_evidence")
    body = await _body(request, MAX_CHUNK_SIZE)
    if body is None:
        return api.problem(413, "Chunk too large", f"at most {MAX_CHUNK_SIZE} bytes", "too_large")
    try:
        answer = await run_in_threadpool(
            transfer.receive_chunk,
            state.ctx,
            state.evidence_dir,
            package,
            n,
            body,
            at=state.clock(),
        )
    except TransferRefused as exc:
        return _refused(exc)
    return JSONResponse(answer.as_dict())
