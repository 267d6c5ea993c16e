"""The cycle collector is paused only while a batch builds its objects, and its state comes back however it ends."""

from __future__ import annotations

import gc

import pytest

from stayledger.bulk_objects import cycle_collector_paused


def test_the_collector_is_paused_inside_and_back_after() -> None:
    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error() -> None:
    with pytest.raises(ZeroDivisionError):
        with cycle_collector_paused():
            1 / 0
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
