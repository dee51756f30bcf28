"""The supervisor's own verdicts on the push, with real ffmpeg and a real ingest.

The pre-flight checks catch a server that is down or untrusted before going live;
these are the cases where the server fails the stream itself, after the checks.
"""

from __future__ import annotations

from pathlib import Path

from kit.machine import Ev
from tests.peers.ingest import Ingest, free_port
from tests.peers.live import Live

KEY = "stream-1?sign=abc"


def test_nothing_listening_is_unreachable_after_a_few_tries(tmp_path: Path) -> None:
    with Live(f"rtmp://127.0.0.1:{free_port()}/game/", KEY, tmp_path) as live:
        live.wait_for(Ev.UNREACHABLE, 25)
    assert Ev.PUSH_UP not in live.events
    assert "Connection refused" in str(live.supervisor.stats()["last_error"])
    # The recording ran meanwhile: the broadcast's first seconds are kept.
    assert list(tmp_path.glob("part-*.mp4"))


def test_an_untrusted_certificate_is_unreachable_and_says_why(
    tmp_path: Path, ingest: Ingest
) -> None:
    system_cas = Path("/etc/ssl/certs/ca-certificates.crt")
    with Live(ingest.rtmps_url(), KEY, tmp_path, ca_file=system_cas) as live:
        live.wait_for(Ev.UNREACHABLE, 25)
    assert "certificate failed verification" in str(live.supervisor.stats()["last_error"])
    assert ingest.publishes == []
