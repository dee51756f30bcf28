"""What ffmpeg, the OS or the server said, as a message the page can show in its language.

ffmpeg's failures reach the status as its own words: the fifo muxer's "Error opening
rtmp://...: End of file" becomes "End of file", an RTMP server's "Server error: Already
publishing" becomes "Already publishing", a socket's errno becomes strerror's English. The
status keeps that raw text (the log, ``kit status`` and the API stay as they were); the page
shows :func:`explain`'s message instead, so the Swedish page says it in Swedish. A text no
rule knows becomes the caller's ``fallback`` (a sentence that the details are in the kit's
log), never English on a page in another language.

Pure: a table of (pattern, template), tested as a table (tests/unit/test_said.py). The
patterns were read off ffmpeg 5.1 (av_strerror, libavformat's rtmpproto.c, tls_openssl.c and
tls_gnutls.c, http.c) and Linux's strerror.
"""

from __future__ import annotations

import re

from kit.messages import Message, Template, define

CLOSED = define("said.closed", "The server closed the connection.")
REFUSED = define(
    "said.refused", "Nothing answers at the server's address and port (connection refused)."
)
TIMED_OUT = define("said.timed_out", "The server did not answer in time.")
NO_ROUTE = define("said.no_route", "There is no network route to the server.")
NO_NAME = define("said.no_name", "The server's name cannot be looked up.")
BROKE_OFF = define("said.broke_off", "The connection to the server broke off.")
DISK_FULL = define("said.disk_full", "The disk is full.")
NO_FILE = define("said.no_file", "A file or device the encoder needs is missing.")
NO_DEVICE = define("said.no_device", "The device is not there: it was unplugged or never found.")
DEVICE_BUSY = define("said.device_busy", "The device is in use by another program.")
PERMISSION = define("said.permission", "The kit may not open a file or device it needs.")
NO_MEMORY = define("said.no_memory", "The kit ran out of memory.")
HTTP = define("said.http", "The server answered HTTP {status}.")
NOT_RTMP = define(
    "said.not_rtmp",
    "The server did not answer as an RTMP server: check the server URL (rtmp:// or rtmps://).",
)
TLS = define(
    "said.tls",
    "The secure connection (TLS) failed: check whether the server URL should start with "
    "rtmp:// or rtmps://.",
)
CERTIFICATE = define(
    "said.certificate", "The server's certificate is not trusted: it may not be the real server."
)
ALREADY_PUBLISHING = define(
    "said.already_publishing", "Another stream is already live with this key."
)
SERVER_REFUSED = define("said.server_refused", "The server refused the stream.")
NO_ANSWER = define("said.no_answer", "The server did not answer.")
UNREADABLE = define("said.unreadable", "The server answered with something the kit cannot read.")
ENCODER = define("said.encoder", "The encoder reported an error; the details are in the kit's log.")
SEE_LOG = define("said.see_log", "The details are in the kit's log.")

# Each rule: a regular expression searched for in the text (case-insensitive), the message.
# The first that matches wins, so the more particular ones come first.
RULES: tuple[tuple[str, Template], ...] = (
    (r"certificate|verify failed|x509|issuer", CERTIFICATE),
    (r"already publishing|stream already (?:exists|published)", ALREADY_PUBLISHING),
    (r"server returned (\d{3}|[45]XX)", HTTP),
    (
        r"\bTLS\b|\bSSL\b|gnutls|openssl|wrong version number|fatal alert|"
        r"non-properly terminated|pull function|push function",
        TLS,
    ),
    (r"handshake|RTMP_ReadPacket|RTMP packet|rtmp.*(?:header|chunk)", NOT_RTMP),
    (r"no space left on device|disk quota", DISK_FULL),
    (
        r"\bend of file\b|\bEOF\b|connection reset|broken pipe|connection aborted|"
        r"connection closed",
        CLOSED,
    ),
    (r"connection refused", REFUSED),
    (r"timed out|timeout", TIMED_OUT),
    (r"network is unreachable|no route to host|network is down|host is down", NO_ROUTE),
    (
        r"failed to resolve|name or service not known|name resolution|no address associated|"
        r"could not resolve|nodename nor servname",
        NO_NAME,
    ),
    (r"input/output error|\bI/O error", BROKE_OFF),
    (r"no such device|device not configured|no such device or address", NO_DEVICE),
    (r"device or resource busy|resource busy", DEVICE_BUSY),
    (r"no such file or directory", NO_FILE),
    (r"permission denied|operation not permitted|access denied", PERMISSION),
    (r"cannot allocate memory|out of memory", NO_MEMORY),
    (r"invalid data found", UNREADABLE),
    (r"the server did not answer", NO_ANSWER),
    (
        r"unauthorized|forbidden|authentication|auth failed|not allowed|rejected|bad ?name|"
        r"publish(?:ing)? (?:is )?(?:refused|denied|failed)|NetStream\.Publish",
        SERVER_REFUSED,
    ),
)
_COMPILED = tuple((re.compile(p, re.I), t) for p, t in RULES)
# Every message this module can give, for the tests (and to recognise its own English).
MESSAGES: tuple[Template, ...] = tuple(
    {t.id: t for t in (*(t for _, t in RULES), ENCODER, SEE_LOG)}.values()
)


def explain(text: str, fallback: Template = ENCODER) -> Message:
    """The message for what ffmpeg, the OS or the server said (``fallback`` if no rule knows
    it). A text that already is one of these messages' English gives that message back."""
    said = text.strip()
    for t in MESSAGES:
        found = t.match(said)
        if found is not None:
            return found
    for pattern, template in _COMPILED:
        m = pattern.search(said)
        if m is None:
            continue
        if template is HTTP:
            return HTTP(status=m.group(1).upper())
        return template()
    return fallback()
