"""Benchmark: formal request documents, the demo mutual legal assistance request (two pages
in English), beside a bare Typst compile of the same template and data.

Measured in fresh processes (``spawn``), so nothing this process imported or laid out
before is counted or shared:

- **single**: one process makes ``rounds`` documents each way: render + sign (what a node
  issues: PDF/A-4f, the request and the directory attached, PAdES with the node's key),
  render alone, the reference (``typst.compile`` of the very same template and data as a
  plain PDF: no PDF/A, no checks of ours, no signature), and verify; then the signed document in
  each of the six UN languages. Its peak RSS, and its RSS after the imports (the baseline).
Every document made is a different one (its own request id and time), as a node's are, so
Typst's cache of an identical layout is never what is measured.
- **parallel**: ``processes`` processes (default: one per core) make ``rounds`` signed
  documents each, timed from the first to the last; each has made one before the clock
  starts (fonts loaded, caches warm).

Target (issue 8): at least 20 documents per second for a two-page request; the parallel
figure is the one a node's worker processes reach on the machine.
"""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

TARGET_PER_SECOND = 20
EXAMPLE = "mla-xa-xb.json"
AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LANGS = ("en", "ar", "es", "fr", "ru", "zh")

_material: dict[str, Any] = {}
"""What each child process makes once: the request, its findings, a signer, the trust."""


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _prepare() -> dict[str, Any]:
    from hanoinet.documents.signature import Signer, issuing_key
    from hanoinet.exchange import crypto
    from hanoinet.exchange import directory as directory_module
    from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey, Trust
    from hanoinet.exchange.keys import KeySet
    from hanoinet.law import check_text, default_context

    if _material:
        return _material
    text = (resources.files("hanoinet.demo_data") / EXAMPLE).read_text(encoding="utf-8")
    doc, findings = check_text(text, default_context(AT.date()))
    keys = KeySet.generate(AT - timedelta(days=1))
    node = NodeEntry(
        id="bench-xa",
        state="XA",
        name="Central authority of XA (demo)",
        roles=("central_authority",),
        endpoint="https://bench-xa.example.org/hanoinet",
        keys=tuple(PublicKey(**k) for k in keys.public()),
        valid_from=AT - timedelta(days=30),
        illustrative=True,
    )
    authority = crypto.generate_signing_key()
    kid = crypto.thumbprint(crypto.public_jwk(authority))
    directory = Directory(
        version=1,
        issued_at=AT - timedelta(days=1),
        valid_until=AT + timedelta(days=90),
        nodes=(node,),
    )
    token = directory_module.issue(directory, authority, kid).token
    sig = issuing_key(keys, node, AT)
    _material.update(
        document=json.loads(text),
        doc=doc,
        findings=findings,
        signer=Signer(node, sig, token),
        trust=Trust({kid: crypto.public_jwk(authority)}),
    )
    return _material


_serial = itertools.count(1)
"""Each document made is a different one (its own request id and time), as a node's are:
Typst would otherwise reuse the layout of an identical one from its cache."""


def _make(lang: str = "en", *, signed: bool = True) -> Any:
    from hanoinet.documents.signature import make

    m = _prepare()
    number = next(_serial)
    return make(
        m["document"],
        m["doc"],
        m["findings"],
        lang=lang,
        at=AT + timedelta(seconds=number),
        request_id=f"R-{os.getpid() % 1000:03d}{number:06d}",
        signer=m["signer"] if signed else None,
    )


def _timing(name: str, calls: int, work: Callable[[], object]) -> dict[str, Any]:
    """``calls`` runs after one warm-up (memory is the process's RSS, not traced here:
    most of a layout's memory is Pango's and cairo's, which tracemalloc does not see)."""
    work()
    started = time.perf_counter()
    for _ in range(calls):
        work()
    seconds = time.perf_counter() - started
    return {
        "name": name,
        "calls": calls,
        "seconds": round(seconds, 4),
        "per_second": round(calls / seconds, 2),
        "per_call_ms": round(seconds / calls * 1000, 2),
    }


def single(rounds: int) -> dict[str, Any]:
    """The figures of one process (runs in a fresh child)."""
    import typst

    from hanoinet.documents import render
    from hanoinet.documents.signature import verify

    m = _prepare()
    baseline = _rss_mib()
    made = _make()
    if not made.signed or made.draft:
        raise RuntimeError("the benchmark's request did not make a signed final document")
    data = render.content(
        m["doc"],
        m["document"],
        m["findings"],
        lang="en",
        issued_at=AT,
        issuer=render.Issuer(m["signer"].node.id, m["signer"].node.name, "XA"),
        request_id="R-000001",
        draft=False,
    )
    template = str(render._template())
    compiler = typst.Compiler()

    def reference() -> object:
        number = next(_serial)  # a different document each time, as for ours
        data["header"]["id"] = f"R-{number:06d}"
        data["date"] = [2026, 12, 1 + number % 28]
        return compiler.compile(
            input=template,
            root=str(Path(template).parent),  # as render does: whatever the working folder
            sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
        )

    checked = verify(made.pdf, m["trust"])
    if not checked.ok:
        raise RuntimeError(f"the benchmark's document does not verify: {checked.to_json()}")
    figures = {
        "signed": _timing("render + sign (PDF/A-4f, attachments, PAdES)", rounds, _make),
        "unsigned": _timing("render (PDF/A-4f, attachments)", rounds, lambda: _make(signed=False)),
        "reference": _timing("bare Typst compile, the same template and data", rounds, reference),
        "verify": _timing("verify (pyHanko)", rounds, lambda: verify(made.pdf, m["trust"])),
    }
    each = max(3, rounds // 4)
    languages = {
        lang: _timing(f"render + sign, {lang}", each, functools.partial(_make, lang))
        for lang in LANGS
    }
    return {
        "pages": made.pages,
        "bytes": len(made.pdf),
        "single": figures,
        "languages": languages,
        "memory": {
            "baseline_rss_mib": round(baseline, 1),
            "peak_rss_mib": round(_peak_rss_mib(), 1),
        },
    }


def _warm() -> None:
    _make()


def _one(_index: int) -> int:
    return len(_make().pdf)


def parallel(rounds: int, processes: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_warm) as pool:
        pool.map(_one, range(processes))  # every process has started and made one
        started = time.perf_counter()
        made = pool.map(_one, range(rounds * processes), chunksize=1)
        seconds = time.perf_counter() - started
    return {
        "processes": processes,
        "documents": len(made),
        "seconds": round(seconds, 3),
        "per_second": round(len(made) / seconds, 2),
    }


def run(
    rounds: int = 40, processes: int | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    processes = processes or os.cpu_count() or 1
    say = progress or (lambda _line: None)
    say(f"one process, {rounds} documents each way, then the six languages ...")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result = pool.apply(single, (rounds,))
    say(f"{processes} processes, {rounds} signed documents each ...")
    result["parallel"] = parallel(rounds, processes)
    best = max(result["parallel"]["per_second"], result["single"]["signed"]["per_second"])
    result.update(
        target_per_second=TARGET_PER_SECOND,
        meets_target=best >= TARGET_PER_SECOND,
        rounds=rounds,
        processes=processes,
    )
    return result
