"""Provenance and chain of custody as CASE/UCO JSON-LD (https://caseontology.org).

``custody_graph`` describes who collected the items, when, how and with
which tool, each item's size and hashes, and who packaged and signed them
with hanoinet: two ``case-investigation:InvestigativeAction`` nodes around a
``case-investigation:ProvenanceRecord``. Evidence that came from a State that runs
no node (on media, by post or courier, or by download) has a third action between
them, its receipt: from which State, by what means, when, on what medium, and who
received it; the receiving node packs it. Node ids end in a UUID derived from
the package id, as CASE asks, so the same package always gives the same graph.
``validate`` runs ``case_utils`` (SHACL, the CASE ontology it ships);
``timeline`` reads the actions back in time order.
"""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

CONTEXT = {
    "kb": "urn:hanoinet:evidence:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
HASH_METHODS = {"sha256": "SHA256", "sha512": "SHA512"}
"""Our manifest algorithms -> UCO's HashNameVocab."""


@dataclass(frozen=True)
class Collection:
    """How the items were obtained, as the sending authority declares it."""

    collected_by: str
    collected_at: datetime
    tool: str | None = None
    method: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Receipt:
    """How evidence from a State that runs no node arrived at the node that packs it."""

    received_from: str
    """The State that sent it, by name and code."""
    means: str
    """post, courier, diplomatic, email, download or hand (delivered in person)."""
    arrived_at: datetime
    received_by: str
    reference: str | None = None
    """The covering letter's reference, or the download link's."""
    medium: str | None = None
    """What it came on (a USB stick and its serial, a DVD, a download address)."""


@dataclass(frozen=True)
class Packer:
    node_id: str
    node_name: str
    state: str
    actor: str
    at: datetime
    software: str
    version: str


@dataclass(frozen=True)
class Item:
    """One payload file as it is in the bag."""

    path: str
    """Path in the bag, ``data/...``."""
    size: int
    digests: dict[str, str]
    """Algorithm (``sha256``, ``sha512``) -> lowercase hex."""


def _time(at: datetime) -> dict[str, str]:
    """xsd:dateTime in UTC to the second, as custody records are read."""
    value = at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"@type": "xsd:dateTime", "@value": value}


