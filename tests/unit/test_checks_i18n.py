"""The rest of the page's Python-made text in the visitor's language: the pre-flight checks'
verdicts, the daemon's status texts (warnings, error-state advice, the hotspot), the
first-run password rules and the Wi-Fi screen's errors.

Each is a kit.messages template: the English stays for ``kit check``, ``kit status``, the
API and the logs; the page shows ``error.<id>`` from its catalogue. The tables below make
every such message for real (a verdict function, a validator, the conductor) and check its
id and values, that its English is what it always said, and its Swedish. Together with
tests/unit/test_messages_i18n.py (the validators' messages) they cover every defined id:
a new message that is in neither fails the drift check there.
"""

from __future__ import annotations

import datetime
import errno
import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from markupsafe import escape

import kit.api.web
from kit import checks, config, said
from kit.api import auth
from kit.broadcast import Broadcast
from kit.checks import Context, Level, Result
from kit.daemon import ADVICE, CHECKS_CRASHED, _i18n
from kit.hw import health
from kit.machine import ADVICE as ENGLISH_ADVICE
from kit.machine import State, Status
from kit.media import camclient, mic, mic_check, picam
from kit.media.audio import MicrophoneError, Tone
from kit.media.camera import TestPatternCamera
from kit.media.pipeline import Encode
from kit.messages import Message, render, render_dict
from kit.net import checks as net
from kit.net import hotspot, rtmp_probe, wifi, wifisetup
from kit.net.checks import IngestProbe, Lookup, StepTimeout, UploadProbe, UploadUrlError
from tests.unit.test_web_routes import PASSWORD, Kit, csrf_of, logged_in

CATALOGUES = {
    lang: json.loads((kit.api.web.web_root() / "i18n" / f"{lang}.json").read_text("utf-8"))
    for lang in ("en", "sv")
}
EN, SV = CATALOGUES["en"], CATALOGUES["sv"]
HEADERS = {"en": {"Accept-Language": "en-GB,en;q=0.9"}, "sv": {"Accept-Language": "sv-SE,sv"}}


def context(server: str = "rtmp://push.example.com/live/", **kw: Any) -> Context:
    cfg = config.from_dict({"stream": {"server": server, "key": "live_abcd1234"}})
    return Context(cfg, **({"camera_ok": lambda: True, "microphone_ok": lambda: True} | kw))


def titled(title: str) -> Context:
    cfg = config.from_dict({"stream": {"server": "rtmp://h/live/", "key": "k"},
                            "broadcast": {"title": title}})  # fmt: skip
    return Context(cfg, lambda: True, lambda: True)


def link(**fields: Any) -> wifi.LinkStatus:
    return wifi.LinkStatus(**{"kind": "wifi", "interface": "wlan0",  # type: ignore[arg-type]
                              "source": "networkmanager", "ssid": "Home", **fields})  # fmt: skip


def disk(free_mb: int, min_free_mb: int = 50, bitrate: int = 2500) -> Result:
    cfg = config.from_dict({"stream": {"server": "rtmp://h/live/", "key": "k",
                                       "bitrate_kbps": bitrate},
                            "recording": {"min_free_mb": min_free_mb}})  # fmt: skip
    usage = SimpleNamespace(free=free_mb * 2**20)
    with mock.patch("shutil.disk_usage", return_value=usage):
        return checks.check_disk(Context(cfg, lambda: True, lambda: True))


def cert_error(code: int, message: str = "") -> ssl.SSLCertVerificationError:
    e = ssl.SSLCertVerificationError(1, message)
    e.verify_code, e.verify_message = code, message
    return e


def tls_error() -> ssl.SSLError:
    e = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    e.reason = "WRONG_VERSION_NUMBER"  # as OpenSSL's errors have it
    return e


def upload(kbps: float, complete: bool = True) -> Result:
    probe = UploadProbe(int(kbps * 1000 / 8 * 2), 2.0, 200 if complete else None)
    return net.upload_result("http://x/upload", probe, 2500, 128)


def mic_level(device: Callable[[], str | None], reading: mic.Reading | None = None) -> Result:
    ctx = mic_check.MicContext(context().config, lambda: True, lambda: True,
                               microphone_device=device)  # fmt: skip
    return mic_check.check_level(ctx, lambda d: reading)  # type: ignore[arg-type,return-value]


def no_microphone() -> str | None:
    raise MicrophoneError("no USB microphone found: plug one in")


def throw(e: BaseException) -> Any:
    raise e


def light(meta: dict[str, float]) -> Result:
    status, said = picam.light_level(meta)
    return Result("light", Level(status), said)


NO_NAME = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
AGAIN = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

