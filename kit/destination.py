"""Where the stream goes: the server URL and the stream key, checked, never trusted.

Pure code. The key reaches the server byte for byte: it is passed to ffmpeg as
the RTMP play path (``rtmp_playpath``), never glued onto the URL, because
ffmpeg's RTMP URL parser would split a key containing ``/`` or ``:`` in the
wrong place. Error messages never echo the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kit.secret import Secret

SCHEMES = {"rtmp": 1935, "rtmps": 443}
MAX_KEY_LENGTH = 1024
MAX_URL_LENGTH = 512

_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]"  # IPv6 literal
    r"|(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$"
)
_APP = re.compile(r"^[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*$")
# Characters of ffmpeg's tee syntax ('|' between outputs, '[' ']' around
# options) and of its token quoting ('\\' and "'"): refused outright so that a
# pasted value can never change the command, even if an escaping rule were wrong.
_KEY_FORBIDDEN = set("|[]\\'\"")


class DestinationError(ValueError):
    """A server URL or stream key that cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    app: str
    key: Secret

    @property
    def server_url(self) -> str:
        """The server URL in canonical form, without the key."""
        return f"{self.scheme}://{self.host}:{self.port}/{self.app}"

    @property
    def secure(self) -> bool:
        return self.scheme == "rtmps"


def parse_server(url: str) -> tuple[str, str, int, str]:
    """'rtmps://push.example.com:443/game/' -> ('rtmps', 'push.example.com', 443, 'game')."""
    if not url:
        raise DestinationError("the stream server is not set: paste the server URL from the app")
    if len(url) > MAX_URL_LENGTH:
        raise DestinationError(f"the server URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise DestinationError("the server URL contains spaces or characters that are not allowed")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    scheme = m.group(1).lower() if m else ""
    if scheme not in SCHEMES:
        raise DestinationError("the server URL must start with rtmp:// or rtmps://")
    rest = url[m.end() :] if m else url
    if "?" in rest or "#" in rest:
        raise DestinationError(
            "the server URL has a '?' part: paste that part into the stream key instead"
        )
    hostport, _, path = rest.partition("/")
    if "@" in hostport:
        raise DestinationError("the server URL must not contain a user name or password")
    host, port = _split_port(hostport, SCHEMES[scheme])
    if not _HOST.match(host):
        raise DestinationError("the server URL has no valid host name")
    app = path.strip("/")
    if not app:
        raise DestinationError(
            "the server URL needs its application path, such as rtmps://host/live/"
        )
    if not _APP.match(app):
        raise DestinationError(
            "the server URL's path may contain only letters, digits, '.', '_', '~', '-' and '/'"
        )
    return scheme, host, port, app


def _split_port(hostport: str, default: int) -> tuple[str, int]:
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = hostport[: end + 1], hostport[end + 1 :]
    else:
        host, sep, tail = hostport.partition(":")
        tail = sep + tail
    if not tail:
        return host, default
    if not re.fullmatch(r":\d{1,5}", tail) or not 0 < int(tail[1:]) < 65536:
        raise DestinationError("the server URL has an invalid port number")
    return host, int(tail[1:])


def check_key(key: str) -> None:
    """Raise DestinationError if the key cannot be sent byte for byte. Never echoes it."""
    if not key:
        raise DestinationError("the stream key is not set: paste it from the app")
    if len(key) > MAX_KEY_LENGTH:
        raise DestinationError(f"the stream key is longer than {MAX_KEY_LENGTH} characters")
    for c in key:
        if c.isspace():
            raise DestinationError("the stream key contains a space or line break: paste it again")
        if ord(c) < 0x20 or ord(c) == 0x7F:
            raise DestinationError("the stream key contains a control character: paste it again")
        if ord(c) > 0x7E:
            raise DestinationError(
                "the stream key contains a character outside plain ASCII: paste it again"
            )
        if c in _KEY_FORBIDDEN:
            raise DestinationError(
                f"the stream key contains {c!r}, which stream keys never contain"
            )


def parse(server: str, key: str) -> Destination:
    scheme, host, port, app = parse_server(server)
    check_key(key)
    return Destination(scheme, host, port, app, Secret(key))
