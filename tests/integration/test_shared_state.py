"""The service's shared state (rate-limit counters, console sessions): the same contract in memory and in
PostgreSQL, where two stores (two workers) on one ledger see one state."""

from __future__ import annotations

import time

import pytest

from stayledger.storage.memory import MemoryStore
from stayledger.storage.postgres import PostgresStore


@pytest.fixture(params=["memory", "postgresql"])
def states(request):
    """Two handles on the state of one ledger (one process: the same object; PostgreSQL: two stores)."""
    if request.param == "memory":
        state = MemoryStore().shared_state()
        yield state, state
        return
    url = request.getfixturevalue("pg_url")
    stores = [PostgresStore(url), PostgresStore(url)]
    yield stores[0].shared_state(), stores[1].shared_state()
    for store in stores:
        store.close()


def test_a_limit_counts_every_handle_and_keeps_keys_apart(states):
    one, other = states
    assert [one.allow("client:a", 3, 60), other.allow("client:a", 3, 60), one.allow("client:a", 3, 60)] == [True] * 3
    assert not other.allow("client:a", 3, 60) and not one.allow("client:a", 3, 60)
    assert one.allow("client:b", 3, 60)  # another address has its own count


def test_limits_in_turn_count_up_to_the_first_that_refuses_and_name_it(states):
    one, other = states
    assert one.allow_each([("client:c", 2), ("document:d", 3)], 60) is None
    assert other.allow_each([("client:c", 2), ("document:d", 3)], 60) is None
    # the address is spent: the document is not counted for a request its address's limit refused
    assert one.allow_each([("client:c", 2), ("document:d", 3)], 60) == "client:c"
    assert other.allow_each([("client:e", 5), ("document:d", 3)], 60) is None  # the document's third
    assert one.allow_each([("client:e", 5), ("document:d", 3)], 60) == "document:d"
    assert [one.allow("client:e", 5, 60) for _ in range(4)] == [True, True, True, False]  # the refused one counted
    assert one.allow_each([("client:f", 1), ("client:f", 1)], 60) == "client:f"  # one key twice: counted twice
    assert one.allow_each([], 60) is None


def test_a_limit_lets_requests_through_again_once_the_window_has_passed(states):
    one, other = states
    assert one.allow("document:x", 1, 0.5) and not other.allow("document:x", 1, 0.5)
    time.sleep(1.05)  # two windows later nothing of the first counts
    assert other.allow("document:x", 1, 0.5)


def test_a_session_is_found_by_its_key_until_dropped_or_expired(states):
    one, other = states
    one.save_session("secret-key", {"name": "officer-7", "role": "officer"}, 60)
    one.save_session("short", {"name": "reviewer-1", "role": "reviewer"}, 0.2)
    assert other.session("secret-key") == {"name": "officer-7", "role": "officer"}
    assert other.session("unknown") is None
    time.sleep(0.3)
    assert other.session("short") is None
    other.drop_session("secret-key")
    assert one.session("secret-key") is None
