"""The real polkitd judging polkit rules, in a mount namespace of its own.

NetworkManager asks polkit (org.freedesktop.PolicyKit1 on the system bus) before it lets a
user scan, join, forget or share a Wi-Fi network. To check the kit's rule
(systemd/kit-networkmanager.rules) without a Pi, without systemd and without touching this
machine, this starts Debian's own polkitd and a private dbus-daemon:

    unshare --mount (private propagation; the host's mounts are untouched)
      bind-mounted over                       from the work folder
      /etc/polkit-1/rules.d                   the rules under test (polkitd:root 0700, as
                                              Debian's polkitd package makes it)
      /usr/share/polkit-1/rules.d             the host's (50-default.rules: admins are the
                                              sudo group) + NetworkManager's own rule
      /usr/share/polkit-1/actions             the host's action definitions + NetworkManager's
      /etc/passwd, /etc/group                 the host's + the test users (kit, kit-other)
      dbus-daemon   a system bus (<type>system</type>, EXTERNAL auth, the default-deny policy
                    of Debian's system.conf, plus polkitd's real bus policy from
                    /usr/share/dbus-1/system.d) on a socket in the work folder
      polkitd       /usr/lib/polkit-1/polkitd; it drops to the polkitd user by itself

NetworkManager's action definitions and rule come from Debian's network-manager package,
unpacked by ``install.sh --dev`` into .venv/share/polkit-1 (NetworkManager itself is not
installed). The test users get numeric ids that this machine does not use; they exist only
inside the namespace, and polkitd maps them to names there. Processes "of" a test user are
plain processes with that uid, started from the host (same pid namespace).

``check`` asks the way NetworkManager does: CheckAuthorization for a ``unix-process``
subject with pid, start time and uid (NetworkManager's nm_auth_subject's polkit variant),
through ``pkcheck --process pid,start-time,uid``. pkcheck's exit status: 0 authorized,
1 not authorized, 2 authentication needed (no agent here, so refused), 127 an error such as
an action that no .policy file defines.

Needs root (unshare, mount), polkitd, pkcheck (package polkitd), dbus-daemon and setpriv.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POLKITD = Path("/usr/lib/polkit-1/polkitd")
HOST_ACTIONS = Path("/usr/share/polkit-1/actions")
HOST_SHARE_RULES = Path("/usr/share/polkit-1/rules.d")
POLKIT_BUS_POLICY = Path("/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf")
# NetworkManager's polkit files, unpacked from its Debian package by install.sh --dev.
NM_POLKIT = REPO / ".venv/share/polkit-1"
NM_POLICY = NM_POLKIT / "actions/org.freedesktop.NetworkManager.policy"
PROGRAMS = ("unshare", "mount", "setpriv", "dbus-daemon", "pkcheck")

AUTHORIZED = 0

# Debian's system.conf without its <user>, <fork>, service helper, pid file and syslog, and
# with only polkitd's policy file included: a system bus that no one but the test uses.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{polkit_policy}</include>{more_policies}
</busconfig>
"""

# Runs inside the namespace. The trap stops both daemons and reaps them, so that nothing is
# left behind as a zombie when the test ends.
_SCRIPT = """set -eu
mount --bind "$W/etc-rules" /etc/polkit-1/rules.d
mount --bind "$W/share-rules" /usr/share/polkit-1/rules.d
mount --bind "$W/actions" /usr/share/polkit-1/actions
mount --bind "$W/passwd" /etc/passwd
mount --bind "$W/group" /etc/group
# With proc_options: a /proc of the namespace's own, hiding processes (kit-hidepid.service).
if [ -n "${PROC_OPTIONS:-}" ]; then mount -t proc -o "$PROC_OPTIONS" proc /proc; fi
bus= pk=
trap 'kill $bus $pk 2>/dev/null; wait; exit 0' TERM INT
dbus-daemon --config-file="$W/bus.conf" --nofork --nopidfile &
bus=$!
n=0
while [ ! -S "$W/run/bus" ]; do
  n=$((n + 1)); [ "$n" -lt 100 ] || { echo "dbus-daemon did not start" >&2; exit 1; }
  sleep 0.05
done
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/run/bus" "$POLKITD" &
pk=$!
code=0
wait "$pk" || code=$?
echo "polkitd exited with status $code" >&2
kill "$bus"
wait
exit 1
"""


def missing() -> list[str]:
    """What this machine lacks to run polkitd here, as messages (empty: all there)."""
    out = []
    if os.geteuid() != 0:
        out.append("root (unshare --mount, mount --bind)")
    out += [f"the program {p}" for p in PROGRAMS if shutil.which(p) is None]
    if not POLKITD.is_file():
        out.append(f"{POLKITD} (package polkitd)")
    try:
        pwd.getpwnam("polkitd")
    except KeyError:
        out.append("the user polkitd (package polkitd)")
    if not POLKIT_BUS_POLICY.is_file():
        out.append(f"{POLKIT_BUS_POLICY} (package polkitd)")
    if not NM_POLICY.is_file():
        out.append(f"{NM_POLICY} (NetworkManager's polkit actions; install.sh --dev)")
    return out


