"""The kit's polkit rule (systemd/kit-networkmanager.rules), judged by the real polkitd.

On a Pi, NetworkManager asks polkit before it lets the daemon's user ("kit", a system user
with no login session) scan, join, forget or share a Wi-Fi network, and its defaults refuse
such a user. Here Debian's polkitd 122 runs in a mount namespace of its own with the rule
installed as /etc/polkit-1/rules.d/50-kit-networkmanager.rules, NetworkManager's real action
definitions and rule (from Debian's network-manager package), and a private system bus
(tests/peers/polkit.py). pkcheck asks the way NetworkManager does (a unix-process subject).

A second polkitd without the rule is the baseline: the rule must change the answer for the
user kit and the four actions it grants, and nothing else, for any user or action.

Needs root, polkitd, pkcheck, dbus-daemon and NetworkManager's polkit files
(./install.sh --dev installs them all). Skipped only where they are missing and CI is unset;
in CI a missing piece fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.polkit import NM_POLICY, Polkit, action_ids, missing

REPO = Path(__file__).resolve().parents[2]
RULE = REPO / "systemd/kit-networkmanager.rules"
UNIT = REPO / "systemd/kit.service"
INSTALLED_AS = "50-kit-networkmanager.rules"  # the name install.sh gives it

NM = "org.freedesktop.NetworkManager."
# What nmcli needs for the kit's commands (kit/net/wifi.py, kit/net/hotspot.py); the rule's
# comments say which command needs which.
GRANTED = {
    NM + "network-control",
    NM + "settings.modify.system",
    NM + "wifi.scan",
    NM + "wifi.share.protected",
}
# Refused to kit all the same, the ones that matter most spelt out (the baseline comparison
# covers every action defined here).
REFUSED = [
    NM + "wifi.share.open",  # an open hotspot
    NM + "enable-disable-wifi",
    NM + "enable-disable-network",
    NM + "settings.modify.own",
    NM + "settings.modify.hostname",
    NM + "settings.modify.global-dns",
    NM + "reload",
    "org.freedesktop.policykit.exec",  # pkexec: any program as root
    "org.freedesktop.login1.reboot",
]


def need_polkit() -> None:
    lacking = missing()
    if not lacking:
        return
    message = f"the polkit test needs {', '.join(lacking)} (./install.sh --dev, as root)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def with_rule() -> Iterator[Polkit]:
    need_polkit()
    with Polkit({INSTALLED_AS: RULE.read_text()}) as polkit:
        yield polkit


@pytest.fixture(scope="module")
def without_rule() -> Iterator[Polkit]:
    need_polkit()
    with Polkit({}) as polkit:
        yield polkit


@pytest.fixture(scope="module")
def kit(with_rule: Polkit) -> int:
    return with_rule.spawn_as("kit").pid


@pytest.fixture(scope="module")
def other(with_rule: Polkit) -> int:
    return with_rule.spawn_as("kit-other").pid


def test_the_rule_grants_what_the_test_expects_and_only_to_kit() -> None:
    text = RULE.read_text()
    assert set(re.findall(r'"(org\.freedesktop\.[\w.-]+)"', text)) == GRANTED
    assert re.findall(r'subject\.user\s*===?\s*"([^"]*)"', text) == ["kit"]
    # Real NetworkManager action ids: a misspelt one would match nothing, silently.
    assert set(action_ids(NM_POLICY.parent)) >= GRANTED


def test_polkitd_loads_and_compiles_the_rule(with_rule: Polkit, without_rule: Polkit) -> None:
    def loaded(log: str) -> int:
        found = re.findall(r"Finished loading, compiling and executing (\d+) rules", log)
        assert found, log
        return int(found[-1])

    log = with_rule.log_text()
    assert "Successfully changed to user polkitd" in log  # it reads rules.d as polkitd
    # Only polkitd's lines: dbus-daemon says it may not raise its fd limit (no
    # CAP_SYS_RESOURCE in a container), which does not matter here.
    polkitd = [line for line in log.splitlines() if not line.startswith("dbus-daemon[")]
    assert not [line for line in polkitd if "rror" in line], log
    assert loaded(log) == loaded(without_rule.log_text()) + 1


def test_kit_may_do_what_nmcli_needs(with_rule: Polkit, kit: int) -> None:
    for action in sorted(GRANTED):
        answer = with_rule.check(action, kit)
        assert answer.authorized, (action, answer)
        assert answer.output == ""


def test_another_user_may_not(with_rule: Polkit, other: int) -> None:
    for action in sorted(GRANTED):
        answer = with_rule.check(action, other)
        # 1: not authorized; 2: an administrator's password needed (no agent: refused).
        # 127 would be an error, such as an action that no .policy file defines.
        assert answer.code in (1, 2), (action, answer)
    answer = with_rule.check(NM + "network-control", other)
    assert (answer.code, answer.output) == (
        2,
        "Authorization requires authentication and -u wasn't passed.",
    )


def test_kit_may_not_do_anything_else(with_rule: Polkit, kit: int) -> None:
    for action in REFUSED:
        answer = with_rule.check(action, kit)
        assert answer.code in (1, 2), (action, answer)
    answer = with_rule.check(NM + "wifi.share.open", kit)
    assert (answer.code, answer.output) == (1, "Not authorized.")


def test_the_rule_changes_nothing_but_kits_four_actions(
    with_rule: Polkit, without_rule: Polkit
) -> None:
    actions = action_ids(with_rule.actions)
    assert action_ids(without_rule.actions) == actions
    assert set(REFUSED) | GRANTED <= set(actions)
    changed = []
    for user in ("kit", "kit-other"):
        here = with_rule.check_all(actions, with_rule.spawn_as(user).pid)
        base = without_rule.check_all(actions, without_rule.spawn_as(user).pid)
        assert not [a for a in actions if base[a].code == 127], base
        changed += [(user, a) for a in actions if here[a] != base[a]]
        if user == "kit":
            assert all(here[a].authorized and not base[a].authorized for a in GRANTED)
    assert sorted(changed) == sorted(("kit", a) for a in GRANTED)


def test_kit_reaches_polkit_from_the_services_sandbox(with_rule: Polkit) -> None:
    """As the unit runs it: the bus socket's folder read-only (ProtectSystem=strict), no
    capabilities, no_new_privs. The client is pkcheck asking about itself, a D-Bus client
    like nmcli (libnm and pkcheck both talk through GDBus)."""
    ask = f"pkcheck --action-id {NM}network-control --process $$"
    done = with_rule.run_locked_down("kit", ask)
    assert done.returncode == 0, done.stderr
    done = with_rule.run_locked_down("kit-other", ask)
    assert done.returncode == 2, done.stderr


def _unit_values(key: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in UNIT.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def test_the_unit_leaves_the_system_bus_reachable() -> None:
    assert _unit_values("User") == ["kit"]  # the user the rule names
    families = " ".join(_unit_values("RestrictAddressFamilies")).split()
    assert "AF_UNIX" in families and not families[0].startswith("~")
    # Read-only is fine (connecting to a socket needs no writable mount: the sandbox test
    # above); hiding /run or /run/dbus, or a private /run, is not.
    for key in ("InaccessiblePaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths"):
        assert not [v for v in _unit_values(key) if "/run" in v], key
    assert _unit_values("ProtectSystem") == ["strict"]


def test_the_units_system_call_filter_allows_a_dbus_client() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (install.sh --dev installs systemd)")
        pytest.skip("needs systemd-analyze")
    assert _unit_values("SystemCallFilter") == ["@system-service", "~@privileged @resources"]

    def group(name: str) -> set[str]:
        out = subprocess.run(
            [analyze, "syscall-filter", name], capture_output=True, text=True, check=True
        ).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            word = line.strip()
            if word.startswith("@"):
                calls |= group(word)
            elif word and not word.startswith("#"):
                calls.add(word)
        return calls

    allowed = group("@system-service") - group("@privileged") - group("@resources")
    # What a D-Bus client does on its Unix socket: EXTERNAL auth sends credentials
    # (SCM_CREDENTIALS), reads the peer's (SO_PEERCRED) and passes file descriptors.
    needed = {"socket", "connect", "sendmsg", "recvmsg", "getsockopt", "setsockopt", "poll"}
    assert needed <= allowed, needed - allowed
