"""Runs every scenario in scenarios/*.yaml through the entry-into-force engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pycountry
import pytest
import yaml

from hanoinet.registry import ActionKind, TreatyAction, treaty_status

SCENARIOS = Path(__file__).parent / "scenarios"
SOURCE = "https://example.org/scenario"
# Forty-odd distinct ISO codes for the `xN` shorthand, leaving ZW free for named rows.
CODES = [
    c.alpha_2 for c in sorted(pycountry.countries, key=lambda c: c.alpha_2) if c.alpha_2 != "ZW"
]


def _expand(lines: list[str]) -> list[TreatyAction]:
    actions: list[TreatyAction] = []
    for line in lines:
        who, action, when = line.split()
        if who.startswith("x"):
            for code in CODES[: int(who[1:])]:
                actions.append(_action(code, "signature", "2025-10-25"))
                actions.append(_action(code, action, when))
        else:
            actions.append(_action(who, action, when))
    return actions


def _action(code: str, action: str, when: str) -> TreatyAction:
    return TreatyAction(code, code, ActionKind(action), date.fromisoformat(when), True, SOURCE)


def _load() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        cases.extend(yaml.safe_load(path.read_text(encoding="utf-8")))
    return cases


CASES = _load()


@pytest.mark.parametrize("case", CASES, ids=[f"art {c['article']}: {c['name']}" for c in CASES])
def test_scenario(case: dict[str, Any]) -> None:
    status = treaty_status(_expand(case["record"]), date.fromisoformat(case["as_of"]))
    expected = dict(case["expected"])
    party = dict(expected.pop("party", None) or {}) or None
    for key, value in expected.items():
        got = getattr(status, key)
        got = got.isoformat() if isinstance(got, date) else got
        assert got == value, f"{case['name']} ({case['article']}): {key}"
    if party is not None:
        code = party.pop("code")
        entry = next(p for p in status.participants if p.code == code)
        for key, value in party.items():
            got = getattr(entry, key)
            got = got.isoformat() if isinstance(got, date) else got
            assert got == value, f"{case['name']} ({case['article']}): {key}"
