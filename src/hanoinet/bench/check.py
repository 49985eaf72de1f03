"""Benchmark: requests checked per second, beside parsing and validating alone.

Input: a mix of request documents (the complete example, an incomplete
template for every form, an extradition and an MLA request with dual
criminality to judge), checked against one context as a node does all day.
The reference is the bare minimum on the same texts: ``json.loads`` and
pydantic validation of the document, no legal checks. Target: at least
5,000 requests per second on one core.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from importlib import resources
from typing import Any

from hanoinet.bench.common import Timing, measure
from hanoinet.convention import convention
from hanoinet.law import check_text, default_context, template
from hanoinet.law.document import RequestDocument

TARGET_PER_SECOND = 5000


def corpus() -> list[str]:
    example: dict[str, Any] = json.loads(
        resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json").read_text("utf-8")
    )
    texts = [json.dumps(example)]
    mla = dict(
        example,
        kind="stored_data",
        channel="central_authority",
        matter={
            "nature": "investigation",
            "description": "Intrusion",
            "authority": "Prosecutor (demo)",
        },
        assistance_sought="Produce the logs",
        purpose="Evidence at trial",
    )
    texts.append(json.dumps(mla))
    extradition = dict(
        example,
        kind="extradition",
        channel="central_authority",
        persons=[{"name": "J. Doe (fictional)", "role": "accused"}],
        offences=[{"article": "11", "conduct": ["possess"], "max_penalty_years": 3}],
        judgment="Warrant no. 1 (demo)",
    )
    texts.append(json.dumps(extradition))
    texts.extend(json.dumps(template(kind)) for kind in convention().forms)
    return texts


def run(rounds: int = 300) -> dict[str, object]:
    texts = corpus()
    ctx = default_context(date(2026, 11, 24))

    def ours() -> None:
        for text in texts:
            check_text(text, ctx)

    def reference() -> None:
        for text in texts:
            data = json.loads(text)
            with contextlib.suppress(ValueError):
                RequestDocument.model_validate(data)

    results: list[Timing] = [
        measure("hanoinet check (all checks)", rounds, ours),
        measure("reference: json.loads + pydantic validate", rounds, reference),
    ]
    per_request = [
        {**t.as_dict(), "requests_per_second": round(t.per_second * len(texts), 1)} for t in results
    ]
    achieved = results[0].per_second * len(texts)
    return {
        "benchmark": "check",
        "documents": len(texts),
        "rounds": rounds,
        "results": per_request,
        "target_requests_per_second": TARGET_PER_SECOND,
        "meets_target": achieved >= TARGET_PER_SECOND,
    }
