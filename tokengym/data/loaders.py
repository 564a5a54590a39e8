"""Load task data from local JSONL or CSV files, with errors that name the file, the line and the field.

Each record becomes a ``dict`` with the requested fields. Field names are configurable, so that a file whose
columns are called ``document``/``highlights`` loads as ``article``/``summary``::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "news.jsonl"
    >>> _ = path.write_text('{"document": "A long text.", "highlights": "Short."}\\n')
    >>> load_records(path, {"article": "document", "summary": "highlights"})
    [{'article': 'A long text.', 'summary': 'Short.'}]

Every field holds text: a JSON number, list, object, ``null`` or ``NaN`` is refused (with the file, the line and
the field) rather than turned into text such as ``"42"`` or ``"nan"``, which a reward would then score against.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from tokengym.data.textcheck import unicode_problem

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv")

# Byte-order marks of encodings that are not UTF-8, longest first (UTF-32-LE's begins with UTF-16-LE's).
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


class DataFileError(ValueError):
    """A data file that cannot be used: missing, not a regular file, empty, not UTF-8, or a malformed record."""


def load_records(
    path: str | os.PathLike[str],
    fields: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
    *,
    text_lists: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Read records from a ``.jsonl`` (one JSON object a line) or ``.csv`` (header row) file.

    Args:
        path: the file.
        fields: required fields, as ``{our_name: name_in_file}``.
        optional: optional fields, as ``{our_name: name_in_file}``; missing ones are left out.
        text_lists: our names of fields that may hold a list of strings (the turns of a conversation) instead
            of one string; the list must hold at least one that is not blank.

    Returns:
        One dict per record, keyed by our names; every value is a non-blank string (or, for ``text_lists``,
        a list of strings).

    Raises:
        DataFileError: naming the file and line for a missing file, a path that is not a regular file (a
            directory, a named pipe, a device), an empty file, text that is not UTF-8, a line that is not JSON,
            or a record missing a field, with an empty one, or with one that is not text (a number, a list, an
            object, ``null``, ``NaN``, a lone surrogate).
    """
    path = check_file(path, "data file", expected="a .jsonl or .csv file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataFileError(f"data file {str(path)!r}: unsupported format {suffix!r}; use one of {SUPPORTED_SUFFIXES}")
    text = read_utf8(path)
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    return _records(
        ((f"{path}:{line}", row) for line, row in rows), fields, optional, f"data file {str(path)!r}", text_lists
    )


def resolve_fields(fields: Any, defaults: Mapping[str, str]) -> dict[str, str]:
    """``defaults`` (``{our_name: name_in_file}``) with the renames of ``fields`` applied.

    Example:
        >>> resolve_fields({"article": "document"}, {"article": "article", "summary": "summary"})
        {'article': 'document', 'summary': 'summary'}

    Raises:
        ValueError: ``fields`` is not a mapping, renames a field the data does not have, or names a column
            with something other than a non-empty string.
    """
    if fields is None:
        return dict(defaults)
    example = {next(iter(defaults)): "column_in_file"}
    if not isinstance(fields, Mapping):
        raise ValueError(f"fields must map field names to the file's column names, e.g. {example}, not {fields!r}")
    unknown = [key for key in fields if key not in defaults]
    if unknown:
        raise ValueError(f"fields renames {list(defaults)}; {unknown} is not among them (e.g. fields={example})")
    for key, column in fields.items():
        if not isinstance(column, str) or not column:
            raise ValueError(f"fields[{key!r}] must be a column name (a non-empty string), not {column!r}")
    return {**defaults, **fields}


def check_file(
    path: Any,
    what: str,
    expected: str,
    error: type[ValueError] = DataFileError,
    missing: type[Exception] | None = None,
) -> Path:
    """The path of an existing regular file, or an error saying what the path is instead.

    A directory, a named pipe or a device is named as such (reading a pipe would wait for a writer forever),
    and nothing is opened here.

    Args:
        path: a ``str`` or ``os.PathLike``; ``~`` is expanded.
        what: what the file is for, for messages ("data file", "persona file").
        expected: what to pass instead, for messages ("a .jsonl or .csv file").
        error: the exception raised for a path that cannot be used.
        missing: the exception raised for a path that does not exist (default: ``error``).

    Raises:
        error: not a path, not a regular file, or not readable.
        missing: no such file.
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"{what} must be a path (a str or os.PathLike) to {expected}, not {type(path).__name__} {path!r}")
    if not os.fspath(path):
        raise error(f"{what}: the path is empty; pass the path of {expected}")
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            raise error(
                f"{what} {str(path)!r} is a symbolic link to {os.readlink(path)!r}, which does not exist"
            ) from None
        raise (missing or error)(f"{what} {str(path)!r} does not exist") from None
    except ValueError as err:  # an embedded NUL character
        raise error(f"{what} {str(path)!r} is not a valid path ({err})") from None
    except OSError as err:
        raise error(f"{what} {str(path)!r} cannot be opened: {err.strerror}") from None
    if stat.S_ISREG(mode):
        return path
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise error(f"{str(path)!r} is {kind}, not a {what}; pass the path of {expected}")


def read_utf8(path: Path, error: type[ValueError] = DataFileError) -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped, as spreadsheet programs write one).

    Raises:
        error: the file cannot be read, or is not UTF-8 (naming the line and the byte offset, or the
            encoding a byte-order mark announces).
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise error(f"{path}: cannot be read: {err.strerror}") from None
    for bom, encoding in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise error(
                f"{path}: the file is {encoding} text (it starts with a {encoding} byte-order mark); "
                "re-encode it as UTF-8"
            )
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = start + err.start
        line = data[:offset].count(b"\n") + 1
        raise error(
            f"{path}:{line}: not UTF-8 text ({err.reason} at byte {offset}: 0x{data[offset]:02x}); "
            "re-encode the file as UTF-8"
        ) from None


def text_problem(value: Any, may_be_list: bool = False) -> str | None:
    """Why ``value`` is not a field of text (``"is empty"``, ``"holds a number (42), not text"``...), or ``None``.

    Text is a string that is not blank and is valid Unicode; with ``may_be_list``, also a list of such strings
    (blank ones allowed) with at least one that is not blank.
    """
    if isinstance(value, str):
        if not value.strip():
            return "is empty"
        problem = unicode_problem(value)
        return None if problem is None else f"is not valid Unicode text: {problem}"
    if may_be_list and isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                return f"item {i} {_kind_of(item)}; the list must hold strings"
            problem = unicode_problem(item)
            if problem is not None:
                return f"item {i} is not valid Unicode text: {problem}"
        return None if any(item.strip() for item in value) else "holds no text (an empty list, or only blank items)"
    allowed = "text (a string, or a list of strings)" if may_be_list else "text (a string)"
    return f"{_kind_of(value)}, not {allowed}; quote it if it is meant as text"


def string_fields_problem(record: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """Why a record's ``keys`` are not all present strings of valid Unicode (empty allowed), or ``None``.

    Example:
        >>> string_fields_problem({"prompt": "Hi", "a": 3}, ("prompt", "a", "b"))
        "field 'a' must be text, not int"
    """
    for key in keys:
        if key not in record:
            return f"missing field {key!r}"
        value = record[key]
        if not isinstance(value, str):
            return f"field {key!r} must be text, not {type(value).__name__}"
        problem = unicode_problem(value)
        if problem is not None:
            return f"field {key!r}: {problem}"
    return None


def _kind_of(value: Any) -> str:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if value is None:
        return "is null"
    if isinstance(value, bool):
        return f"holds a boolean ({shown})"
    if isinstance(value, (int, float)):
        return f"holds a number ({shown})"
    if isinstance(value, Mapping):
        return f"holds an object ({shown})"
    if isinstance(value, (list, tuple)):
        return f"holds a list ({shown})"
    return f"holds a {type(value).__name__} ({shown})"


def _records(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    fields: Mapping[str, str],
    optional: Mapping[str, str] | None,
    source: str,
    text_lists: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Rename and check rows given as ``(where, row)``; ``where`` prefixes each error ("file:line")."""
    records = []
    for where, row in rows:
        record: dict[str, Any] = {}
        for ours, theirs in fields.items():
            if theirs not in row:
                raise DataFileError(f"{where}: missing field {theirs!r} (fields present: {sorted(row)})")
            record[ours] = _text_field(row[theirs], where, theirs, ours in text_lists)
        for ours, theirs in (optional or {}).items():
            if row.get(theirs) not in (None, ""):
                record[ours] = _text_field(row[theirs], where, theirs, ours in text_lists)
        records.append(record)
    if not records:
        raise DataFileError(f"{source} holds no records")
    return records


def _text_field(value: Any, where: str, field: str, may_be_list: bool) -> Any:
    problem = text_problem(value, may_be_list)
    if problem is not None:
        raise DataFileError(f"{where}: field {field!r} {problem}")
    return value


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
            instead), or a record lacks a field or has one that is empty or not text (the message gives its
            index).
        ValueError: ``limit`` or ``fields`` is malformed.
    """
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ValueError(f"limit must be a positive int, not {limit!r}")
    known = HUB_DATASETS.get(name)
    repo_id, config = (known.repo_id, known.config) if known else (name, None)
    names = resolve_fields(fields, known.fields if known else {"article": "article", "summary": "summary"})
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
    # only "\n" ends a JSONL line: str.splitlines would also split inside a record at U+2028, U+0085 or \x0c,
    # which JSON strings may hold unescaped
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            if _is_one_document(text):
                raise DataFileError(
                    f"{path}: the file is one JSON document spread over lines, not JSON Lines; write one JSON "
                    "object per line (from an array: jq -c '.[]' file.json > file.jsonl)"
                ) from None
            raise DataFileError(f"{path}:{number}: not valid JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise DataFileError(
                f"{path}:{number}: JSON nested too deeply to read (lists or objects inside each "
                "other hundreds of levels deep)"
            ) from None
        except ValueError as err:  # an integer longer than Python converts (sys.get_int_max_str_digits)
            raise DataFileError(f"{path}:{number}: not readable JSON ({err})") from None
        if not isinstance(row, dict):
            raise DataFileError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append((number, row))
    return rows


def _is_one_document(text: str) -> bool:
    """Whether ``text`` parses as a single JSON array or object (a pretty-printed file given as JSONL)."""
    try:
        return isinstance(json.loads(text), (list, dict))
    except (ValueError, RecursionError):
        return False


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    # newline="" as the csv docs ask: rows end only at \n, \r or \r\n, and quoted fields keep their newlines
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            if None in row:
                raise DataFileError(f"{path}:{reader.line_num}: more values than header columns")
            # a short row's absent values are None: report them as missing fields, not as null text
            rows.append((reader.line_num, {k: v for k, v in row.items() if v is not None}))
    except csv.Error as err:
        raise DataFileError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    return rows


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits (read in blocks, so large files take little memory).

    Checkpoints and the TextWorld game cache both record their files' digests with it.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file beside it, flushed to disk, then renamed
    into place, so that a reader (or a crash) never sees half a file. Returns the path.

    Example:
        >>> import tempfile, pathlib
        >>> out = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "a" / "rows.jsonl", '{"x": 1}\\n')
        >>> out.read_text()
        '{"x": 1}\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_jsonl_records(
    path: str | os.PathLike[str], what: str, expected: str, parse: Callable[[Any], Any], error: type[ValueError]
) -> list[Any]:
    """``parse(record)`` for every JSON object line of a JSONL file; blank lines are skipped.

    JSON's ``NaN`` and ``Infinity`` and numbers out of a float's range are refused, as is nesting deeper than
    Python's parser reaches. Any problem raises ``error`` naming the file and the line (``parse`` raises
    ``error`` for a record it refuses, and its message gets the file and the line put in front).

    Args:
        path: the file.
        what: what the file is, for messages ("preference file").
        expected: what to pass instead, for messages ("a .jsonl file of preferences").
        parse: turns one decoded JSON value into an item.
        error: the exception raised.
    """
    path = check_file(path, what, expected, error=error)
    out = []
    for number, line in enumerate(read_utf8(path, error).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=_no_json_constant, parse_float=_finite_float)
        except ValueError as err:
            raise error(f"{path}, line {number}: not valid JSON ({err})") from None
        except RecursionError:
            raise error(f"{path}, line {number}: nested too deeply to read") from None
        try:
            out.append(parse(record))
        except error as err:
            raise error(f"{path}, line {number}: {err}") from None
    if not out:
        raise error(f"{path}: nothing in the file; expected {expected}")
    return out


def _no_json_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value
