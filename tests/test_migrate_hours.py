"""`flask points migrate-hours` (issue 17): free text read into opening_hours, nothing lost."""

from __future__ import annotations

import pytest
from helpers import make_point

from locator.domain.hours_text import read_hours


@pytest.mark.parametrize(
    ("text", "flag", "expected"),
    [
        ("Пн–Пт 09:00–18:00", False, "Mo-Fr 09:00-18:00"),
        ("цілодобово", True, "24/7"),
        ("", True, "24/7"),
        ("24/7", False, "24/7"),
        ("щодня 8:00-20:00", False, "Mo-Su 08:00-20:00"),
        ("08:00–22:00", False, "Mo-Su 08:00-22:00"),
        ("daily 8-20", False, "Mo-Su 08:00-20:00"),
        ("Mon-Fri 9:00-17:00; Sat 10:00-13:00", False, "Mo-Fr 09:00-17:00; Sa 10:00-13:00"),
        ("Пн-Пт 9.00-18.00, Сб 10:00-14:00, Нд вихідний", False, "Mo-Fr 09:00-18:00; Sa 10:00-14:00; Su off"),
        ("Пн-Пт 09:00-13:00, 14:00-18:00", False, "Mo-Fr 09:00-13:00,14:00-18:00"),
        ("20:00-08:00", False, "Mo-Su 20:00-08:00"),
        # not read without doubt: left as a note
        ("під час відключень світла", False, None),
        ("пн, ср, пт 10:00-12:00", False, None),
        ("08:00-20:00", True, None),  # text and the 24/7 flag disagree
        ("Пт-Пн 9-18", False, None),
        ("", False, None),
    ],
)
def test_free_text_hours_are_read_only_when_certain(text, flag, expected):
    assert read_hours(text, flag) == expected


def test_migrate_hours_sets_what_reads_and_keeps_the_rest(runner, store):
    store.import_points(
        [
            make_point("a", hours="Пн–Пт 09:00–18:00"),
            make_point("b", hours="цілодобово", open_24_7=True),
            make_point("c", hours="під час відключень світла"),
            make_point("d", hours="08:00–20:00", opening_hours="Mo-Su 10:00-12:00"),
            make_point("e"),
        ]
    )
    before = {p.id: p for p in store.all()}
    dry = runner.invoke(args=["points", "migrate-hours", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would be set from the text: 2; kept as a note: 1; already set: 1; no hours given: 1" in dry.output
    assert {p.id: p for p in store.all()} == before  # a dry run writes nothing
    result = runner.invoke(args=["points", "migrate-hours"])
    assert result.exit_code == 0, result.output
    assert "set from the text: 2; kept as a note: 1; already set: 1; no hours given: 1" in result.output
    assert "c: під час відключень світла" in result.output
    after = {p.id: p for p in store.all()}
    assert after["a"].opening_hours == "Mo-Fr 09:00-18:00" and after["b"].opening_hours == "24/7"
    assert after["c"].opening_hours == "" and after["d"].opening_hours == "Mo-Su 10:00-12:00"
    for point_id, point in after.items():  # the text stays; the status is not re-verified
        assert point.hours == before[point_id].hours
        assert point.verified_at == before[point_id].verified_at
    assert any(row["field"] == "opening_hours" and row["by"] == "migrate-hours" for row in store.history("a"))
    again = runner.invoke(args=["points", "migrate-hours"])
    assert "set from the text: 0; kept as a note: 1; already set: 3" in again.output
