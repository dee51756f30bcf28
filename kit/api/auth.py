"""The local API token: how the CLI (and automation) prove they may drive the kit.

The token lives in the state folder with mode 0600, so only the kit's own user
(and root) can read it; a neighbour on the Wi-Fi cannot.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from kit.fsutil import write_atomic

TOKEN_FILE = "api-token"


def token_path(state_dir: Path) -> Path:
    return state_dir / TOKEN_FILE


def ensure_token(state_dir: Path) -> str:
    """Return the token, creating it (atomically, mode 0600) on first start."""
    path = token_path(state_dir)
    try:
        token = path.read_text().strip()
        if len(token) >= 32:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    write_atomic(path, token + "\n", mode=0o600)
    return token


def read_token(state_dir: Path) -> str:
    return token_path(state_dir).read_text().strip()


def bearer_ok(header: str | None, token: str) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())
