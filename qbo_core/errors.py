"""Every error qbo-infra raises, in one tree with one root.

Branches follow what the caller can do about the failure, not where it came from::

    QBOError                               anything raised by qbo-infra
    ├── TransportError                     no HTTP response arrived
    │   ├── RequestNotSentError            failed before the request left: always safe to retry
    │   │   ├── ConnectError               could not open a connection (DNS, refused, TLS)
    │   │   └── ConnectTimeoutError        connecting took longer than the connect timeout
    │   └── OutcomeUnknownError            the request may have been applied: retry a write
    │       │                              only with the same requestid
    │       ├── ReadTimeoutError           sent, but no full answer within the timeout
    │       └── ConnectionLostError        the connection broke after sending
    ├── AuthenticationError                credentials are not (or no longer) good
    │   ├── AccessTokenInvalidError        401 3200: the access token expired or is unknown;
    │   │                                  refresh it and try once more
    │   ├── ReauthorizationRequiredError   the refresh token is dead (invalid_grant, expired,
    │   │   │                              5-year cap): the user must connect again
    │   │   └── TokenRevokedError          the grant was revoked (disconnected in QBO, revoke)
    │   ├── InvalidClientError             401 invalid_client: the app's id or secret is wrong
    │   ├── AuthorizationCallbackError     the OAuth callback can't be accepted (state missing,
    │   │   │                              used, expired or foreign; bad or other realmId;
    │   │   │                              an OAuth `error=`): start again
    │   │   └── AuthorizationDeniedError   the user declined on Intuit's consent screen
    │   │                                  (`error=access_denied`): ask, then start again
    │   └── PermissionDeniedError          403 (3100 and kin): wrong realm, scope or cluster
    ├── ThrottledError                     429 / 3001: wait (`retry_after`) and try again
    ├── ValidationError                    QBO refused the request as written: fix it
    │   ├── StaleObjectError               5010: the SyncToken is old; read again and retry
    │   ├── ObjectNotFoundError            610: no such object (or it is inactive)
    │   ├── DuplicateNameError             6240: the name is used by another name-list object
    │   ├── InvalidPropertyError           2010: a property QBO does not know
    │   ├── UnsupportedOperationError      500: the path or operation does not exist
    │   ├── RequestLimitError              1040 and kin: batch or request too large
    │   └── QueryError                     4000-4002: the query was refused
    │       ├── QueryParseError            4000: could not be parsed
    │       ├── QueryValidationError       4001: parsed, but invalid (e.g. MAXRESULTS > 1000)
    │       └── QueryProcessingError       4002: valid, but could not be run
    ├── ServerError                        5xx or SystemFault: QBO failed; retry later
    ├── DecodeError                        the response could not be understood (not JSON,
    │   │                                  truncated, unexpected shape); never retried blindly
    │   ├── IncompleteResponseError        a success status whose body is empty or cut short:
    │   │                                  the answer was lost on its way, as with
    │   │                                  OutcomeUnknownError (retry a write only with the
    │   │                                  same requestid)
    │   ├── ResponseTooLargeError          the body passed `max_response_bytes` (counted
    │   │                                  decompressed); reading stopped there
    │   └── WebhookPayloadError            a webhook delivery's body is not a notification
    │                                      (not JSON, wrong shape, missing field): nothing
    │                                      to act on; Intuit would only resend it
    ├── ConflictError                      a compare-and-set lost against a newer writer
    ├── LockTimeoutError                   a named lock stayed held past the wait budget
    ├── StoreUnavailableError              a shared store (database, Redis, a lock file) failed
    │   │                                  or did not answer: retry later; re-read first
    │   └── StoreCorruptError              what the store holds cannot be read (a damaged
    │                                      database file): retrying will not help; restore
    │                                      or rebuild it
    └── ConfigurationError                 a setting is missing or invalid; names the field
        └── EncryptionKeyError             stored tokens cannot be decrypted with the keys
                                           configured: add the key they were written with

One error of the services is defined next to them rather than here, since it carries
their results: `BatchWriteError` (`qbo_core.services.batch_writer`), a `QBOError` raised
when `write_batch` stops because a batch failed as a whole (its cause) after `written`
results came back.

Every error carries what is known of `status` (HTTP), `codes` (QBO error codes, as
strings), `intuit_tid` (quote it to Intuit support), `realm_id` and `retry_after`
(seconds); an error raised by `SmartSyncService` also names the `operation` that
failed (`"create Invoice"`) and how many `attempts` were made, and its status, codes
and `intuit_tid` are those of QBO's last answer. Messages pass through `redact`, so an
error never holds a token, even when QBO echoes part of one back (its "Token expired:
AB01..." detail). `message`, `detail` and `body_excerpt` are cut at `MAX_TEXT_CHARS`
characters, with a marker saying so: however large an answer was, its error stays small.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict, Unpack

from qbo_core.redaction import redact_truncated

__all__ = [
    "AccessTokenInvalidError",
    "AuthenticationError",
    "AuthorizationCallbackError",
    "AuthorizationDeniedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DecodeError",
    "DuplicateNameError",
    "EncryptionKeyError",
    "ErrorContext",
    "IncompleteResponseError",
    "InvalidClientError",
    "InvalidPropertyError",
    "LockTimeoutError",
    "ObjectNotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "QBOError",
    "QueryError",
    "QueryParseError",
    "QueryProcessingError",
    "QueryValidationError",
    "ReadTimeoutError",
    "ReauthorizationRequiredError",
    "RequestLimitError",
    "RequestNotSentError",
    "ResponseTooLargeError",
    "ServerError",
    "StaleObjectError",
    "StoreCorruptError",
    "StoreUnavailableError",
    "ThrottledError",
    "TokenRevokedError",
    "TransportError",
    "UnsupportedOperationError",
    "ValidationError",
    "WebhookPayloadError",
]

#: The longest `message`, `detail` or `body_excerpt` an error keeps, in characters.
MAX_TEXT_CHARS = 2000


class ErrorContext(TypedDict, total=False):
    """The context keywords every `QBOError` accepts."""

    status: int | None
    codes: Iterable[str]
    intuit_tid: str | None
    realm_id: str | None
    retry_after: float | None
    detail: str | None
    operation: str | None
    attempts: int | None


class QBOError(Exception):
    """The root of every error qbo-infra raises.

    Attributes are `None` (or empty) where unknown. `message` and `detail` are already
    redacted and at most `MAX_TEXT_CHARS` long (plus a truncation marker).
    """

    #: Whether repeating the same request, unchanged, can succeed. Subclasses set it.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        codes: Iterable[str] = (),
        intuit_tid: str | None = None,
        realm_id: str | None = None,
        retry_after: float | None = None,
        detail: str | None = None,
        operation: str | None = None,
        attempts: int | None = None,
    ) -> None:
        self.message = redact_truncated(message, MAX_TEXT_CHARS)
        self.status = status
        if isinstance(codes, str):  # one code given as a string, not a sequence of digits
            codes = (codes,)
        self.codes: tuple[str, ...] = tuple(str(code) for code in codes)
        self.intuit_tid = intuit_tid
        self.realm_id = realm_id
        self.retry_after = retry_after
        self.detail = redact_truncated(detail, MAX_TEXT_CHARS) if detail is not None else None
        #: What was being done when it failed (`"read Customer"`), set by `SmartSyncService`.
        self.operation = operation
        #: How many times the request was sent (or tried) before giving up.
        self.attempts = attempts
        super().__init__(self.message)

    @property
    def code(self) -> str | None:
        """The first QBO error code, or `None`."""
        return self.codes[0] if self.codes else None

    def __str__(self) -> str:
        parts = [self.message]
        if self.detail and self.detail != self.message:
            parts.append(f"({self.detail})")
        context = [
            f"{name}={value}"
            for name, value in (
                ("operation", self.operation),
                ("attempts", self.attempts),
                ("status", self.status),
                ("code", ",".join(self.codes) or None),
                ("realm", self.realm_id),
                ("intuit_tid", self.intuit_tid),
                ("retry_after", self.retry_after),
            )
            if value is not None
        ]
        if context:
            parts.append("[" + " ".join(context) + "]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (worker pools, task queues): rebuild them from
        # their attributes, since subclasses take required keyword arguments.
        return (_restore, (type(self), dict(self.__dict__)))


def _restore(cls: type[QBOError], state: dict[str, object]) -> QBOError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])  # every QBOError.__init__ sets it
    error.__dict__.update(state)
    return error


# --------------------------------------------------------------------- transport


class TransportError(QBOError):
    """No HTTP response arrived. `maybe_applied` says whether QBO might have acted."""

    maybe_applied: bool = True


class RequestNotSentError(TransportError):
    """The request never left this process, so QBO cannot have applied it."""

    maybe_applied = False
    retryable = True


class ConnectError(RequestNotSentError):
    """A connection could not be opened (name resolution, refused, TLS handshake)."""


class ConnectTimeoutError(RequestNotSentError):
    """Opening the connection took longer than the connect timeout."""


class OutcomeUnknownError(TransportError):
    """The request may have reached QBO and been applied; the answer was lost.

    Reads can be retried as they are. A write must be retried with the same
    `requestid`, so that QBO replays the first answer instead of acting twice.
    """

    maybe_applied = True
    retryable = True


class ReadTimeoutError(OutcomeUnknownError):
    """The request was sent but the full response did not arrive in time."""


class ConnectionLostError(OutcomeUnknownError):
    """The connection broke (reset, closed, truncated) after the request was sent."""


# --------------------------------------------------------------------- authentication


class AuthenticationError(QBOError):
    """The credentials are not good enough for this request."""


class AccessTokenInvalidError(AuthenticationError):
    """401 (code 3200 and kin): the access token expired, is malformed or unknown.

    Refresh the access token and send the request once more.
    """

    retryable = True


class ReauthorizationRequiredError(AuthenticationError):
    """The refresh token can no longer be used; only the user connecting again helps."""


class TokenRevokedError(ReauthorizationRequiredError):
    """The grant was revoked: disconnected from QBO, or revoked through the API."""


class InvalidClientError(AuthenticationError):
    """401 `invalid_client`: the app's client id or secret is wrong. Fix the configuration."""


