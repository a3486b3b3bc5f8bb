"""Encryption of stored secrets (registry passwords) with a key from the operator's secret."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Shortest ``auth_encryption_key`` accepted.
MIN_KEY_LENGTH = 32
_PURPOSE = b"dockyard registry passwords"


class SecretKeyError(ValueError):
    """The configured secret cannot serve as a key."""


class Undecryptable(ValueError):
    """A sealed value was not made with this key (or was altered)."""


class SecretBox:
    """Fernet (AES-CBC + HMAC) with a key derived by HKDF-SHA256 from ``secret``."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_KEY_LENGTH:
            raise SecretKeyError(
                f"[DEFAULT] auth_encryption_key must be at least {MIN_KEY_LENGTH} characters"
            )
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise Undecryptable("not sealed with this key") from None
