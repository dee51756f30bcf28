"""Debian's real NetworkManager, isolated from this machine, for nmcli to talk to.

NetworkManager 1.42 and nmcli come from Debian's network-manager package, unpacked by
``install.sh --dev`` into .venv/opt/network-manager (never installed: installed, it would
start managing this machine's network). It runs like this:

    polkit's namespace (tests/peers/polkit.py): a private system bus (dbus-daemon, with
    NetworkManager's own bus policy added) and polkitd; passwd and group with the test
    users (kit, kit-other)
      nsenter --mount=<that namespace> --net=<kitnmX>
        unshare --mount (a private copy of it)
          /sys        sysfs again, so that /sys/class/net is the namespace's, read-only:
                      NetworkManager then does without udev, as in a container (with a
                      writable /sys it waits for udev, which does not run here, and leaves
                      eth0 unmanaged: seen)
          /run        a folder of the work directory (NetworkManager's run dir, pid file)
          /var/lib    a folder of the work directory (state file, secret_key, timestamps)
          /etc/NetworkManager, /usr/lib/NetworkManager   bound over with the work
                      directory's, where this machine has them
          NetworkManager --debug --config=<work>/NetworkManager.conf ...
            keyfile only, profiles in <work>/system-connections, no auto-default profile,
            no DNS or hostname handling, no connectivity check, everything but eth0 (and lo)
            unmanaged

    network namespace kitnmX:  lo, eth0   <== veth ==>   eth0  namespace kitnmpX
                                                        (the far end: 10.77.0.1/24 up, so
                                                        eth0 has a carrier)

No link, route or address of this machine's network namespace is made or touched, and no
file outside the work directory is written (the test checks that the host's
/etc/NetworkManager, /var/lib/NetworkManager and /run/NetworkManager are as before).

nmcli runs outside all this, as a plain client of the private bus
(DBUS_SYSTEM_BUS_ADDRESS), as root or as a test user (``nmcli_as``: the way
systemd/kit.service runs the kit, see Polkit.locked_down_argv).

No Wi-Fi: this machine's kernel has no Wi-Fi device and no mac80211_hwsim to make one, so
NetworkManager has only Ethernet here. Wi-Fi *profiles* need no device (they are settings
only), so they can be made, listed and deleted all the same. NetworkManager's device
plugins (Wi-Fi, WWAN, Bluetooth, team) load from a compiled-in /usr/lib/<triplet> path that
is not there: it says so in its log and runs without them (Ethernet and veth are built in).

Needs root, ip, nsenter, unshare, mount, setpriv, everything tests/peers/polkit.py needs,
and the unpacked package with libnm0 and libndp0 (install.sh --dev).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.peers import polkit
from tests.peers.polkit import Polkit

REPO = Path(__file__).resolve().parents[2]
NM_OPT = REPO / ".venv/opt/network-manager"
NETWORKMANAGER = NM_OPT / "usr/sbin/NetworkManager"
NMCLI = NM_OPT / "usr/bin/nmcli"
NM_BUS_POLICY = NM_OPT / "usr/share/dbus-1/system.d/org.freedesktop.NetworkManager.conf"
PROGRAMS = ("ip", "nsenter", "unshare", "mount")
IFNAME = "eth0"  # NetworkManager's side of the veth pair, inside its namespace
PEER_ADDRESS = "10.77.0.1/24"  # the far end's; the test's profiles use 10.77.0.0/24
# Paths of this machine that NetworkManager would use; they must be as they were after.
HOST_PATHS = (
    Path("/etc/NetworkManager"),
    Path("/var/lib/NetworkManager"),
    Path("/run/NetworkManager"),
    Path("/usr/lib/NetworkManager"),
)

_CONFIG = """# Written by tests/peers/networkmanager.py: NetworkManager isolated for a test.
[main]
plugins=keyfile
no-auto-default=*
dns=none
rc-manager=unmanaged
systemd-resolved=false
hostname-mode=none
dhcp=internal
auth-polkit=true

[logging]
level=INFO

[keyfile]
path={keyfiles}
unmanaged-devices=except:interface-name:{ifname};except:interface-name:lo

[device]
wifi.scan-rand-mac-address=no

[connectivity]
enabled=false
"""

# Runs in the copy of polkit's mount namespace, inside the network namespace.
_SCRIPT = """set -eu
umount -l /sys
mount -t sysfs -o ro sysfs /sys
mount --bind "$W/run" /run
mount --bind "$W/var-lib" /var/lib
for d in /etc/NetworkManager /usr/lib/NetworkManager; do
  if [ -d "$d" ]; then mount --bind "$W/empty" "$d"; fi
done
exec "$NM" --debug --config="$W/NetworkManager.conf" --config-dir="$W/conf.d" \\
  --system-config-dir="$W/empty" --intern-config="$W/var-lib/NetworkManager/intern.conf" \\
  --state-file="$W/var-lib/NetworkManager/NetworkManager.state" \\
  --pid-file="$W/run/NetworkManager/NetworkManager.pid"