# (what makes the result, its message id, its values: nested messages by their id)
CHECK_RESULTS: list[tuple[Callable[[], Result], str, dict[str, Any]]] = [
    (lambda: checks.check_stream(context()), "check.stream.ok",
     {"host": "push.example.com", "masked": "••••1234"}),
    (lambda: checks.check_stream(context("")), "check.stream.invalid",
     {"problem": "server.not_set"}),
    (lambda: disk(10), "check.disk.low", {"free": "10", "need": "50"}),
    (lambda: disk(500), "check.disk.short", {"free": "500", "minutes": "27"}),
    (lambda: disk(50_000), "check.disk.ok", {"free": "50000"}),
    (lambda: checks.check_camera(context()), "check.camera.ok", {}),
    (lambda: checks.check_camera(context(camera_ok=lambda: False)), "check.camera.missing", {}),
    # What the camera process found (kit.media.camclient), with what to do.
    (lambda: checks.check_camera(context(camera_ok=lambda: False,
                                         camera_problem=lambda: camclient.MISSING())),
     "camera.missing", {}),
    (lambda: checks.check_camera(context(camera_ok=lambda: False,
                                         camera_problem=lambda: camclient.BUSY())),
     "camera.busy", {}),
    (lambda: checks.check_camera(context(
        camera_ok=lambda: False,
        camera_problem=lambda: camclient.FAILED(detail="picamera2 is not installed (libcamera)"))),
     "camera.failed", {"detail": "picamera2 is not installed (libcamera)"}),
    (lambda: checks.check_camera(context(
        camera_ok=lambda: False, camera_problem=lambda: camclient.CRASHED(detail="signal 11"))),
     "camera.crashed", {"detail": "signal 11"}),
    (lambda: checks.check_microphone(context()), "check.microphone.ok", {}),
    (lambda: checks.check_microphone(context(microphone_ok=lambda: False)),
     "check.microphone.missing", {}),
    (lambda: checks.check_encoder(Context(context().config, lambda: True, lambda: True,
                                          ffmpeg_bin="sh")), "check.encoder.ok", {}),
    (lambda: checks.check_encoder(Context(context().config, lambda: True, lambda: True,
                                          ffmpeg_bin="no-such-ffmpeg")),
     "check.encoder.missing", {}),
    (lambda: checks.check_title(titled("Friday 🎸 jam")), "check.title.ok",
     {"title": "Friday 🎸 jam"}),
    (lambda: checks.check_title(titled("  ")), "check.title.missing", {}),
    (lambda: checks.check_light(context()), "check.light.not_measured", {}),
    (lambda: checks.check_light(context(light=lambda: throw(OSError("gone"))),
                                sleep=lambda s: None), "check.light.unreadable", {}),
    (lambda: net.check_dns(context("")), "check.net.not_checked",
     {"problem": "server.not_set"}),
    # -- wifi
    (lambda: net.wifi_result(link(kind="none", interface=None,
                                  radio=wifi.Radio("GB", False, True))),
     "check.wifi.hard_blocked", {}),
    (lambda: net.wifi_result(link(kind="none", interface=None,
                                  radio=wifi.Radio(None, True, False))),
     "check.wifi.no_country", {}),
    (lambda: net.wifi_result(link(kind="none", interface=None,
                                  radio=wifi.Radio("GB", True, False))), "check.wifi.rfkill", {}),
    (lambda: net.wifi_result(link(kind="ethernet", interface="eth0", ssid=None)),
     "check.wifi.ethernet", {"interface": "eth0"}),
    (lambda: net.wifi_result(link(kind="none", interface=None, source="none")),
     "check.wifi.not_measured", {}),
    (lambda: net.wifi_result(link(kind="none", interface=None)), "check.wifi.no_network", {}),
    (lambda: net.wifi_result(link(ssid=None)), "check.wifi.no_signal",
     {"name": "check.wifi.unnamed"}),
    (lambda: net.wifi_result(link(signal_dbm=-85, freq_mhz=2412, rate_mbps=6.5)),
     "check.wifi.too_weak", {"name": "check.wifi.named", "strength": "-85 dBm",
                             "details": "check.wifi.details"}),
    (lambda: net.wifi_result(link(signal_percent=49, power_save=True)), "check.wifi.weak",
     {"name": "check.wifi.named", "strength": "49 %", "details": "check.wifi.details"}),
    (lambda: net.wifi_result(link(signal_dbm=-55, freq_mhz=5180, rate_mbps=433.3)),
     "check.wifi.ok", {"name": "check.wifi.named", "strength": "-55 dBm",
                       "details": "check.wifi.details"}),
    (lambda: net.wifi_result(link(signal_dbm=-55)), "check.wifi.ok",
     {"name": "check.wifi.named", "strength": "-55 dBm", "details": ""}),
    (lambda: net.check_wifi(context(), reader=lambda: time.sleep(1), timeout=0.05),  # type: ignore[arg-type,return-value]
     "check.wifi.slow_status", {"seconds": "0.05"}),
    # -- dns
    (lambda: net.dns_result("push.example.com", TimeoutError(), 3.0), "check.dns.timeout",
     {"host": "push.example.com", "seconds": "3"}),
    (lambda: net.dns_result("push.example.com", NO_NAME, 3.0), "check.dns.no_such_name",
     {"host": "push.example.com"}),
    (lambda: net.dns_result("push.example.com", AGAIN, 3.0), "check.dns.failed",
     {"host": "push.example.com", "error": str(AGAIN)}),
    (lambda: net.dns_result("push.example.com", Lookup([], 3.0), 3.0), "check.dns.no_address",
     {"host": "push.example.com"}),
    (lambda: net.dns_result("push.example.com", Lookup(["192.0.2.1"], 1500.0), 3.0),
     "check.dns.slow", {"host": "push.example.com", "ms": "1500"}),
    (lambda: net.dns_result("push.example.com", Lookup(["192.0.2.1"], 12.0), 3.0),
     "check.dns.ok", {"host": "push.example.com", "ms": "12"}),
    (lambda: net.check_dns(context("rtmp://192.0.2.1/live/")), "check.dns.by_address",
     {"host": "192.0.2.1"}),
    # -- ingest
    (lambda: net.ingest_result("h.example", 443, cert_error(62, "Hostname mismatch"), 5.0),
     "check.ingest.cert_host", {"host": "h.example"}),
    (lambda: net.ingest_result("h.example", 443, cert_error(10, "certificate has expired"), 5.0),
     "check.ingest.cert_expired", {"where": "h.example:443"}),
    (lambda: net.ingest_result("h.example", 443, cert_error(20, "unable to get issuer"), 5.0),
     "check.ingest.cert_untrusted", {"reason": "unable to get issuer"}),
    (lambda: net.ingest_result("h.example", 443, tls_error(), 5.0), "check.ingest.tls_failed",
     {"where": "h.example:443", "reason": "WRONG_VERSION_NUMBER"}),
    (lambda: net.ingest_result("h.example", 443, StepTimeout("tls"), 5.0),
     "check.ingest.no_answer", {"where": "h.example:443", "seconds": "5",
                                "step": "check.ingest.step_tls"}),
    (lambda: net.ingest_result("h.example", 443, StepTimeout("connect"), 5.0),
     "check.ingest.no_answer", {"where": "h.example:443", "seconds": "5",
                                "step": "check.ingest.step_connect"}),
    (lambda: net.ingest_result("h.example", 443, NO_NAME, 5.0), "check.dns.no_such_name",
     {"host": "h.example"}),
    (lambda: net.ingest_result(
        "h.example", 443, FileNotFoundError(errno.ENOENT, "No such file", "/etc/ca.pem"), 5.0),
     "check.ingest.ca_missing", {"path": "/etc/ca.pem"}),
    (lambda: net.ingest_result("h.example", 443, ConnectionRefusedError(
        errno.ECONNREFUSED, "Connection refused"), 5.0),
     "check.ingest.refused", {"where": "h.example:443"}),
    (lambda: net.ingest_result("h.example", 443, OSError(errno.EHOSTUNREACH, "No route"), 5.0),
     "check.ingest.no_route", {"where": "h.example:443"}),
    (lambda: net.ingest_result("h.example", 443, OSError(errno.EACCES, "Permission denied"),
                               5.0),
     "check.ingest.failed", {"where": "h.example:443", "error": "Permission denied"}),
    (lambda: net.ingest_result("h.example", 443, IngestProbe("192.0.2.1", 1200.0, None), 5.0),
     "check.ingest.slow", {"where": "h.example:443", "timing": "check.ingest.timing"}),
    (lambda: net.ingest_result("h.example", 443, IngestProbe("192.0.2.1", 35.0, 80.0), 5.0),
     "check.ingest.ok", {"where": "h.example:443", "timing": "check.ingest.timing_tls"}),
    (lambda: net.ingest_result("h.example", 443, StepTimeout("rtmp"), 5.0),
     "check.ingest.no_answer", {"where": "h.example:443", "seconds": "5",
                                "step": "check.ingest.step_rtmp"}),
    (lambda: net.ingest_result("h.example", 443, StepTimeout("rtmp_connect"), 5.0),
     "check.ingest.no_answer", {"where": "h.example:443", "seconds": "5",
                                "step": "check.ingest.step_rtmp_connect"}),
    (lambda: net.ingest_result("h.example", 1935, net.WrongScheme("rtmps"), 5.0),
     "check.ingest.wants_rtmps", {"where": "h.example:1935"}),
    (lambda: net.ingest_result("h.example", 443, net.WrongScheme("rtmp"), 5.0),
     "check.ingest.wants_rtmp", {"where": "h.example:443"}),
    (lambda: net.ingest_result("h.example", 80, rtmp_probe.NotRtmp(b"HTTP/1.1"), 5.0),
     "check.ingest.not_rtmp", {"where": "h.example:80"}),
    (lambda: net.ingest_result("h.example", 443, net.AppRefused(
        "game", rtmp_probe.ConnectRefused("NetConnection.Connect.Rejected", "")), 5.0),
     "check.ingest.app_refused", {"where": "h.example:443", "app": "game"}),
    (lambda: net.expiry_result("s-1?expire=1764597900&sign=ab", 1764598000.0, datetime.UTC),
     "check.ingest.key_expired", {"time": "14:05"}),
    (lambda: net.expiry_result("s-1?expire=1764598600&sign=ab", 1764598000.0, datetime.UTC),
     "check.ingest.key_expires", {"minutes": "10"}),
    (lambda: net.expiry_result("s-1?expire=1764598060&sign=ab", 1764598000.0, datetime.UTC),
     "check.ingest.key_expires_now", {}),
    # -- upload
    (lambda: net.upload_result("", None, 2500, 128), "check.upload.off", {}),
    (lambda: net.upload_result("ftp://x", UploadUrlError(net.URL_SCHEME()), 2500, 128),
     "check.upload.bad_url", {"problem": "check.upload.url_scheme"}),
    (lambda: net.check_upload(context(), url="http://x:port/up"), "check.upload.bad_url",
     {"problem": "check.upload.url_invalid"}),
    (lambda: net.upload_result("http://x/up", StepTimeout("send"), 2500, 128),
     "check.upload.timeout", {"host": "x", "seconds": "6"}),
    (lambda: net.upload_result("http://x/up", StepTimeout("connect"), 2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.no_answer"}),
    (lambda: net.upload_result("http://x/up", NO_NAME, 2500, 128), "check.upload.not_measured",
     {"host": "x", "why": "check.upload.why.no_such_host"}),
    (lambda: net.upload_result("http://x/up", AGAIN, 2500, 128), "check.upload.not_measured",
     {"host": "x", "why": "check.upload.why.lookup_failed"}),
    (lambda: net.upload_result("http://x/up", ConnectionRefusedError(
        errno.ECONNREFUSED, "Connection refused"), 2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.refused"}),
    (lambda: net.upload_result("http://x/up", OSError(errno.EHOSTUNREACH, "No route to host"),
                               2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.no_route"}),
    (lambda: net.upload_result("http://x/up", tls_error(), 2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.tls"}),
    (lambda: net.upload_result("http://x/up", BrokenPipeError(errno.EPIPE, "Broken pipe"),
                               2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.broke_off"}),
    (lambda: net.upload_result("http://x/up", UploadProbe(1000, 1.0, 404), 2500, 128),
     "check.upload.not_measured", {"host": "x", "why": "check.upload.why.http"}),
    (lambda: upload(40_000), "check.upload.ok", {"measured": "40.0 Mb/s", "stream": "2.6 Mb/s"}),
    (lambda: upload(3_000), "check.upload.tight",
     {"measured": "3.0 Mb/s", "stream": "2.6 Mb/s", "todo": "check.upload.todo_lower"}),
    (lambda: upload(700), "check.upload.too_slow",
     {"measured": "0.7 Mb/s", "stream": "2.6 Mb/s", "todo": "check.upload.todo_lowest"}),
    (lambda: upload(600), "check.upload.too_slow",
     {"measured": "0.6 Mb/s", "stream": "2.6 Mb/s", "todo": "check.upload.todo_move"}),
    (lambda: upload(5_000, complete=False), "check.upload.too_slow",
     {"measured": "check.upload.at_most", "stream": "2.6 Mb/s",
      "todo": "check.upload.todo_lower"}),
    # -- health
    (lambda: health.temperature_result(60.0, False), "check.temperature.not_pi", {}),
    (lambda: health.temperature_result(None, True), "check.temperature.unreadable", {}),
    (lambda: health.temperature_result(84.6, True), "check.temperature.hot", {"celsius": "85"}),
    (lambda: health.temperature_result(77.0, True), "check.temperature.warm",
     {"celsius": "77"}),
    (lambda: health.temperature_result(48.3, True), "check.temperature.ok", {"celsius": "48"}),
    (lambda: health.power_result(None, None, False), "check.power.not_pi", {}),
    (lambda: health.power_result(None, None, True), "check.power.unknown", {}),
    (lambda: health.power_result(health.decode_throttled(0x50005), None, True),
     "check.power.low_now", {}),
    (lambda: health.power_result(health.decode_throttled(0x50000), None, True),
     "check.power.was_low", {}),
    (lambda: health.power_result(health.decode_throttled(0), None, True), "check.power.ok", {}),
    # -- the microphone's level: kit.media.mic's own sentences, recognised
    (lambda: mic_level(lambda: None), "check.mic_level.simulation", {}),
    (lambda: mic_level(no_microphone), "check.mic_level.not_measured",
     {"reason": "check.mic_level.no_microphone"}),
    (lambda: mic_check.result_for(mic.judge(-0.1, -12.0)), "check.mic_level.clipping", {}),
    (lambda: mic_check.result_for(mic.judge(-50.0, -70.0)), "check.mic_level.silent", {}),
    (lambda: mic_check.result_for(mic.judge(-6.2, -20.4)), "check.mic_level.level",
     {"rms": "-20", "peak": "-6"}),
    (lambda: mic_level(lambda: "hw:CARD=Mic,DEV=0",
                       mic.open_failure("hw:CARD=Mic,DEV=0", "Device or resource busy [hw]")),
     "check.mic_level.busy", {"device": "hw:CARD=Mic,DEV=0"}),
    (lambda: mic_check.result_for(mic.open_failure("hw:CARD=Mic,DEV=0", "No such device")),
     "check.mic_level.cannot_read", {"device": "hw:CARD=Mic,DEV=0", "error": "No such device"}),
    (lambda: mic_check.result_for(
        mic.Reading(mic.Meter.UNAVAILABLE, "pyalsaaudio is not installed: run install.sh again.")),
     "check.mic_level.no_alsa", {}),
    (lambda: mic_check.result_for(mic.Reading(
        mic.Meter.UNAVAILABLE, "hw:1 gives S24_LE samples, not 16-bit: use its plughw: name.")),
     "check.mic_level.not_16_bit", {"device": "hw:1", "format": "S24_LE"}),
    (lambda: mic_check.result_for(mic.Reading(
        mic.Meter.UNAVAILABLE,
        "No sound came from hw:1 in 2 s: unplug the microphone and plug it in again.")),
     "check.mic_level.no_sound", {"device": "hw:1", "seconds": "2"}),
    # -- the light, from the camera's metadata
    (lambda: light({"Lux": 12.0}), "check.light.dark_lux", {"lux": "12"}),
    (lambda: light({"ExposureTime": 33000, "AnalogueGain": 10.0}), "check.light.dark", {}),
    (lambda: light({"Lux": 250.0}), "check.light.ok_lux", {"lux": "250"}),
    (lambda: light({"ExposureTime": 8000}), "check.light.ok", {}),
    (lambda: Result("internal", Level.FAIL, CHECKS_CRASHED(error="boom")),
     "check.internal.crashed", {"error": "boom"}),
]  # fmt: skip


def shape(value: Any) -> Any:
    """A message's values as the tables write them: nested messages by their id."""
    if isinstance(value, Message):
        return value.id
    if isinstance(value, tuple):
        return tuple(shape(v) for v in value)
    return value


def rendered_values(said: Message, catalogue: dict[str, str]) -> dict[str, str]:
    def one(v: Any) -> str:
        if isinstance(v, tuple):
            return ", ".join(one(x) for x in v)
        return render(v, catalogue) if isinstance(v, Message) else v

    return {k: one(v) for k, v in said.values}


@pytest.mark.parametrize(
    ("make", "id", "values"),
    CHECK_RESULTS,
    ids=[f"{r[1]}-{i}" for i, r in enumerate(CHECK_RESULTS)],
)
def test_a_check_result_carries_its_id_and_says_it_in_swedish(
    make: Callable[[], Result], id: str, values: dict[str, Any]
) -> None:
    result = make()
    said = result.said
    assert said is not None and said.id == id, result
    assert {k: shape(v) for k, v in said.values} == values
    # The English is what the check always said, to kit check, the API and the logs.
    assert str(said) == result.message == render(said, EN)
    sv = render(said, SV)
    assert sv == SV["error." + id].format(**rendered_values(said, SV))
    assert sv != result.message
    # As the JSON API gives it: the old three keys, the id and values next to them.
    d = json.loads(json.dumps(result.as_dict()))
    assert d["id"] == result.id and d["status"] == result.status.value
    assert d["message"] == result.message and d["message_id"] == id
    assert render_dict({"id": id, "values": d["message_values"], "text": d["message"]}, SV) == sv


def test_every_verdict_reads_as_a_sentence() -> None:
    # The advice after a failed check ends the check's sentence with a full stop.
    for make, _, _ in CHECK_RESULTS:
        result = make()
        if result.id != "internal":
            assert result.message.endswith("."), result.message
            assert render(result.said, SV).endswith("."), result.message  # type: ignore[arg-type]


def test_a_result_without_an_id_is_english_as_before() -> None:
    r = Result("x", Level.WARN, "plain English")
    assert r.said is None
    assert r.as_dict() == {"id": "x", "status": "warn", "message": "plain English"}


def test_an_unrecognised_microphone_sentence_stays_english() -> None:
    reading = mic.Reading(mic.Meter.UNAVAILABLE, "Something mic.py says now.")
    result = mic_check.result_for(reading)
    assert result.said is None and result.message == "Something mic.py says now."


# -- the page ---------------------------------------------------------------------------


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    yield k
    k.conductor._broadcast = None  # on_air (below) runs no ffmpeg: nothing to stop
    k.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_checklist_in_the_page_language(kit: Kit, lang: str) -> None:
    results = [make() for make, _, _ in CHECK_RESULTS]
    c, _ = logged_in(kit)
    with mock.patch.object(kit.conductor, "run_checks", return_value=results):
        page = c.get("/checks", headers=HEADERS[lang]).text
    assert f'lang="{lang}"' in page
    for r in results:
        assert str(escape(render(r.said, CATALOGUES[lang]))) in page  # type: ignore[arg-type]
        if lang == "sv":
            assert str(escape(r.message)) not in page
    assert "checkname." not in page


def test_the_real_checklist_in_swedish(kit: Kit) -> None:
    c, _ = logged_in(kit)
    page = c.get("/checks", headers=HEADERS["sv"]).text
    # The kit's own checks in simulation: the ingest at 127.0.0.1:1 refuses.
    assert "Inget svarar på 127.0.0.1:1 (anslutningen nekades): kontrollera serveradressen." in page
    assert "Servern anges med sin adress (127.0.0.1): ingen uppslagning." in page
    assert "Nothing answers" not in page and "checkname." not in page
    for name in ("Strömserver", "Servernamn", "Uppladdningshastighet", "Mikrofonnivå"):
        assert f"<strong>{name}</strong>" in page


def test_the_json_checks_keep_their_english_and_add_the_ids(kit: Kit) -> None:
    r = kit.app.test_client().get("/api/checks", headers={"Authorization": "Bearer " + "t" * 43})
    for item in r.json:
        assert {"id", "status", "message"} <= set(item)
        if "message_id" in item:
            said = {"id": item["message_id"], "values": item["message_values"]}
            assert render_dict({**said, "text": item["message"]}, EN) == item["message"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sv", "Inget svarar på 127.0.0.1:1 (anslutningen nekades): kontrollera serveradressen."),
     ("en", "Nothing answers at 127.0.0.1:1 (connection refused): check the server URL.")],
)  # fmt: skip
def test_test_connection_in_the_page_language(kit: Kit, lang: str, expected: str) -> None:
    c, token = logged_in(kit)
    r = c.post("/destination/test", data={"csrf": token}, headers=HEADERS[lang])
    assert f'<p class="err" role="status" id="note">{escape(expected)}</p>' in r.text


PASSWORD_RULES = [
    ("short", "short", "password.too_short", {"min": 8}),
    ("x" * 257, "x" * 257, "password.too_long", {"max": 256}),
    (PASSWORD, PASSWORD + "x", "password.differs", {}),
]


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(("password", "again", "id", "values"), PASSWORD_RULES)
def test_the_first_run_password_rules_in_the_page_language(
    kit: Kit, lang: str, password: str, again: str, id: str, values: dict[str, Any]
) -> None:
    problem = auth.check_new_password(password, again)
    assert (
        problem is not None
        and problem.id == id
        and problem.params == {k: str(v) for k, v in values.items()}
    )
    c = kit.app.test_client()
    token = csrf_of(c.get("/setup").text)
    form = {"csrf": token, "password": password, "again": again}
    r = c.post("/setup", data=form, headers=HEADERS[lang])
    assert r.status_code == 400
    cat = CATALOGUES[lang]
    expected = cat["auth.password_problem"].format(problem=cat["error." + id].format(**values))
    assert f'<p class="err" id="err-password" role="alert">{escape(expected)}</p>' in r.text
    assert password not in r.text
    assert not auth.password_is_set(kit.state)


def test_the_password_rule_reads_as_a_sentence_in_both_languages() -> None:
    assert EN["auth.password_problem"].format(problem=str(auth.PASSWORD_SHORT(min=8))) == (
        "The password must be at least 8 characters."
    )
    problem = render(auth.PASSWORD_SHORT(min=8), SV)
    expected = "Lösenordet måste ha minst 8 tecken."
    assert SV["auth.password_problem"].format(problem=problem) == expected


# -- the home page: warnings, advice, the hotspot -----------------------------------------


class Supervisor:
    pid = 4242

    def __init__(self, **stats: Any) -> None:
        self._stats = {"bitrate_kbps": 2400.0, "fps": 30.0, "speed": 1.0, "dropped_frames": 0,
                       "reconnects": 0, "recording": "", "last_error": "", **stats}  # fmt: skip

    def stats(self) -> dict[str, Any]:
        return self._stats


def on_air(kit: Kit, **stats: Any) -> None:
    """A broadcast whose supervisor is a stand-in that reports `stats` (no ffmpeg runs)."""
    b = Broadcast(
        kit.settings.current(),
        camera=TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
        audio=Tone(),
        store=kit.store,
        encoder="libx264",
        on_event=lambda ev: None,
    )
    b.supervisor = Supervisor(**stats)  # type: ignore[assignment]
    kit.conductor._broadcast = b


def sse(c: Any, kit: Kit, lang: str) -> dict[str, Any]:
    """The first status the page's live updates send (then the stream is left)."""
    r = c.get("/events", headers=HEADERS[lang], buffered=False)
    try:
        for chunk in r.response:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith("data: "):
                return json.loads(text[len("data: ") :])  # type: ignore[no-any-return]
    finally:
        r.close()
    raise AssertionError("no status sent")


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("fate", ["disk_full", "folder_gone"])
def test_a_stopped_recording_is_said_first_in_the_page_language(
    kit: Kit, lang: str, fate: str
) -> None:
    on_air(kit, recording_state=fate)
    st = kit.conductor.status()
    assert st["warnings"][0].startswith("Recording stopped: ")
    assert "The stream goes on" in st["warnings"][0]
    assert [w["id"] for w in st["i18n"]["warnings"]] == [f"status.recording_{fate}"]
    c, _ = logged_in(kit)
    page = c.get("/", headers=HEADERS[lang]).text
    assert escape(CATALOGUES[lang][f"error.status.recording_{fate}"]) in page


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_warnings_in_the_page_language(kit: Kit, lang: str) -> None:
    on_air(kit, microphone="missing", network="behind")
    st = kit.conductor.status()
    # kit status and the API: the English as before, the ids next to it.
    assert st["warnings"] == [
        "The microphone is unplugged: the stream goes on without sound. Plug it back in.",
        "The network is not keeping up with the stream: move closer to the router or lower "
        "the bitrate.",
    ]
    assert [w["id"] for w in st["i18n"]["warnings"]] == [
        "status.microphone_missing",
        "status.network_behind",
    ]
    cat = CATALOGUES[lang]
    expected = [cat["error.status.microphone_missing"], cat["error.status.network_behind"]]
    c, _ = logged_in(kit)
    page = c.get("/", headers=HEADERS[lang]).text
    items = "".join(f"<li>{escape(w)}</li>" for w in expected)
    assert f'<ul id="warnings" class="warn">{items}</ul>' in page
    data = sse(c, kit, lang)
    assert data["shown"]["warnings"] == expected
    assert data["warnings"] == st["warnings"]
    if lang == "sv":
        assert "The microphone is unplugged" not in page.split('id="initial"')[0]


def test_no_warnings_no_list(kit: Kit) -> None:
    c, _ = logged_in(kit)
    page = c.get("/", headers=HEADERS["sv"]).text
    assert '<ul id="warnings" class="warn" hidden></ul>' in page
    assert "warnings" not in kit.conductor.status()


def wait_for(kit: Kit, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = kit.conductor.status()
        if st["state"] == state:
            return st
        time.sleep(0.02)
    raise AssertionError(f"never {state}: {kit.conductor.status()['state']}")


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_refused_go_live_says_why_in_the_page_language(kit: Kit, lang: str) -> None:
    failing = Result("disk", Level.FAIL, checks.DISK_LOW(free=10, need=50))
    kit.conductor._p.checks = [lambda ctx: failing]
    kit.conductor.press()
    st = wait_for(kit, "check_failed")
    assert st["advice"] == (
        "Only 10 MB free for recordings (need 50 MB): delete old recordings. "
        "A pre-flight check failed. Fix it, then press again."
    )
    assert [p["id"] for p in st["i18n"]["advice"]] == ["check.disk.low", "advice.check_failed"]
    cat = CATALOGUES[lang]
    expected = " ".join([cat["error.check.disk.low"].format(free=10, need=50),
                         cat["error.advice.check_failed"]])  # fmt: skip
    c, _ = logged_in(kit)
    page = c.get("/", headers=HEADERS[lang]).text
    # Said as the last attempt's, at the kit's time of day (kit/api/web.py shown()).
    at = re.escape(cat["home.last_attempt"]).replace(re.escape("{at}"), r"\d\d:\d\d") + " "
    shown = re.search(r'<p id="advice" class="advice">([^<]*)</p>', page)
    assert shown and re.fullmatch(at + re.escape(str(escape(expected))), shown.group(1))
    assert re.fullmatch(at + re.escape(expected), sse(c, kit, lang)["shown"]["advice"])


def test_advice_with_what_ffmpeg_said_says_it_in_the_page_language() -> None:
    # The raw text stays in the status (the CLI, the log); the page gets a message
    # (kit.said; its table: tests/unit/test_said.py).
    parts = _i18n(Status(State.KEY_REJECTED, "End of file"), [], None)["advice"]
    assert parts == [said.CLOSED().as_dict(), ADVICE[State.KEY_REJECTED]().as_dict()]
    sv = " ".join(render_dict(p, SV) for p in parts)
    assert sv == SV["error.said.closed"] + " " + SV["error.advice.key_rejected"]
    only = _i18n(Status(State.CAMERA_FAILED, ADVICE[State.CAMERA_FAILED].text), [], None)
    assert [p["id"] for p in only["advice"]] == ["advice.camera_failed"]
    assert _i18n(Status(State.IDLE), [], None) == {}


def wait_hotspot(kit: Kit) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while not kit.conductor.status()["hotspot"] and time.monotonic() < deadline:
        time.sleep(0.02)
    return kit.conductor.status()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_hotspot_in_simulation_in_the_page_language(kit: Kit, lang: str) -> None:
    kit.conductor.long_hold()
    st = wait_hotspot(kit)
    assert st["hotspot"] == "no hotspot here (simulation)"
    c, _ = logged_in(kit)
    page = c.get("/", headers=HEADERS[lang]).text
    shown = CATALOGUES[lang]["error.status.hotspot_none"]
    assert f"<strong>{CATALOGUES[lang]['home.hotspot']}</strong> <span>{shown}</span>" in page
    assert sse(c, kit, lang)["shown"]["hotspot"] == shown


@pytest.mark.parametrize(
    ("opens", "english", "swedish"),
    [
        (lambda: "http://10.42.0.1:8080/", "open: join it and visit http://10.42.0.1:8080/",
         "öppen: anslut till den och besök http://10.42.0.1:8080/"),
        (lambda: throw(hotspot.HotspotError(hotspot.NO_NMCLI())),
         "could not open: NetworkManager (nmcli) is not installed: no hotspot",
         "kunde inte öppnas: NetworkManager (nmcli) är inte installerat: ingen surfzon"),
        (lambda: throw(RuntimeError("odd")), "could not open: odd",
         "kunde inte öppnas: odd"),
    ],
)  # fmt: skip
def test_the_hotspot_outcome_in_swedish(
    kit: Kit, opens: Callable[[], str], english: str, swedish: str
) -> None:
    kit.conductor._p.open_hotspot = opens
    kit.conductor.long_hold()
    st = wait_hotspot(kit)
    assert st["hotspot"] == english
    c, _ = logged_in(kit)
    assert sse(c, kit, "sv")["shown"]["hotspot"] == swedish


# -- the Wi-Fi screen's errors ---------------------------------------------------------------


class StubNmcli(wifi.Nmcli):
    def __init__(self, code: int | None, stderr: str = "nmcli's own words, password included",
                 stdout: str | None = None) -> None:  # fmt: skip
        super().__init__("nmcli")
        self.code, self.stderr, self.stdout = code, stderr, stdout

    def available(self) -> bool:
        return self.code is not None

    def run(self, argv: Any, timeout: float | None = None) -> str:
        if self.stdout is not None:
            return self.stdout
        raise wifi.NmcliError(self.code or 0, self.stderr)


def wifi_with(code: int | None) -> wifi.Wifi:
    w = wifi.Wifi(nmcli="nmcli", iw=None)
    w.nmcli = StubNmcli(code)
    return w


def hotspot_with(code: int | None) -> hotspot.Hotspot:
    h = hotspot.Hotspot()
    h.nmcli = StubNmcli(code)
    return h


# The real nmcli's words (NetworkManager 1.42, tests/integration/test_networkmanager.py).
NO_DEVICE = "Error: No Wi-Fi device found.\n"
NOT_WIFI = "Error: Device 'wlan0' is not a Wi-Fi device.\n"
REFUSED_DOWN = "Connection 'kit-hotspot' deactivation failed: Not authorized to deactivate\n"


def refused_close() -> bool:
    h = hotspot.Hotspot()
    h.nmcli = StubNmcli(0, stdout=REFUSED_DOWN)
    h.is_active = lambda: True  # type: ignore[method-assign]
    return h.stop()


def _with(owner: Any, nmcli: StubNmcli) -> Any:
    owner.nmcli = nmcli
    return owner


def setup(tmp: Path, can_change: Callable[[], bool] = lambda: True) -> wifisetup.WifiSetup:
    return wifisetup.WifiSetup(wifi_with(3), None, can_change, settle_s=0)


def password_file(tmp: Path, text: str | None) -> Path:
    path = tmp / "hotspot-password"
    if text is not None:
        path.write_text(text)
    return path


def failed_job(tmp: Path) -> wifisetup.Job:
    s = wifisetup.WifiSetup(wifi_with(3), hotspot_with(3), lambda: True, settle_s=0)
    s.connections = lambda active=False: []  # type: ignore[method-assign]
    s.wifi.join = mock.Mock(side_effect=KeyError("a bug"))  # type: ignore[method-assign]
    s.join("Home", None)
    done = s.wait(5)
    assert done is not None
    return done


WIFI_ERRORS: list[tuple[Callable[[Path], Any], str, dict[str, Any]]] = [
    (lambda tmp: wifi.check_ssid(""), "wifi.ssid_empty", {}),
    (lambda tmp: wifi.check_ssid("x" * 33), "wifi.ssid_long", {"size": "33"}),
    (lambda tmp: wifi.check_ssid("two\nlines"), "wifi.ssid_control", {}),
    (lambda tmp: wifi.check_password("pässwörd-1"), "wifi.password_chars", {}),
    (lambda tmp: wifi.check_password("short"), "wifi.password_short", {"n": "5"}),
    (lambda tmp: wifi.check_password("p" * 65), "wifi.password_long", {"n": "65"}),
    (lambda tmp: wifi.forget_argv(""), "wifi.name_bad", {}),
    (lambda tmp: wifi_with(None).join("Home"), "wifi.no_nmcli", {}),
    (lambda tmp: wifi_with(3).scan(), "wifi.nm_timeout", {}),
    (lambda tmp: wifi_with(4).join("Home", "password1"), "wifi.join_refused", {}),
    (lambda tmp: wifi_with(8).scan(), "wifi.nm_not_running", {}),
    (lambda tmp: wifi_with(10).join("Home"), "wifi.no_such_network", {}),
    (lambda tmp: wifi_with(1).forget("Home"), "wifi.nmcli_failed", {"code": "1"}),
    (lambda tmp: throw(wifi.WifiError(wifi.SIMULATION())), "wifi.simulation", {}),
    (lambda tmp: hotspot_with(4)._run(["x"], 1), "wifi.hotspot_failed", {}),
    (lambda tmp: hotspot_with(10)._run(["x"], 1), "wifi.no_wifi_device", {}),
    (lambda tmp: hotspot_with(None)._run(["x"], 1), "wifi.hotspot_no_nmcli", {}),
    (lambda tmp: _with(wifi.Wifi(nmcli="nmcli", iw=None), StubNmcli(1, NO_DEVICE)).join("Home"),
     "wifi.no_device", {}),
    (lambda tmp: _with(hotspot.Hotspot(), StubNmcli(1, NOT_WIFI))._run(["x"], 1),
     "wifi.no_wifi_device", {}),
    (lambda tmp: refused_close(), "wifi.hotspot_not_closed", {}),
    (lambda tmp: hotspot.read_password(password_file(tmp, None)),
     "wifi.hotspot_password_missing", {"path": "*"}),
    (lambda tmp: hotspot.read_password(tmp), "wifi.hotspot_password_unreadable", {"path": "*"}),
    (lambda tmp: hotspot.read_password(password_file(tmp, "short\n")),
     "wifi.hotspot_password_invalid", {"path": "*"}),
    (lambda tmp: setup(tmp, can_change=lambda: False).scan(), "wifi.busy_live", {}),
    (lambda tmp: throw(wifisetup.Busy(wifisetup.BUSY_JOB())), "wifi.busy_job", {}),
    (lambda tmp: setup(tmp).forget("Home"), "wifi.nm_silent", {}),
    (lambda tmp: wifisetup.WifiSetup(wifi_with(3), None, lambda: True).close_hotspot(),
     "wifi.no_hotspot", {}),
    (lambda tmp: throw(wifi.WifiError(failed_job(tmp).reason)),  # type: ignore[arg-type]
     "wifi.internal_error", {}),
]  # fmt: skip


@pytest.mark.parametrize(("make", "id", "values"), WIFI_ERRORS, ids=[r[1] for r in WIFI_ERRORS])
def test_a_wifi_error_carries_its_id_and_says_it_in_swedish(
    tmp_path: Path, make: Callable[[Path], Any], id: str, values: dict[str, Any]
) -> None:
    with pytest.raises(wifi.WifiError) as caught:
        make(tmp_path)
    e = caught.value
    assert e.id == id and str(e) == str(e.message) == render(e.message, EN)
    assert {k: "*" if values.get(k) == "*" else v for k, v in e.message.params.items()} == values
    sv = render(e.message, SV)
    assert sv == SV["error." + id].format(**e.message.params) and sv != str(e)
    assert "password included" not in str(e) + sv  # nmcli's own text is never passed on


def test_unknown_name_is_refused_in_swedish(tmp_path: Path) -> None:
    s = setup(tmp_path)
    s.connections = lambda active=False: []  # type: ignore[method-assign]
    with pytest.raises(wifi.WifiError) as caught:
        s.forget("Home")
    assert caught.value.id == "wifi.unknown_name"
    assert render(caught.value.message, SV) == "kitet har inget sparat nätverk med det namnet"


# -- every id is in a table here or in tests/unit/test_messages_i18n.py ---------------------

OTHER_IDS = {
    "wifi.unknown_name",  # test_unknown_name_is_refused_in_swedish
    # tests/unit/test_settings.py::test_the_page_says_the_settings_were_damaged_in_its_language
    "settings.damaged",
    "settings.damaged_no_copy",
    # the page's microphone meter: tests/unit/test_web_mic_light.py
    # ::test_the_meter_and_gain_say_simulation_and_busy_in_swedish
    "mic.simulated",
    "mic.busy",
    *(f"status.{w}" for w in ("microphone_missing", "network_behind", "hotspot_open",
                              "hotspot_none", "hotspot_failed", "recording_disk_full",
                              "recording_folder_gone")),  # the home page tests
    *(f"advice.{s.value}" for s in ADVICE),  # each rendered in test_every_advice_in_swedish
    *(t.id for t in said.MESSAGES),  # tests/unit/test_said.py
}  # fmt: skip


def nested_ids(message: Message) -> set[str]:
    ids = {message.id}
    for _, v in message.values:
        for x in v if isinstance(v, tuple) else (v,):
            if isinstance(x, Message):
                ids |= nested_ids(x)
    return ids


def covered() -> set[str]:
    """The ids whose Swedish this file checks (a row's nested messages included)."""
    ids = set(OTHER_IDS) | {r[1] for r in WIFI_ERRORS} | {r[2] for r in PASSWORD_RULES}
    for make, _, _ in CHECK_RESULTS:
        ids |= nested_ids(make().said)  # type: ignore[arg-type]
    return ids


@pytest.mark.parametrize("state", sorted(ADVICE, key=lambda s: s.value))
def test_every_advice_in_swedish(state: State) -> None:
    said = ADVICE[state]()
    assert str(said) == ENGLISH_ADVICE[state]
    assert render(said, SV) == SV["error.advice." + state.value] != str(said)
