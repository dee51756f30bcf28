"""`sudo kit passwd` leaves the page's password readable by the service's user.

The service runs as the state folder's owner (the `kit` user); root's `kit passwd`
must give the file to that user (mode 0600, written atomically), or every login fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kit.api import auth


def _config(tmp_path: Path, state: Path) -> Path:
    cfg = tmp_path / "kit.toml"
    cfg.write_text(f'[state]\ndir = "{state}"\n[recording]\ndir = "{tmp_path / "recordings"}"\n')
    return cfg


def _passwd(cfg: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kit.cli", "passwd", "--config", str(cfg)],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, as `sudo kit passwd`")
def test_root_gives_the_file_to_the_state_folders_owner(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    # pytest's folders are root's alone (0700): the state folder goes where nobody reaches.
    top = Path(tempfile.mkdtemp(prefix="kit-passwd-"))
    top.chmod(0o755)
    try:
        _check_owner(tmp_path, top / "state", nobody)
    finally:
        shutil.rmtree(top)


def _check_owner(tmp_path: Path, state: Path, nobody: pwd.struct_passwd) -> None:
    state.mkdir(mode=0o700)
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    path = state / auth.PASSWORD_FILE
    # An old root-owned file (what `sudo kit passwd` used to leave) is replaced too.
    path.write_text("{}\n")
    r = _passwd(_config(tmp_path, state), "a new password")
    assert r.returncode == 0, r.stderr
    assert "password set" in r.stdout
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert st.st_mode & 0o777 == 0o600
    assert auth.verify_password(state, "a new password")
    # Atomically: no temporary file left beside it.
    assert sorted(p.name for p in state.iterdir()) == [auth.PASSWORD_FILE]

    # The service's user reads it (as that user, in a child process).
    def become_nobody() -> None:
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    read = subprocess.run(
        ["cat", str(path)], capture_output=True, text=True, preexec_fn=become_nobody
    )
    assert read.returncode == 0, read.stderr
    assert '"hash"' in read.stdout


def test_as_the_owner_the_file_stays_the_owners(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    r = _passwd(_config(tmp_path, state), "a new password")
    assert r.returncode == 0, r.stderr
    st = (state / auth.PASSWORD_FILE).stat()
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    assert st.st_mode & 0o777 == 0o600