def action_ids(directory: Path) -> list[str]:
    """Every action id defined by the .policy files in `directory`."""
    ids = []
    for policy in sorted(directory.glob("*.policy")):
        ids += [a.get("id", "") for a in ET.parse(policy).getroot().iter("action")]
    return sorted(i for i in ids if i)


def _free_ids(count: int, start: int = 61000) -> list[int]:
    """Ids that are neither a user's nor a group's on this machine."""
    found: list[int] = []
    i = start
    while len(found) < count:
        try:
            pwd.getpwuid(i)
        except KeyError:
            try:
                grp.getgrgid(i)
            except KeyError:
                found.append(i)
        i += 1
    return found


@dataclass(frozen=True)
class User:
    name: str
    uid: int


@dataclass(frozen=True)
class Answer:
    """pkcheck's verdict: its exit status and what it printed."""

    code: int
    output: str

    @property
    def authorized(self) -> bool:
        return self.code == AUTHORIZED


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks (/proc/PID/stat field 22), as polkit wants it."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[19])


def _uid(pid: int) -> int:
    """The real uid of process `pid` (/proc/PID/status, "Uid:" real effective saved fs)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Uid line for process {pid}")


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _teardown(work: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        with contextlib.suppress(OSError):
            _stop(proc)
    procs.clear()
    shutil.rmtree(work, ignore_errors=True)


class Polkit:
    """polkitd with `rules` (file name -> text) as /etc/polkit-1/rules.d, and `users`
    added to passwd and group. Use as a context manager."""

    def __init__(
        self,
        rules: dict[str, str],
        users: Sequence[str] = ("kit", "kit-other"),
        bus_policies: Sequence[Path] = (),
        proc_options: str = "",
        proc_members: Sequence[str] = (),
    ):
        """`bus_policies`: more D-Bus policy files for the bus (another daemon's, such as
        NetworkManager's org.freedesktop.NetworkManager.conf, to let it own its name).
        `proc_options`: mount options for a /proc of the namespace's own (such as
        "hidepid=invisible,gid=proc"); the group proc then exists, with `proc_members`."""
        self.bus_policies = list(bus_policies)
        self.proc_options, self.proc_members = proc_options, list(proc_members)
        self.work = Path(tempfile.mkdtemp(prefix="kit-polkit-"))
        self._procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _teardown, self.work, self._procs)
        self.users = {
            name: User(name, uid) for name, uid in zip(users, _free_ids(len(users)), strict=True)
        }
        self.bus = self.work / "run/bus"
        self.log = self.work / "polkitd.log"
        self.actions = self.work / "actions"
        try:
            self._prepare(rules)
            self._start()
        except BaseException:
            self.close()
            raise

    # -- setting up

    def _prepare(self, rules: dict[str, str]) -> None:
        w = self.work
        w.chmod(0o755)  # polkitd (its own user) reaches the bus socket through it
        (w / "run").mkdir(mode=0o755)
        polkitd = pwd.getpwnam("polkitd")
        for name, files in (
            ("etc-rules", dict(rules)),
            ("share-rules", self._share_rules()),
        ):
            folder = w / name
            folder.mkdir()
            for file, text in files.items():
                (folder / file).write_text(text)
                (folder / file).chmod(0o644)
            # As Debian's polkitd package leaves them: polkitd:root, 0700.
            os.chown(folder, polkitd.pw_uid, 0)
            folder.chmod(0o700)
        self.actions.mkdir()
        for policy in [*HOST_ACTIONS.glob("*.policy"), NM_POLICY]:
            shutil.copy(policy, self.actions / policy.name)
        self.actions.chmod(0o755)
        names = set(self.users)
        passwd = [
            line
            for line in Path("/etc/passwd").read_text().splitlines()
            if line.split(":", 1)[0] not in names
        ]
        group = [
            line
            for line in Path("/etc/group").read_text().splitlines()
            if line.split(":", 1)[0] not in names
        ]
        for u in self.users.values():
            passwd.append(f"{u.name}:x:{u.uid}:{u.uid}:test user:/nonexistent:/usr/sbin/nologin")
            group.append(f"{u.name}:x:{u.uid}:")
        if self.proc_options:
            group = [g for g in group if not g.startswith("proc:")]
            group.append(f"proc:x:{_free_ids(1, 61900)[0]}:{','.join(self.proc_members)}")
        (w / "passwd").write_text("\n".join(passwd) + "\n")
        (w / "group").write_text("\n".join(group) + "\n")
        for f in ("passwd", "group"):
            (w / f).chmod(0o644)
        more = "".join(f"\n  <include>{p}</include>" for p in self.bus_policies)
        (w / "bus.conf").write_text(
            _BUS_CONFIG.format(socket=self.bus, polkit_policy=POLKIT_BUS_POLICY, more_policies=more)
        )
        (w / "bus.conf").chmod(0o644)

    @staticmethod
    def _share_rules() -> dict[str, str]:
        """polkitd's defaults from the host and NetworkManager's rule from its package (as on
        a Pi with NetworkManager); the host's other packages' rules are left out."""
        rules = {}
        default = HOST_SHARE_RULES / "50-default.rules"
        with contextlib.suppress(OSError):  # 0700 polkitd: readable by root all the same
            rules[default.name] = default.read_text()
        for f in sorted((NM_POLKIT / "rules.d").glob("*.rules")):
            rules[f.name] = f.read_text()
        return rules

    def _start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        env.update(W=str(self.work), POLKITD=str(POLKITD), LANG="C.UTF-8")
        env.update(PROC_OPTIONS=self.proc_options)
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SCRIPT],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )  # fmt: skip
        self._procs.append(proc)
        deadline = time.monotonic() + 20
        while "Acquired the name org.freedesktop.PolicyKit1" not in self.log_text():
            if proc.poll() is not None:
                raise RuntimeError(f"polkitd did not start:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"polkitd did not take its bus name:\n{self.log_text()}")
            time.sleep(0.05)

    # -- using

    def __enter__(self) -> Polkit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._finalizer()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def mount_namespace(self) -> Path:
        """The namespace's mount table (the test users in passwd and group), for
        ``nsenter --mount=...``: another daemon that asks polkitd about users can run in it
        (or in a copy of it, from ``unshare --mount`` after entering it)."""
        return Path(f"/proc/{self._procs[0].pid}/ns/mnt")

    @property
    def address(self) -> str:
        """The bus's address, for DBUS_SYSTEM_BUS_ADDRESS."""
        return f"unix:path={self.bus}"

    @property
    def env(self) -> dict[str, str]:
        """The environment for a client of this bus (pkcheck, nmcli...)."""
        return {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address, "LANG": "C"}

    def spawn_as(self, user: str) -> subprocess.Popen[bytes]:
        """A process running as `user` (nothing but that uid, no groups), until close()."""
        u = self.users[user]
        proc = subprocess.Popen(
            ["setpriv", f"--reuid={u.uid}", f"--regid={u.uid}", "--clear-groups",
             "sleep", "3600"],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self._procs.append(proc)
        # Until setpriv has switched and exec'd, the process is still root's: asking
        # about it then would ask about root.
        deadline = time.monotonic() + 10
        while _uid(proc.pid) != u.uid or _comm(proc.pid) != "sleep":
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"could not start a process as {user} ({u.uid})")
            time.sleep(0.01)
        return proc

    def check(self, action: str, pid: int) -> Answer:
        """CheckAuthorization for process `pid`, as NetworkManager asks it (no user
        interaction: there is no agent on the kit)."""
        subject = f"{pid},{_start_time(pid)},{_uid(pid)}"
        done = subprocess.run(
            ["pkcheck", "--action-id", action, "--process", subject],
            capture_output=True, text=True, env=self.env, timeout=20,
        )  # fmt: skip
        return Answer(done.returncode, (done.stdout + done.stderr).strip())

    def check_all(self, actions: Iterable[str], pid: int) -> dict[str, Answer]:
        return {a: self.check(a, pid) for a in actions}

    def locked_down_argv(self, user: str, argv: Sequence[str] = ()) -> list[str]:
        """The command line that runs `argv` as `user` the way systemd/kit.service runs the
        daemon, as far as the bus is concerned: in a mount namespace where the bus socket's
        folder is read-only (what ProtectSystem=strict does to /run/dbus), with no
        capabilities at all and no_new_privs (CapabilityBoundingSet=, NoNewPrivileges=true).
        Arguments appended to the returned list are passed on to `argv` as its own."""
        u = self.users[user]
        run = shlex.quote(str(self.bus.parent))
        setpriv = shlex.join(
            ["setpriv", f"--reuid={u.uid}", f"--regid={u.uid}", "--clear-groups",
             "--no-new-privs", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
             "--"]
        )  # fmt: skip
        script = f"""set -e
mount --bind {run} {run}
mount -o remount,bind,ro {run}
if touch {run}/probe 2>/dev/null; then echo "the bus folder is writable" >&2; exit 99; fi
exec {setpriv} "$@"
"""
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                *argv]  # fmt: skip

    def run_locked_down(self, user: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run the shell `command` as `user`, locked down as in locked_down_argv. The command
        is exec'd by sh, so `$$` in it is its own pid."""
        return subprocess.run(
            self.locked_down_argv(user, ["sh", "-c", f"exec {command}"]),
            capture_output=True, text=True, env=self.env, timeout=30,
        )  # fmt: skip
