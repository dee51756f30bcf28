"""An encoder that dies or hangs mid-broadcast is replaced at once, as often as it happens.

The camera and the network are not at fault, so nothing waits: a run that made progress
for 10 s or more is replaced without backoff and its failure does not count towards a
crash loop (which still ends the broadcast: tests/unit/test_supervisor_failures.py).
The gaps these leave at the ingest are measured in tests/bench/bench_faults.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from kit.machine import Ev, Failed
from kit.media import supervisor
from tests.peers import probe
from tests.peers.ingest import Ingest
from tests.peers.live import Live

pytestmark = pytest.mark.slow
KEY = "stream-1?sign=abc"


def healthy(live: Live) -> None:
    """Wait until the current ffmpeg run has made progress for HEALTHY_S."""
    live.wait(lambda: live.supervisor._healthy_s > supervisor.HEALTHY_S, 30, "a healthy run")


def test_an_encoder_killed_again_and_again_is_replaced_at_once(
    tmp_path: Path, ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="kit.media.supervisor")
    with Live(ingest.rtmp_url(), KEY, tmp_path, push_health=True) as live:
        live.wait_for(Ev.PUSH_UP, 15)
        for n in range(1, 5):  # more than max_quick_failures (4) crashes in all
            healthy(live)
            assert live.supervisor.pid is not None
            os.kill(live.supervisor.pid, signal.SIGKILL)
            killed = time.monotonic()
            ingest.wait_for_media(timeout=10, since=killed)
            live.wait_for(Ev.PUSH_UP, 15, times=n + 1)
            assert live.supervisor.stats()["restarts"] == n
        assert not any(isinstance(e, Failed) for e in live.events)
    restarts = [r.message for r in caplog.records if "restarting in" in r.message]
    assert restarts == ["ffmpeg ended; restarting in 0.0 s"] * 4
    # Every segment left on disk plays, the killed runs' last ones included.
    for part in sorted(tmp_path.glob("part-*.mp4")):
        assert probe.duration(part) > 0, part


def test_a_hung_encoder_is_seen_from_its_progress_and_replaced(
    tmp_path: Path, ingest: Ingest
) -> None:
    with Live(ingest.rtmp_url(), KEY, tmp_path, push_health=True) as live:
        live.wait_for(Ev.PUSH_UP, 15)
        healthy(live)
        pid = live.supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        hung = time.monotonic()
        try:
            live.wait(lambda: live.supervisor.pid not in (None, pid), 10, "a new ffmpeg")
        finally:
            with contextlib.suppress(ProcessLookupError):  # in case it was not killed
                os.kill(pid, signal.SIGCONT)
        ingest.wait_for_media(timeout=10, since=hung)
        assert live.supervisor.stats()["restarts"] == 1
        assert not any(isinstance(e, Failed) for e in live.events)
