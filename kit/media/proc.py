"""Child-process plumbing shared by every process the kit starts."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def child_preexec() -> None:
    """Run in the child between fork and exec.

    - Its own session, so a Ctrl-C in the daemon's terminal reaches only the
      daemon, which then stops ffmpeg in order (the last segment finished).
    - SIGTERM when the daemon dies, even by SIGKILL: ffmpeg never outlives it,
      and SIGTERM (unlike SIGKILL) still lets ffmpeg close the segment.
      The signal follows the *thread* that forked, so children are started
      from threads that live as long as the child should.
    """
    os.setsid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died between fork and prctl.
    if os.getppid() == 1:
        os._exit(1)


REAPER = Path(__file__).with_name("reaper.py")


def reaper_preexec() -> None:
    """As child_preexec, for kit.media.reaper: its own session, SIGUSR1 when the daemon
    dies (the reaper turns the first into one SIGTERM for its program)."""
    os.setsid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)


class Reaped(subprocess.Popen[bytes]):
    """A program run under kit.media.reaper: ``pid`` and ``wait`` are the reaper's (it
    exits when the program does, with its status), ``program_pid`` is the program's,
    and every signal sent through this object goes to the program."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(
            [sys.executable, "-S", "-E", str(REAPER), *argv], preexec_fn=reaper_preexec, **kwargs
        )
        self.program_pid = self._program()

    def _program(self, timeout: float = 5.0) -> int | None:
        import psutil

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.poll() is None:
            with contextlib.suppress(psutil.Error):
                children = psutil.Process(self.pid).children()
                if children:
                    return children[0].pid
            time.sleep(0.002)
        return None

    def send_signal(self, sig: int) -> None:
        if self.program_pid is not None and self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.program_pid, sig)
