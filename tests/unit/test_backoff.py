"""kit.media.backoff: restart delays grow x1.5 from 2 s, jittered, capped."""

from __future__ import annotations

import pytest

from kit.media.backoff import Backoff


def _delays(b: Backoff, n: int) -> list[float]:
    return [b.next() for _ in range(n)]


def test_growth_without_jitter_until_capped() -> None:
    # rand() = 0.5 is the middle of the jitter range: no jitter at all.
    b = Backoff(rand=lambda: 0.5)
    assert _delays(b, 10) == pytest.approx(
        [2.0, 3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0, 30.0, 30.0]
    )


@pytest.mark.parametrize(
    ("rand", "expected"),
    [(0.0, [1.6, 2.4, 3.6]), (1.0, [2.4, 3.6, 5.4]), (0.75, [2.2, 3.3, 4.95])],
    ids=["rand-0-is-minus-20pc", "rand-1-is-plus-20pc", "rand-0.75-is-plus-10pc"],
)
def test_jitter_bounds(rand: float, expected: list[float]) -> None:
    assert _delays(Backoff(rand=lambda: rand), 3) == pytest.approx(expected)


def test_jitter_never_exceeds_cap() -> None:
    b = Backoff(rand=lambda: 1.0)
    delays = _delays(b, 12)
    assert max(delays) == pytest.approx(30.0)
    assert delays[-1] == pytest.approx(30.0)


def test_jitter_below_cap_at_the_cap() -> None:
    # Capped delays still spread downwards, so many kits do not restart in step.
    b = Backoff(rand=lambda: 0.0)
    assert _delays(b, 12)[-1] == pytest.approx(24.0)


def test_jitter_does_not_compound() -> None:
    # The jitter of one delay must not feed into the base of the next.
    rands = iter([1.0, 0.5, 0.5])
    assert _delays(Backoff(rand=lambda: next(rands)), 3) == pytest.approx([2.4, 3.0, 4.5])


def test_reset_starts_again_from_first() -> None:
    b = Backoff(rand=lambda: 0.5)
    _delays(b, 5)
    b.reset()
    assert _delays(b, 3) == pytest.approx([2.0, 3.0, 4.5])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({"first": 1.0, "factor": 2.0, "cap": 5.0}, [1.0, 2.0, 4.0, 5.0, 5.0]),
     ({"first": 0.5, "factor": 1.0}, [0.5, 0.5, 0.5, 0.5, 0.5])],
    ids=["double-cap-5", "constant"],
)  # fmt: skip
def test_parameters(kwargs: dict[str, float], expected: list[float]) -> None:
    assert _delays(Backoff(rand=lambda: 0.5, **kwargs), 5) == pytest.approx(expected)


def test_default_rand_stays_within_bounds() -> None:
    b = Backoff()
    for base in [2.0, 3.0, 4.5]:
        assert base * 0.8 <= b.next() <= base * 1.2
