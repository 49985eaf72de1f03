"""The treaty record and entry into force: who has signed, who is bound, from when.

Pure: reads only the packaged record; dates are arguments.
"""

from hanoinet.registry.actions import ActionKind, TreatyAction, packaged_actions, parse_actions
from hanoinet.registry.participants import REIOS, Participant, participant, resolve
from hanoinet.registry.status import (
    ParticipantStatus,
    TreatyStatus,
    check_record,
    participant_status,
    treaty_status,
)

__all__ = [
    "REIOS",
    "ActionKind",
    "Participant",
    "ParticipantStatus",
    "TreatyAction",
    "TreatyStatus",
    "check_record",
    "packaged_actions",
    "parse_actions",
    "participant",
    "participant_status",
    "resolve",
    "treaty_status",
]
