"""kit.secret: masking, redaction, and a wrapper that never prints its value."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from kit.secret import Secret, mask, redact


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("a", "••••"),
        ("12345678", "••••"),  # 8 or fewer: the last 4 would be half the secret
        ("123456789", "••••6789"),
        ("stream-7311111111111111111?expire=1790000000&sign=0123abcd", "••••abcd"),
    ],
    ids=["empty", "one-char", "eight-chars", "nine-chars", "tiktok-key"],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked


KEY = "live_a/b?c=d&e:f+SECRETMARKER1234"


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (f"playpath {KEY} ok", [KEY], "playpath ••••1234 ok"),
        (f"url {quote(KEY, safe='')} ok", [KEY], "url ••••1234 ok"),
        (f"url {quote(KEY, safe='/:?&=')} ok", [KEY], "url ••••1234 ok"),
        (f"{KEY}|{KEY}", [KEY], "••••1234|••••1234"),
        ("nothing secret here", [KEY], "nothing secret here"),
        ("abc", [""], "abc"),
        ("one=FIRSTSECRET1 two=SECONDSECRET2", ["FIRSTSECRET1", "SECONDSECRET2"],
         "one=••••RET1 two=••••RET2"),
        (r"escaped a\\\:b:SECRETMARKERx", [r"a\\\:b:SECRETMARKERx"], "escaped ••••KERx"),
    ],
    ids=["plain", "url-encoded", "url-encoded-safe-chars", "twice", "absent",
         "empty-secret", "two-secrets", "backslash-form"],
)  # fmt: skip
def test_redact(text: str, secrets: list[str], expected: str) -> None:
    assert redact(text, *secrets) == expected


VALUE = "stream-SECRETMARKER-0123456789?sign=abcd"


def _renderings(s: Secret) -> list[str]:
    return [
        str(s),
        repr(s),
        format(s),
        f"{s}",
        f"{s!s}",
        f"{s!r}",
        f"{s=}",
        # The old styles too: logging formats its arguments with '%'.
        "%s" % s,  # noqa: UP031
        "%r" % s,  # noqa: UP031
        "{}".format(s),  # noqa: UP032
        repr([s]),
        str({"key": s}),
    ]


def test_secret_never_prints_its_value() -> None:
    s = Secret(VALUE)
    for text in _renderings(s):
        assert "SECRETMARKER" not in text, text
    assert str(s) == "••••abcd"
    assert repr(s) == "Secret('••••abcd')"


def test_secret_format_spec_does_not_leak() -> None:
    s = Secret(VALUE)
    try:
        text = f"{s:>60}"
    except TypeError:
        text = ""  # refusing the format is fine too
    assert "SECRETMARKER" not in text


def test_secret_in_log_record(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("key is %s, or %r", Secret(VALUE), Secret(VALUE))
    assert "SECRETMARKER" not in caplog.text
    assert "••••abcd" in caplog.text


def test_secret_reveal_and_value_semantics() -> None:
    s = Secret(VALUE)
    assert s.reveal() == VALUE
    assert s == Secret(VALUE)
    assert s != Secret(VALUE + "x")
    assert s != VALUE  # never equal to the bare string: no accidental comparisons
    assert hash(s) == hash(Secret(VALUE))
    assert bool(s) and not bool(Secret(""))
    assert not hasattr(s, "__dict__")  # no vars(s) way around reveal()
