"""The ``kit`` command: run the daemon, or talk to the running one."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kit import config as config_mod
from kit.client import Client, ClientError, config_path_default

SETTLED = {"idle", "live"}
ERRORS = {
    "key_rejected",
    "server_unreachable",
    "check_failed",
    "camera_failed",
    "microphone_failed",
    "pipeline_failed",
}


def _load(args: argparse.Namespace) -> config_mod.Config:
    return config_mod.load(Path(args.config))


def cmd_run(args: argparse.Namespace) -> int:
    from kit.app import run

    return run(_load(args), simulate=args.simulate, verbose=args.verbose, config_path=args.config)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_status(st: dict[str, Any]) -> str:
    state = st["state"]
    head = state.upper().replace("_", " ")
    if "elapsed_s" in st:
        head += f"  {_clock(st['elapsed_s'])}"
    if state == "countdown":
        head += f"  {st.get('countdown_s', 0):.0f}"
    lines = [f"State:       {head}"]
    if st.get("advice"):
        lines.append(f"What to do:  {st['advice']}")
    if st.get("title"):
        lines.append(f"Title:       {st['title']}")
    for warning in st.get("warnings", []):
        lines.append(f"Warning:     {warning}")
    if "session_id" in st:
        lines += [
            f"Bitrate:     {st['bitrate_kbps']:.0f} kb/s   FPS: {st['fps']:.1f}   "
            f"Speed: {st['speed']:.2f}x",
            f"Dropped:     {st['dropped_frames']} frames   Reconnects: {st['reconnects']}   "
            f"Markers: {st['markers']}",
            f"Recording:   {st['recording'] or '(starting)'}",
        ]
        if st.get("last_error"):
            lines.append(f"Last error:  {st['last_error']}")
    elif st.get("last_session"):
        last = st["last_session"]
        lines.append(
            f"Last broadcast: {_clock(last['duration_s'])}, ended {last['end']}, "
            f"{last['markers']} markers, {last['reconnects']} reconnects"
        )
        lines.append(f"Recording:   {last['recording']}")
        if last.get("last_error"):
            lines.append(f"Last error:  {last['last_error']}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    st = Client(_load(args)).status()
    print(json.dumps(st, indent=2) if args.json else format_status(st))
    return 0


def _follow(client: Client, until: set[str], timeout: float) -> int:
    """Print each state change until one in ``until`` (or an error state) is reached."""
    last = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.status()
        state = st["state"]
        if state != last:
            extra = f" ({st['advice']})" if st.get("advice") else ""
            print(f"{state}{extra}", flush=True)
            last = state
        if state in until or state in ERRORS:
            return 0 if state in until else 1
        time.sleep(0.2)
    print(f"still {last} after {timeout:.0f} s", file=sys.stderr)
    return 1


def cmd_live(args: argparse.Namespace) -> int:
    client = Client(_load(args))
    if args.action == "start":
        client.request("POST", "/api/live/start")
        return 0 if args.no_wait else _follow(client, {"live"}, args.timeout)
    client.request("POST", "/api/live/stop")
    return 0 if args.no_wait else _follow(client, {"idle"}, args.timeout)


def cmd_marker(args: argparse.Namespace) -> int:
    client = Client(_load(args))
    client.request("POST", "/api/marker")
    print("highlight marked")
    return 0


ON_AIR = {"connecting", "live", "reconnecting"}
READY = {"idle"} | ERRORS
# How long `kit press` waits for the daemon to act on the press (it acts on the release,
# from its own thread, a moment after the API has answered).
PRESS_SETTLE_S = 2.0


def press_said(before: dict[str, Any], after: dict[str, Any], held: float) -> str:
    """What a press did, and what happens next, in plain words (pure: from the status
    before the press and a moment after it)."""
    was, now = before["state"], after["state"]
    what = f"Held {held:g} s" if held else "Pressed"
    if was in ON_AIR and held >= 3:
        return f"{what}: ending the broadcast (state: {now}); `kit status` shows when it is done."
    if was in ON_AIR and after.get("markers", 0) > before.get("markers", 0):
        return f"{what}: marked a highlight ({after['markers']} in this broadcast)."
    if was in READY and not held:
        if now == "checking":
            return (
                f"{what}: running the pre-flight checks, then a 3-second countdown, then live; "
                "press again to cancel. `kit status` shows how it goes."
            )
        if now == "countdown":
            return f"{what}: the checks passed; live after a 3-second countdown (press to cancel)."
        if now in ERRORS:
            return f"{what}: it could not go live ({now}): {after.get('advice', '')}".rstrip(": ")
    if was == "checking" and now == "idle":
        return f"{what}: the pre-flight checks are cancelled; state: idle."
    if was == "countdown" and now == "idle":
        return f"{what}: the countdown is cancelled; state: idle."
    if was == "idle" and held >= 10:
        return f"{what}: opening the kit's own Wi-Fi (hotspot); `kit status` shows it."
    if was == now:
        return f"{what}: nothing changed yet (state: {now}); `kit status` shows what happens."
    return f"{what}: state {was} -> {now}."


def cmd_press(args: argparse.Namespace) -> int:
    client = Client(_load(args), timeout=args.hold + 10)
    before = client.status()
    # Held a little past the asked time, so that "--hold 3" is seen as a 3 s hold.
    hold = args.hold + 0.25 if args.hold else 0.15
    client.request("POST", "/api/press", {"hold": hold})
    deadline = time.monotonic() + PRESS_SETTLE_S
    while True:
        after = client.status()
        changed = after["state"] != before["state"] or after.get("markers") != before.get("markers")
        if changed or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    print(press_said(before, after, args.hold))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    results = Client(_load(args)).request("GET", "/api/checks")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
        for r in results:
            print(f"[{marks[r['status']]}] {r['id']:<11} {r['message']}")
    return 1 if any(r["status"] == "fail" for r in results) else 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Reset the page's password from the Pi's shell; every open session ends."""
    import getpass

    from kit.api import auth

    state_dir = _load(args).state.dir
    if sys.stdin.isatty():
        password = getpass.getpass("New password for the kit's page: ")
        again = getpass.getpass("The same again: ")
    else:  # scripted: two lines on stdin
        lines = [*sys.stdin.read().splitlines(), "", ""]
        password, again = lines[0], lines[1] or lines[0]
    problem = auth.check_new_password(password, again)
    if problem:
        print(f"kit: the password {problem}; nothing changed", file=sys.stderr)
        return 2
    try:
        auth.set_password(state_dir, password)
    except PermissionError:
        print(f"kit: cannot write in {state_dir}: run this with sudo", file=sys.stderr)
        return 1
    print("password set; everyone logged in on the page must log in again")
    return 0


