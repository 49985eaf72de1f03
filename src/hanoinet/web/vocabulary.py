"""The English names of hanoinet's codes (states, roles, actions ...) as people read them.

Templates show a code through ``label(vocabulary, code)``, which translates the English name
through the catalogs; ``hanoinet.web.catalogs`` extracts every name of every vocabulary here
into the catalogs, so a code added to the lifecycle without a name here fails a test
(tests/web/test_catalogs.py), never shows up untranslated.
"""

from __future__ import annotations

ACTION_NAMES = {
    "check": "Check",
    "edit": "Edit",
    "approve": "Approve",
    "send": "Send",
    "acknowledge": "Acknowledge",
    "request_more_info": "Ask for more information",
    "provide_more_info": "Give more information",
    "start_execution": "Start execution",
    "consult": "Consult the requesting State",
    "postpone": "Postpone",
    "resume": "Resume",
    "refuse": "Refuse",
    "execute": "Record executed",
    "execute_partially": "Record partly executed",
    "answer_consultation": "Answer the consultation",
    "status_enquiry": "Ask for the status",
    "answer_status_enquiry": "Answer the status enquiry",
    "withdraw": "Withdraw",
    "notify_cannot_keep_confidential": "Say confidentiality cannot be kept",
    "confirm_in_writing": "Confirm in writing",
    "accept_conditions": "Accept the conditions proposed",
    "propose_conditions": "Propose other conditions",
    "request_consent": "Ask for consent for other use",
    "notify_exculpatory_disclosure": "Give notice of disclosing exculpatory information",
    "give_consent": "Give consent for other use",
    "decline_consent": "Decline consent for other use",
    "use_for_other_matter": "Use for another matter",
    "close": "Close",
    "record_preserved": "Record preservation executed",
    "extend_preservation": "Extend preservation",
    "link_mla": "Link the mutual legal assistance request",
    "notify_not_ensured": "Say preservation cannot be ensured",
    "proceed_anyway": "Proceed anyway",
    "disclose_partial_traffic": "Disclose traffic data pointing to a third State",
    "release": "Release preserved data",
    "lapse": "Preservation lapsed",
    "link_refused": "Link refused by the other State: the preservation's clock runs again",
    "create": "Created",
    "receive": "Received",
    "message_delivered": "Message delivered (signed receipt)",
    "message_rejected": "Message rejected by the other State",
    "reminder": "Reminder",
    "escalate": "Escalated to the supervisor",
}
"""Buttons and timeline labels of the lifecycle's actions."""
ROLE_NAMES = {
    "node_admin": "Node administrator",
    "supervisor": "Supervisor",
    "central_authority_officer": "Central-authority officer",
    "duty_officer": "Duty officer (24/7)",
    "requester": "Requester",
}
"""English names; translated in the templates."""


STATE_NAMES = {
    "new": "New",
    "draft": "Draft",
    "checked": "Checked",
    "sent": "Sent",
    "received": "Received",
    "acknowledged": "Acknowledged",
    "in_execution": "In execution",
    "more_info_requested": "More information requested",
    "postponed": "Postponed",
    "preserved": "Preserved",
    "held": "Held for the follow-up request",
    "not_ensured": "Preservation cannot be ensured",
    "executed": "Executed",
    "partially_executed": "Partly executed",
    "refused": "Refused",
    "withdrawn": "Withdrawn",
    "lapsed": "Lapsed",
    "closed": "Closed",
}
DIRECTION_NAMES = {"incoming": "Incoming", "outgoing": "Outgoing"}
URGENCY_NAMES = {"routine": "Routine", "urgent": "Urgent", "emergency": "Emergency"}
SEVERITY_NAMES = {"error": "Error", "warning": "Warning", "info": "Note"}
MESSAGE_STATUS_NAMES = {
    "pending": "Waiting for receipt",
    "delivered": "Delivered",
    "rejected": "Rejected",
}
EVIDENCE_STATE_NAMES = {
    "queued": "Queued: the node sends it",
    "sending": "Sending",
    "delivered": "Delivered: verified by the receiving node",
    "receiving": "Receiving",
    "verifying": "Arrived: being verified",
    "accepted": "Accepted: verified on arrival",
    "refused": "Refused: it did not verify",
}
"""Where the transfer of an evidence package stands (services/evidence.py): outgoing
queued, sending, verifying (by the receiver), delivered or refused (by the receiver); incoming
receiving, verifying, accepted or refused."""
DOCUMENT_STATUS_NAMES = {
    "pending": "Being made: the worker signs it and sends it after the request",
    "issued": "Issued: signed by this node and sent after the request",
    "failed": "Not issued: it could not be made",
    "received": "Received: the signature and the request's hash verified",
    "invalid": "Received, but it did not verify",
}
"""Where a formal request document stands (services/documents.py): outgoing pending,
issued or failed; incoming received or invalid."""
CONDITION_NAMES = {
    "speciality": "Only for the proceedings of the request",
    "confidentiality": "Confidentiality",
    "onward_transfer": "No onward transfer without authorization",
    "imposed": "Condition imposed by the sending State",
    "agreed": "Condition agreed in consultation",
}
"""The use conditions that travel with evidence (evidence/conditions.py)."""
PERMISSION_NAMES = {
    "consent": "Consent to use in another matter",
    "authorization": "Authorization of an onward transfer",
}
"""What the sending State allowed beyond its conditions, as recorded on this node."""

