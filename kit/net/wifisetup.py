"""Wi-Fi setup from the page: scan, join, forget, close the hotspot, one change at a time.

A change runs in the background and the page shows how it went, because it may cut the
phone off the page: a phone on the kit's hotspot loses it the moment the kit joins a
network. So the page answers first, then the change starts (after `settle_s`).

What NetworkManager does and does not do here shapes the order of things:

- It does not scan while the Wi-Fi device is an access point (nm-device-wifi.c refuses a
  scan in AP mode: it would disturb the phones on it). So the kit scans just before it
  opens its hotspot and keeps that list; on the hotspot the page shows it, with its age.
- ``device wifi connect`` looks the SSID up in the device's scan list. From the hotspot,
  the hotspot is closed first, then a rescan, then the connect.
- When a join from the hotspot fails, the hotspot is opened again: the kit must never end
  up reachable by nobody. The same when forgetting leaves the kit with no network at all.

Nothing changes while a broadcast is starting or on air (a Wi-Fi change would end it, and
even a scan takes the radio off its channel for a moment).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from kit.messages import Message, define
from kit.net.hotspot import (
    HOTSPOT_CONNECTION,
    Connection,
    Hotspot,
    HotspotInfo,
    connections_argv,
    parse_connections,
)
from kit.net.wifi import (
    NO_NMCLI,
    AccessPoint,
    LinkStatus,
    NmcliError,
    Wifi,
    WifiError,
    check_password,
    check_ssid,
    forget_argv,
)

log = logging.getLogger(__name__)

Action = Literal["join", "forget", "hotspot_close"]
JobState = Literal["running", "ok", "failed"]

BUSY_LIVE = define(
    "wifi.busy_live", "the kit is going live or on air: end the broadcast to change the Wi-Fi"
)
BUSY_JOB = define("wifi.busy_job", "another Wi-Fi change is still running")
NM_SILENT = define("wifi.nm_silent", "NetworkManager did not answer")
UNKNOWN_NAME = define("wifi.unknown_name", "the kit has no saved network of that name")
NO_HOTSPOT = define("wifi.no_hotspot", "the kit has no hotspot here")
INTERNAL = define("wifi.internal_error", "internal error")


class Busy(WifiError):
    """Refused now (on air, or another change is running); nothing was changed."""


@dataclass(frozen=True)
class Job:
    """One change and how it went. `target` is an SSID or a saved network's name, never a
    password. `key` is the outcome's catalogue key ("network.job.<action>.<outcome>");
    a failure's reason is `reason` (English as `detail`)."""

    action: Action
    target: str
    state: JobState
    key: str
    started: float
    via_hotspot: bool = False  # the phone was on the hotspot: it loses the page
    reason: Message | None = None

    @property
    def detail(self) -> str:
        """The failure's reason in English (the log); "" unless failed."""
        return str(self.reason) if self.reason is not None else ""


class _Failed(Exception):
    """A job's failure with its outcome key (e.g. "the hotspot is open again")."""

    def __init__(self, key: str, cause: WifiError) -> None:
        self.key, self.cause = key, cause


@dataclass(frozen=True)
class Scan:
    networks: list[AccessPoint]
    at: float  # clock time of the scan
    cached: bool = False  # from before the hotspot opened (no scan in AP mode)


@dataclass(frozen=True)
class Overview:
    link: LinkStatus | None
    saved: list[str]  # saved Wi-Fi networks (profile names), hotspot left out
    in_use: str | None  # the saved Wi-Fi network in use now
    hotspot_active: bool
    hotspot_name: str | None
    refusal: WifiError | None  # why nothing can be changed here (no NetworkManager...)