class AuthorizationCallbackError(AuthenticationError):
    """The callback from Intuit's consent screen cannot be accepted.

    Its `state` is unknown, already used, expired, or was issued for another business, or
    its `realmId` is malformed or not the company a reconnect was started for, or Intuit
    sent back an OAuth error (`error=...`, its code in `codes`, its description in
    `detail`). Nothing was exchanged or stored: send the user through a new
    authorization URL.
    """


class AuthorizationDeniedError(AuthorizationCallbackError):
    """The user declined to connect on Intuit's consent screen (`error=access_denied`).

    `code` is `"access_denied"`. The authorization's `state` is spent; nothing was
    exchanged or stored, and whatever was stored before (a connection being reconnected)
    is unchanged. Offer to start again; do not retry on your own.
    """


class PermissionDeniedError(AuthenticationError):
    """403 (3100 and kin): the token is fine but may not do this (realm, scope, cluster)."""


# --------------------------------------------------------------------- throttling


class ThrottledError(QBOError):
    """429 / 3001 ThrottleExceeded. Wait `retry_after` seconds (Intuit advises 60) and retry."""

    retryable = True


# --------------------------------------------------------------------- validation


class ValidationError(QBOError):
    """QBO refused the request as written (a `ValidationFault`); sending it again won't help."""


