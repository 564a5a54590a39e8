"""Load task data from local JSONL or CSV files, with errors that name the file, the line and the field.

Each record becomes a ``dict`` with the requested fields. Field names are configurable, so that a file whose
columns are called ``document``/``highlights`` loads as ``article``/``summary``::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "news.jsonl"
    >>> _ = path.write_text('{"document": "A long text.", "highlights": "Short."}\\n')
    >>> load_records(path, {"article": "document", "summary": "highlights"})
    [{'article': 'A long text.', 'summary': 'Short.'}]
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv")


class DataFileError(ValueError):
    """A data file that cannot be used: missing, empty, not UTF-8, or a malformed record."""


def load_records(
    path: str | os.PathLike[str], fields: Mapping[str, str], optional: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Read records from a ``.jsonl`` (one JSON object a line) or ``.csv`` (header row) file.

    Args:
        path: the file.
        fields: required fields, as ``{our_name: name_in_file}``.
        optional: optional fields, as ``{our_name: name_in_file}``; missing ones are left out.

    Returns:
        One dict per record, keyed by our names.

    Raises:
        DataFileError: naming the file and line for a missing file, an empty file, a line that is not JSON,
            a record missing a field or with an empty one, or text that is not UTF-8.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataFileError(f"data file {str(path)!r}: unsupported format {suffix!r}; use one of {SUPPORTED_SUFFIXES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}:{line}: not UTF-8 text ({err.reason} at byte {err.start}); re-encode the file as UTF-8"
        ) from None
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    records = []
    for line, row in rows:
        record: dict[str, Any] = {}
        for ours, theirs in fields.items():
            value = row.get(theirs)
            if value is None:
                raise DataFileError(f"{path}:{line}: missing field {theirs!r} (fields present: {sorted(row)})")
            if isinstance(value, str) and not value.strip():
                raise DataFileError(f"{path}:{line}: field {theirs!r} is empty")
            record[ours] = value
        for ours, theirs in (optional or {}).items():
            if row.get(theirs) not in (None, ""):
                record[ours] = row[theirs]
        records.append(record)
    if not records:
        raise DataFileError(f"data file {str(path)!r} holds no records")
    return records


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            raise DataFileError(f"{path}:{number}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(row, dict):
            raise DataFileError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append((number, row))
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    rows = []
    try:
        for row in reader:
            if None in row:
                raise DataFileError(f"{path}:{reader.line_num}: more values than header columns")
            rows.append((reader.line_num, row))
    except csv.Error as err:
        raise DataFileError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    return rows
