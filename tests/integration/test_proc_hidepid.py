"""The stream key in ffmpeg's command line, as another local user would try to read it.

While live, the key is in the argv of the kit's ffmpeg (ffmpeg 5.1 takes an output's
options from its arguments only). install.sh makes /proc hide each user's processes from
the others (systemd/kit-hidepid.service: hidepid=invisible, gid=proc). Here, in a mount
namespace of its own (the host's /proc is untouched), a proc is mounted with the unit's
own options, a process with the key in its argv runs as the kit's user, and:

- another unprivileged user cannot read its /proc/PID/cmdline, nor see it in ``ps`` or in
  the list of /proc at all;
- a member of the group ``proc`` (what systemd-logind, NetworkManager and polkitd are
  made) and the kit's user itself can;
- the same reader on a /proc mounted as Debian mounts it (no hidepid) does read the key,
  so the test would notice if the hiding went;
- the real polkitd behind such a /proc still lets the kit change the Wi-Fi when its user is
  in the group proc (as install.sh makes it), and cannot even see the kit's process when
  not ("Failed to open file /proc/PID/status").

Needs root, unshare, nsenter, setpriv and ps; the polkit part what tests/peers/polkit.py needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.polkit import Answer, Polkit

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "kit-hidepid.service"
KEY = "stream-7311111111111111111?expire=1790000000&sign=0123abcd"
KIT, OTHER, MEMBER, PROC_GID = 61231, 61232, 61233, 61239

pytestmark = pytest.mark.slow


def unit_options() -> str:
    """The mount options kit-hidepid.service remounts /proc with."""
    m = re.search(r"^ExecStart=\S*mount -o remount,(\S+) /proc$", UNIT.read_text(), re.M)
    assert m, "kit-hidepid.service no longer remounts /proc"
    return m.group(1)


def need_tools() -> None:
    missing = [t for t in ("unshare", "nsenter", "setpriv", "ps") if not shutil.which(t)]
    if os.geteuid() == 0 and not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"needs root and {missing}")
    pytest.skip(f"needs root and {missing or 'unshare'}")


class Secret:
    """A process as the kit's user with the key in its argv, in a mount namespace whose
    /proc is mounted with `options` (None: the host's /proc, as Debian mounts it)."""

    def __init__(self, options: str | None) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="kit-hidepid-"))
        group = Path("/etc/group").read_text().splitlines()
        group = [g for g in group if not g.startswith("proc:")] + [f"proc:x:{PROC_GID}:"]
        (self.work / "group").write_text("\n".join(group) + "\n")
        mount = f'mount -t proc -o "{options}" proc /proc' if options else ":"
        script = f"""set -eu
mount --bind "{self.work}/group" /etc/group
{mount}
exec setpriv --reuid={KIT} --regid={KIT} --clear-groups sh -c 'sleep 120' ffmpeg "$1"
"""
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             f"rtmp_playpath={KEY}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while not self._switched():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read() if self.proc.stdout else b""
                raise RuntimeError(f"the process did not start: {out!r}")
            time.sleep(0.02)

    def _switched(self) -> bool:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return f"\tUid:\t{KIT}\t" in status.replace("Uid:", "\tUid:") and b"sleep" in cmdline

    def as_user(self, uid: int, *argv: str, groups: str = "") -> subprocess.CompletedProcess[str]:
        """Run `argv` as `uid` (only the groups given) in the process's mount namespace."""
        ids = [f"--reuid={uid}", f"--regid={uid}"]
        ids += [f"--groups={groups}"] if groups else ["--clear-groups"]
        return subprocess.run(
            ["nsenter", f"--mount=/proc/{self.pid}/ns/mnt", "setpriv", *ids, *argv],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip

    def reads(self, uid: int, groups: str = "") -> dict[str, bool]:
        """What `uid` learns: the key from cmdline, the key from ps, the pid in /proc."""
        cmdline = self.as_user(uid, "cat", f"/proc/{self.pid}/cmdline", groups=groups)
        ps = self.as_user(uid, "ps", "-ww", "-eo", "pid=,args=", groups=groups)
        listing = self.as_user(uid, "ls", "/proc", groups=groups)
        return {
            "cmdline": KEY in cmdline.stdout,
            "ps": KEY in ps.stdout,
            "listed": str(self.pid) in listing.stdout.split(),
        }

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def hidden() -> Iterator[Secret]:
    need_tools()
    s = Secret(unit_options())
    yield s
    s.close()


def test_another_user_cannot_read_the_key(hidden: Secret) -> None:
    assert hidden.reads(OTHER) == {"cmdline": False, "ps": False, "listed": False}
    r = hidden.as_user(OTHER, "cat", f"/proc/{hidden.pid}/cmdline")
    assert r.returncode != 0 and "No such file or directory" in r.stderr


def test_the_group_proc_and_the_kit_user_see_it(hidden: Secret) -> None:
    everything = {"cmdline": True, "ps": True, "listed": True}
    assert hidden.reads(MEMBER, groups=str(PROC_GID)) == everything
    assert hidden.reads(KIT) == everything


def test_the_options_are_the_units_and_the_host_proc_is_untouched(hidden: Secret) -> None:
    mounts = hidden.as_user(0, "cat", "/proc/self/mounts").stdout
    line = [m for m in mounts.splitlines() if m.split()[1] == "/proc"][-1]  # the one on top
    assert "hidepid=invisible" in line and f"gid={PROC_GID}" in line  # "proc" by its number
    host = next(
        m for m in Path("/proc/self/mounts").read_text().splitlines() if m.split()[1] == "/proc"
    )
    assert "hidepid" not in host


def test_without_hidepid_every_user_reads_the_key() -> None:
    """The control: /proc as Debian mounts it leaks the key to anyone (what the unit stops)."""
    need_tools()
    s = Secret(None)
    try:
        assert s.reads(OTHER) == {"cmdline": True, "ps": True, "listed": True}
    finally:
        s.close()


# -- polkitd behind a hiding /proc ------------------------------------------------------


def polkit_answers(members: list[str]) -> tuple[Answer, Answer]:
    """(kit's answer for network-control, polkitd's log as an Answer) with /proc hidden as
    the unit hides it and `members` in the group proc."""
    from tests.integration.test_polkit import INSTALLED_AS, RULE, need_polkit

    need_polkit()
    with Polkit(
        {INSTALLED_AS: RULE.read_text()}, proc_options=unit_options(), proc_members=members
    ) as polkit:
        kit = polkit.spawn_as("kit").pid
        answer = polkit.check("org.freedesktop.NetworkManager.network-control", kit)
        return answer, Answer(0, polkit.log_text())


def test_polkitd_in_the_group_proc_still_judges_the_kit() -> None:
    """What install.sh does: polkitd's user in the group (polkitd sets its groups from
    /etc/group itself, so a SupplementaryGroups= drop-in would be lost)."""
    answer, _ = polkit_answers(["polkitd"])
    assert answer.authorized, answer


def test_polkitd_outside_the_group_cannot_see_the_kit() -> None:
    """The control: without the membership, polkitd cannot see the kit's process, and the
    kit may not change the Wi-Fi."""
    answer, _ = polkit_answers([])
    assert not answer.authorized, answer
    assert "/proc/" in answer.output and "No such file or directory" in answer.output
