"""Person ids are stable: they survive re-runs while their events stay together; merges and splits are recorded."""

from stayledger.identity.person_ids import assign_person_ids


def test_first_run_mints_one_id_per_cluster():
    result = assign_person_ids({"a": "k1", "b": "k1", "c": "k2"}, {}, "run")
    assert result.person_of["a"] == result.person_of["b"] != result.person_of["c"]
    assert result.changes == []


def test_ids_survive_a_rerun_with_the_same_clusters_even_if_cluster_keys_change():
    first = assign_person_ids({"a": "k1", "b": "k1", "c": "k2"}, {}, "run").person_of
    second = assign_person_ids({"a": "x9", "b": "x9", "c": "x3"}, first, "run").person_of
    assert second == first


def test_a_new_event_joining_a_person_keeps_that_persons_id():
    first = assign_person_ids({"a": "k1", "b": "k1"}, {}, "run").person_of
    second = assign_person_ids({"a": "k1", "b": "k1", "new": "k1"}, first, "run")
    assert second.person_of["new"] == first["a"]
    assert second.changes == []


def test_merge_keeps_the_larger_persons_id_and_records_the_merge():
    first = assign_person_ids({"a": "k1", "b": "k1", "c": "k2"}, {}, "run").person_of
    second = assign_person_ids({"a": "m", "b": "m", "c": "m"}, first, "linked by review")
    assert set(second.person_of.values()) == {first["a"]}
    (change,) = second.changes
    assert change.change == "merge" and change.person_id == first["a"] and change.other_person_id == first["c"]
    assert change.reason == "linked by review"


def test_split_keeps_the_id_on_the_larger_part_and_records_the_split():
    first = assign_person_ids({"a": "k", "b": "k", "c": "k"}, {}, "run").person_of
    second = assign_person_ids({"a": "k1", "b": "k1", "c": "k2"}, first, "cannot-link")
    assert second.person_of["a"] == first["a"] and second.person_of["c"] != first["a"]
    (change,) = second.changes
    assert change.change == "split" and change.person_id == first["a"] and change.events_moved == 1


def test_new_ids_never_reuse_an_id_in_use():
    first = assign_person_ids({"a": "k"}, {}, "run").person_of
    second = assign_person_ids({"a": "k", "b": "j"}, first, "run").person_of
    assert second["b"] != second["a"]
