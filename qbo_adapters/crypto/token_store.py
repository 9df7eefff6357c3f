"""`EncryptedTokenStore`: any `TokenStore`, with the tokens encrypted at rest (Fernet)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConfigurationError, ConflictError, EncryptionKeyError
from qbo_core.ports.token_store import TokenStore

__all__ = ["EncryptedTokenStore"]

_FORMAT = "qbo-token/1"
_ATTEMPTS = 10  # an unguarded delete re-checks this often if the tokens keep changing


class EncryptedTokenStore:
    """Wraps a `TokenStore` so that the access and refresh tokens reach it encrypted.

    `keys` are Fernet keys (`EncryptedTokenStore.generate_key()`), newest first: the
    first encrypts, every one decrypts, so a key is rotated by putting the new one in
    front and keeping the old ones until every realm has been saved again. Each
    ciphertext is bound to its realm and field, so one pasted under another realm does
    not decrypt. Expiry times, token type, scope and realm id stay readable.

    A value no configured key decrypts raises `EncryptionKeyError`, and is never
    overwritten or deleted through this store: a guarded save and every delete first
    check that the stored value decrypts, and the inner store's compare-and-set then
    holds them to exactly that version. (Tokens no key can read are discarded through
    the inner store itself.) Compare-and-set, versions and conflicts are the inner
    store's.
    """

    def __init__(self, inner: TokenStore, *, keys: Sequence[str | bytes]) -> None:
        if isinstance(keys, str | bytes) or not keys:
            raise ConfigurationError(
                "EncryptedTokenStore needs a sequence of one or more Fernet keys, newest first",
                field="keys",
            )
        fernets: list[Fernet] = []
        for position, key in enumerate(keys):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                message = f"encryption key #{position + 1} is not a Fernet key (32 url-safe "
                message += "base64-encoded bytes; see EncryptedTokenStore.generate_key())"
                raise ConfigurationError(message, field="keys") from exc
        self._inner = inner
        self._fernet = MultiFernet(fernets)
        self._key_count = len(fernets)

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, as text to keep in the host's secret settings."""
        return Fernet.generate_key().decode("ascii")

    async def ping(self) -> None:
        await self._inner.ping()

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        stored = await self._inner.load(realm_id)
        if stored is None:
            return None
        return VersionedTokenSet(
            tokens=self._decrypt(realm_id, stored.tokens), version=stored.version
        )

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        if expected_version is not None:
            current = await self._inner.load(realm_id)
            if current is not None and current.version == expected_version:
                self._decrypt(realm_id, current.tokens)  # refuse to replace what we can't read
        saved = await self._inner.save(
            realm_id, self._encrypt(realm_id, tokens), expected_version=expected_version
        )
        return VersionedTokenSet(tokens=tokens, version=saved.version)

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        for _ in range(_ATTEMPTS):
            current = await self._inner.load(realm_id)
            if current is None:
                return False
            if expected_version is not None and current.version != expected_version:
                raise _conflict(realm_id, expected_version, current.version)
            self._decrypt(realm_id, current.tokens)  # refuse to delete what we can't read
            try:
                return await self._inner.delete(realm_id, expected_version=current.version)
            except ConflictError:
                if expected_version is not None:
                    raise
                # replaced since the check: check the newer value before deleting it
        raise _conflict(realm_id, None, None)  # a guarded delete re-raised its first loss

    def __repr__(self) -> str:
        return f"EncryptedTokenStore(inner={self._inner!r}, keys={self._key_count})"

    # -- plumbing ---------------------------------------------------------------------

    def _encrypt(self, realm_id: str, tokens: TokenSet) -> TokenSet:
        return attrs.evolve(
            tokens,
            access_token=self._seal(realm_id, "access_token", tokens.access_token),
            refresh_token=self._seal(realm_id, "refresh_token", tokens.refresh_token),
        )

    def _decrypt(self, realm_id: str, tokens: TokenSet) -> TokenSet:
        return attrs.evolve(
            tokens,
            access_token=self._open(realm_id, "access_token", tokens.access_token),
            refresh_token=self._open(realm_id, "refresh_token", tokens.refresh_token),
        )

    def _seal(self, realm_id: str, field: str, secret: str) -> str:
        plain = json.dumps([_FORMAT, realm_id, field, secret]).encode("utf-8")
        return self._fernet.encrypt(plain).decode("ascii")

    def _open(self, realm_id: str, field: str, sealed: str) -> str:
        try:
            plain = self._fernet.decrypt(sealed.encode("utf-8"))
        except (InvalidToken, ValueError, TypeError):
            raise EncryptionKeyError(
                f"the stored {field} cannot be decrypted with any of the {self._key_count} "
                "configured keys (a key missing from the rotation, or the value was not "
                "written by EncryptedTokenStore); nothing was changed",
                realm_id=realm_id,
                field="keys",
            ) from None  # InvalidToken carries nothing more, and the ciphertext stays out
        try:
            label, sealed_realm, sealed_field, secret = json.loads(plain)
        except ValueError:
            label = sealed_realm = sealed_field = secret = None
        if (label, sealed_realm, sealed_field) != (_FORMAT, realm_id, field) or not isinstance(
            secret, str
        ):
            raise EncryptionKeyError(
                f"the stored {field} decrypts, but was sealed for another realm or field: "
                "it was copied or tampered with; nothing was changed",
                realm_id=realm_id,
                field="keys",
            )
        return secret


def _conflict(realm_id: str, expected: int | None, actual: int | None) -> ConflictError:
    return ConflictError(
        f"token delete expected version {expected}, but the store holds {actual}",
        expected=expected,
        actual=actual,
        realm_id=realm_id,
    )
