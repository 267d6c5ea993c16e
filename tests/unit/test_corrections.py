from stayledger.domain.corrections import effective_events
from stayledger.domain.events import parse_event

BASE = {"kind": "departure", "occurred_on": "2024-03-01", "source": "carrier", "surname": "DOE",
        "date_of_birth": "1980", "nationality": "GBR"}


def test_a_chain_of_corrections_leaves_only_the_last_in_effect():
    a = parse_event({**BASE, "event_id": "a"})
    b = parse_event({**BASE, "event_id": "b", "corrects": "a", "occurred_on": "2024-03-02"})
    c = parse_event({**BASE, "event_id": "c", "corrects": "b", "occurred_on": "2024-03-03"})
    other = parse_event({**BASE, "event_id": "z"})
    assert [e.event_id for e in effective_events([a, b, c, other])] == ["c", "z"]


def test_an_event_cannot_correct_itself():
    import pytest

    from stayledger.errors import InvalidRecord

    with pytest.raises(InvalidRecord):
        parse_event({**BASE, "event_id": "a", "corrects": "a"})
