"""The local API token: how the CLI (and automation) prove they may drive the kit.

The token lives in the state folder with mode 0600, so only the kit's own user
(and root) can read it; a neighbour on the Wi-Fi cannot.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kit.fsutil import write_atomic
from kit.messages import Message, define

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


# -- the page's password and sessions ------------------------------------------------

PASSWORD_FILE = "web-password"
SECRET_KEY_FILE = "web-secret"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# scrypt at n=2**14, r=8 needs 16 MB and about 50 ms on a PC (a few hundred on a Pi).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


# Each follows "the password " (the page: "The password {problem}.", kit passwd alike).
PASSWORD_SHORT = define("password.too_short", "must be at least {min} characters")
PASSWORD_LONG = define("password.too_long", "must be at most {max} characters")
PASSWORD_DIFFERS = define("password.differs", "differs from the one typed again")


def check_new_password(password: str, again: str | None = None) -> Message | None:
    """What is wrong with a new password (English as ``str()``, never the password), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return PASSWORD_SHORT(min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return PASSWORD_LONG(max=MAX_PASSWORD_LENGTH)
    if again is not None and not hmac.compare_digest(password.encode(), again.encode()):
        return PASSWORD_DIFFERS()
    return None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    import hashlib

    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def set_password(state_dir: Path, password: str) -> None:
    """Store a salted scrypt hash (mode 0600). A new ``generation`` ends every session."""
    import json

    problem = check_new_password(password)
    if problem:
        raise ValueError(f"the password {problem}")
    salt = secrets.token_bytes(16)
    record = {
        **_SCRYPT,
        "salt": salt.hex(),
        "hash": _scrypt(password, salt, **_SCRYPT).hex(),
        "generation": secrets.token_hex(8),
    }
    # Written by root (`sudo kit passwd`), the file goes to the state folder's owner, the
    # service's user, who must read it: root's 0600 file would refuse every login.
    owner = None
    if os.geteuid() == 0 and state_dir.is_dir():
        st = state_dir.stat()
        owner = (st.st_uid, st.st_gid)
    write_atomic(state_dir / PASSWORD_FILE, json.dumps(record) + "\n", mode=0o600, owner=owner)


def _password_record(state_dir: Path) -> dict[str, object] | None:
    import json

    try:
        record = json.loads((state_dir / PASSWORD_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # A damaged file must not open the kit to anyone: treat it as a set password
        # that matches nothing; `kit passwd` repairs it.
        return {"broken": True, "generation": "broken"}
    return record if isinstance(record, dict) else {"broken": True, "generation": "broken"}


def password_is_set(state_dir: Path) -> bool:
    return _password_record(state_dir) is not None


def password_generation(state_dir: Path) -> str | None:
    record = _password_record(state_dir)
    return None if record is None else str(record.get("generation", ""))


def verify_password(state_dir: Path, password: str) -> bool:
    record = _password_record(state_dir)
    if record is None or record.get("broken"):
        return False
    try:
        salt = bytes.fromhex(str(record["salt"]))
        expected = bytes.fromhex(str(record["hash"]))
        n, r, p = (int(record[k]) for k in ("n", "r", "p"))  # type: ignore[call-overload]
        got = _scrypt(password[:MAX_PASSWORD_LENGTH], salt, n, r, p)
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def ensure_secret_key(state_dir: Path) -> bytes:
    """The key that signs session cookies: made at first start, kept (0600)."""
    path = state_dir / SECRET_KEY_FILE
    try:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) >= 32:
            return key
    except (FileNotFoundError, ValueError):
        pass
    key = secrets.token_bytes(32)
    write_atomic(path, key.hex() + "\n", mode=0o600)
    return key


class Sessions:
    """The page's logged-in sessions, each a random id in the signed cookie and a record here.

    A cookie opens the page only while its record exists: logging out removes it, so a
    copy of the cookie taken before (a shared phone, a proxy's log) opens nothing after.
    The records live in the state folder (``web-sessions``, mode 0600, written atomically
    at each login and logout), so a restart or a power cut does not log every phone out,
    as the signed cookies alone never did. Only a digest of each id is kept: the file
    does not hold working cookies. A record lasts ``max_age_s`` from its last use (as the
    cookie does); at most ``limit`` are kept, the least recently used going first.
    """

    FILE = "web-sessions"
    TOUCH_EVERY_S = 86400.0  # a record's last use is written at most this often

    def __init__(self, state_dir: Path, max_age_s: float = 30 * 86400, limit: int = 64,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._path = state_dir / self.FILE
        self._max_age, self._limit, self._clock = max_age_s, limit, clock
        self._mutex = threading.Lock()
        self._used: dict[str, float] = self._load()  # digest -> last used (epoch s)

    def open(self) -> str:
        """A new session: its id, for the cookie."""
        sid = secrets.token_urlsafe(32)
        with self._mutex:
            self._used[_digest(sid)] = self._clock()
            self._save()
        return sid

    def valid(self, sid: object) -> bool:
        if not isinstance(sid, str) or not sid:
            return False
        key, now = _digest(sid), self._clock()
        with self._mutex:
            used = self._used.get(key)
            if used is None or now - used > self._max_age:
                return False
            if now - used > self.TOUCH_EVERY_S:
                self._used[key] = now
                self._save()
            return True

    def close(self, sid: object) -> None:
        """End a session for good (a logout)."""
        if not isinstance(sid, str):
            return
        with self._mutex:
            if self._used.pop(_digest(sid), None) is not None:
                self._save()

    def _load(self) -> dict[str, float]:
        import json

        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}  # none yet, or damaged: every phone logs in again, nobody gets in
        if not isinstance(data, dict):
            return {}
        return {
            k: float(v) for k, v in data.items()
            if isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        }  # fmt: skip

    def _save(self) -> None:
        import json

        now = self._clock()
        live = sorted(
            ((k, t) for k, t in self._used.items() if now - t <= self._max_age),
            key=lambda kv: kv[1],
        )[-self._limit :]
        self._used = dict(live)
        write_atomic(self._path, json.dumps(self._used) + "\n", mode=0o600)


def _digest(sid: str) -> str:
    import hashlib

    return hashlib.sha256(sid.encode()).hexdigest()


class LoginLimiter:
    """Failed logins per client address: after ``attempts`` failures, locked for a while.

    The lock doubles with each further failure (60 s, 120 s, ... up to 15 min); a
    success clears the address's record.
    """

    def __init__(self, attempts: int = 5, lock_s: float = 60.0, max_lock_s: float = 900.0) -> None:
        import threading

        self._attempts, self._lock_s, self._max = attempts, lock_s, max_lock_s
        self._failures: dict[str, tuple[int, float]] = {}  # ip -> (count, locked until)
        self._mutex = threading.Lock()

    def retry_after(self, ip: str, now: float) -> int:
        """Seconds until ``ip`` may try again (0: now)."""
        with self._mutex:
            _, until = self._failures.get(ip, (0, 0.0))
        return max(0, int(until - now + 0.999))

    def failed(self, ip: str, now: float) -> None:
        with self._mutex:
            count, until = self._failures.get(ip, (0, 0.0))
            count += 1
            if count >= self._attempts:
                until = now + min(self._max, self._lock_s * 2 ** (count - self._attempts))
            self._failures[ip] = (count, until)
            if len(self._failures) > 10000:  # a flood of addresses: forget the oldest
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, ip: str) -> None:
        with self._mutex:
            self._failures.pop(ip, None)
