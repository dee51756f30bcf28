"""Counts on the page in the right number, in English and Swedish: "<key>.one" for one."""

from __future__ import annotations

import pytest

from kit.api.web import Catalogue, web_root
from kit.report_chart import chart
from kit.store import Sample

CATALOGUE = Catalogue(web_root() / "i18n")


@pytest.mark.parametrize(
    ("key", "lang", "n", "said"),
    [
        ("recordings.markers", "en", 0, "0 highlights"),
        ("recordings.markers", "en", 1, "1 highlight"),
        ("recordings.markers", "en", 2, "2 highlights"),
        ("recordings.markers", "sv", 1, "1 höjdpunkt"),
        ("recordings.markers", "sv", 2, "2 höjdpunkter"),
        ("report.says.highlights", "en", 1, "You marked 1 highlight."),
        ("report.says.highlights", "en", 3, "You marked 3 highlights."),
        ("report.says.highlights", "sv", 1, "Du markerade 1 höjdpunkt."),
        ("report.says.highlights", "sv", 3, "Du markerade 3 höjdpunkter."),
        ("report.says.reconnects", "en", 1, "The connection dropped once;"),
        ("report.says.reconnects", "sv", 1, "Anslutningen bröts en gång;"),
        ("report.says.reconnects", "en", 2, "The connection dropped 2 times;"),
        ("report.says.drops", "en", 1, "1 frame was dropped."),
        ("report.says.drops", "sv", 1, "1 bild tappades."),
        ("report.says.drops", "sv", 5, "5 bilder tappades."),
        ("report.chart.dropped", "en", 1, "1 frame dropped"),
        ("report.chart.dropped", "sv", 4, "4 bilder tappade"),
    ],
)  # fmt: skip
def test_one_and_many(key: str, lang: str, n: int, said: str) -> None:
    # A sentence may go on past what is checked here (the reconnects' second half).
    assert CATALOGUE.get(lang, key, n=n).startswith(said)


def test_every_singular_has_its_plural_in_both_languages() -> None:
    for lang in ("en", "sv"):
        for key in CATALOGUE._strings[lang]:
            if key.endswith(".one"):
                assert key.removesuffix(".one") in CATALOGUE._strings[lang], key


def test_the_charts_drop_label_counts_one_frame_as_one() -> None:
    labels = {"dropped": "{n} frames dropped", "dropped.one": "1 frame dropped"}
    samples = [
        Sample(at_s=0.0, bitrate_kbps=2500, dropped_frames=0, reconnects=0, temperature_c=None),
        Sample(at_s=5.0, bitrate_kbps=2500, dropped_frames=1, reconnects=0, temperature_c=None),
        Sample(at_s=10.0, bitrate_kbps=2500, dropped_frames=4, reconnects=0, temperature_c=None),
    ]
    svg = chart(samples, [], 10.0, labels)
    assert "<title>1 frame dropped</title>" in svg
    assert "<title>3 frames dropped</title>" in svg
