"""Runs one program (ffmpeg) for the daemon, and asks it once to stop if the daemon dies.

ffmpeg must stop when the daemon dies, even by SIGKILL, and finish its segment: one
SIGTERM does that. A parent-death signal (PR_SET_PDEATHSIG) set on ffmpeg itself is not
one signal: the kernel sends it each time ffmpeg's parent *thread* exits and ffmpeg is
handed to another thread of the dying daemon, and ffmpeg takes a second signal as
"Immediate exit requested" and drops its trailer (the last 0.5-2 s of the recording).
So the daemon starts this small single-threaded process with the parent-death signal
(SIGUSR1, however many come), and it runs ffmpeg as its child without one: at the first
SIGUSR1 it sends ffmpeg one SIGTERM, ignores the rest, waits for ffmpeg, and exits with
its status. The daemon signals ffmpeg itself for everything else (kit.media.proc.Reaped).

Standard library only, run with ``python -S -E``: it starts in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: reaper.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    # What the daemon's own signals to the process group would be (a Ctrl-C in a
    # terminal, systemd's stop): for ffmpeg, not for us; we stay until it is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    told = False
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"reaper: cannot run {argv[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)

    def daemon_died(_signum: int, _frame: object) -> None:
        nonlocal told
        if not told:
            told = True
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGUSR1, daemon_died)
    if os.getppid() == 1:  # the daemon died before the signal was in place
        daemon_died(signal.SIGUSR1, None)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            return os.waitstatus_to_exitcode(status) % 256
        except InterruptedError:
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
