"""Where the stream goes: the server URL and the stream key, checked, never trusted.

Pure code. The key reaches the server byte for byte: it is passed to ffmpeg as
the RTMP play path (``rtmp_playpath``), never glued onto the URL, because
ffmpeg's RTMP URL parser would split a key containing ``/`` or ``:`` in the
wrong place. Error messages never echo the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kit.messages import Message, define
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

# What a refused server URL or key is told; ids for the page's catalogue (kit.messages).
SERVER_NOT_SET = define(
    "server.not_set", "the stream server is not set: paste the server URL from the app"
)
SERVER_TOO_LONG = define("server.too_long", "the server URL is longer than {max} characters")
SERVER_CHARACTERS = define(
    "server.characters", "the server URL contains spaces or characters that are not allowed"
)
SERVER_SCHEME = define("server.scheme", "the server URL must start with rtmp:// or rtmps://")
SERVER_QUERY = define(
    "server.query", "the server URL has a '?' part: paste that part into the stream key instead"
)
SERVER_USERINFO = define(
    "server.userinfo", "the server URL must not contain a user name or password"
)
SERVER_HOST = define("server.host", "the server URL has no valid host name")
SERVER_NO_APP = define(
    "server.no_app", "the server URL needs its application path, such as rtmps://host/live/"
)
SERVER_APP_CHARACTERS = define(
    "server.app_characters",
    "the server URL's path may contain only letters, digits, '.', '_', '~', '-' and '/'",
)
SERVER_PORT = define("server.port", "the server URL has an invalid port number")
KEY_NOT_SET = define("stream_key.not_set", "the stream key is not set: paste it from the app")
KEY_TOO_LONG = define("stream_key.too_long", "the stream key is longer than {max} characters")
KEY_SPACE = define(
    "stream_key.space", "the stream key contains a space or line break: paste it again"
)
KEY_CONTROL = define(
    "stream_key.control", "the stream key contains a control character: paste it again"
)
KEY_NON_ASCII = define(
    "stream_key.non_ascii",
    "the stream key contains a character outside plain ASCII: paste it again",
)
# {char} is one of _KEY_FORBIDDEN, quoted: never any other part of the key.
KEY_FORBIDDEN = define(
    "stream_key.forbidden", "the stream key contains {char}, which stream keys never contain"
)


class DestinationError(ValueError):
    """A server URL or stream key that cannot be used; the message says how to fix it.

    ``str(e)`` is the English sentence; ``e.message`` carries its id and values
    (a plain string has neither and is shown as it is).
    """

    def __init__(self, message: Message | str) -> None:
        self.message = message
        super().__init__(str(message))


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
        raise DestinationError(SERVER_NOT_SET())
    if len(url) > MAX_URL_LENGTH:
        raise DestinationError(SERVER_TOO_LONG(max=MAX_URL_LENGTH))
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise DestinationError(SERVER_CHARACTERS())
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    scheme = m.group(1).lower() if m else ""
    if scheme not in SCHEMES:
        raise DestinationError(SERVER_SCHEME())
    rest = url[m.end() :] if m else url
    if "?" in rest or "#" in rest:
        raise DestinationError(SERVER_QUERY())
    hostport, _, path = rest.partition("/")
    if "@" in hostport:
        raise DestinationError(SERVER_USERINFO())
    host, port = _split_port(hostport, SCHEMES[scheme])
    if not _HOST.match(host):
        raise DestinationError(SERVER_HOST())
    app = path.strip("/")
    if not app:
        raise DestinationError(SERVER_NO_APP())
    if not _APP.match(app):
        raise DestinationError(SERVER_APP_CHARACTERS())
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
        raise DestinationError(SERVER_PORT())
    return host, int(tail[1:])


def check_key(key: str) -> None:
    """Raise DestinationError if the key cannot be sent byte for byte. Never echoes it."""
    if not key:
        raise DestinationError(KEY_NOT_SET())
    if len(key) > MAX_KEY_LENGTH:
        raise DestinationError(KEY_TOO_LONG(max=MAX_KEY_LENGTH))
    for c in key:
        if c.isspace():
            raise DestinationError(KEY_SPACE())
        if ord(c) < 0x20 or ord(c) == 0x7F:
            raise DestinationError(KEY_CONTROL())
        if ord(c) > 0x7E:
            raise DestinationError(KEY_NON_ASCII())
        if c in _KEY_FORBIDDEN:
            raise DestinationError(KEY_FORBIDDEN(char=repr(c)))


def parse(server: str, key: str) -> Destination:
    scheme, host, port, app = parse_server(server)
    check_key(key)
    return Destination(scheme, host, port, app, Secret(key))
