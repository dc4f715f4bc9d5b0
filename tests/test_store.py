"""The store on a real SQLite file: schema, imports, versions, history, the change counter, filters."""

from __future__ import annotations

import inspect
import random
import sqlite3

import pytest
from helpers import REGIONS, make_point, random_filter_args, random_points

from locator.domain.filters import PointFilter, parse_filter
from locator.domain.point import Status
from locator.store import NotFoundError, ReportStore, Store, UserStore, VersionConflict
from locator.store.interface import PointsBackend, ReportsBackend, UsersBackend
from locator.store.pg_bulk import BULK_MIN_ROWS
from locator.store.pg_store import PostgresStore

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)


def table_contents(path) -> dict[str, list[tuple]]:
    """Every row of every table, read through a separate connection."""
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(conn.execute(f'SELECT * FROM "{table}"'), key=repr) for table in sorted(tables)}


def test_migrate_is_idempotent_and_keeps_data(store, open_store_again):
    store.import_points([make_point("a"), make_point("b")])
    before = store.all(), store.history("a"), store.change_seq()
    assert store.migrate() == [] and open_store_again().migrate() == []
    assert (store.all(), store.history("a"), store.change_seq()) == before


@pytest.mark.sqlite_only
def test_migrate_leaves_every_sqlite_table_as_it_was(store, db_path):
    store.import_points([make_point("a"), make_point("b")])
    before = table_contents(db_path)
    store.migrate()
    store.migrate()
    Store(db_path).migrate()
    assert table_contents(db_path) == before
    assert {"meta", "points", "history", "deleted_points"} <= set(before)


def test_new_database_is_empty_with_change_counter_at_zero(store):
    assert store.count() == 0
    assert store.all() == []
    assert store.change_seq() == 0
    assert store.changed_since(0)[:3] == (0, [], [])


def test_get_returns_the_stored_point_and_raises_for_unknown_ids(store):
    point = make_point("kyiv-1", capacity=100, note="Вхід з двору")
    store.import_points([point])
    assert store.get("kyiv-1") == point
    with pytest.raises(NotFoundError):
        store.get("nope")


def test_import_counts_added_changed_unchanged_and_removed(store):
    first = store.import_points([make_point("a"), make_point("b"), make_point("c")])
    assert (first.added, first.changed, first.unchanged, first.removed) == (["a", "b", "c"], [], [], [])

    second = store.import_points([make_point("a"), make_point("b", status="closed"), make_point("d")])
    assert (second.added, second.changed, second.unchanged, second.removed) == (["d"], ["b"], ["a"], [])
    assert store.get("c").id == "c"  # without replace, points missing from the file stay

    third = store.import_points([make_point("a"), make_point("b", status="closed")], replace=True)
    assert (third.added, third.changed, third.unchanged, third.removed) == ([], [], ["a", "b"], ["c", "d"])
    assert [p.id for p in store.all()] == ["a", "b"]


def test_a_large_import_and_reimport_keep_every_row_version_and_history(store):
    """Past BULK_MIN_ROWS rows PostgreSQL writes by COPY (store/pg_bulk.py): the same rows,
    versions, history and change counter as row by row."""
    count = BULK_MIN_ROWS + 100
    store.import_points([make_point(f"p{i:04d}", capacity=i) for i in range(count)])
    seq = store.change_seq()
    again = [make_point(f"p{i:04d}", capacity=i, status="closed" if i % 2 else "open") for i in range(count)]
    summary = store.import_points(again, by="import:second")
    assert len(summary.changed) == count // 2 and len(summary.unchanged) == count - count // 2
    assert store.change_seq() == seq + 1
    stored = [(p.id, p.capacity, p.status.value, p.version) for p in store.all()]
    assert stored == [
        (f"p{i:04d}", i, "closed" if i % 2 else "open", 2 if i % 2 else 1) for i in range(count)
    ]
    changes = [(row["field"], row["old"], row["new"]) for row in store.history("p0001")]
    assert ("status", "open", "closed") in changes and len(store.history("p0002")) == 1


def test_version_grows_on_every_change_and_not_on_a_no_op(store):
    store.import_points([make_point("a")])
    assert store.get("a").version == 1
    store.import_points([make_point("a")])
    assert store.get("a").version == 1
    store.import_points([make_point("a", status="full")])
    assert store.get("a").version == 2
    assert store.update("a", {"status": "closed"}, by="op").version == 3
    assert store.update("a", {"status": "closed"}, by="op", verify=False).version == 3
    assert store.get("a").version == 3
    assert store.update("a", {"services": ["water"], "capacity": 10}, by="op").version == 4
    assert store.get("a").version == 4


def test_imported_version_is_ignored_the_store_counts(store):
    store.import_points([make_point("a", version=7)])
    assert store.get("a").version == 1
    store.import_points([make_point("a", version=99, name="Нова назва")])
    assert store.get("a").version == 2


