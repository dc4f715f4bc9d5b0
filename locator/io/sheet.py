"""A CSV file as a spreadsheet user sees it: its separator, its decimal commas, its row numbers.

A Ukrainian-locale Excel saves "CSV" with `;` between cells and a comma in numbers
(`50,4501;30,5234`); other programs use `,` or a tab. The separator is the one that splits the
header line into the most known column names (csv.Sniffer guesses from the data and is fooled
by a `;` inside a quoted note); with none known, `,`. A decimal comma is read as a point only in
lat and lon, where it cannot be anything else (a count's "1,000" is not guessed at).

Rows are numbered as a spreadsheet shows them: the header is row 1, and a quoted cell holding
line breaks is still one row. Blank rows, and rows whose every cell is blank (Excel writes
`;;;;` for a formatted empty row), count but are skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from locator.domain.fields import CSV_FIELDS
from locator.domain.validation import Invalid, Problem
from locator.io.features import CSV_COLUMNS, unguard_cell

DELIMITERS = (",", ";", "\t")  # the first wins a tie
KNOWN_COLUMNS = frozenset(CSV_COLUMNS) | frozenset(CSV_FIELDS)
DECIMAL_COMMA = re.compile(r"\s*[+-]?\d+,\d+\s*")
DECIMAL_COLUMNS = ("lat", "lon")
MAX_CELL = 64 * 1024 * 1024  # a cell as large as a file may be: too long is the field's problem


@dataclass
class Sheet:
    """The records of a CSV file, each with its spreadsheet row number, and its row problems."""

    delimiter: str
    records: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)  # (row, problem)


def delimiter_of(text: str) -> str:
    """The separator that splits the header line into the most known column names."""
    header = text.split("\n", 1)[0]
    best, found = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        known = sum(1 for cell in cells if cell.strip() in KNOWN_COLUMNS)
        if known > found:
            best, found = delimiter, known
    return best


def read_sheet(text: str) -> Sheet:
    """Every record of the CSV text, as {column: text}; Invalid (or csv.Error) for a file it
    cannot read."""
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    sheet = Sheet(delimiter_of(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sheet.delimiter)
    try:
        header = [cell.strip().lstrip("\ufeff") for cell in next(reader)]
    except StopIteration:
        raise Invalid("the file is empty") from None
    named = [name for name in header if name]
    if twice := sorted({name for name in named if named.count(name) > 1}):
        raise Invalid("the header names a column more than once: {names}", names=", ".join(twice))
    for row, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        extra = cells[len(header) :]
        if any(cell.strip() for cell in extra):
            problem = Problem.of(
                "file",
                "{cells} cells in this row, {columns} in the header",
                cells=len(cells),
                columns=len(header),
            )
            sheet.problems.append((row, problem))
            continue
        sheet.records.append(_record(header, cells))
        sheet.rows.append(row)
    return sheet


def _record(header: Iterable[str], cells: list[str]) -> dict[str, Any]:
    record = {}
    for index, name in enumerate(header):
        if not name:
            continue  # a column without a name is nobody's field
        value = unguard_cell(cells[index]) if index < len(cells) else ""
        if name in DECIMAL_COLUMNS and DECIMAL_COMMA.fullmatch(value):
            value = value.replace(",", ".")
        record[name] = value
    return record
