"""The check benchmark measures real checking on a real mix, beside parse-only."""

from __future__ import annotations

from datetime import date

from hanoinet.bench.check import corpus, run
from hanoinet.law import check_text, default_context


def test_corpus_has_every_form_and_produces_findings() -> None:
    texts = corpus()
    assert len(texts) >= 20
    ctx = default_context(date(2026, 11, 24))
    errors = [sum(f.severity == "error" for f in check_text(t, ctx)[1]) for t in texts]
    assert errors[0] == 0  # the complete example
    assert max(errors) > 5  # templates are incomplete on purpose


def test_run_reports_both_sides_and_the_target() -> None:
    result = run(rounds=2)
    names = [r["name"] for r in result["results"]]  # type: ignore[union-attr]
    assert names[0].startswith("hanoinet") and names[1].startswith("reference")
    assert result["target_requests_per_second"] == 5000
    assert isinstance(result["meets_target"], bool)
