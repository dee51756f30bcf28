"""What ffmpeg, the OS or the server said, mapped to messages (kit.said), and the page's
advice built from them (kit.daemon._i18n): nothing of it reaches the Swedish page in English,
and the raw text stays in the status for the log, the CLI and the API."""

from __future__ import annotations

import json

import pytest

import kit.api.web
from kit import said
from kit.daemon import ADVICE, _i18n
from kit.machine import State, Status
from kit.messages import render, render_dict

CATALOGUES = {
    lang: json.loads((kit.api.web.web_root() / "i18n" / f"{lang}.json").read_text("utf-8"))
    for lang in ("en", "sv")
}
SV = CATALOGUES["sv"]

# (what ffmpeg, the OS or the server said, the message id, its values)
TABLE = [
    # the fifo's "Error opening rtmp://...: <av_strerror>", as the push tracker keeps it
    ("End of file", "said.closed", {}),
    ("Connection reset by peer", "said.closed", {}),
    ("Broken pipe", "said.closed", {}),
    ("Connection refused", "said.refused", {}),
    ("Connection timed out", "said.timed_out", {}),
    ("Operation timed out", "said.timed_out", {}),
    ("Network is unreachable", "said.no_route", {}),
    ("No route to host", "said.no_route", {}),
    ("Failed to resolve hostname push.example.com: Name or service not known", "said.no_name",
     {}),
    ("Temporary failure in name resolution", "said.no_name", {}),
    ("Input/output error", "said.broke_off", {}),
    ("I/O error", "said.broke_off", {}),
    ("No space left on device", "said.disk_full", {}),
    ("No such file or directory", "said.no_file", {}),
    ("cannot open audio device plughw:CARD=Mic,DEV=0 (No such device)", "said.no_device", {}),
    ("Device or resource busy", "said.device_busy", {}),
    ("Permission denied", "said.permission", {}),
    ("Cannot allocate memory", "said.no_memory", {}),
    ("Server returned 404 Not Found", "said.http", {"status": "404"}),
    ("Server returned 4XX Client Error, but not one of 40{0,1,3,4}", "said.http",
     {"status": "4XX"}),
    ("Server returned 5XX Server Error reply", "said.http", {"status": "5XX"}),
    ("Unable to read handshake", "said.not_rtmp", {}),
    ("RTMP handshake failed", "said.not_rtmp", {}),
    ("RTMP_ReadPacket, failed to read RTMP packet header", "said.not_rtmp", {}),
    ("error:0A00010B:SSL routines::wrong version number", "said.tls", {}),
    ("The TLS connection was non-properly terminated.", "said.tls", {}),
    ("Error in the pull function.", "said.tls", {}),
    ("A TLS fatal alert has been received.", "said.tls", {}),
    ("The certificate is NOT trusted. The certificate issuer is unknown.", "said.certificate",
     {}),
    ("error:0A000086:SSL routines::certificate verify failed", "said.certificate", {}),
    ("Already publishing", "said.already_publishing", {}),
    ("NetStream.Publish.BadName", "said.server_refused", {}),
    ("Authentication Failed", "said.server_refused", {}),
    ("RTMP publish refused", "said.server_refused", {}),
    ("Invalid data found when processing input", "said.unreadable", {}),
    ("the server did not answer", "said.no_answer", {}),  # kit.media.push's own words
    # what no rule knows: the caller's fallback
    ("Something ffmpeg 7 says now", "said.encoder", {}),
    ("", "said.encoder", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "id", "values"), TABLE, ids=[r[0] or "empty" for r in TABLE])
def test_what_ffmpeg_said_becomes_a_message_in_both_languages(
    text: str, id: str, values: dict[str, str]
) -> None:
    m = said.explain(text)
    assert (m.id, m.params) == (id, values)
    assert render(m, CATALOGUES["en"]) == str(m)
    assert render(m, SV) == SV["error." + id].format(**values) != str(m)
    assert text not in render(m, SV) or not text


def test_every_message_of_the_module_is_in_the_table_and_ends_a_sentence() -> None:
    assert {t.id for t in said.MESSAGES} == {row[1] for row in TABLE} | {"said.see_log"}
    for t in said.MESSAGES:
        assert t.text.endswith("."), t.id


def test_its_own_english_is_recognised_again() -> None:
    # A status message that already is one of these sentences keeps its id.
    for t in said.MESSAGES:
        values = {k: "404" for k in ("status",) if "{status}" in t.text}
        assert said.explain(str(t(**values))) == t(**values)


def test_the_fallback_is_the_callers() -> None:
    assert said.explain("gibberish", said.SEE_LOG).id == "said.see_log"


@pytest.mark.parametrize(
    ("state", "raw", "detail_id"),
    [
        (State.KEY_REJECTED, "End of file", "said.closed"),
        (State.KEY_REJECTED, "Already publishing", "said.already_publishing"),
        (State.KEY_REJECTED, "Something new", "said.see_log"),
        (State.SERVER_UNREACHABLE, "Connection refused", "said.refused"),
        (State.SERVER_UNREACHABLE, "Something new", "said.encoder"),
        (State.PIPELINE_FAILED, "Invalid argument", "said.encoder"),
        (State.PIPELINE_FAILED, "No space left on device", "said.disk_full"),
        (State.MICROPHONE_FAILED, "microphone: cannot open audio device (No such device)",
         "said.no_device"),
        (State.CAMERA_FAILED, "The camera process ended, and again after 3 restarts.",
         "said.see_log"),
    ],
)  # fmt: skip
def test_the_advice_says_what_went_wrong_in_the_page_language(
    state: State, raw: str, detail_id: str
) -> None:
    parts = _i18n(Status(state, raw), [], None)["advice"]
    assert [p["id"] for p in parts] == [detail_id, f"advice.{state.value}"]
    sv = " ".join(render_dict(p, SV) for p in parts)
    assert raw not in sv
    assert sv.endswith(SV[f"error.advice.{state.value}"])
    # The English advice (the CLI, the API) still carries the raw text.
    assert Status(state, raw).message == raw


def test_the_advice_alone_when_nothing_more_was_said() -> None:
    only = _i18n(Status(State.CAMERA_FAILED, ADVICE[State.CAMERA_FAILED].text), [], None)
    assert [p["id"] for p in only["advice"]] == ["advice.camera_failed"]
    assert _i18n(Status(State.IDLE), [], None) == {}


@pytest.mark.parametrize(
    ("end", "key"),
    [
        ("stopped", "report.says.end.stopped"),
        ("key_rejected", "report.says.end.key_rejected"),
        ("interrupted", "report.says.end.interrupted"),
        # a failure's kind, as the conductor records it (machine.Failure's value)
        ("camera", "report.says.end.camera_failed"),
        ("microphone", "report.says.end.microphone_failed"),
        ("pipeline", "report.says.end.pipeline_failed"),
        ("stopping", "report.says.end.stopped"),
        ("live", "report.says.end.pipeline_failed"),  # ffmpeg ended by itself while on air
        ("warp_core_breach", "report.says.end.other"),
    ],
)
def test_the_report_says_how_it_ended_in_words_never_the_raw_state(end: str, key: str) -> None:
    from kit.api import history

    assert history.end_words(end) == (key, {})
    for lang, catalogue in CATALOGUES.items():
        text = catalogue[key]
        assert "_" not in text and "{" not in text and f"({end})" not in text, (lang, text)
    assert SV[key] != CATALOGUES["en"][key]