def cmd_relay_off(args: argparse.Namespace) -> int:
    """Force the ring-light relay off; the service runs this after the daemon stops,
    however it stopped (even killed), so the light never stays on."""
    from kit.hw.gpio import force_relay_off

    force_relay_off(_load(args).gpio)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    if args.check:
        _load(args)
        print(f"{args.config}: ok")
        return 0
    print(config_mod.describe())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kit", description="One-press live studio for a Pi.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help)
        c.add_argument(
            "--config",
            default=str(config_path_default()),
            help="config file (default: $KIT_CONFIG or /etc/kit/kit.toml)",
        )
        return c

    c = command("run", "run the daemon in the foreground")
    c.add_argument(
        "--simulate",
        action="store_true",
        help="test pattern, tone and mock pins instead of the Pi's hardware",
    )
    c.add_argument("-v", "--verbose", action="store_true")
    c.set_defaults(func=cmd_run)

    c = command("status", "show the kit's state and figures")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_status)

    c = command("live", "go live or end the broadcast")
    c.add_argument("action", choices=["start", "stop"])
    c.add_argument("--no-wait", action="store_true", help="return without following the state")
    c.add_argument("--timeout", type=float, default=60.0)
    c.set_defaults(func=cmd_live)

    c = command("marker", "mark a highlight in the running broadcast")
    c.set_defaults(func=cmd_marker)

    c = command("press", "press the (simulated) button")
    c.add_argument("--hold", type=float, default=0.0, metavar="S", help="hold for S seconds")
    c.set_defaults(func=cmd_press)

    c = command("check", "run the pre-flight checks")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)

    c = command("passwd", "set a new password for the phone page")
    c.set_defaults(func=cmd_passwd)

    c = command("relay-off", "switch the ring-light relay off (used by the service)")
    c.set_defaults(func=cmd_relay_off)

    c = command("config", "print every config key with its documentation")
    c.add_argument("--check", action="store_true", help="validate the config file and exit")
    c.set_defaults(func=cmd_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except config_mod.ConfigError as e:
        print(f"kit: {e}", file=sys.stderr)
        return 2
    except ClientError as e:
        print(f"kit: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
