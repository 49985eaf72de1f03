"""HTTP transport to a peer's inbox (httpx). Tests use an in-process transport instead."""

from __future__ import annotations

from typing import Any

import httpx

from hanoinet.errors import TransferRefused

JOSE = "application/jose"


class HttpTransport:
    def __init__(self, timeout: float = 10.0) -> None:
        self.client = httpx.Client(timeout=timeout)

    def post(self, endpoint: str, envelope: str) -> str:
        response = self.client.post(
            endpoint.rstrip("/") + "/api/v1/inbox", content=envelope, headers={"content-type": JOSE}
        )
        if response.status_code not in (200, 422):
            raise OSError(f"HTTP {response.status_code} from {endpoint}")
        receipt = response.json().get("receipt")
        if not isinstance(receipt, str):
            raise OSError(f"no receipt in the answer of {endpoint}")
        return receipt

    def post_batch(self, endpoint: str, envelopes: list[str]) -> str:
        response = self.client.post(
            endpoint.rstrip("/") + "/api/v1/inbox/batch", json={"envelopes": envelopes}
        )
        if response.status_code != 200:
            raise OSError(f"HTTP {response.status_code} from {endpoint}")
        receipt = response.json().get("receipt")
        if not isinstance(receipt, str):
            raise OSError(f"no receipt in the answer of {endpoint}")
        return receipt

    def _answer(self, response: httpx.Response, endpoint: str) -> dict[str, Any]:
        if response.status_code >= 500:
            raise OSError(f"HTTP {response.status_code} from {endpoint}")
        try:
            data = response.json()
        except ValueError:
            raise OSError(f"HTTP {response.status_code} from {endpoint}: not JSON") from None
        if response.status_code != 200:
            raise TransferRefused(
                str(data.get("code", "refused")), str(data.get("detail", "")), response.status_code
            )
        if not isinstance(data, dict):
            raise OSError(f"an answer of {endpoint} is not a JSON object")
        return data

    def offer(self, endpoint: str, token: str) -> dict[str, Any]:
        """Post an evidence offer; the answer says which chunk the receiver needs next."""
        try:
            response = self.client.post(
                endpoint.rstrip("/") + "/api/v1/evidence/offers",
                content=token,
                headers={"content-type": JOSE},
            )
        except httpx.TransportError as exc:
            raise OSError(f"{endpoint}: {exc}") from None
        return self._answer(response, endpoint)

    def chunk(
        self, endpoint: str, package: str, n: int, data: bytes, *, last: bool
    ) -> dict[str, Any]:
        """Put chunk ``n``; the last one too is answered at once (the receiver verifies the
        package afterwards and sends its decision by message)."""
        try:
            response = self.client.put(
                f"{endpoint.rstrip('/')}/api/v1/evidence/{package}/chunks/{n}",
                content=data,
                headers={"content-type": "application/octet-stream"},
            )
        except httpx.TransportError as exc:
            raise OSError(f"{endpoint}: {exc}") from None
        return self._answer(response, endpoint)

    def close(self) -> None:
        self.client.close()
