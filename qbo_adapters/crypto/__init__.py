"""Encryption at rest: `EncryptedTokenStore` wraps any token store (Fernet, `cryptography`).

Keys rotate through MultiFernet: the first key encrypts, every key decrypts.
"""

from qbo_adapters.crypto.token_store import EncryptedTokenStore

__all__ = ["EncryptedTokenStore"]
