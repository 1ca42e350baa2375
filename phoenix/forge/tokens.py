"""Forge tokens: made here, shown once, kept only as SHA-256 hashes.

PyGithub sends `Authorization: token T`, other clients `Bearer T`; git sends HTTP Basic with the token
as the password (`x-access-token:T`, or `USER:T`) — every form maps to the same token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets

TOKEN_PREFIX = "phx_"  # noqa: S105 (a prefix, not a secret)


def new_token() -> str:
    """A fresh random token (the prefix makes a leaked one easy to recognise and scan for)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_authorization(header: str | None) -> str | None:
    """The token an `Authorization` header carries, whatever its scheme; None if it carries none."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme in ("token", "bearer"):
        return value or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, _, password = decoded.partition(":")
        return password or None
    return None


_SECRET_QUERY = re.compile(r"((?:access_token|token|password)=)[^&]*", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"(://[^/@:]*:)[^/@]*@")


def mask_secrets(text: str) -> str:
    """`text` (a URL or query) with tokens in query parameters and URL userinfo replaced by ***."""
    return _URL_CREDENTIALS.sub(r"\1***@", _SECRET_QUERY.sub(r"\1***", text))
