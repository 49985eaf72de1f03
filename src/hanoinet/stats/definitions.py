"""What each statistic counts: ``data/measures.yaml``, checked against the lifecycle table."""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from hanoinet.cases.lifecycle import lifecycle
from hanoinet.convention import convention
from hanoinet.convention.loader import load_text
from hanoinet.errors import ConventionDataError

FILE = "measures.yaml"
RECEIVE = "receive"
"""The event that opens a received request: recorded by the inbox, not a lifecycle action."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Start(_Frozen):
    outgoing: str
    incoming: str


class Measure(_Frozen):
    article: str
    actions: tuple[str, ...]


class Milestones(_Frozen):
    acknowledge: Measure
    first_answer: Measure
    decision: Measure
    execution: Measure


class Outcomes(_Frozen):
    executed: Measure
    partially_executed: Measure
    refused: Measure
    withdrawn: Measure
    lapsed: Measure


class Flags(_Frozen):
    postponed: Measure
    returned_for_more_info: Measure
    preserved: Measure
    followed_up: Measure


class Definitions(_Frozen):
    start: Start
    milestones: Milestones
    outcomes: Outcomes
    flags: Flags

    def measures(self) -> dict[str, Measure]:
        """Every named measure, prefixed by its section (``milestones.decision``...)."""
        found: dict[str, Measure] = {}
        for section in ("milestones", "outcomes", "flags"):
            model = getattr(self, section)
            for name in type(model).model_fields:
                found[f"{section}.{name}"] = getattr(model, name)
        return found


MILESTONES = tuple(Milestones.model_fields)
OUTCOMES = tuple(Outcomes.model_fields)
FLAGS = tuple(Flags.model_fields)


@cache
def definitions() -> Definitions:
    """The definitions, each action checked against the lifecycle table and each article key
    against the Convention data; a milestone's actions must be the requested State's."""
    text = (resources.files("hanoinet.stats.data") / FILE).read_text(encoding="utf-8")
    loaded = load_text(Definitions, text, FILE)
    by_action: dict[str, set[str]] = {}
    for t in lifecycle().transitions:
        by_action.setdefault(t.action, set()).add(t.by)
    if loaded.start.outgoing not in by_action:
        raise ConventionDataError(FILE, None, f"start: no action {loaded.start.outgoing}")
    if loaded.start.incoming != RECEIVE:
        raise ConventionDataError(FILE, None, f"start: a received request starts at {RECEIVE}")
    catalog = convention()
    for name, measure in loaded.measures().items():
        catalog.key(measure.article)  # raises UnknownArticle on a key the Convention lacks
        for action in measure.actions:
            if action not in by_action:
                raise ConventionDataError(FILE, None, f"{name}: no lifecycle action {action}")
            if name.startswith("milestones.") and by_action[action] != {"requested"}:
                raise ConventionDataError(
                    FILE, None, f"{name}: {action} is not taken by the requested State"
                )
    return loaded
