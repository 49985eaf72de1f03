"""Personal data: onward transfer needs the original sender's prior authorization (36(3))."""

from __future__ import annotations

from collections.abc import Iterator

from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.texts import t


def check_data_protection(doc: RequestDocument) -> Iterator[Finding]:
    transfer = doc.onward_transfer
    if transfer is None:
        return
    if not (transfer.recipient or "").strip():
        yield Finding(
            "onward_recipient_missing",
            "error",
            "36(3)",
            "/onward_transfer/recipient",
            t("Name the third State or organization the personal data would go to"),
        )
    if not (transfer.received_from or "").strip():
        yield Finding(
            "onward_source_missing",
            "error",
            "36(3)",
            "/onward_transfer/received_from",
            t("Name the State the personal data came from: its authorization is needed"),
        )
    if not (transfer.authorization or "").strip():
        source = (transfer.received_from or "").strip() or t("the State that sent the data")
        yield Finding(
            "onward_transfer_unauthorized",
            "error",
            "36(3)",
            "/onward_transfer/authorization",
            t(
                "Personal data received under the Convention may go to a third State or "
                "organization only with the prior authorization of %(source)s (36(3)); record "
                "its reference and date first",
                source=source,
            ),
        )
