"""The review queue asks one question per pair of persons, not one per pair of their events."""

from stayledger.storage.base import ReviewItem
from stayledger.usecases.resolve import one_question_per_person_pair

PERSON_OF = {"a1": "P", "a2": "P", "a3": "P", "b1": "Q", "b2": "Q", "c1": "R"}


def test_the_strongest_link_between_two_persons_is_the_one_question():
    grey = [ReviewItem("a1", "b1", 0.6), ReviewItem("a2", "b2", 0.8), ReviewItem("a3", "b1", 0.7), ReviewItem("a1", "c1", 0.55)]
    chosen = one_question_per_person_pair(grey, PERSON_OF, existing=[])
    assert [(i.event_id_l, i.event_id_r) for i in chosen] == [("a2", "b2"), ("a1", "c1")]


def test_a_pair_of_persons_already_asked_or_answered_gets_no_new_question():
    grey = [ReviewItem("a1", "b1", 0.6), ReviewItem("a1", "c1", 0.55)]
    existing = [ReviewItem("a3", "b2", 0.7, status="rejected")]
    chosen = one_question_per_person_pair(grey, PERSON_OF, existing=existing)
    assert [(i.event_id_l, i.event_id_r) for i in chosen] == [("a1", "c1")]


def test_events_not_yet_assigned_are_still_asked_about():
    grey = [ReviewItem("x", "y", 0.6), ReviewItem("x", "z", 0.6)]
    assert len(one_question_per_person_pair(grey, {}, existing=[])) == 2