class StaleObjectError(ValidationError):
    """5010: the SyncToken is older than QBO's copy. Read the object again, reapply, retry."""


class ObjectNotFoundError(ValidationError):
    """610: no object with that id, or it was made inactive or deleted."""


class DuplicateNameError(ValidationError):
    """6240: the DisplayName is already used by a Customer, Vendor or Employee."""


class InvalidPropertyError(ValidationError):
    """2010: the request named a property QBO does not know."""


class UnsupportedOperationError(ValidationError):
    """500 (a QBO code, sent with HTTP 400): the resource or operation does not exist."""


class RequestLimitError(ValidationError):
    """1040 and kin: a batch or request exceeds a size limit. Split it."""


class QueryError(ValidationError):
    """4000-4002: QBO refused a query."""


class QueryParseError(QueryError):
    """4000: the query could not be parsed."""


class QueryValidationError(QueryError):
    """4001: the query parsed but is invalid (unknown property, MAXRESULTS > 1000...)."""


class QueryProcessingError(QueryError):
    """4002: the query is valid but could not be processed."""


# --------------------------------------------------------------------- server


class ServerError(QBOError):
    """QBO failed (HTTP 5xx or a `SystemFault`). Retry later; writes with the same requestid."""

    retryable = True


# --------------------------------------------------------------------- local


