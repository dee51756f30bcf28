"""kit.startup: the checks before anything opens, as sentences (the daemon as a process:
tests/integration/test_startup_and_recovery.py)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

from kit import startup


def test_the_lock_names_the_daemon_that_holds_it(tmp_path: Path) -> None:
    first = startup.DaemonLock(tmp_path)
    assert (tmp_path / "kit.pid").read_text() == f"{os.getpid()}\n"
    with pytest.raises(startup.StartupError, match=rf"\(pid {os.getpid()}\) is already running"):
        startup.DaemonLock(tmp_path)
    first.release()
    startup.DaemonLock(tmp_path).release()  # free again once released


def test_a_taken_port_names_the_setting_and_the_file(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(startup.StartupError) as e:
            startup.port_free("127.0.0.1", port, "/etc/kit/kit.toml")
    assert str(e.value) == (
        f"Port {port} is in use by another program: set [web] port in /etc/kit/kit.toml "
        "to a free port."
    )
    startup.port_free("127.0.0.1", port, "/etc/kit/kit.toml")  # free once closed


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.EACCES, "reserved for root"),
        (errno.EADDRNOTAVAIL, "is not an address of this machine"),
        (errno.EINVAL, "cannot listen on"),
    ],
)
def test_other_bind_failures_are_sentences(code: int, said: str) -> None:
    e = startup.port_error(OSError(code, os.strerror(code)), "10.9.9.9", 80, "kit.toml")
    assert said in str(e) and "[web]" in str(e) and "kit.toml" in str(e)


def test_an_unknown_host_is_a_sentence() -> None:
    with pytest.raises(startup.StartupError, match=r"set \[web\] host in kit.toml"):
        startup.port_free("no-such-host.invalid", 8080, "kit.toml")


def test_a_folder_that_is_a_file_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("")
    with pytest.raises(startup.StartupError) as e:
        startup.writable_folder(blocker / "x", "[recording] dir", "kit.toml")
    assert f"The folder {blocker / 'x'} ([recording] dir) cannot be written" in str(e.value)
    assert "or set [recording] dir in kit.toml to a folder it can write." in str(e.value)