"""


def missing() -> list[str]:
    """What this machine lacks to run NetworkManager here (empty: all there)."""
    out = polkit.missing()
    out += [f"the program {p}" for p in PROGRAMS if shutil.which(p) is None]
    for path, what in (
        (NETWORKMANAGER, "NetworkManager"),
        (NMCLI, "nmcli"),
        (NM_BUS_POLICY, "NetworkManager's D-Bus policy"),
    ):
        if not path.is_file():
            out.append(f"{path} ({what}, unpacked from its package by install.sh --dev)")
    if not out:
        for program in (NETWORKMANAGER, NMCLI):
            done = subprocess.run([program, "--version"], capture_output=True, text=True)
            if done.returncode != 0:
                reason = done.stderr.strip().splitlines()[-1:] or ["fails"]
                out.append(f"a working {program.name} ({reason[0]}; libnm0, libndp0)")
    return out


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


@dataclass(frozen=True)
class HostState:
    """This machine's network as far as NetworkManager could change it, and which of
    HOST_PATHS exist."""

    addresses: dict[str, frozenset[str]]  # link name -> "inet 192.0.2.2/24", ...
    routes: frozenset[str]
    paths: dict[str, bool]

    def changes_since(self, before: HostState) -> list[str]:
        """What differs from `before` for the links that `before` had."""
        out = []
        for link, addresses in before.addresses.items():
            if self.addresses.get(link) != addresses:
                out.append(f"{link}: {sorted(addresses)} -> {self.addresses.get(link)}")
        old = {r for r in before.routes if _route_dev(r) in before.addresses}
        new = {r for r in self.routes if _route_dev(r) in before.addresses}
        out += [f"route gone: {r}" for r in sorted(old - new)]
        out += [f"route new: {r}" for r in sorted(new - old)]
        out += [f"{p}: existed {before.paths[p]}, now {e}" for p, e in self.paths.items()
                if before.paths.get(p) != e]  # fmt: skip
        return out


def _route_dev(route: str) -> str:
    words = route.split()
    return words[words.index("dev") + 1] if "dev" in words[:-1] else ""


def host_state() -> HostState:
    """The host's links but its veth ones: those are other tests' (tests/peers/netns.py
    makes and removes host veth links while this runs); NetworkManager's veth pair is made
    inside its namespaces and never appears here."""
    addresses: dict[str, set[str]] = {}
    for line in _ip("-d", "-o", "link").stdout.splitlines():
        # "150: kn126h@if2: <...> mtu ...\    link/ether ... \    veth addrgenmode ..."
        if not re.search(r"\\\s+veth\s", line):
            addresses[line.split(": ")[1].split("@")[0]] = set()
    for line in _ip("-o", "addr").stdout.splitlines():
        words = line.split()
        if words[1] in addresses:
            addresses[words[1]].add(f"{words[2]} {words[3]}")
    routes = set()
    for family in ("-4", "-6"):
        for line in _ip(family, "-o", "route", "show", "table", "all").stdout.splitlines():
            # "expires 599sec" counts down by itself.
            routes.add(re.sub(r" expires \S+", "", line).strip())
    return HostState(
        {k: frozenset(v) for k, v in addresses.items()},
        frozenset(routes),
        {str(p): p.exists() for p in HOST_PATHS},
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _teardown(work: Path, names: list[str], procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        with contextlib.suppress(OSError):
            _stop(proc)
    procs.clear()
    for name in names:
        # Deleting a namespace removes the veth end in it, and with it the other end.
        _ip("netns", "del", name, check=False)
    names.clear()
    shutil.rmtree(work, ignore_errors=True)


class NetworkManager:
    """NetworkManager in network namespace kitnmX, on `polkit`'s bus, asking that polkitd.
    Use as a context manager; close() stops it and removes the namespaces and files, also
    after a failure (and at garbage collection or interpreter exit)."""

    def __init__(self, polkit: Polkit, timeout: float = 30) -> None:
        self.polkit = polkit
        self.work = Path(tempfile.mkdtemp(prefix="kit-nm-"))
        self.keyfiles = self.work / "system-connections"
        self.log = self.work / "NetworkManager.log"
        self.ifname = IFNAME
        self._names: list[str] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _teardown, self.work, self._names, self._procs)
        try:
            self.netns, self.peer_netns = self._namespaces()
            self._prepare()
            self._start(timeout)
        except BaseException:
            self.close()
            raise

    # -- setting up

    def _namespaces(self) -> tuple[str, str]:
        """Two fresh namespaces (`ip netns add` fails if the name is taken: it is the lock)
        and the veth pair between them, made inside them: nothing appears on the host."""
        start = os.getpid() % 200
        for step in range(200):
            index = (start + step) % 200
            ns, peer = f"kitnm{index}", f"kitnmp{index}"
            if _ip("netns", "add", ns, check=False).returncode != 0:
                continue
            self._names.append(ns)
            if _ip("netns", "add", peer, check=False).returncode != 0:
                _ip("netns", "del", self._names.pop(), check=False)
                continue
            self._names.append(peer)
            break
        else:
            raise RuntimeError("no free network namespace name kitnmX")
        _ip("-n", ns, "link", "add", IFNAME, "type", "veth", "peer", "name", IFNAME,
            "netns", peer)  # fmt: skip
        _ip("-n", peer, "addr", "add", PEER_ADDRESS, "dev", IFNAME)
        _ip("-n", peer, "link", "set", IFNAME, "up")
        _ip("-n", peer, "link", "set", "lo", "up")
        return ns, peer

    def _prepare(self) -> None:
        w = self.work
        for d in ("run/NetworkManager", "var-lib/NetworkManager", "conf.d", "empty"):
            (w / d).mkdir(parents=True)
        self.keyfiles.mkdir(mode=0o700)
        (w / "NetworkManager.conf").write_text(
            _CONFIG.format(keyfiles=self.keyfiles, ifname=IFNAME)
        )

    def _start(self, timeout: float) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "W": str(self.work),
            "NM": str(NETWORKMANAGER),
            "DBUS_SYSTEM_BUS_ADDRESS": self.polkit.address,
            "LANG": "C.UTF-8",
        }
        with self.log.open("ab") as out:
            # nsenter opens both namespaces' files before entering either; nsenter, unshare
            # and sh exec each other, so the pid is NetworkManager's in the end.
            proc = subprocess.Popen(
                ["nsenter", f"--mount={self.polkit.mount_namespace}",
                 f"--net=/run/netns/{self.netns}",
                 "unshare", "--mount", "--propagation", "private", "sh", "-c", _SCRIPT],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )  # fmt: skip
        self._procs.append(proc)
        deadline = time.monotonic() + timeout
        # Up: it answers on the bus, and has taken eth0 over (unmanaged until then).
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"NetworkManager exited at start:\n{self.log_text()}")
            done = self.nmcli(["-t", "-f", "DEVICE,STATE", "device", "status"], check=False)
            if done.returncode == 0 and f"{IFNAME}:disconnected" in done.stdout.splitlines():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"NetworkManager did not take {IFNAME} over ({done.stdout!r} "
                    f"{done.stderr!r}):\n{self.log_text()}"
                )
            time.sleep(0.1)

    # -- using

    def __enter__(self) -> NetworkManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._finalizer()

    @property
    def pid(self) -> int:
        return self._procs[0].pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def in_netns(self, argv: Sequence[str]) -> str:
        """A command's output, run inside NetworkManager's network namespace."""
        return _ip("netns", "exec", self.netns, *argv).stdout

    def env(self, locale: str = "C.UTF-8") -> dict[str, str]:
        """A client's environment on this bus. The kit runs nmcli with LC_ALL=C
        (kit.net.wifi.Nmcli.run); here C.UTF-8 unless told: the same words and numbers,
        and names printed as they are (in C, nmcli prints each non-ASCII character as ?)."""
        return {**self.polkit.env, "LC_ALL": locale, "LANG": locale}

    def nmcli(
        self, argv: Sequence[str], check: bool = True, locale: str = "C.UTF-8"
    ) -> subprocess.CompletedProcess[str]:
        """nmcli as root on the private bus; RuntimeError if it fails and `check`."""
        done = subprocess.run(
            [str(NMCLI), *argv], capture_output=True, text=True, env=self.env(locale),
            stdin=subprocess.DEVNULL, timeout=30,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"nmcli {shlex.join(argv)}: {done.returncode} {done.stderr}")
        return done

    def nmcli_as(
        self, user: str, argv: Sequence[str], locale: str = "C.UTF-8"
    ) -> subprocess.CompletedProcess[str]:
        """nmcli as a test user, locked down as the service runs the kit."""
        return subprocess.run(
            self.polkit.locked_down_argv(user, [str(NMCLI), *argv]),
            capture_output=True, text=True, env=self.env(locale), stdin=subprocess.DEVNULL,
            timeout=30,
        )  # fmt: skip

    def nmcli_wrapper(self, user: str | None = None) -> Path:
        """An executable that runs this nmcli on this bus with its arguments (as `user`,
        locked down, if given): the program to give kit.net.wifi.Nmcli, so that the kit's
        own code runs it as it would run /usr/bin/nmcli."""
        argv = [str(NMCLI)] if user is None else self.polkit.locked_down_argv(user, [str(NMCLI)])
        path = self.work / f"nmcli-{user or 'root'}"
        path.write_text(
            "#!/bin/sh\n"
            f"DBUS_SYSTEM_BUS_ADDRESS={shlex.quote(self.polkit.address)}\n"
            "export DBUS_SYSTEM_BUS_ADDRESS\n"
            f'exec {shlex.join(argv)} "$@"\n'
        )
        path.chmod(0o755)
        return path
