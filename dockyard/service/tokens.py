"""Signed, expiring tokens: HMAC-SHA256 over a compact JSON payload.

A token reads ``dy1.<payload>.<signature>``, both parts unpadded base64url. The
payload is not secret (it names ids and roles); what matters is that nobody
without the key can make or alter one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

from dockyard.domain.errors import Unauthorized
from dockyard.domain.identity import Claims

PREFIX = "dy1"
KEY_BYTES = 32
MAX_TOKEN_LENGTH = 4096


class InvalidToken(Unauthorized):
    """A token that is malformed, forged, expired or revoked, or credentials that fail."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_token_id() -> str:
    return secrets.token_hex(16)


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a token key needs at least {KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "TokenSigner(key=<secret>)"

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest()

    def sign(self, claims: Claims) -> str:
        payload = {
            "i": claims.token_id,
            "u": claims.user_id,
            "p": claims.project_id,
            "r": list(claims.roles),
            "t": int(claims.issued_at.timestamp()),
            "e": int(claims.expires_at.timestamp()),
            "g": claims.generation,
        }
        body = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        signed = f"{PREFIX}.{body}"
        return f"{signed}.{_b64encode(self._mac(signed))}"

    def verify(self, token: str, now: dt.datetime) -> Claims:
        """The claims of a genuine, unexpired token; raises InvalidToken otherwise."""
        parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH and token.isascii() else []
        if len(parts) != 3 or parts[0] != PREFIX:
            raise InvalidToken("The token is malformed.")
        try:
            signature = _b64decode(parts[2])
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("The token is malformed.") from exc
        if not hmac.compare_digest(signature, self._mac(f"{parts[0]}.{parts[1]}")):
            raise InvalidToken("The token signature is not valid.")
        claims = _claims(_b64decode(parts[1]))
        if claims.expires_at <= now:
            raise InvalidToken("The token has expired.")
        return claims


def _claims(raw: bytes) -> Claims:
    try:
        data: Any = json.loads(raw)
        return Claims(
            token_id=str(data["i"]),
            user_id=str(data["u"]),
            project_id=str(data["p"]),
            roles=tuple(str(r) for r in data["r"]),
            issued_at=dt.datetime.fromtimestamp(int(data["t"]), dt.UTC),
            expires_at=dt.datetime.fromtimestamp(int(data["e"]), dt.UTC),
            # Tokens signed before generations existed carry none: generation 0.
            generation=int(data.get("g", 0)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        # Only reachable with a valid signature, i.e. a bug on our side or a leaked key.
        raise InvalidToken("The token payload is malformed.") from exc
