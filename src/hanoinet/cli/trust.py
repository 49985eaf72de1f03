"""What an offline verifier trusts, from the command line: the directory authority's key
(``--authority``, default HANOINET_DIRECTORY_AUTHORITY) and optionally a signed directory
(``--directory``, default the one the package or document carries). Used by ``evidence
verify``/``unpack``/``custody`` and ``document verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hanoinet.errors import InvalidInput
from hanoinet.exchange.directory import Trust
from hanoinet.services import runtime
from hanoinet.settings import load_settings

Authority = Annotated[
    Path | None,
    typer.Option(
        "--authority",
        help="The directory authority's public key (JWK); default HANOINET_DIRECTORY_AUTHORITY.",
    ),
]
Directory = Annotated[
    Path | None,
    typer.Option(
        "--directory",
        help="A signed directory to check the signer's key against (default: the one the "
        "package or document carries).",
    ),
]


def trust(authority: Path | None, directory: Path | None) -> Trust:
    settings = load_settings()
    if authority is not None:
        try:
            jwk = json.loads(authority.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"--authority {authority}: {exc}") from None
        if not isinstance(jwk, dict) or not jwk.get("kid"):
            raise InvalidInput(f"--authority {authority}: not a public key with a kid")
        authorities = {str(jwk["kid"]): jwk}
    else:
        if settings.directory_authority is None:
            raise InvalidInput(
                "give --authority FILE (the directory authority's public key) or set "
                "HANOINET_DIRECTORY_AUTHORITY"
            )
        authorities = runtime.authorities(settings)
    token = None
    if directory is not None:
        try:
            token = directory.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInput(f"--directory {directory}: {exc.strerror}") from None
    return Trust(authorities, token)