class DecodeError(QBOError):
    """The response could not be understood: not JSON, truncated, or an unexpected shape.

    `body_excerpt` holds the first bytes of the body (redacted, bounded) for diagnosis.
    """

    def __init__(
        self, message: str, *, body_excerpt: str | None = None, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.body_excerpt = (
            redact_truncated(body_excerpt, MAX_TEXT_CHARS) if body_excerpt is not None else None
        )


class IncompleteResponseError(DecodeError):
    """A success status whose body is empty, cut short or not the JSON it started as.

    The answer was damaged on its way (a proxy, a dropped connection the transport could
    not see), not refused by QBO: like `OutcomeUnknownError`, the request may have been
    applied. A read can be repeated as it is; a write only with the same `requestid`.
    """

    retryable = True


class ResponseTooLargeError(DecodeError):
    """The response body was larger than `max_bytes`, counted after decompression.

    Raised by a transport as soon as the body passes its cap, while it streams in (the
    rest is never read), and by the decoders before parsing a body over their limit.
    `status` and `intuit_tid` are those of the answer; `max_bytes` is the limit that
    was passed. Like any `DecodeError` it is not retried blindly: QBO may have applied
    a write whose answer was refused.
    """

    def __init__(
        self,
        message: str,
        *,
        max_bytes: int,
        body_excerpt: str | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, body_excerpt=body_excerpt, **context)
        self.max_bytes = max_bytes


class WebhookPayloadError(DecodeError):
    """A webhook delivery's body could not be read as Intuit's notification formats.

    Raised by `qbo_core.webhooks.parse_webhook` for a body that is not UTF-8 JSON, or is
    neither the legacy `eventNotifications` object nor a CloudEvents array, or lacks a
    field, or holds a bad time or a non-string id. `reason` says which, in a few words
    (never the body itself: a payload excerpt stays out of the error). Repeating it
    cannot help: the same body would fail again.
    """

    def __init__(self, message: str, *, reason: str, **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        self.reason = reason


class ConflictError(QBOError):
    """A compare-and-set write lost: someone saved a newer version first.

    `expected` is the version the writer based its change on, `actual` what the store holds
    (`None`: nothing stored).
    """

    def __init__(
        self,
        message: str,
        *,
        expected: int | None = None,
        actual: int | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.expected = expected
        self.actual = actual


class LockTimeoutError(QBOError):
    """A named lock could not be acquired within the wait budget."""

    retryable = True

    def __init__(
        self, message: str, *, name: str, waited: float, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.name = name
        self.waited = waited


class StoreUnavailableError(QBOError):
    """A storage backend (SQL database, Redis, a lock file) failed or could not be reached.

    Nothing stored was changed by a failed read or delete; a failed save may or may not
    have been applied, so load again before deciding to retry it (compare-and-set keeps a
    repeat safe). `backend` names the kind of store ("sqlite", "postgresql", "redis",
    "file").
    """

    retryable = True

    def __init__(
        self, message: str, *, backend: str | None = None, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.backend = backend


class StoreCorruptError(StoreUnavailableError):
    """What a store holds cannot be read: the database file is damaged, is not a database,
    or holds a value this code cannot decode.

    Not retryable: the same read fails again. Restore the store from a backup, or delete
    it and build it again (a `Mirror` is rebuilt by a full `MirrorSync` run).
    """

    retryable = False


class ConfigurationError(QBOError):
    """A setting is missing or invalid. `field` names it."""

    def __init__(
        self, message: str, *, field: str | None = None, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.field = field


class EncryptionKeyError(ConfigurationError):
    """Stored tokens cannot be decrypted with any configured key (or were tampered with).

    Nothing stored is deleted or overwritten: add the key they were encrypted with to the
    configured keys (rotation keeps old keys for decryption), or delete the realm's tokens
    through the unencrypted inner store and connect again.
    """