def test_history_records_creation_each_changed_field_and_deletion(store):
    store.import_points([make_point("a", status="open", capacity=50)], by="import:first.geojson")
    store.import_points([make_point("a", status="full", capacity=80)], by="import:second.geojson")
    store.update("a", {"name": "Ліцей №3"}, by="operator:olena", verify=False)
    store.import_points([make_point("b")], replace=True, by="import:third.geojson")

    rows = [(r["field"], r["old"], r["new"], r["by"]) for r in reversed(store.history("a"))]
    assert rows == [
        ("created", None, "open", "import:first.geojson"),
        ("status", "open", "full", "import:second.geojson"),
        ("capacity", "50", "80", "import:second.geojson"),
        ("name", "Пункт a", "Ліцей №3", "operator:olena"),
        ("deleted", None, None, "import:third.geojson"),
    ]
    seqs = [r["seq"] for r in reversed(store.history("a"))]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4  # one seq per write, shared within a write


def test_history_of_a_verified_update_includes_the_confirmation(store):
    store.import_points([make_point("a")])
    before = store.get("a")
    after = store.update("a", {"status": "full", "services": "power,heat,water"}, by="op")
    fields = {r["field"]: (r["old"], r["new"]) for r in store.history("a") if r["field"] != "created"}
    assert fields["status"] == ("open", "full")
    assert fields["services"] == ("power,heat", "power,heat,water")
    assert fields["verified_at"][0] == "2025-01-15T11:00:00Z"
    assert after.verified_at > before.verified_at and after.updated_at > before.updated_at


def test_history_is_newest_first_and_limited(store):
    store.import_points([make_point("a")])
    for capacity in range(1, 6):
        store.update("a", {"capacity": capacity}, by="op", verify=False)
    rows = store.history("a", limit=3)
    assert [r["new"] for r in rows] == ["5", "4", "3"]


def test_update_with_an_old_version_raises_and_writes_nothing(store, db_path):
    store.import_points([make_point("a")])
    store.update("a", {"status": "full"}, by="op")
    before = table_contents(db_path)
    with pytest.raises(VersionConflict) as caught:
        store.update("a", {"status": "closed"}, by="someone else", expected_version=1)
    assert caught.value.point.version == 2
    assert caught.value.point.status is Status.FULL
    assert table_contents(db_path) == before
    assert store.update("a", {"status": "closed"}, by="op", expected_version=2).version == 3


def test_update_of_an_unknown_point_raises_not_found_and_writes_nothing(store, db_path):
    store.import_points([make_point("a")])
    before = table_contents(db_path)
    with pytest.raises(NotFoundError):
        store.update("nope", {"status": "closed"}, by="op")
    assert table_contents(db_path) == before


def test_update_with_an_invalid_value_writes_nothing(store, db_path):
    from locator.domain.validation import ValidationError

    store.import_points([make_point("a")])
    before = table_contents(db_path)
    with pytest.raises(ValidationError):
        store.update("a", {"status": "bogus", "lat": 123}, by="op")
    assert table_contents(db_path) == before


def test_update_ignores_fields_that_are_not_editable(store):
    store.import_points([make_point("a")])
    point = store.update("a", {"id": "b", "version": 50, "status": "full"}, by="op")
    assert (point.id, point.version) == ("a", 2)
    assert [p.id for p in store.all()] == ["a"]


def test_change_seq_moves_on_every_write(store):
    seqs = [store.change_seq()]
    store.import_points([make_point("a"), make_point("b")])
    seqs.append(store.change_seq())
    store.update("a", {"status": "full"}, by="op")
    seqs.append(store.change_seq())
    store.import_points([make_point("c")])
    seqs.append(store.change_seq())
    store.import_points([make_point("c")], replace=True)
    seqs.append(store.change_seq())
    assert seqs == sorted(set(seqs)), seqs


def test_change_seq_is_seen_by_another_connection(store, open_store_again):
    other = open_store_again()
    store.import_points([make_point("a")])
    assert other.change_seq() == store.change_seq() == 1
    other.update("a", {"status": "closed"}, by="op")
    assert store.change_seq() == 2
    assert store.get("a").status is Status.CLOSED


def test_changed_since_returns_changes_and_deletions(store):
    store.import_points([make_point("a"), make_point("b"), make_point("c")])
    seq1 = store.change_seq()
    assert store.changed_since(seq1)[:3] == (seq1, [], [])

    store.update("a", {"status": "full"}, by="op")
    store.import_points([make_point("b"), make_point("a", status="full"), make_point("d")], replace=True)
    current, changed, deleted, _ = store.changed_since(seq1)
    assert current == store.change_seq()
    assert sorted(p.id for p in changed) == ["a", "d"]
    assert {p.id: p for p in changed}["a"] == store.get("a")
    assert deleted == ["c"]

    all_seq, everything, _, _ = store.changed_since(0)
    assert sorted(p.id for p in everything) == ["a", "b", "d"]
    assert all_seq == current


