"""The CLI's side of the API: finds the running daemon through its config file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from kit.api.auth import read_token
from kit.config import Config


class ClientError(RuntimeError):
    """The daemon could not be reached or refused the request; the message says why."""


class Client:
    def __init__(self, cfg: Config, timeout: float = 30.0) -> None:
        host = cfg.web.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        self.base = f"http://{host}:{cfg.web.port}"
        self.timeout = timeout
        token_file = cfg.state.dir / "api-token"
        try:
            self._token = read_token(cfg.state.dir)
        except FileNotFoundError:
            raise ClientError(
                f"no API token at {token_file}: is the kit running with this config?"
            ) from None
        except PermissionError:
            raise ClientError(
                f"cannot read {token_file}: run this as the kit's user or with sudo"
            ) from None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self._token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                detail = json.loads(e.read()).get("error", e.reason)
            except (ValueError, AttributeError):
                detail = e.reason
            raise ClientError(f"the kit refused: {detail}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(
                f"the kit is not answering at {self.base} ({reason}): is it running?"
            ) from None

    def status(self) -> dict[str, Any]:
        return self.request("GET", "/api/status")  # type: ignore[no-any-return]


def config_path_default() -> Path:
    import os

    return Path(os.environ.get("KIT_CONFIG", "/etc/kit/kit.toml"))
