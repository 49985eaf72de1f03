"""The receiving side of an evidence transfer: the offer, then each chunk (docs/evidence.md).

Peers only, like the inbox: no user session or token. An offer counts only when signed
by a node's key in the directory (checked before anything in it is read); a chunk counts
only when it matches its hash in that offer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hanoinet.errors import TransferRefused
from hanoinet.evidence.offer import MAX_CHUNK_SIZE, PACKAGE_ID
from hanoinet.services import transfer
from hanoinet.services.transfer import Answer
from hanoinet.web import api
from hanoinet.web import openapi as doc
from hanoinet.web.common import Web, web

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
MAX_OFFER_BYTES = 16 << 20
"""An offer of a 1 TiB package at 8 MiB chunks lists 131,072 hashes: about 12 MB as a JWS."""


async def _answer(
    request: Request, limit: int, what: str, call: Callable[[Web, FilePath, bytes], Answer]
) -> JSONResponse:
    """Read at most ``limit`` bytes, then answer with ``call`` (off the event loop)."""
    state = web(request)
    folder = state.evidence_dir
    if folder is None:
        return api.problem(404, "No evidence here", "this node receives no evidence", "no_evidence")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return api.problem(413, f"{what} too large", f"at most {limit} bytes", "too_large")
    try:
        answer = await run_in_threadpool(call, state, folder, bytes(body))
    except TransferRefused as exc:
        return api.problem(exc.status, "Transfer refused", exc.message, exc.reason)
    return JSONResponse(answer.as_dict())


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
    return await _answer(
        request,
        MAX_OFFER_BYTES,
        "Offer",
        lambda state, folder, body: transfer.receive_offer(
            state.ctx, folder, body.decode("ascii", errors="replace"), at=state.clock()
        ),
    )


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
    return await _answer(
        request,
        MAX_CHUNK_SIZE,
        "Chunk",
        lambda state, folder, body: transfer.receive_chunk(
            state.ctx, folder, package, n, body, at=state.clock()
        ),
    )