def custody_graph(
    package_id: str,
    items: list[Item],
    collection: Collection,
    packer: Packer,
    receipt: Receipt | None = None,
) -> dict[str, Any]:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:hanoinet:evidence:{package_id}")

    def node_id(kind: str, n: int | str = 0) -> str:
        return f"kb:{kind}-{uuid.uuid5(namespace, f'{kind}/{n}')}"

    organization, operator, collector = (
        node_id("organization"),
        node_id("operator"),
        node_id("collector"),
    )
    hanoinet_tool, collection_tool = node_id("tool", "hanoinet"), node_id("tool", "collection")
    record = node_id("provenance-record")
    graph: list[dict[str, Any]] = [
        {
            "@id": organization,
            "@type": "uco-identity:Organization",
            "uco-core:name": packer.node_name,
            "uco-core:description": f"hanoinet node {packer.node_id} of State {packer.state}",
        },
        {"@id": operator, "@type": "uco-identity:Identity", "uco-core:name": packer.actor},
        {
            "@id": collector,
            "@type": "uco-identity:Identity",
            "uco-core:name": collection.collected_by,
        },
        {
            "@id": hanoinet_tool,
            "@type": "uco-tool:Tool",
            "uco-core:name": packer.software,
            "uco-tool:version": packer.version,
        },
    ]
    files: list[dict[str, str]] = []
    for n, item in enumerate(items):
        file_id = node_id("file", n)
        files.append({"@id": file_id})
        hashes = [
            {
                "@id": node_id(f"hash-{alg}", n),
                "@type": "uco-types:Hash",
                "uco-types:hashMethod": HASH_METHODS[alg],
                "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value.upper()},
            }
            for alg, value in sorted(item.digests.items())
        ]
        size = {"@type": "xsd:integer", "@value": str(item.size)}
        graph.append(
            {
                "@id": file_id,
                "@type": "uco-observable:File",
                "uco-core:hasFacet": [
                    {
                        "@id": node_id("file-facet", n),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": item.path.rsplit("/", 1)[-1],
                        "uco-observable:filePath": item.path,
                        "uco-observable:sizeInBytes": size,
                    },
                    {
                        "@id": node_id("content-facet", n),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:sizeInBytes": size,
                        "uco-observable:hash": hashes,
                    },
                ],
            }
        )
    collected: dict[str, Any] = {
        "@id": node_id("action", "collection"),
        "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": "collection",
        "uco-action:performer": {"@id": collector},
        "uco-action:startTime": _time(collection.collected_at),
        "uco-action:result": files,
    }
    described = [
        f"{label}: {value}"
        for label, value in (("Method", collection.method), ("Source", collection.source))
        if value
    ]
    if described:
        collected["uco-core:description"] = "; ".join(described)
    if collection.tool:
        graph.append(
            {"@id": collection_tool, "@type": "uco-tool:Tool", "uco-core:name": collection.tool}
        )
        collected["uco-action:instrument"] = {"@id": collection_tool}
    graph.append(collected)
    packaging = (
        "Packaged as a BagIt bag, signed by the sending node and encrypted to the receiving node"
    )
    if receipt is not None:
        receiver = node_id("receiver")
        graph.append(
            {
                "@id": receiver,
                "@type": "uco-identity:Identity",
                "uco-core:name": receipt.received_by,
            }
        )
        said = f"Received from {receipt.received_from} by {receipt.means}"
        if receipt.medium:
            said += f" on {receipt.medium}"
        if receipt.reference:
            said += f"; reference: {receipt.reference}"
        graph.append(
            {
                "@id": node_id("action", "receipt"),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": "receipt",
                "uco-core:description": said,
                "uco-action:performer": {"@id": receiver},
                "uco-action:environment": {"@id": organization},
                "uco-action:startTime": _time(receipt.arrived_at),
                "uco-action:object": files,
            }
        )
        packaging = (
            "Packaged on receipt as a BagIt bag, signed by the receiving node and encrypted to it"
        )
    graph.append(
        {
            "@id": record,
            "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": package_id,
            "uco-core:object": files,
        }
    )
    graph.append(
        {
            "@id": node_id("action", "packaging"),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "packaging",
            "uco-core:description": packaging,
            "uco-action:performer": {"@id": operator},
            "uco-action:environment": {"@id": organization},
            "uco-action:instrument": {"@id": hanoinet_tool},
            "uco-action:startTime": _time(packer.at),
            "uco-action:object": files,
            "uco-action:result": [{"@id": record}],
        }
    )
    return {"@context": CONTEXT, "@graph": graph}


