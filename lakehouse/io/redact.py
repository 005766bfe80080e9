"""Credentials never leave in a message: every error text the storage layer builds passes here."""

from __future__ import annotations

import re

_URL_USERINFO = re.compile(r"(://)[^/@\s]*:[^/@\s]*@")
_SIGNED_QUERY = re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+")
_AUTH_HEADER = re.compile(r"(?i)(Authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n]+")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without credentials: URL user-info, presigned-URL signatures, Authorization
    headers, and every known secret value."""
    text = _URL_USERINFO.sub(r"\1***@", text)
    text = _SIGNED_QUERY.sub(r"\1***", text)
    text = _AUTH_HEADER.sub(r"\1***", text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
