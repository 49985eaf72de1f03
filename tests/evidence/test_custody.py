"""The custody graph's CASE validation: the same answer as case-utils' own ``case_validate``,
which reads the ontology afresh for every call."""

from __future__ import annotations

import copy
import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hanoinet.evidence import custody

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _graph() -> dict[str, Any]:
    return custody.custody_graph(
        "EV-xa-node-000001",
        [custody.Item("data/log.txt", 12, {"sha256": "ab" * 32, "sha512": "cd" * 64})],
        custody.Collection("Officer A (demo)", AT, tool="imager 1.0", method="copy"),
        custody.Packer("xa-node", "Aurelia (demo)", "XA", "officer", AT, "hanoinet", "0.1"),
    )


def _broken(change: str) -> dict[str, Any]:
    graph = copy.deepcopy(_graph())
    nodes = graph["@graph"]
    if change == "a size that is not a number":
        file = next(n for n in nodes if n["@type"] == "uco-observable:File")
        file["uco-core:hasFacet"][0]["uco-observable:sizeInBytes"] = {
            "@type": "xsd:integer",
            "@value": "lots",
        }
    elif change == "a class the ontology does not define":
        nodes[0]["@type"] = "uco-identity:Organisation"
    elif change == "a name that is a number, checked by a shape of a superclass":
        # Organization inherits uco-core:name's shape from UcoObject: found only with the
        # ontology's class hierarchy mixed into the data, as case_validate does.
        nodes[0]["uco-core:name"] = {"@type": "xsd:integer", "@value": "5"}
    elif change == "a hash method UCO does not know":
        file = next(n for n in nodes if n["@type"] == "uco-observable:File")
        file["uco-core:hasFacet"][1]["uco-observable:hash"][0]["uco-types:hashMethod"] = "MD42"
    return graph


def _case_utils(graph: dict[str, Any], folder: Path) -> bool:
    """What case-utils' own validation, reading the ontology afresh, says of ``graph``."""
    from case_utils.case_validate import validate as case_validate

    path = folder / "custody.jsonld"
    path.write_text(json.dumps(graph), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(case_validate(str(path), allow_warnings=False).conforms)


@pytest.mark.parametrize(
    "change",
    [
        None,
        "a size that is not a number",
        "a class the ontology does not define",
        "a hash method UCO does not know",
        "a name that is a number, checked by a shape of a superclass",
    ],
)
def test_the_answer_is_case_validate_s(change: str | None, tmp_path: Path) -> None:
    graph = _graph() if change is None else _broken(change)
    ours = custody.validate(json.dumps(graph).encode())
    assert ours.conforms is (change is None)
    if change is None or "superclass" in change:
        # case_validate itself (three seconds a call) on the graph that conforms and on the
        # one that needs the ontology mixed in as it mixes it; the others only fail
        assert ours.conforms is _case_utils(graph, tmp_path)
    if change == "a class the ontology does not define":
        assert "Organisation" in ours.report  # named, not only counted
    elif change is not None:
        assert "Results (" in ours.report


def test_the_same_custody_file_is_judged_once() -> None:
    data = json.dumps(_graph()).encode()
    first = custody.validate(data)
    assert first.conforms
    assert custody.validate(bytes(data)) is first  # the same bytes: the kept verdict
    changed = json.dumps(_broken("a size that is not a number")).encode()
    assert custody.validate(changed) is not first and not custody.validate(changed).conforms
