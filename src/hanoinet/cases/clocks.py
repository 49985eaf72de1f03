"""Clocks computed from a request's events; nothing here reads the time.

- Preservation: at least 60 days from when the data was preserved, renewed by
  an extension; once the follow-up MLA request is linked, held until it is
  decided (42): no expiry.
- Reminders before expiry, at the days the node sets (lifecycle.yaml).
- An urgent oral request is due to be confirmed in writing forthwith (40(14)).
- A reasoned deadline of the requesting State (40(25)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hanoinet.convention import convention
from hanoinet.isodate import parse_day
from hanoinet.texts import Text, t

if TYPE_CHECKING:
    from hanoinet.cases.lifecycle import Event


@dataclass(frozen=True)
class Due:
    """Something that falls due at ``at``: a reminder, an expiry, a confirmation."""

    key: str
    """Stable per request, so a tick never fires the same thing twice."""
    kind: str
    at: datetime
    article: str
    text: Text
    """What it says (``hanoinet.texts``): the web translates it; ``message`` is the English."""

    @property
    def message(self) -> str:
        return str(self.text)


PRESERVING = ("record_preserved", "extend_preservation")
RELEASING = ("link_mla", "lapse", "withdraw", "release")
PRESERVATION_EVENTS = (*PRESERVING, *RELEASING, "link_refused")
"""The events that set or end a preservation's expiry: all ``preservation_expiry`` reads."""


def preservation_expiry(events: Sequence[Event]) -> datetime | None:
    """When preserved data may be released: 60 days after the last preservation or
    extension; None when not preserved, or held for a linked MLA request (42)."""
    days = convention().period("preservation_minimum_days").value
    expiry: datetime | None = None
    before_link: datetime | None = None
    for event in events:
        if event.action in PRESERVING:
            expiry = event.at + timedelta(days=days)
        elif event.action == "link_mla":
            before_link, expiry = expiry, None
        elif event.action == "link_refused":  # the other State did not take the link
            expiry = before_link
        elif event.action in RELEASING:
            expiry = None
    return expiry


def dues(
    state: str, document: dict[str, Any], events: Sequence[Event], now: datetime | None = None
) -> list[Due]:
    """Everything due on a request in ``state``, in time order (past ones included).

    A recurring reminder is listed for the last period reached by ``now`` and the next
    one (only the first when ``now`` is not given)."""
    from hanoinet.cases.lifecycle import OPEN, lifecycle

    reminders = lifecycle().reminders
    found: list[Due] = []
    expiry = preservation_expiry(events) if state == "preserved" else None
    if expiry is not None:
        for days in reminders.preservation_expiry_days_before:
            found.append(
                Due(
                    f"preservation-reminder-{expiry.date()}-{days}d",
                    "reminder",
                    expiry - timedelta(days=days),
                    "42",
                    t(
                        "Preserved data may be released on %(at)s UTC (in %(days)s day): "
                        "link the MLA request or extend (42)",
                        at=f"{expiry:%Y-%m-%d %H:%M}",
                        days=days,
                    )
                    if days == 1
                    else t(
                        "Preserved data may be released on %(at)s UTC (in %(days)s days): "
                        "link the MLA request or extend (42)",
                        at=f"{expiry:%Y-%m-%d %H:%M}",
                        days=days,
                    ),
                )
            )
        found.append(
            Due(
                f"preservation-expiry-{expiry.date()}",
                "lapse",
                expiry,
                "42",
                t("The preservation expired on %(at)s UTC (42)", at=f"{expiry:%Y-%m-%d %H:%M}"),
            )
        )
    if (
        document.get("oral")
        and state in OPEN
        and not any(e.action == "confirm_in_writing" for e in events)
    ):
        start = events[0].at if events else None
        if start is not None:
            every = timedelta(hours=reminders.written_confirmation_hours)
            # Recalled every period until confirmed: the last period reached by `now` (missed
            # older ones are not repeated after a pause of the clock) and the next one.
            reached = 0 if now is None else int((now - start) / every)
            for k in sorted({max(1, reached), reached + 1}):
                found.append(
                    Due(
                        f"written-confirmation-{start.date()}-{k}",
                        "reminder",
                        start + k * every,
                        "40(14)",
                        t("The urgent oral request is still to be confirmed in writing (40(14))"),
                    )
                )
    deadline = deadline_of(document)
    if deadline is not None and state in OPEN:
        when = datetime.combine(deadline, datetime.min.time(), tzinfo=UTC)
        found.append(
            Due(
                f"deadline-{deadline}",
                "reminder",
                when,
                "40(25)",
                t(
                    "The requesting State's deadline %(deadline)s is reached (40(25))",
                    deadline=deadline,
                ),
            )
        )
    return sorted(found, key=lambda d: d.at)


def deadline_of(document: dict[str, Any]) -> date | None:
    """The deadline's date; None when absent or not a date (a draft may hold one typed wrong:
    the checks report it at its field, and no clock runs on it)."""
    deadline = document.get("deadline")
    value = deadline.get("date") if isinstance(deadline, dict) else None
    try:
        return parse_day(value) if isinstance(value, str) else None
    except ValueError:
        return None
