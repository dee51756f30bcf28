"""kit.media.reaper: one stop request for its program when the daemon dies, however many
parent-death signals arrive; the daemon's own signals reach the program directly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kit.media.proc import Reaped

# A program that counts the SIGTERMs it gets and writes them down when it is done.
COUNTER = textwrap.dedent(
    """
    import signal, sys, time
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    print("ready", flush=True)
    end = time.monotonic() + 10
    while time.monotonic() < end and not got:
        time.sleep(0.01)
    time.sleep(0.5)  # more signals would arrive meanwhile
    open(sys.argv[1], "w").write(str(len(got)))
    """
)


def test_many_parent_death_signals_become_one_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "count"
    proc = Reaped(
        [sys.executable, "-c", COUNTER, str(out)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    assert proc.program_pid is not None and proc.program_pid != proc.pid
    # What the kernel does as each thread of a dying daemon exits: SIGUSR1 to the reaper,
    # again and again (its parent-death signal).
    for _ in range(5):
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(0.01)
    assert proc.wait(10) == 0
    assert out.read_text() == "1"


def test_signals_from_the_daemon_go_to_the_program(tmp_path: Path) -> None:
    proc = Reaped(["sleep", "30"], stdin=subprocess.DEVNULL)
    assert proc.program_pid is not None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 256 - signal.SIGINT  # the program's end, passed on by the reaper
    assert not Path(f"/proc/{proc.program_pid}").exists()


def test_sigkill_kills_the_program_and_the_reaper_follows() -> None:
    proc = Reaped(["sleep", "30"], stdin=subprocess.DEVNULL)
    program = proc.program_pid
    proc.kill()
    proc.wait(10)
    assert program is not None and not Path(f"/proc/{program}").exists()


def test_a_program_that_cannot_run_is_exit_127() -> None:
    proc = Reaped(["/nonexistent/ffmpeg"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.wait(10) == 127
    assert proc.stderr is not None and b"cannot run /nonexistent/ffmpeg" in proc.stderr.read()
