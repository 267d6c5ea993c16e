"""The traveller answer floor follows the found lookups: it covers their slow tail, under any load, and no more."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayledger.api.answer_floor import AnswerFloor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_until_enough_found_lookups_are_seen_it_holds_at_the_start_or_above_every_one_of_them():
    clock = Clock()
    floor = AnswerFloor(0.025, clock=clock)
    assert floor.seconds() == 0.1
    for _ in range(10):
        floor.found_took(0.004)
    assert floor.seconds() == 0.1  # ten quick ones say little: not lowered yet
    for _ in range(10):
        floor.found_took(0.2)
    assert floor.seconds() == pytest.approx(0.25)  # 1.25 times the slowest: 20 seen


def test_it_follows_the_found_lookups_99th_percentile_down_to_the_least_and_up_to_the_most():
    clock = Clock()
    floor = AnswerFloor(0.025, clock=clock)
    for i in range(200):
        floor.found_took(0.010 + (i % 100) * 0.0003)  # 10 ms to 39.7 ms
    assert floor.seconds() == pytest.approx(1.25 * 0.0397)
    clock.now += 61  # a minute later those have aged out; quick ones now: never under the least
    for _ in range(30):
        clock.now += 0.1
        floor.found_took(0.002)
    assert floor.seconds() == 0.025
    for _ in range(30):
        floor.found_took(9.0)  # a stalled service: held at the most, not for ever longer
    assert floor.seconds() == 5.0


def test_in_a_quiet_minute_the_last_found_lookups_count_however_old():
    clock = Clock()
    floor = AnswerFloor(0.025, clock=clock)
    for _ in range(50):
        floor.found_took(0.3)
    assert floor.seconds() == pytest.approx(0.375)
    clock.now += 600
    assert floor.seconds() == pytest.approx(0.375)  # none in the last minute: the last 20 seen still say 0.3 s
    for _ in range(10):
        clock.now += 30  # a quiet service: a found lookup now and then
        floor.found_took(0.02)
    assert floor.seconds() == pytest.approx(0.375)  # half of the last 20 are still the slow ones
    for _ in range(10):
        clock.now += 30
        floor.found_took(0.02)
    assert floor.seconds() == 0.025  # 1.25 × 20 ms is under the least


def test_one_lookup_moves_it_only_with_the_next_recomputation():
    clock = Clock()
    floor = AnswerFloor(0.025, clock=clock)
    for _ in range(40):
        floor.found_took(0.02)
    before = floor.seconds()
    floor.found_took(1.0)  # one slow found lookup (a guesser's own, say): nothing shows at once
    assert floor.seconds() == before


def test_a_least_of_zero_turns_it_off_and_a_negative_one_is_refused():
    floor = AnswerFloor(0)
    floor.found_took(0.5)
    assert floor.seconds() == 0.0
    with pytest.raises(ValueError, match="negative"):
        AnswerFloor(-0.1)


def test_a_least_above_the_most_is_kept():
    assert AnswerFloor(6.0).seconds() == 6.0


@given(st.lists(st.floats(min_value=0.0005, max_value=3.0), min_size=20, max_size=600),
       st.floats(min_value=0.01, max_value=0.2))
def test_at_most_one_found_lookup_in_a_hundred_of_the_last_minute_outlasts_the_floor(took, least):
    clock = Clock()
    floor = AnswerFloor(least, clock=clock)
    for seconds in took:
        clock.now += 0.01
        floor.found_took(seconds)
    clock.now += 7  # stale: recomputed on reading, with every one of them
    now = floor.seconds()
    assert least <= now <= 5.0
    if now < 5.0:
        assert sum(1 for seconds in took if seconds > now) <= 0.01 * len(took)
