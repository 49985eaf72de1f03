"""Dates as hanoinet reads them from people and files: ``YYYY-MM-DD`` and nothing else.

``date.fromisoformat`` also takes ``20251025`` and ``2025-W43-6`` since Python
3.11; a record or a command line that says one thing and means another is
worse than an error, so only the extended calendar form is accepted.
"""

from __future__ import annotations

import re
from datetime import date

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
"""``YYYY-MM-DD`` in ASCII digits, nothing after (``re.match`` anchors the start)."""


def parse_day(text: str) -> date:
    """Parse ``YYYY-MM-DD``; raises ValueError for anything else, including impossible days."""
    if not ISO_DAY.match(text):
        raise ValueError(f"'{text}' is not written YYYY-MM-DD")
    return date.fromisoformat(text)