class WifiSetup:
    """Scan / join / forget / hotspot for the page, one change at a time.

    `can_change` says whether the kit is idle enough (the conductor's state); `hotspot`
    is None where the kit has none (simulation): then nothing reopens it. `read_only`, when
    set, refuses every change with that error (simulation must not change the Wi-Fi of the
    computer it runs on) while the status is still shown.
    """

    def __init__(
        self,
        wifi: Wifi,
        hotspot: Hotspot | None,
        can_change: Callable[[], bool],
        settle_s: float = 1.0,
        grace_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        read_only: WifiError | None = None,
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self.wifi = wifi
        self.hotspot = hotspot
        self.can_change = can_change
        self.settle_s = settle_s
        self.grace_s = grace_s
        self.read_only = read_only
        self.on_done = on_done  # after each change, whatever its outcome
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._thread: threading.Thread | None = None
        self._scan: Scan | None = None

    # -- reading

    def refusal(self) -> WifiError | None:
        """Why no change can be made here, or None."""
        if self.read_only is not None:
            return self.read_only
        nm = self.wifi.nmcli
        if nm is None or not nm.available():
            return WifiError(NO_NMCLI())
        return None

    def connections(self, active: bool = False) -> list[Connection] | None:
        nm = self.wifi.nmcli
        if nm is None or not nm.available():
            return None
        try:
            return parse_connections(nm.run(connections_argv(active), timeout=10))
        except NmcliError:
            return None

    def overview(self) -> Overview:
        try:
            link: LinkStatus | None = self.wifi.status()
        except Exception:  # a status figure must never break the page
            log.exception("reading the network status")
            link = None
        known = self.connections() or []
        active = self.connections(active=True) or []
        saved = [c.name for c in known if c.is_wifi and not c.is_hotspot]
        active_names = {c.name for c in active}
        hotspot_active = HOTSPOT_CONNECTION in active_names
        name = None
        if self.hotspot is not None:
            try:
                name = self.hotspot.ssid
            except OSError:
                name = None
        return Overview(
            link=link,
            saved=saved,
            in_use=next((n for n in saved if n in active_names), None),
            hotspot_active=hotspot_active,
            hotspot_name=name,
            refusal=self.refusal(),
        )

    def job(self) -> Job | None:
        with self._lock:
            return self._job

    # -- scanning

    def _guard(self) -> None:
        if not self.can_change():
            raise Busy(BUSY_LIVE())

    def scan(self) -> Scan:
        """A fresh scan; on the hotspot (no scanning in AP mode) the list kept from before
        it opened. WifiError says why there is none."""
        self._guard()
        active = self.connections(active=True) or []
        if any(c.is_hotspot for c in active):
            with self._lock:
                kept = self._scan
            return replace(kept, cached=True) if kept else Scan([], self.clock(), cached=True)
        found = Scan(self.wifi.scan(), self.clock())
        with self._lock:
            self._scan = found
        return found

    def remember_networks(self) -> None:
        """Scan and keep the list, best effort: called before the hotspot opens."""
        try:
            found = Scan(self.wifi.scan(), self.clock())
        except WifiError as e:
            log.info("no scan before the hotspot: %s", e)
            return
        with self._lock:
            self._scan = found

    # -- changing (validated here, done in the background)

    def join(self, ssid: str, password: str | None) -> Job:
        check_ssid(ssid)
        if password is not None:
            check_password(password)
        return self._start("join", ssid, lambda via: self._join(ssid, password, via))

    def forget(self, name: str) -> Job:
        known = self.connections()
        if known is None:
            raise WifiError(NM_SILENT())
        if not any(c.name == name and c.is_wifi and not c.is_hotspot for c in known):
            raise WifiError(UNKNOWN_NAME())
        forget_argv(name)  # validates
        return self._start("forget", name, lambda via: self._forget(name))

    def close_hotspot(self) -> Job:
        if self.hotspot is None:
            raise WifiError(NO_HOTSPOT())
        return self._start("hotspot_close", HOTSPOT_CONNECTION, lambda via: self._close())

    def open_hotspot(self) -> HotspotInfo:
        """Scan (kept for the page), then open the hotspot. HotspotError says why not.
        Used by the button's 10 s hold and at boot, outside the job queue."""
        if self.hotspot is None:
            raise WifiError(NO_HOTSPOT())
        self.remember_networks()
        return self.hotspot.start()

    def _start(self, action: Action, target: str, work: Callable[[bool], str]) -> Job:
        refusal = self.refusal()
        if refusal is not None:
            raise refusal
        self._guard()
        via_hotspot = any(c.is_hotspot for c in self.connections(active=True) or [])
        with self._lock:
            if self._job is not None and self._job.state == "running":
                raise Busy(BUSY_JOB())
            job = Job(action, target, "running", f"network.job.{action}.running",
                      self.clock(), via_hotspot)  # fmt: skip
            self._job = job
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"wifi-{action}", daemon=True
        )
        self._thread = thread
        thread.start()
        return job

    def wait(self, timeout: float | None = None) -> Job | None:
        """The job once it has ended (tests, and a clean shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.job()

    def _run(self, job: Job, work: Callable[[bool], str]) -> None:
        # The page's answer must reach the phone before the link it came by goes away.
        self.sleep(self.settle_s)
        failed = f"network.job.{job.action}.failed"
        try:
            done = replace(job, state="ok", key=work(job.via_hotspot))
        except _Failed as f:
            done = self._failure(job, f.key, f.cause)
        except WifiError as e:
            done = self._failure(job, failed, e)
        except Exception:  # a bug: said on the page, logged in full
            log.exception("Wi-Fi %s failed", job.action)
            done = self._failure(job, failed, WifiError(INTERNAL()))
        log.info("Wi-Fi %s %r: %s %s", job.action, job.target, done.key, done.detail)
        with self._lock:
            self._job = done
        self.on_done()

    @staticmethod
    def _failure(job: Job, key: str, e: WifiError) -> Job:
        return replace(job, state="failed", key=key, reason=e.message)

    def _join(self, ssid: str, password: str | None, via_hotspot: bool) -> str:
        if via_hotspot and self.hotspot is not None:
            self.hotspot.stop()
            # Station mode again: let NetworkManager see the networks before connecting.
            with contextlib.suppress(WifiError):
                self.wifi.scan()
        try:
            self.wifi.join(ssid, password)
        except WifiError as e:
            if self._reopen_if_stranded():
                raise _Failed("network.job.join.failed_hotspot", e) from None
            raise
        return "network.job.join.ok"

    def _forget(self, name: str) -> str:
        self.wifi.forget(name)
        if self._reopen_if_stranded():
            return "network.job.forget.hotspot"
        return "network.job.forget.ok"

    def _close(self) -> str:
        assert self.hotspot is not None
        self.hotspot.stop()
        return "network.job.hotspot_close.ok"

    def _reopen_if_stranded(self) -> bool:
        """Open the hotspot when, after `grace_s` (NetworkManager reconnecting to another
        saved network by itself), nothing links the kit: no phone could reach it."""
        if self.hotspot is None:
            return False
        deadline = self.clock() + self.grace_s
        while True:
            active = self.connections(active=True)
            if active is None:
                return False  # NetworkManager does not answer: opening would fail too
            if any(c.type != "loopback" and not c.is_hotspot for c in active):
                return False
            if self.clock() >= deadline:
                break
            self.sleep(1.0)
        try:
            self.open_hotspot()
        except WifiError as e:
            log.warning("could not open the hotspot again: %s", e)
            return False
        return True
