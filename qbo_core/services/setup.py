"""`QBOSetupService`: connect, reconnect and disconnect a host business's QBO company.

The steps a host's web app takes, on top of `QBOAuthService`:

1. `begin(business_id)` gives a `ConnectionRequest`; redirect the user's browser to its
   `authorization_url` (Intuit's consent screen).
2. Intuit redirects back to the configured `redirect_uri` with `code`, `state` and
   `realmId` (or `error=...`). Pass the query parameters, as they came, to
   `complete(business_id, params)`: the state is checked and spent, the code traded for
   tokens, the tokens stored, the company's name read, and a `QBOIntegrationDTO`
   returned.
3. Later: `status` (read from the store, Intuit not asked), `reconnect_url` when the
   connection needs the user again or its refresh token nears its end, `disconnect`.

Decisions, where a host could expect either:

- **Declined or failed consent.** `error=access_denied` raises `AuthorizationDeniedError`;
  any other `error=` raises `AuthorizationCallbackError` with the code. The state is
  spent either way, so the callback cannot be replayed; nothing stored changes.
- **Company name after the tokens.** When reading CompanyInfo fails after the tokens
  were stored, the connection is made (Intuit issued a working grant, and the state and
  code are spent, so raising would leave the user nothing to retry): `complete` returns
  `CONNECTED` with `company_name=None`, and the `connection.completed` event names the
  error (`company_info`). Read the name again later through the raw client.
- **Reconnect.** `reconnect_url` is our own authorization URL, bound to the business and
  the company (`mode=reconnect` on Intuit's App Center link lands the user on the app's
  "Reconnect URL" setting; point that at a host page that calls `reconnect_url` or
  `begin(..., realm_id=...)` and redirects): only our `state` lets our callback complete
  it, and the binding refuses a callback for another company.
- **Store failures.** `complete` reads the token store before touching the state: an
  unreachable store raises `StoreUnavailableError` with the state and code unspent, so
  the same callback can be completed once the store is back.

The service takes data as parameters and queries nothing of the host. No token ever
leaves it: DTOs, events and errors carry realm ids and instants only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from qbo_core import events
from qbo_core.dtos import (
    ConnectionRequest,
    ConnectionState,
    ConnectionStatus,
    IntegrationStatus,
    QBOEvent,
    QBOIntegrationDTO,
    RealmAuth,
)
from qbo_core.errors import (
    AuthorizationCallbackError,
    AuthorizationDeniedError,
    QBOError,
)
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.smart_sync import Permits, UnlimitedPermits

__all__ = ["QBOSetupService"]

_REALM_ID = re.compile(r"[0-9]{1,32}")
_OAUTH_ERROR = re.compile(r"[a-z_]{1,64}")  # RFC 6749 error codes: lower case and "_"
_DESCRIPTION_CHARS = 200

#: What each OAuth error code a callback can carry means for the host (RFC 6749 4.1.2.1).
_CALLBACK_ERRORS = {
    "invalid_request": "Intuit refused the authorization request as malformed",
    "unauthorized_client": "Intuit does not allow this app to request authorization",
    "invalid_scope": "Intuit refused the scopes the app asked for; check the configured scopes",
    "unsupported_response_type": "Intuit refused the authorization request's response type",
    "server_error": "Intuit failed while handling the authorization; try again later",
    "temporarily_unavailable": "Intuit's authorization is unavailable for now; try again later",
}

#: Where a realm's `ConnectionState` leaves the business's integration.
_INTEGRATION_STATUS = {
    ConnectionState.CONNECTED: IntegrationStatus.CONNECTED,
    ConnectionState.EXPIRING: IntegrationStatus.CONNECTED,
    ConnectionState.NEEDS_REAUTHORIZATION: IntegrationStatus.NEEDS_REAUTHORIZATION,
    ConnectionState.REVOKED: IntegrationStatus.DISCONNECTED,
    ConnectionState.DISCONNECTED: IntegrationStatus.DISCONNECTED,
}


class QBOSetupService:
    """Begin, complete, reconnect, disconnect and report on a business's QBO connection.

    `reconnect_within` is how close the refresh token's rolling or hard (5-year) expiry
    must be for `reconnect_url` to offer a reconnect (default 30 days, Intuit's first
    warning). `limiter` (the process's rate limiter; the container passes it) gives the
    CompanyInfo read that completes a connection a permit like any other request, so it
    counts against the company's budget and a sync started right after it is not
    throttled.
    """

    def __init__(
        self,
        *,
        auth: QBOAuthService,
        raw_client: QBORawClient,
        clock: Clock,
        events: EventSink,
        reconnect_within: timedelta = timedelta(days=30),
        limiter: Permits | None = None,
    ) -> None:
        if reconnect_within < timedelta(0):
            raise ValueError("reconnect_within must not be negative")
        self._auth = auth
        self._raw = raw_client
        self._clock = clock
        self._events = events
        self._reconnect_within = reconnect_within
        self._limiter: Permits = limiter if limiter is not None else UnlimitedPermits(clock)

    def __repr__(self) -> str:
        return f"QBOSetupService(reconnect_within={self._reconnect_within!r})"

    # ----------------------------------------------------------------- connect

    async def begin(
        self,
        business_id: str,
        *,
        realm_id: str | None = None,
        scopes: tuple[str, ...] | None = None,
    ) -> ConnectionRequest:
        """A new authorization for `business_id`: redirect the user to its URL.

        With `realm_id` (reconnecting a known company) the request is bound to it too,
        and a callback for any other company is refused. `scopes` default to the
        configured ones. `expires_at` is when the state stops being accepted (never
        later than the state store's own expiry). `ValueError` for an empty
        `business_id` or a malformed `realm_id`.
        """
        issued = self._clock.now()
        url, state = await self._auth.authorization_url(
            business_id, scopes=scopes, realm_id=realm_id
        )
        request = ConnectionRequest(
            business_id=business_id,
            authorization_url=url,
            state=state,
            expires_at=issued + timedelta(seconds=self._auth.state_ttl),
            realm_id=realm_id,
        )
        self._emit(
            events.CONNECTION_STARTED,
            realm_id,
            business_id,
            reconnect=realm_id is not None,
            expires_at=request.expires_at.isoformat(),
        )
        return request

    async def complete(self, business_id: str, params: Mapping[str, str]) -> QBOIntegrationDTO:
        """Accept the callback's query parameters; store the tokens; return the connection.

        `params` are the callback's query parameters as Intuit sent them (`code`,
        `state`, `realmId`; or `error`, `error_description`, `state`). Raises, with
        nothing stored changed:

        - `AuthorizationDeniedError` for `error=access_denied` (the user declined) and
          `AuthorizationCallbackError` for any other `error=`: the state is spent;
        - `AuthorizationCallbackError` when the state is missing, unknown, used,
          expired, issued for another business, or bound to another company than
          `realmId`, or when `realmId` or `code` is missing or malformed;
        - `StoreUnavailableError` when the token store does not answer (before anything
          is spent when it fails at once);
        - the code exchange's errors (`ReauthorizationRequiredError` for a used or
          expired code, transport errors, `ServerError`, `DecodeError`, ...), the state
          being spent then.

        On success the result is `CONNECTED`, with `realm_id`, the token expiries and
        `company_name` (`None` when CompanyInfo could not be read; the connection is
        made all the same). Never a token.
        """
        if not isinstance(business_id, str) or not business_id:
            raise ValueError("business_id must be a non-empty string")
        try:
            return await self._complete(business_id, params)
        except QBOError as exc:
            self._emit(
                events.CONNECTION_FAILED,
                exc.realm_id,
                business_id,
                error=type(exc).__name__,
                code=exc.code,
            )
            raise

    async def _complete(self, business_id: str, params: Mapping[str, str]) -> QBOIntegrationDTO:
        state = _param(params, "state")
        error = _param(params, "error")
        if error is not None:
            raise await self._refused(business_id, state, error, params)
        if state is None:
            raise AuthorizationCallbackError(
                "the callback has no state: it did not come from an authorization URL this "
                "service made; start the connection again with begin()"
            )
        realm_id = _param(params, "realmId")
        if realm_id is None or _REALM_ID.fullmatch(realm_id) is None:
            raise AuthorizationCallbackError(
                "the callback's realmId is missing or not a QBO company id (was the "
                "accounting scope asked for?); start the connection again with begin()"
            )
        code = _param(params, "code") or ""
        previous = await self._auth.status(realm_id)  # a store that fails, fails here
        connection = await self._auth.exchange_code(code, state, realm_id, business_id=business_id)
        company_name, fetched = await self._company_name(realm_id)
        self._emit(
            events.CONNECTION_COMPLETED,
            realm_id,
            business_id,
            reconnect=previous.state is not ConnectionState.DISCONNECTED,
            company_info=fetched,
        )
        return QBOIntegrationDTO(
            business_id=business_id,
            status=IntegrationStatus.CONNECTED,
            realm_id=realm_id,
            access_token_expires_at=connection.access_token_expires_at,
            refresh_token_expires_at=connection.refresh_token_expires_at,
            connected_at=connection.connected_at,
            updated_at=connection.updated_at,
            company_name=company_name,
        )

    async def _refused(
        self, business_id: str, state: str | None, error: str, params: Mapping[str, str]
    ) -> AuthorizationCallbackError:
        """The error for a callback carrying `error=`, its state spent first."""
        if state is not None:
            await self._auth.abandon(state, business_id=business_id)
        code = error if _OAUTH_ERROR.fullmatch(error) else "unknown_error"
        description = _param(params, "error_description")
        detail = description[:_DESCRIPTION_CHARS] if description else None
        if code == "access_denied":
            return AuthorizationDeniedError(
                "the user declined to connect the QBO company on Intuit's consent screen "
                "(access_denied); nothing was stored: offer to start again with begin()",
                codes=(code,),
                detail=detail,
            )
        why = _CALLBACK_ERRORS.get(code, "Intuit answered the authorization with an error")
        return AuthorizationCallbackError(
            f"{why} ({code}); nothing was stored: start the connection again with begin()",
            codes=(code,),
            detail=detail,
        )

    async def _company_name(self, realm_id: str) -> tuple[str | None, str]:
        """The company's name and "fetched", or `None` and the failure's class name."""
        try:
            async with self._limiter.permit(realm_id):
                token = await self._auth.access_token(realm_id)
                info = await self._raw.company_info(
                    RealmAuth(realm_id=realm_id, access_token=token)
                )
        except QBOError as exc:
            return None, type(exc).__name__
        return info.company_name, "fetched"

    # ----------------------------------------------------------------- afterwards

    async def disconnect(self, realm_id: str) -> bool:
        """Revoke the company's grant at Intuit and delete its stored tokens.

        Returns `False` when nothing was stored. A grant Intuit no longer knows (already
        revoked, expired) is fine: the tokens are deleted. Any failure to revoke
        (transport, `InvalidClientError`, `ServerError`, ...) is raised with nothing
        deleted: try again later. See `QBOAuthService.disconnect`.
        """
        deleted = await self._auth.disconnect(realm_id)
        if deleted:
            self._emit(events.DISCONNECTED, realm_id, None)
        return deleted

    async def reconnect_url(self, business_id: str, realm_id: str) -> ConnectionRequest | None:
        """A reconnect request bound to the business and company, or `None` when not needed.

        Needed when the connection needs the user (invalid_grant, expired, revoked),
        when nothing is stored for the company, or when its refresh token's rolling or
        hard expiry falls within `reconnect_within`. The request's state lives only
        `state_ttl` seconds: call this when the user is about to follow the link (a
        "Reconnect" button), not when sending a notification days ahead.
        """
        status = await self._auth.status(realm_id)
        if not self._needs_reconnect(status):
            return None
        return await self.begin(business_id, realm_id=realm_id)

    def _needs_reconnect(self, status: ConnectionStatus) -> bool:
        if status.state not in (ConnectionState.CONNECTED, ConnectionState.EXPIRING):
            return True
        end = _effective_expiry(status)
        return end is None or end <= self._clock.now() + self._reconnect_within

    async def status(self, business_id: str, realm_id: str) -> QBOIntegrationDTO:
        """The business's connection to `realm_id`, from the store (Intuit is not asked).

        `CONNECTED` while the tokens work (also when their end is near: see
        `reconnect_url`), `NEEDS_REAUTHORIZATION` when the user must connect again,
        `DISCONNECTED` when revoked or nothing is stored. `refresh_token_expires_at` is
        the earlier of the rolling and the hard expiry; `updated_at` when a revoked or
        needs-reauthorization state was recorded. `company_name` is `None` (read it
        through the raw client). Never a token.
        """
        if not isinstance(business_id, str) or not business_id:
            raise ValueError("business_id must be a non-empty string")
        status = await self._auth.status(realm_id)
        return QBOIntegrationDTO(
            business_id=business_id,
            status=_INTEGRATION_STATUS[status.state],
            realm_id=realm_id,
            access_token_expires_at=status.access_token_expires_at,
            refresh_token_expires_at=_effective_expiry(status),
            updated_at=status.since,
        )

    # ----------------------------------------------------------------- events

    def _emit(
        self, kind: str, realm_id: str | None, business_id: str | None, **attributes: object
    ) -> None:
        self._events.emit(
            QBOEvent(
                kind=kind,
                at=self._clock.now(),
                realm_id=realm_id,
                business_id=business_id,
                attributes=attributes,
            )
        )


def _param(params: Mapping[str, str], name: str) -> str | None:
    """One query parameter, `None` when absent or empty (never a list: one value each)."""
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def _effective_expiry(status: ConnectionStatus) -> datetime | None:
    """When the refresh token stops working: the earlier of its rolling and hard expiry."""
    ends = [
        end
        for end in (status.refresh_token_expires_at, status.refresh_token_hard_expires_at)
        if end is not None
    ]
    return min(ends) if ends else None
