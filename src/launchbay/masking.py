"""Secrets kept out of what launchbay writes and prints.

A value is masked (``***``) when its key is named like a secret (a word of the name is
``token``, ``secret``, ``password``, ``key``, ``credentials``, ``auth``...:
``headers.Authorization``, ``AWS_SECRET_ACCESS_KEY``, ``api_key``). Inside any text, URLs
lose their credentials: the user info (``user:password@``), query parameters named like a
secret (``?access_key=...&secret_key=...&session_token=...``) and, for ``http(s)`` URLs such
as webhooks, which carry their token in the path or the query, everything after the host.
Hydra overrides (``key=value``, also comma-joined) with a secret's key are masked too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_WORDS = {"token", "secret", "password", "passwd", "key", "apikey", "credential", "credentials", "auth", "authorization"}
URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>(),]+")
OVERRIDE = re.compile(r"^([+~]*[\w.\-/@]+)=(.+)$")


def secret_name(name: str) -> bool:
    """True for a key or parameter named like a secret."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return not SECRET_WORDS.isdisjoint(re.split(r"[^a-z0-9]+", words))


def _masked_url(match: re.Match) -> str:
    try:
        scheme, netloc, path, query, fragment = urlsplit(match.group(0))
    except ValueError:
        return f"{match.group(0).split('://', 1)[0]}://{MASK}"
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    if scheme.lower() in ("http", "https"):
        return urlunsplit((scheme, netloc, f"/{MASK}" if path.strip("/") or query else path, "", ""))
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    query = "&".join(name + sep + (MASK if value and secret_name(name) else value) for name, sep, value in pairs)
    return urlunsplit((scheme, netloc, path, query, fragment))


def mask_text(text: str) -> str:
    """``text`` with the credentials of every URL in it masked."""
    return URL.sub(_masked_url, text)


def _masked_override(text: str) -> str:
    found = OVERRIDE.match(text)
    return f"{found[1]}={MASK}" if found and secret_name(found[1].rsplit(".", 1)[-1]) else text


def masked(node: Any) -> Any:
    """A copy of plain config values (dicts, lists, scalars) with every secret masked."""
    if isinstance(node, dict):
        return {k: MASK if secret_name(str(k)) and v not in (None, "") else masked(v) for k, v in node.items()}
    if isinstance(node, list):
        return [masked(v) for v in node]
    if isinstance(node, str):
        return mask_text(",".join(_masked_override(piece) for piece in node.split(",")))
    return node
