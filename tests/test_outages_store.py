"""The planner's outage lists and files in the store (issue 19), on both databases."""

from __future__ import annotations

import pytest

from locator.store import VersionConflict
from locator.store.planner import OutageEntry

pytestmark = pytest.mark.backends

KYIV, LVIV = "Київська область", "Львівська область"


def test_no_list_before_the_first_save(store):
    current = store.planner.current_outages()
    assert (current.id, current.at, current.author, current.entries) == (0, None, "", ())


def test_each_save_is_a_new_list_with_its_time_and_author(store):
    twice = [OutageEntry(KYIV, "Бровари"), OutageEntry(LVIV), OutageEntry(KYIV, "Бровари")]
    first = store.planner.save_outages(twice, by="olena", expected=0)
    assert first.id > 0 and first.author == "olena" and first.at is not None
    assert first.entries == (OutageEntry(KYIV, "Бровари"), OutageEntry(LVIV, ""))  # duplicates once
    second = store.planner.save_outages([OutageEntry(KYIV)], by="taras", expected=first.id)
    assert second.id > first.id
    assert store.planner.current_outages() == second
    history = store.planner.outage_history()
    assert [(h["author"], h["entries"]) for h in history] == [("taras", 1), ("olena", 2)]


def test_a_save_from_an_old_list_is_refused_and_writes_nothing(store):
    first = store.planner.save_outages([OutageEntry(KYIV)], by="olena", expected=0)
    with pytest.raises(VersionConflict):
        store.planner.save_outages([OutageEntry(LVIV)], by="taras", expected=0)
    assert store.planner.current_outages() == first


def test_an_empty_list_clears_the_outages(store):
    first = store.planner.save_outages([OutageEntry(KYIV)], by="olena", expected=0)
    cleared = store.planner.save_outages([], by="olena", expected=first.id)
    assert cleared.entries == () and cleared.id > first.id


def test_planner_files_are_kept_per_user_and_kind(store):
    rows = [{"name": "Школа №1", "lat": 50.5, "lon": 30.5, "region": KYIV}]
    store.planner.save_file(1, "sites", "schools.csv", rows, by="olena")
    assert store.planner.planner_file(2, "sites") is None
    assert store.planner.planner_file(1, "settlements") is None
    kept = store.planner.planner_file(1, "sites")
    assert (kept.name, kept.author, kept.rows) == ("schools.csv", "olena", rows)
    store.planner.save_file(1, "sites", "fuel.csv", rows[:0], by="olena")
    assert store.planner.planner_file(1, "sites").name == "fuel.csv"
    assert store.planner.drop_file(1, "sites") is True
    assert store.planner.planner_file(1, "sites") is None
    with pytest.raises(ValueError):
        store.planner.save_file(1, "passwords", "x.csv", rows, by="olena")