def dumps(graph: dict[str, Any]) -> bytes:
    return (json.dumps(graph, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Step:
    """One entry of the chain of custody, as people read it."""

    at: str
    action: str
    performer: str | None
    tool: str | None
    description: str | None
    items: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "action": self.action,
            "performer": self.performer,
            "tool": self.tool,
            "description": self.description,
            "items": list(self.items),
        }


def _ref(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value] if value else []
    return [str(v["@id"]) for v in values if isinstance(v, dict) and "@id" in v]


def _literal(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("@value")
    return None if value is None else str(value)


def timeline(graph: dict[str, Any]) -> list[Step]:
    """The investigative actions of a custody graph in time order, names resolved."""
    nodes = {str(n.get("@id")): n for n in graph.get("@graph", []) if isinstance(n, dict)}

    def name(ref: str) -> str:
        node = nodes.get(ref, {})
        return _literal(node.get("uco-core:name")) or ref

    def item_names(refs: list[str]) -> list[str]:
        out = []
        for ref in refs:
            node = nodes.get(ref, {})
            facets = node.get("uco-core:hasFacet", [])
            paths = [
                _literal(f.get("uco-observable:filePath"))
                for f in facets
                if isinstance(f, dict) and f.get("@type") == "uco-observable:FileFacet"
            ]
            if paths and paths[0]:
                out.append(paths[0])
            elif node.get("@type") == "case-investigation:ProvenanceRecord":
                out.append(
                    f"provenance record {_literal(node.get('case-investigation:exhibitNumber'))}"
                )
        return out

    steps = []
    for node in nodes.values():
        if node.get("@type") != "case-investigation:InvestigativeAction":
            continue
        performer = _ref(node.get("uco-action:performer"))
        tool = _ref(node.get("uco-action:instrument"))
        touched = _ref(node.get("uco-action:object")) + _ref(node.get("uco-action:result"))
        steps.append(
            Step(
                at=_literal(node.get("uco-action:startTime")) or "",
                action=_literal(node.get("uco-core:name")) or "action",
                performer=name(performer[0]) if performer else None,
                tool=name(tool[0]) if tool else None,
                description=_literal(node.get("uco-core:description")),
                items=tuple(dict.fromkeys(item_names(touched))),
            )
        )
    return sorted(steps, key=lambda s: s.at)


def _nested_context(value: Any) -> bool:
    if isinstance(value, dict):
        return "@context" in value or any(_nested_context(v) for v in value.values())
    if isinstance(value, list):
        return any(_nested_context(v) for v in value)
    return False


@dataclass(frozen=True)
class CaseValidation:
    conforms: bool
    report: str
    ontology: str


_ONTOLOGY_LOCK = threading.Lock()


@cache
def _ontology() -> tuple[Any, Any]:
    """The CASE ontology case-utils ships (its shapes, with the reviews of the ontology itself
    turned off as case_validate does), and its class and property axioms as pySHACL copies them
    into every data graph; both read once per process (they cost two seconds)."""
    import rdflib
    from case_utils.case_validate.validate_utils import disable_tbox_review, get_ontology_graph
    from pyshacl.rdfutil.inoculate import inoculate

    ontology = get_ontology_graph(None, None)
    disable_tbox_review(ontology)
    axioms = rdflib.Graph()
    inoculate(axioms, ontology)  # type: ignore[arg-type]  # a Graph is all it uses
    return ontology, axioms


@lru_cache(maxsize=64)
def validate(data: bytes) -> CaseValidation:
    """SHACL validation against the CASE ontology shipped with case-utils: what
    ``case_validate --allow-warnings`` would not allow, this refuses too (a concept with a CASE
    or UCO address that the ontology does not define included). About a second; the ontology is
    read once per process instead of once per call (tests compare both). The verdict depends on
    the bytes alone, so the last few are kept: a package is checked on arrival, when verified
    again and when exported, each time the same custody file."""
    import pyshacl
    import rdflib
    from case_utils.case_validate.validate_utils import get_invalid_cdo_concepts
    from case_utils.ontology.version_info import CURRENT_CASE_VERSION

    try:
        parsed = json.loads(data)
    except ValueError as exc:
        return CaseValidation(False, f"not JSON: {exc}", CURRENT_CASE_VERSION)
    if (
        not isinstance(parsed, dict)
        or not isinstance(parsed.get("@context"), dict)
        or _nested_context(parsed.get("@graph"))
    ):
        # a string or nested @context is something rdflib would fetch (URL or file): never
        return CaseValidation(False, "only one inline @context is read", CURRENT_CASE_VERSION)
    with _ONTOLOGY_LOCK, warnings.catch_warnings():
        # rdflib 7 warns about its own ConjunctiveGraph, which pyshacl still uses
        warnings.simplefilter("ignore", DeprecationWarning)
        ontology, axioms = _ontology()
        graph = rdflib.Graph()
        try:
            graph.parse(data=data, format="json-ld")
        except Exception as exc:  # rdflib raises many kinds on a file that is not JSON-LD
            return CaseValidation(False, f"not readable as JSON-LD: {exc}", CURRENT_CASE_VERSION)
        unknown = sorted(str(c) for c in get_invalid_cdo_concepts(graph, ontology))
        mixed = rdflib.Graph()
        for triple in axioms:
            mixed.add(triple)
        for triple in graph:
            mixed.add(triple)
        conforms, _report, text = pyshacl.validate(
            mixed, shacl_graph=ontology, inplace=True, allow_warnings=False
        )
    if unknown:
        text = f"{text}Not in the CASE ontology {CURRENT_CASE_VERSION}: {', '.join(unknown)}\n"
    return CaseValidation(bool(conforms) and not unknown, str(text), CURRENT_CASE_VERSION)
