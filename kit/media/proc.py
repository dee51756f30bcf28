"""Child-process plumbing shared by every process the kit starts."""

from __future__ import annotations

import ctypes
import os
import signal

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