def test_a_deleted_point_that_comes_back_is_a_change_not_a_deletion(store):
    store.import_points([make_point("a"), make_point("b")])
    store.import_points([make_point("a")], replace=True)
    seq = store.change_seq()
    store.import_points([make_point("a"), make_point("b", status="closed")])
    _, changed, deleted, _ = store.changed_since(seq)
    assert [p.id for p in changed] == ["b"] and deleted == []
    _, changed, deleted, _ = store.changed_since(0)
    assert sorted(p.id for p in changed) == ["a", "b"] and deleted == []


def test_points_survive_reopening_the_database(store, open_store_again):
    points = [make_point("a", services="power,heat,sleeping", capacity=5), make_point("b", base=True)]
    store.import_points(points)
    store.dispose()
    assert open_store_again().all() == points


# -- find() against the meaning of a filter ---------------------------------------------------------


@pytest.fixture
def random_store(store):
    rng = random.Random(20250115)
    points = random_points(rng, 500)
    # Make region and text matching interesting: the same names in other cases and apostrophes.
    points += [
        make_point(
            "case-1", region="КИЇВСЬКА ОБЛАСТЬ", settlement="Кам'янець-Подільський", lat=48.7, lon=26.6
        ),
        make_point("case-2", region="київська область", name="ЛІЦЕЙ «ЗНАМʼЯНКА»", lat=48.7, lon=32.7),
        make_point("case-3", region="", name="Пункт без області", lat=50.0, lon=30.0),
    ]
    store.import_points(points)
    return rng, store.all()


def test_find_agrees_with_the_filter_meaning_on_random_filters(store, random_store):
    rng, points = random_store
    assert len(points) == 503
    non_empty = 0
    for _ in range(200):
        args = random_filter_args(rng, points)
        wanted = parse_filter(args)
        expected = [p.id for p in points if wanted.matches(p)]
        assert [p.id for p in store.find(wanted)] == expected, args
        non_empty += bool(expected)
    assert non_empty > 50  # the random filters are not all trivially empty


@pytest.mark.parametrize(
    ("args", "expected_ids"),
    [
        ({"region": "київська область"}, {"case-1", "case-2"}),
        ({"region": "Київська Область", "q": "кам’янець"}, {"case-1"}),
        ({"q": "знам'янка"}, {"case-2"}),
        ({"q": "ЗНАМ’ЯНКА"}, {"case-2"}),
        ({"q": "без області", "region": ""}, {"case-3"}),
    ],
)
def test_find_ignores_case_and_apostrophe_style(store, args, expected_ids):
    store.import_points(
        [
            make_point("case-1", region="КИЇВСЬКА ОБЛАСТЬ", settlement="Кам'янець-Подільський", name="Школа"),
            make_point("case-2", region="київська область", name="ЛІЦЕЙ «ЗНАМʼЯНКА»", settlement="Знам’янка"),
            make_point("case-3", region="Львівська область", name="Пункт без області"),
        ]
    )
    assert {p.id for p in store.find(parse_filter(args))} == expected_ids


def test_find_with_no_filter_returns_everything_ordered_by_id(store):
    store.import_points([make_point(i) for i in ("c", "a", "b")])
    assert [p.id for p in store.find(PointFilter())] == ["a", "b", "c"]


def test_find_by_region_uses_the_whole_region(store):
    store.import_points([make_point("a", region=REGIONS[0]), make_point("b", region=REGIONS[0] + " (захід)")])
    assert [p.id for p in store.find(PointFilter(region=REGIONS[0]))] == ["a"]


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        (PointsBackend, Store),
        (PointsBackend, PostgresStore),
        (ReportsBackend, ReportStore),
        (UsersBackend, UserStore),
    ],
)
def test_both_stores_implement_every_method_of_the_interface_as_declared(protocol, implementation):
    """store/interface.py is what each backend implements: SQLite and PostgreSQL implement all of
    it, with the same parameters, so the interface never drifts from the code that runs."""
    declared = {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }
    assert declared, protocol
    for name, signature in declared.items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        actual = inspect.signature(getattr(implementation, name))
        assert list(actual.parameters) == list(signature.parameters), name
        for parameter, expected in signature.parameters.items():
            assert actual.parameters[parameter].default == expected.default, (name, parameter)
            assert actual.parameters[parameter].kind == expected.kind, (name, parameter)


def test_a_running_app_has_every_attribute_the_interface_names(app):
    store, users = app.extensions["locator.store"], app.extensions["locator.users"]
    assert isinstance(store, PointsBackend)
    assert isinstance(store.reports, ReportsBackend)
    assert isinstance(users, UsersBackend)
