"""The page's Wi-Fi screen: the link, saved networks, scan, join, forget, the hotspot.

Routes only; the work is kit.net.wifisetup.WifiSetup's. A change is validated here
(a refused one is shown next to its field, nothing changed), then runs in the background:
the answer reaches the phone first, because a join from the kit's hotspot takes the page
away from the phone. A Wi-Fi password is never sent back to the browser, not even into
the field it was typed in. Errors carry a message id (kit.messages, "wifi.<what>") that the
page shows in the visitor's language.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for

from kit.machine import READY_STATES, State
from kit.messages import Message
from kit.net.wifi import NO_NMCLI, Wifi, WifiError
from kit.net.wifisetup import Scan, WifiSetup

FIELD_OF = {"wifi.ssid_": "ssid", "wifi.password_": "password"}


def can_change(conductor: Any) -> Callable[[], bool]:
    """Wi-Fi changes only while idle or showing an error: never on the way to, or on, air."""

    def idle() -> bool:
        return State(conductor.status()["state"]) in READY_STATES

    return idle


def register(
    bp: Blueprint,
    setup: WifiSetup | None,
    page: Callable[..., Response],
    t: Callable[..., str],
    error: Callable[[Message | str], str],
) -> None:
    """`error` renders a message in the visitor's language (English where there is none).
    Without `setup` the screen shows this machine's link and refuses every change."""
    if setup is None:
        setup = WifiSetup(Wifi(nmcli=None), None, lambda: False, read_only=WifiError(NO_NMCLI()))

    def say(e: WifiError) -> str:
        return error(e.message)

    def job_text(job: Any) -> str:
        text = t(job.key, target=job.target)
        if job.state != "failed":
            return text
        return f"{text}: {error(job.reason)}" if job.reason is not None else text

    def kit_address() -> str:
        # How to find the page once the kit is on the other network (Raspberry Pi OS
        # announces <hostname>.local over mDNS).
        port = request.host.rsplit(":", 1)[1] if ":" in request.host else ""
        return f"http://{socket.gethostname()}.local{':' + port if port else ''}/"

    def view(errors: dict[str, str] | None = None, note: str = "", scan: Scan | None = None,
             form: dict[str, str] | None = None, code: int = 200) -> Response:  # fmt: skip
        overview = setup.overview()
        refusal = overview.refusal
        job = setup.job()
        return page(
            "network.html", code,
            available=refusal is None,
            reason=say(refusal) if refusal is not None else "",
            overview=overview, job=job, job_text=job_text(job) if job else "",
            errors=errors or {}, note=note, scan=scan, form=form or {},
            address=kit_address(), scan_age=_age(setup, scan),
        )  # fmt: skip

    def refused(e: WifiError, form: dict[str, str] | None = None) -> Response:
        field = next((f for prefix, f in FIELD_OF.items() if e.id.startswith(prefix)), "")
        code = 409 if e.id.startswith("wifi.busy") else 400
        if field:
            return view({field: say(e)}, form=form, code=code)
        return view({"general": say(e)}, form=form, code=code)

    @bp.get("/network")
    def network() -> Any:
        return view()

    def change(do: Callable[[], Any], form: dict[str, str] | None = None) -> Response:
        """Start a change (validated, then run in the background) and show how it goes."""
        try:
            do()
        except WifiError as e:
            return refused(e, form)
        return redirect(url_for("web.network"), 303)

    @bp.post("/network/scan")
    def network_scan() -> Any:
        try:
            found = setup.scan()
        except WifiError as e:
            return refused(e)
        return view(scan=found)

    @bp.post("/network/join")
    def network_join() -> Any:
        ssid = request.form.get("ssid", "")
        # Spaces at either end of a Wi-Fi name are real characters: kept as typed. A
        # password field left empty means an open network or one the kit already knows.
        password = request.form.get("password", "") or None
        return change(lambda: setup.join(ssid, password), {"ssid": ssid})

    @bp.post("/network/forget")
    def network_forget() -> Any:
        return change(lambda: setup.forget(request.form.get("name", "")))

    @bp.post("/network/hotspot/close")
    def network_hotspot_close() -> Any:
        return change(setup.close_hotspot)


def _age(setup: WifiSetup, scan: Scan | None) -> int:
    """Minutes since the scan (for a list kept from before the hotspot opened)."""
    return 0 if scan is None else max(0, int((setup.clock() - scan.at) // 60))
