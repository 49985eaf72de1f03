"""The one error tree of hanoinet.

Every error carries a stable ``code`` (API: other programs match on it), a
human ``message`` that says what is wrong, where, and what to do next, and,
apart, a ``detail`` for debugging that never reaches a peer or a user.

::

    HanoinetError
    ├── ConventionDataError      a packaged Convention data file is broken (file, line)
    ├── TreatyRecordError        a treaty-actions CSV row is invalid (file, row, field)
    ├── UnknownParticipant       no State or organization by that name or code
    ├── UnknownArticle           no such article or article key in the Convention
    ├── InvalidInput             a command-line value is malformed
    │   └── AccountRefused       a user-lifecycle act refused (reason code for the pages)
    ├── NotARequest              a file is not a request document at all
    │   └── RequestTooLarge      a request document, or one of its texts or lists, is too large
    ├── TransitionRefused        an action not allowed in a case's state; names the article
    ├── UnknownCase              no case by that id on this node
    ├── DirectoryRejected        a directory is forged, expired, downgraded ... (reason code)
    ├── EnvelopeRejected         an envelope failed verification (reason code for the receipt)
    ├── LoginRefused             a log-in failed (never says which of name, password or code)
    ├── Forbidden                the role does not allow this action
    ├── TransferRefused          the receiving node refused an evidence offer or chunk (reason)
    ├── TransferInterrupted      an evidence transfer lost its connection; the worker resumes it
    ├── TransferBusy             another sender (the worker) is sending that package now
    ├── NotDispatched            a request to a State outside the network could not be e-mailed
    ├── MissingTool              a program a command runs (``age`` ...) is not installed
    ├── DocumentFailed           a formal request document cannot be rendered (font, translation)
    └── StoreError               the database cannot be used as it is
        ├── SchemaTooNew         the database was migrated by a newer hanoinet
        └── NoNode               no node's database where the settings point (``node init``)
"""

from __future__ import annotations


class HanoinetError(Exception):
    """Root of every error hanoinet raises on purpose."""

    code = "hanoinet_error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class ConventionDataError(HanoinetError):
    """A packaged Convention data file failed to load; names the file and line."""

    code = "convention_data_invalid"

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


class TreatyRecordError(HanoinetError):
    """A row of a treaty-actions record is invalid; names the file, row and field."""

    code = "treaty_record_invalid"

    def __init__(self, file: str, row: int | None, field: str | None, reason: str) -> None:
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.row = row
        self.field = field
        self.reason = reason


class UnknownParticipant(HanoinetError):
    """No State or regional economic integration organization matches a name or code."""

    code = "unknown_participant"

    def __init__(self, query: str, suggestions: list[str]) -> None:
        message = f"no State or organization matches '{query}'"
        if suggestions:
            message += "; did you mean: " + ", ".join(suggestions) + "?"
        else:
            message += "; give an ISO 3166 code (e.g. VN) or a name as the UN writes it"
        super().__init__(message)
        self.query = query
        self.suggestions = suggestions


class UnknownArticle(HanoinetError):
    """The Convention has no such article or article key."""

    code = "unknown_article"


class InvalidInput(HanoinetError):
    """A value given on the command line or in a request is malformed."""

    code = "invalid_input"


class AccountRefused(InvalidInput):
    """The node administrator's act on a user is refused: an unknown or removed user, the last
    node administrator, one's own account, nothing to change. ``reason`` is a stable code the
    web desk translates; the message, in English, names the field first (``user: ...``)."""

    code = "account_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotARequest(HanoinetError):
    """The input is not a request document at all (not JSON, not an object, no known kind)."""

    code = "not_a_request"


class RequestTooLarge(NotARequest):
    """A request document is larger than the format allows, whole or in one field (names the
    field and the limit)."""

    code = "request_too_large"


class TransitionRefused(HanoinetError):
    """An action is not allowed in the case's current state, or its guard fails."""

    code = "transition_refused"

    def __init__(
        self, message: str, *, article: str | None = None, guard: str | None = None
    ) -> None:
        super().__init__(message)
        self.article = article
        self.guard = guard
        """The lifecycle guard that refused (cases/guards.py), if one did: what a page needs to
        say which field to fill in, in its own words."""
        self.owner: str | None = None
        """For an action the other State takes: its role (``requested``, ``requesting``).
        The message says it in words; the command line adds how to record it."""


class UnknownCase(HanoinetError):
    """No case or request with that id exists on this node."""

    code = "unknown_case"


class LoginRefused(HanoinetError):
    """A log-in failed: wrong name, password or code, a disabled or removed user, an attempt
    made while throttled, or an expired set-up. The message never says which."""

    code = "login_refused"


class Forbidden(HanoinetError):
    """The principal's role does not allow this (and it may see what it asks about)."""

    code = "forbidden"


class MissingTool(HanoinetError):
    """A program a command runs is not on PATH; the message says which package installs it."""

    code = "missing_tool"


class DocumentFailed(HanoinetError):
    """A formal request document cannot be made as asked: a font or a translation is missing,
    or a glyph would print as an empty box; the message says which and how to fix it."""

    code = "document_failed"


class StoreError(HanoinetError):
    """The database cannot be used as it is."""

    code = "store_error"


class SchemaTooNew(StoreError):
    """The database was migrated by a newer hanoinet; refusing to run against it."""

    code = "schema_too_new"


class NoNode(StoreError):
    """No node's database where the settings point: only ``hanoinet node init`` creates one, so
    a typo in ``HANOINET_DATA_DIR`` never makes a second, empty node."""

    code = "no_node"


class DirectoryRejected(HanoinetError):
    """A directory was refused; ``reason`` is a stable code."""

    code = "directory_rejected"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"directory refused ({reason}): {message}")
        self.reason = reason


class EnvelopeRejected(HanoinetError):
    """An envelope was refused. ``reason`` is the code sent back in the rejection receipt;
    ``detail`` (debugging only) never leaves the node."""

    code = "envelope_rejected"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"envelope rejected: {reason}", detail=detail)
        self.reason = reason


class TransferRefused(HanoinetError):
    """The receiving node refused an evidence offer or chunk; ``reason`` is its code."""

    code = "transfer_refused"

    def __init__(self, reason: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class TransferInterrupted(HanoinetError):
    """An evidence transfer failed more times than allowed; the worker (or the same command
    run again) resumes it where the receiving node stands."""

    code = "transfer_interrupted"


class TransferBusy(HanoinetError):
    """Another sender (the worker, or another command) holds the lease of that transfer."""

    code = "transfer_busy"


class NotDispatched(HanoinetError):
    """A request to a State that runs no node could not be sent by e-mail (the mail server
    refused, could not be reached, or offered no STARTTLS): nothing was recorded as sent, and
    the attempt is kept with its reason for the case page."""

    code = "not_dispatched"
