"""'Test connection': does the stream server answer? Without publishing anything."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from kit import destination


def test_server(server: str, ca_file: Path | None, timeout: float = 4.0) -> tuple[bool, str]:
    """TCP connect (and the TLS handshake for rtmps://, certificate checked when
    ``ca_file`` is given). Returns (ok, message for the page)."""
    try:
        scheme, host, port, _app = destination.parse_server(server)
    except destination.DestinationError as e:
        return False, str(e)
    bare = host.strip("[]")
    try:
        with socket.create_connection((bare, port), timeout=timeout) as sock:
            if scheme == "rtmps":
                ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
                if ca_file is None:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                with ctx.wrap_socket(sock, server_hostname=bare):
                    pass
    except ssl.SSLCertVerificationError:
        return False, f"{host} answers, but its certificate is not trusted"
    except TimeoutError:
        return False, f"{host} did not answer within {timeout:.0f} s: check the URL and the Wi-Fi"
    except socket.gaierror:
        return False, f"{host} is not a known server name: check the URL and the Wi-Fi"
    except (OSError, ssl.SSLError) as e:
        return False, f"{host}:{port} refused the connection ({e.strerror or e.__class__.__name__})"
    return True, f"{host}:{port} answers" + (
        " (TLS certificate valid)" if scheme == "rtmps" else ""
    )