CHECK_NAMES = {
    "decrypt": "Decryption (age)",
    "structure": "Structure of the bag",
    "signature": "Signature of the sending node",
    "tag manifests": "Tag manifests",
    "payload": "Payload: every file and its hashes",
    "custody": "Chain of custody",
    "conditions": "Use conditions",
    "CASE/UCO": "CASE/UCO validation",
}
"""The eight checks of ``evidence verify`` (evidence/package.py), in their order."""

CHECK_STATUS_NAMES = {
    "passed": "Passed",
    "failed": "Failed",
    "not_checked": "Not checked",
}

CUSTODY_STEP_NAMES = {
    "collection": "Collected",
    "packaging": "Packed",
    "evidence.offer": "Offered to the receiving node",
    "evidence.offered": "Offered by the sending node",
    "evidence.delivered": "Delivered: verified by the receiving node",
    "evidence.received": "Received and verified",
    "evidence.refused": "Refused",
    "evidence.verify": "Verified again",
    "evidence.export": "Exported",
    "evidence.export_failed": "Export failed",
    "evidence.consent": "Consent recorded",
    "evidence.authorization": "Authorization recorded",
    "evidence.custody": "Chain of custody read",
}
"""The steps of a package's chain of custody: in the package (CASE/UCO actions) and on this
node (its audit log)."""

ACCOUNT_STATE_NAMES = {
    "active": "Active",
    "disabled": "Disabled",
    "removed": "Removed",
}
"""Where a user of the node stands (services/accounts.py)."""

DUTY_NAMES = {
    "acknowledge": "Acknowledge receipt",
    "record_preserved": "Preserve the data",
    "start_execution": "Start executing the request",
    "execute": "Execute the request",
    "answer_consultation": "Answer the consultation",
    "resume": "Resume execution",
    "answer_status_enquiry": "Answer the status enquiry",
    "check": "Check the draft",
    "send": "Send the request",
    "provide_more_info": "Give the information asked for",
    "link_mla": "Link the mutual legal assistance request or have the preservation extended",
    "proceed_anyway": "Decide whether to proceed",
    "confirm_in_writing": "Confirm the oral request in writing",
    "give_consent": "Answer the request for consent to another use",
    "release": "Release the preserved data: the request it was held for is decided",
    "accept_conditions": "Answer the conditions proposed: accept them, propose others or withdraw",
}
"""What this node owes on a request, by the action that discharges it (cases/owed.py): the
24/7 desk's "Owed next"."""

AUDIT_NAMES = {
    "read": "Read a case",
    "list": "Listed requests",
    "create": "Opened a request",
    "reminder": "Reminder",
    "read_audit": "Read the audit log",
    "create_user": "Added a user",
    "login_failed": "Failed log-in",
    "log_in": "Logged in",
    "set_up_login": "Set up their log-in",
    "log_out": "Logged out",
    "set_preferences": "Changed their language or time zone",
    "create_token": "Created an API token",
    "revoke_token": "Revoked an API token",
    "disable_user": "Disabled a user",
    "enable_user": "Enabled a user",
    "change_role": "Changed a user's role",
    "end_sessions": "Ended a user's sessions",
    "reset_totp": "Reset a user's authenticator",
    "remove_user": "Removed a user",
    "stats.read": "Read the statistics",
    "stats.export": "Exported the statistics",
    "document.render": "Made a formal document",
    "document.read": "Read a formal document",
    "document.issued": "Issued a formal document",
    "document.failed": "A formal document could not be made",
    "document.reissue": "Issued a formal document again",
    "evidence.pack": "Packed evidence",
    "evidence.list": "Listed evidence",
    "evidence.verify": "Verified evidence",
    "evidence.export": "Exported evidence",
    "evidence.export_failed": "Evidence export refused",
    "evidence.custody": "Recorded custody of evidence",
    "evidence.consent": "Recorded a consent",
    "evidence.authorization": "Recorded an authorization",
    "evidence.offer": "Offered evidence",
    "evidence.offered": "Evidence offered to this node",
    "evidence.received": "Received evidence",
    "evidence.delivered": "Evidence delivered",
    "evidence.refused": "Evidence refused",
    "security.message_refused": "A peer's message refused",
    "security.offer_refused": "A peer's evidence offer refused",
}
"""What each audit entry records (services append them; lifecycle actions are named by
``ACTION_NAMES``): the audit page names them; the log keeps the code."""

VOCABULARIES: dict[str, dict[str, str]] = {
    "audit": AUDIT_NAMES,
    "duty": DUTY_NAMES,
    "account_state": ACCOUNT_STATE_NAMES,
    "action": ACTION_NAMES,
    "role": ROLE_NAMES,
    "state": STATE_NAMES,
    "direction": DIRECTION_NAMES,
    "urgency": URGENCY_NAMES,
    "severity": SEVERITY_NAMES,
    "message_status": MESSAGE_STATUS_NAMES,
    "evidence_state": EVIDENCE_STATE_NAMES,
    "document_status": DOCUMENT_STATUS_NAMES,
    "condition": CONDITION_NAMES,
    "permission": PERMISSION_NAMES,
    "check": CHECK_NAMES,
    "check_status": CHECK_STATUS_NAMES,
    "custody_step": CUSTODY_STEP_NAMES,
}
