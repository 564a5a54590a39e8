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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

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
    return _records(((f"{path}:{line}", row) for line, row in rows), fields, optional, f"data file {str(path)!r}")


def _records(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    fields: Mapping[str, str],
    optional: Mapping[str, str] | None,
    source: str,
) -> list[dict[str, Any]]:
    """Rename and check rows given as ``(where, row)``; ``where`` prefixes each error ("file:line")."""
    records = []
    for where, row in rows:
        record: dict[str, Any] = {}
        for ours, theirs in fields.items():
            value = row.get(theirs)
            if value is None:
                raise DataFileError(f"{where}: missing field {theirs!r} (fields present: {sorted(row)})")
            if isinstance(value, str) and not value.strip():
                raise DataFileError(f"{where}: field {theirs!r} is empty")
            record[ours] = value
        for ours, theirs in (optional or {}).items():
            if row.get(theirs) not in (None, ""):
                record[ours] = row[theirs]
        records.append(record)
    if not records:
        raise DataFileError(f"{source} holds no records")
    return records


class HubDataset(NamedTuple):
    """Where a named dataset lives on the Hugging Face hub and which columns hold what."""

    repo_id: str
    config: str | None
    fields: Mapping[str, str]


HUB_DATASETS: dict[str, HubDataset] = {
    "cnn_dailymail": HubDataset("abisee/cnn_dailymail", "3.0.0", {"article": "article", "summary": "highlights"}),
    "xsum": HubDataset("EdinburghNLP/xsum", None, {"article": "document", "summary": "summary"}),
    "samsum": HubDataset("Samsung/samsum", None, {"article": "dialogue", "summary": "summary"}),
}
"""Summarization corpora known by name (``dataset="xsum"``); any other name is read as a hub repository id."""


def load_hub_records(
    name: str,
    split: str,
    fields: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Read a summarization corpus from the Hugging Face hub with the ``datasets`` library (needs network, or
    the dataset in the local ``datasets`` cache).

    Args:
        name: a name of :data:`HUB_DATASETS` (``"cnn_dailymail"``, ``"xsum"``, ``"samsum"``) or a hub id.
        split: ``"train"`` or ``"test"`` (the hub's split of the same name).
        fields: ``{"article": column, "summary": column}``; defaults to the named dataset's columns, or to
            ``article``/``summary`` for a hub id.
        limit: read only the first ``limit`` records of the split.

    Raises:
        ImportError: ``datasets`` is not installed (``pip install 'tokengym[hub]'``).
        DataFileError: the dataset cannot be reached (offline, say: the message says how to use a local file
            instead), or a record lacks a field or has an empty one (the message gives its index).
    """
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ValueError(f"limit must be a positive int, not {limit!r}")
    known = HUB_DATASETS.get(name)
    repo_id, config = (known.repo_id, known.config) if known else (name, None)
    names = {**(known.fields if known else {"article": "article", "summary": "summary"}), **(fields or {})}
    try:
        import datasets
    except ImportError:
        raise ImportError(
            f"loading {name!r} from the Hugging Face hub needs the 'datasets' package: pip install 'tokengym[hub]'"
        ) from None
    hub_split = split if limit is None else f"{split}[:{limit}]"
    try:
        table = datasets.load_dataset(repo_id, config, split=hub_split)
    except Exception as err:  # offline, unknown id, missing split: datasets raises many types
        save = f"datasets.load_dataset({repo_id!r}{'' if config is None else ', ' + repr(config)}, split={split!r})"
        raise DataFileError(
            f"could not load the dataset {repo_id!r} (split {split!r}) from the Hugging Face hub: {err}. Without "
            f"network, save it as JSONL on a machine that has one ({save}.to_json('{name.split('/')[-1]}_{split}"
            f".jsonl')) and pass data_path='<that file>' with fields={dict(names)!r}"
        ) from None
    rows = ((f"{repo_id} {split} record {i}", row) for i, row in enumerate(table))
    return _records(rows, names, None, f"dataset {repo_id!r} split {split!r}")


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
