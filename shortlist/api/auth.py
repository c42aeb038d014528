"""Who may write: the API key when one is set, else a token `shortlist serve` makes at start.

Without a key, the admin endpoints (points, reindex) would be open to anyone who reaches
the port. So `serve` makes a random token each start and leaves it beside `serve.json`
readable by this user only (mode 0600); the other Shortlist processes of this user read it
there, nobody else can. With a key set, the token still lets them read the store through the
server (their CLI reads), while writes need the key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def token_file(data_dir: Path) -> Path:
    return data_dir / "serve.token"


def make_token(data_dir: Path) -> str:
    """A fresh token in a file only this user can read (written under another name, then
    renamed, so a reader never sees half of it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    partial = token_file(data_dir).with_suffix(".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    os.replace(partial, token_file(data_dir))
    return token


def read_token(data_dir: Path) -> str | None:
    try:
        return token_file(data_dir).read_text().strip() or None
    except OSError:
        return None


def remove_token(data_dir: Path, token: str) -> None:
    """Remove the token file if it is still this server's (a newer server may own it)."""
    if read_token(data_dir) == token:
        token_file(data_dir).unlink(missing_ok=True)


def matches(given: str | None, *accepted: str | None) -> bool:
    """A constant-time comparison that takes any header value: a non-ASCII one is wrong,
    not an error (`secrets.compare_digest` raises on non-ASCII str)."""
    if not given:
        return False
    given_bytes = given.encode("utf-8", "surrogateescape")
    return any(a and secrets.compare_digest(given_bytes, a.encode()) for a in accepted)


def credential_for(data_dir: Path, api_key: str | None) -> str | None:
    """What a Shortlist process sends to the server it finds: the key, else the token
    (which a server started with a key accepts for reads only)."""
    return api_key or read_token(data_dir)
