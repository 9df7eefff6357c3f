"""`QBOAuthService`: Intuit OAuth 2 for many workers, without losing a rotation.

What it guarantees, and how:

- **One refresh per rotation.** In one process, concurrent callers of `access_token`
  for a realm whose access token is (nearly) expired share one refresh (one task per
  realm; the others await it). Across processes the refresh runs under the `Lock`
  port (`qbo-auth-refresh:<realm>`), and the store is read again once the lock is
  held: if another worker refreshed meanwhile, its tokens are used and Intuit is not
  called.
- **Save before use.** New tokens are saved with compare-and-set (the version read
  under the lock) before the access token is returned; a process that dies after
  Intuit answered loses at most that answer, and the stored refresh token is the one
  Intuit last confirmed, or (with rotation) the one just superseded.
- **`invalid_grant` is checked twice.** The store is read again: when it holds other
  tokens than the ones refused (another worker rotated), they are used. Only when
  nothing newer is stored is the connection marked `reauthorization_required_at` (a
  compare-and-set; the dead tokens are kept, never deleted) and
  `ReauthorizationRequiredError` raised. A marked connection is never sent to Intuit
  again; `exchange_code` replaces it.
- **State is single-use.** `authorization_url` stores a random `state` with a TTL,
  bound to the business (and, for a reconnect, to the company); `exchange_code` takes it
  atomically (the port's `take`), so a replayed, expired, foreign or made-up state, or a
  callback for another company than the bound one, is refused before any exchange.
  `abandon` spends the state of a callback that carried an OAuth `error=` instead.
- **Disconnect revokes first.** `disconnect` deletes the stored tokens (compare-and-set)
  only after Intuit confirmed the revoke (or no longer knew the grant).
- **No token leaves.** Events, errors and reprs carry realm ids, versions and expiries,
  never a token.

Endpoints come from the configuration, or (with `discover=True`) from the discovery
document, fetched once per service and cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from datetime import datetime, timedelta

import attrs

from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import (
    ConnectionState,
    ConnectionStatus,
    IntegrationStatus,
    QBOEvent,
    QBOIntegrationDTO,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.errors import (
    AuthorizationCallbackError,
    ConflictError,
    QBOError,
    ReauthorizationRequiredError,
    TokenRevokedError,
)
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.ports.lock import Lock
from qbo_core.ports.state_store import StateStore
from qbo_core.ports.token_store import TokenStore
from qbo_core.wire import oauth

__all__ = ["QBOAuthService"]

_REALM_ID = re.compile(r"[0-9]{1,32}")
_CODE = re.compile(r"[\x21-\x7e]{1,512}")  # Intuit: at most 512 characters
_STATE_PREFIX = "qbo-auth-state:"
_LOCK_PREFIX = "qbo-auth-refresh:"


def _check_realm(realm_id: str) -> str:
    if not isinstance(realm_id, str) or _REALM_ID.fullmatch(realm_id) is None:
        raise ValueError("realm_id must be the numeric QBO company id")
    return realm_id


class QBOAuthService:
    """Authorize, exchange, refresh (once, across workers), revoke and report on tokens.

    `state_ttl` is how long an authorization URL's `state` can be used (seconds);
    `expiring_within` how close a refresh token's rolling or hard expiry must be for
    `status` to say `EXPIRING` (default 30 days, Intuit's first warning);
    `lock_lease` / `lock_wait` the refresh lock's lease and the longest wait for it
    (defaults: the configured total timeout plus 30 s, and that plus 5 s).
    """

    def __init__(
        self,
        *,
        transport: HttpTransport,
        config: QBOConfig,
        token_store: TokenStore,
        lock: Lock,
        state_store: StateStore,
        clock: Clock,
        events: EventSink,
        state_ttl: float = 600.0,
        expiring_within: timedelta = timedelta(days=30),
        lock_lease: float | None = None,
        lock_wait: float | None = None,
        discover: bool = False,
    ) -> None:
        self._transport = transport
        self._config = config
        self._tokens = token_store
        self._lock = lock
        self._states = state_store
        self._clock = clock
        self._events = events
        self._state_ttl = state_ttl
        self._expiring_within = expiring_within
        self._lease = lock_lease if lock_lease is not None else config.total_timeout + 30.0
        self._wait = lock_wait if lock_wait is not None else self._lease + 5.0
        self._discover = discover
        self._endpoints: oauth.OAuthEndpoints | None = None
        self._discovery: asyncio.Task[oauth.OAuthEndpoints] | None = None
        self._refreshing: dict[str, asyncio.Task[str]] = {}
        self._margin = timedelta(seconds=config.refresh_margin)

    def __repr__(self) -> str:
        return f"QBOAuthService(token_endpoint={self._config.token_endpoint!r})"

    # ----------------------------------------------------------------- endpoints

    async def endpoints(self) -> oauth.OAuthEndpoints:
        """The OAuth endpoints in use: pinned by the configuration, or discovered once.

        With `discover=True` the discovery document is fetched on first use (concurrent
        first callers share one fetch) and cached; a failed fetch raises its `QBOError`
        and is tried again next time.
        """
        if self._endpoints is not None:
            return self._endpoints
        if not self._discover:
            self._endpoints = oauth.OAuthEndpoints.from_config(self._config)
            return self._endpoints
        if self._discovery is None:
            self._discovery = asyncio.ensure_future(self._fetch_discovery())
        task = self._discovery
        try:
            self._endpoints = await asyncio.shield(task)
        except BaseException:
            if self._discovery is task and task.done():
                self._discovery = None
            raise
        return self._endpoints

    async def _fetch_discovery(self) -> oauth.OAuthEndpoints:
        response = await self._transport.send(oauth.build_discovery(self._config))
        return oauth.decode_discovery(response)

    # ----------------------------------------------------------------- authorize

    @property
    def state_ttl(self) -> float:
        """How long, in seconds, an authorization URL's `state` can be used."""
        return self._state_ttl

    async def authorization_url(
        self,
        business_id: str,
        *,
        scopes: tuple[str, ...] | None = None,
        realm_id: str | None = None,
    ) -> tuple[str, str]:
        """`(url, state)`: where to send the user to connect `business_id`'s company.

        The `state` is 256 random bits, stored for `state_ttl` seconds bound to the
        business, and to `realm_id` when given (a reconnect of a known company: the
        callback must then come back for that company); `exchange_code` accepts it once.
        `ValueError` for an empty `business_id` or a `realm_id` that is not a QBO
        company id.
        """
        if not isinstance(business_id, str) or not business_id:
            raise ValueError("business_id must be a non-empty string")
        if realm_id is not None:
            _check_realm(realm_id)
        state = secrets.token_urlsafe(32)
        url = oauth.build_authorization_url(
            self._config, state=state, scopes=scopes, endpoints=await self.endpoints()
        )
        bound = {"business_id": business_id, "issued_at": self._clock.now().isoformat()}
        if realm_id is not None:
            bound["realm_id"] = realm_id
        await self._states.put(
            _STATE_PREFIX + state, json.dumps(bound).encode(), ttl=self._state_ttl
        )
        return url, state

    async def abandon(self, state: str, *, business_id: str | None = None) -> bool:
        """Spend the `state` of an authorization that came back without a code.

        For a callback carrying `error=` (the user declined, or Intuit refused the
        request): the state is taken, so that neither it nor a later callback with it can
        be used. Returns whether it was live (issued, unused, unexpired, and for
        `business_id` when given); Intuit is not called, and no tokens are touched.
        """
        if not isinstance(state, str) or not state:
            return False
        bound = _state_binding(await self._states.take(_STATE_PREFIX + state))
        return bound is not None and business_id in (None, bound[0])

    async def exchange_code(
        self, code: str, state: str, realm_id: str, *, business_id: str | None = None
    ) -> QBOIntegrationDTO:
        """Check `state`, trade `code` for tokens, store them; return the connection (no tokens).

        `realm_id` and `code` are checked first (a malformed one is refused with the
        state left live); then the state is taken (single use). `AuthorizationCallbackError`
        when it is missing, used, expired, or (with `business_id`) was issued for another
        business, or was bound to another company than `realm_id` (a reconnect answered
        for the wrong company): nothing is exchanged or stored then, and the state is
        spent (a callback that does not match its authorization ends it). The state is
        spent even when the exchange then fails (start again).
        Exchange errors are those of `oauth.decode_token_response`. The new tokens replace
        whatever the realm had (a reconnect), by compare-and-set.
        """
        if not isinstance(realm_id, str) or _REALM_ID.fullmatch(realm_id) is None:
            raise AuthorizationCallbackError(
                "the callback's realmId is not a QBO company id; start the connection again"
            )
        if not isinstance(code, str) or _CODE.fullmatch(code) is None:
            raise AuthorizationCallbackError(
                "the callback's code is missing or malformed; start the connection again",
                realm_id=realm_id,
            )
        raw = (
            await self._states.take(_STATE_PREFIX + state)
            if isinstance(state, str) and state
            else None
        )
        bound = _state_binding(raw)
        if bound is None:
            raise AuthorizationCallbackError(
                "the callback's state is unknown, already used or expired; start the "
                "connection again from a new authorization URL",
                realm_id=realm_id,
            )
        owner, expected_realm = bound
        if business_id is not None and owner != business_id:
            raise AuthorizationCallbackError(
                "the callback's state was issued for another business; start the connection "
                "again from a new authorization URL",
                realm_id=realm_id,
            )
        if expected_realm is not None and realm_id != expected_realm:
            raise AuthorizationCallbackError(
                f"the callback is for QBO company {realm_id}, but this authorization was "
                f"started to reconnect QBO company {expected_realm}; nothing was exchanged: "
                f"start again and choose company {expected_realm} on Intuit's screen",
                realm_id=expected_realm,
            )
        request = oauth.build_code_exchange(
            self._config, code=code, endpoints=await self.endpoints()
        )
        response = await self._transport.send(request)
        now = self._clock.now()
        tokens = oauth.decode_token_response(
            response, now=now, config=self._config, realm_id=realm_id
        )
        saved = await self._replace(realm_id, tokens)
        self._emit(
            events.TOKEN_REFRESHED,
            realm_id,
            business_id=owner,
            grant="authorization_code",
            version=saved.version,
        )
        return QBOIntegrationDTO(
            business_id=owner,
            status=IntegrationStatus.CONNECTED,
            realm_id=realm_id,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
            connected_at=now,
            updated_at=now,
        )

    async def _replace(self, realm_id: str, tokens: TokenSet) -> VersionedTokenSet:
        while True:
            current = await self._tokens.load(realm_id)
            try:
                return await self._tokens.save(
                    realm_id, tokens, expected_version=None if current is None else current.version
                )
            except ConflictError:
                continue  # a concurrent writer; these tokens are the newest grant

    # ----------------------------------------------------------------- access

    async def access_token(self, realm_id: str, *, rejected: str | None = None) -> str:
        """A usable access token for `realm_id`, refreshed first when it is within the margin.

        `rejected` is an access token QBO has just refused (a 401 from the data API):
        when the stored one is that token, it is refreshed even though it looks fresh
        here (revoked at Intuit, or clocks disagree). The check is repeated under the
        lock, so when another worker has already replaced it, theirs is returned and
        Intuit is not called again.

        Raises `ReauthorizationRequiredError` when nothing is stored or the connection
        needs the user again (`TokenRevokedError` when it was revoked), and the refresh's
        errors otherwise (transport, `InvalidClientError`, `ServerError`, `DecodeError`,
        `LockTimeoutError`), with what is stored left as it was.
        """
        _check_realm(realm_id)
        current = await self._tokens.load(realm_id)
        tokens = _usable(realm_id, current)
        if self._fresh(tokens) and tokens.access_token != rejected:
            return tokens.access_token
        return await self._single_flight(realm_id, rejected)

    async def refresh(self, realm_id: str) -> ConnectionStatus:
        """Refresh the realm's tokens now, even when the access token is still fresh.

        For a connection that is idle (nothing asks for an access token) while its
        refresh token's rolling expiry comes near: a refresh at Intuit extends it (once
        Intuit rotates the refresh token, which it does at most once every 24 hours or so;
        a refresh within that window keeps the same refresh token and expiry). The
        guarantees of `access_token` hold: one refresh per realm in this process (a
        refresh already in flight is joined), the `Lock` port across processes, the store
        read again under the lock (when another worker has replaced the tokens meanwhile,
        theirs count as the refresh and Intuit is not called), save before use.

        Returns the connection's `status` afterwards. Raises what `access_token` raises
        (`ReauthorizationRequiredError`, `TokenRevokedError`, transport and Intuit errors).
        """
        _check_realm(realm_id)
        tokens = _usable(realm_id, await self._tokens.load(realm_id))
        # The stored access token passed as `rejected` forces the refresh, unless another
        # worker has stored newer tokens by the time the lock is held.
        await self._single_flight(realm_id, tokens.access_token)
        return await self.status(realm_id)

    async def _single_flight(self, realm_id: str, rejected: str | None) -> str:
        task = self._refreshing.get(realm_id)
        if task is None:
            task = asyncio.ensure_future(self._refresh_locked(realm_id, rejected))
            self._refreshing[realm_id] = task
            task.add_done_callback(lambda done: self._forget(realm_id, done))
        return await asyncio.shield(task)

    def _forget(self, realm_id: str, task: asyncio.Task[str]) -> None:
        # The task's exception needs no retrieving here: `asyncio.shield` retrieves it.
        if self._refreshing.get(realm_id) is task:
            del self._refreshing[realm_id]

    def _fresh(self, tokens: TokenSet) -> bool:
        return not tokens.access_token_expires_within(self._clock.now(), self._margin)

    async def _refresh_locked(self, realm_id: str, rejected: str | None = None) -> str:
        lease = await self._lock.acquire(
            _LOCK_PREFIX + realm_id, lease=self._lease, wait=self._wait
        )
        try:
            current = await self._tokens.load(realm_id)  # another worker may have refreshed
            tokens = _usable(realm_id, current)
            assert current is not None
            if self._fresh(tokens) and tokens.access_token != rejected:
                return tokens.access_token
            return await self._refresh(realm_id, current, retry=True)
        finally:
            await self._lock.release(lease)

    async def _refresh(self, realm_id: str, current: VersionedTokenSet, *, retry: bool) -> str:
        tokens = current.tokens
        now = self._clock.now()
        if tokens.refresh_token_expired(now):
            await self._mark_dead(realm_id, current)
            raise self._reauthorize(realm_id, "the refresh token has expired")
        try:
            request = oauth.build_refresh(
                self._config, refresh_token=tokens.refresh_token, endpoints=await self.endpoints()
            )
            response = await self._transport.send(request)
            fresh = oauth.decode_token_response(
                response, now=self._clock.now(), config=self._config, realm_id=realm_id
            )
        except ReauthorizationRequiredError as exc:
            latest = await self._tokens.load(realm_id)
            if (
                retry
                and latest is not None
                and latest.version != current.version
                and latest.tokens.usable
                and latest.tokens.refresh_token != tokens.refresh_token
            ):
                if self._fresh(latest.tokens):
                    return latest.tokens.access_token
                return await self._refresh(realm_id, latest, retry=False)
            self._emit(
                events.TOKEN_REFRESH_FAILED,
                realm_id,
                error=type(exc).__name__,
                reason="invalid_grant",
                version=current.version,
            )
            await self._mark_dead(realm_id, current)
            raise self._reauthorize(
                realm_id, "Intuit refused the refresh token (invalid_grant)"
            ) from exc
        except QBOError as exc:
            self._emit(
                events.TOKEN_REFRESH_FAILED,
                realm_id,
                error=type(exc).__name__,
                status=exc.status,
                version=current.version,
            )
            raise
        if (
            tokens.refresh_token_hard_expires_at is not None
            and fresh.refresh_token_hard_expires_at is None
        ):
            # Intuit reports the cap only when asked; keep what it said before.
            fresh = _with_hard_expiry(fresh, tokens.refresh_token_hard_expires_at)
        saved = await self._save_refreshed(realm_id, current, fresh)
        self._emit(
            events.TOKEN_REFRESHED,
            realm_id,
            grant="refresh_token",
            version=saved.version,
            rotated=fresh.refresh_token != tokens.refresh_token,
            access_token_expires_at=fresh.access_token_expires_at.isoformat(),
            refresh_token_expires_at=fresh.refresh_token_expires_at.isoformat(),
        )
        return saved.tokens.access_token

    async def _save_refreshed(
        self, realm_id: str, current: VersionedTokenSet, fresh: TokenSet
    ) -> VersionedTokenSet:
        """Save `fresh` over `current`; if someone wrote meanwhile (a lost lease), keep ours.

        The tokens Intuit has just issued are the newest of the grant (the refresh token
        just used is superseded), so they win over whatever another writer stored.
        """
        expected = current.version
        while True:
            try:
                return await self._tokens.save(realm_id, fresh, expected_version=expected)
            except ConflictError as exc:
                latest = await self._tokens.load(realm_id)
                if latest is None:
                    raise  # deleted meanwhile (a disconnect): do not bring it back
                if latest.tokens.refresh_token == fresh.refresh_token and latest.tokens.usable:
                    return latest  # someone saved these very tokens
                if exc.actual is not None and exc.actual < expected:
                    raise
                expected = latest.version

    async def _mark_dead(self, realm_id: str, current: VersionedTokenSet) -> None:
        """Record that the stored tokens need the user (CAS); keep them, never delete."""
        marked = _evolve(current.tokens, reauthorization_required_at=self._clock.now())
        with contextlib.suppress(ConflictError):  # someone stored newer tokens: they count
            await self._tokens.save(realm_id, marked, expected_version=current.version)

    def _reauthorize(self, realm_id: str, why: str) -> ReauthorizationRequiredError:
        return ReauthorizationRequiredError(
            f"{why}: the connection to QBO company {realm_id} needs the user to connect again",
            realm_id=realm_id,
            codes=("invalid_grant",),
        )

    # ----------------------------------------------------------------- revoke, status

    async def revoke(self, realm_id: str) -> bool:
        """Revoke the realm's grant at Intuit and mark the stored tokens revoked.

        Returns `False` when nothing is stored (nothing to do). The tokens stay stored
        (marked `revoked_at`); deleting them is the caller's decision. Intuit's errors
        are raised with the store unchanged.
        """
        _check_realm(realm_id)
        current = await self._tokens.load(realm_id)
        if current is None:
            return False
        request = oauth.build_revoke(
            self._config, token=current.tokens.refresh_token, endpoints=await self.endpoints()
        )
        oauth.decode_revoke(await self._transport.send(request))
        marked = _evolve(current.tokens, revoked_at=self._clock.now())
        expected = current.version
        while True:
            try:
                await self._tokens.save(realm_id, marked, expected_version=expected)
                return True
            except ConflictError:
                latest = await self._tokens.load(realm_id)
                if latest is None:
                    return True
                marked = _evolve(latest.tokens, revoked_at=self._clock.now())
                expected = latest.version

    async def disconnect(self, realm_id: str) -> bool:
        """Revoke the realm's grant at Intuit, then delete its stored tokens.

        Returns `False` when nothing is stored. Intuit is asked first, with the stored
        refresh token (skipped when the tokens are already marked revoked); it answers
        200 for a grant it no longer knows (RFC 7009), and an `invalid_grant` refusal
        means the grant is dead already: both go on to the delete. Any other failure
        (transport, `InvalidClientError`, `ServerError`, ...) is raised with nothing
        deleted. The delete is a compare-and-set on the version read: when another
        writer stored tokens meanwhile (a refresh, or a reconnect's new grant), those are
        revoked and deleted in turn, so no grant outlives the disconnect.
        """
        _check_realm(realm_id)
        current = await self._tokens.load(realm_id)
        while current is not None:
            if current.tokens.revoked_at is None:
                request = oauth.build_revoke(
                    self._config,
                    token=current.tokens.refresh_token,
                    endpoints=await self.endpoints(),
                )
                with contextlib.suppress(ReauthorizationRequiredError):
                    oauth.decode_revoke(await self._transport.send(request))
            try:
                return await self._tokens.delete(realm_id, expected_version=current.version)
            except ConflictError:
                current = await self._tokens.load(realm_id)
        return False

    async def status(self, realm_id: str) -> ConnectionStatus:
        """Where the realm's connection stands (read from the store; Intuit is not asked)."""
        _check_realm(realm_id)
        current = await self._tokens.load(realm_id)
        if current is None:
            return ConnectionStatus(realm_id=realm_id, state=ConnectionState.DISCONNECTED)
        tokens = current.tokens
        now = self._clock.now()
        since: datetime | None = None
        if tokens.revoked_at is not None:
            state, since = ConnectionState.REVOKED, tokens.revoked_at
        elif tokens.reauthorization_required_at is not None:
            state, since = ConnectionState.NEEDS_REAUTHORIZATION, tokens.reauthorization_required_at
        elif tokens.refresh_token_expired(now):
            state = ConnectionState.NEEDS_REAUTHORIZATION
        elif tokens.refresh_token_expired(now + self._expiring_within):
            state = ConnectionState.EXPIRING
        else:
            state = ConnectionState.CONNECTED
        return ConnectionStatus(
            realm_id=realm_id,
            state=state,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
            refresh_token_hard_expires_at=tokens.refresh_token_hard_expires_at,
            since=since,
        )

    # ----------------------------------------------------------------- events

    def _emit(
        self, kind: str, realm_id: str, *, business_id: str | None = None, **attributes: object
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


def _state_binding(raw: bytes | None) -> tuple[str, str | None] | None:
    """The business (and the realm, for a reconnect) a stored state was issued for."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    owner, realm = value.get("business_id"), value.get("realm_id")
    if not isinstance(owner, str) or not owner:
        return None
    return owner, realm if isinstance(realm, str) and realm else None


def _usable(realm_id: str, current: VersionedTokenSet | None) -> TokenSet:
    if current is None:
        raise ReauthorizationRequiredError(
            f"no tokens are stored for QBO company {realm_id}: connect it first",
            realm_id=realm_id,
        )
    tokens = current.tokens
    if tokens.revoked_at is not None:
        raise TokenRevokedError(
            f"the connection to QBO company {realm_id} was revoked: the user must connect again",
            realm_id=realm_id,
        )
    if tokens.reauthorization_required_at is not None:
        raise ReauthorizationRequiredError(
            f"the connection to QBO company {realm_id} needs the user to connect again",
            realm_id=realm_id,
            codes=("invalid_grant",),
        )
    return tokens


def _evolve(tokens: TokenSet, **changes: datetime) -> TokenSet:
    return attrs.evolve(tokens, **changes)  # type: ignore[arg-type]


def _with_hard_expiry(tokens: TokenSet, hard: datetime) -> TokenSet:
    return _evolve(tokens, refresh_token_hard_expires_at=hard)
