"""HTTP transport to a peer's inbox (httpx). Tests use an in-process transport instead."""

from __future__ import annotations

import httpx

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

    def close(self) -> None:
        self.client.close()
