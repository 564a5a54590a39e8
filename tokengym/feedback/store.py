"""The feedback store: pairs of completions to label and people's judgements of them, in one SQLite file.

Two tables: ``pairs`` (a prompt, completions A and B and a JSON object of metadata, from
:mod:`~tokengym.feedback.candidates` files or from Python) and ``judgements`` (a pair, a verdict among A, B,
tie and both_bad, an optional 1-to-5 rating, an optional comment, the rater and the time;
:mod:`~tokengym.feedback.judgements`). A pair may be judged by several raters, once by each;
:meth:`FeedbackStore.next_pair` gives a rater the next pair they have not judged. :meth:`FeedbackStore.export`
writes the judgements as preference JSONL (:func:`~tokengym.feedback.preferences.write_preferences`).

Durability. The file is in write-ahead-log mode with ``synchronous=FULL``, and every judgement is its own
transaction: when :meth:`FeedbackStore.record` returns, the log holding the judgement has been flushed to disk,
so a judgement once acknowledged survives the labelling process being killed (and, on a disk that honours
flushes, a power cut). A process killed in the middle of a write leaves no trace of it: SQLite rolls the
unfinished transaction back when the file is next opened. The tests kill a writer at random moments and check
both. Several processes may label at once: a writer waits up to ``busy_timeout_s`` for another's transaction
instead of failing (a judgement's transaction, flush included, took 3.5 ms on the 2-core machine the tests run
on).

Versions. ``PRAGMA user_version`` holds the schema version (:data:`SCHEMA_VERSION`) and ``PRAGMA
application_id`` marks the file as a tokengym feedback store, so that another program's SQLite file, or a store
written by a newer tokengym, is refused before anything in it changes.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with FeedbackStore(folder / "feedback.db") as store:
    ...     pair_id = store.add_pair("Q: 2+2?\\nA:", " 4", " 5", {"source": "example"})
    ...     _ = store.record(pair_id, "A", rater="ana", rating=5)
    ...     store.progress("ana"), store.next_pair("ana")
    ...     store.export(folder / "prefs.jsonl")
    (Progress(judged=1, total=1), None)
    1
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from tokengym.feedback.candidates import Candidate, CandidateError, candidate_from_record, read_candidates
from tokengym.feedback.judgements import (
    AlreadyJudgedError,
    Judgement,
    Pair,
    Progress,
    UnknownPairError,
    check_comment,
    check_pair_id,
    check_rater,
    check_rating,
    check_verdict,
    to_preference,
)
from tokengym.feedback.preferences import Preference, write_preferences

__all__ = ["SCHEMA_VERSION", "Added", "FeedbackStore", "FeedbackStoreError", "check_store_path"]

SCHEMA_VERSION = 1
"""The version of the tables this module writes (``PRAGMA user_version``)."""
APPLICATION_ID = int.from_bytes(b"tgfb", "big")
"""``PRAGMA application_id`` of a feedback store: tells it apart from any other SQLite file."""
_SQLITE_MAGIC = b"SQLite format 3\x00"

# One statement each: the schema is created inside the opening transaction (executescript would commit first).
_SCHEMA = (
    """CREATE TABLE pairs (
        id INTEGER PRIMARY KEY,
        prompt TEXT NOT NULL,
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        content_key TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL
    )""",
    """CREATE TABLE judgements (
        id INTEGER PRIMARY KEY,
        pair_id INTEGER NOT NULL REFERENCES pairs (id),
        verdict TEXT NOT NULL CHECK (verdict IN ('A', 'B', 'tie', 'both_bad')),
        rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        rater TEXT NOT NULL CHECK (length(rater) > 0),
        judged_at TEXT NOT NULL,
        UNIQUE (rater, pair_id)
    )""",
)


class FeedbackStoreError(ValueError):
    """A store file that cannot be used: a directory, not SQLite, another program's database, a newer schema."""


class Added(NamedTuple):
    """What adding pairs did: how many were new, already stored, or skipped as having nothing to judge."""

    new: int
    stored: int
    identical: int


def check_store_path(path: Any, create: bool = True) -> Path:
    """The path of a feedback store: an existing SQLite file, or (with ``create``) a new file in a folder.

    Nothing is opened for writing here; a missing parent folder is made later, when the store is created.

    Raises:
        FeedbackStoreError: not a path, a directory or other non-file, a file that is not SQLite, or (without
            ``create``) a file that does not exist.
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise FeedbackStoreError(f"the feedback store must be a file path such as 'feedback.db', not {path!r}")
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except (OSError, ValueError) as err:
        raise FeedbackStoreError(f"feedback store {str(path)!r} cannot be used: {err}") from None
    if mode is None:
        if not create:
            raise FeedbackStoreError(
                f"feedback store {str(path)!r} does not exist; make it by adding pairs (tokengym feedback add)"
            )
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise FeedbackStoreError(f"feedback store {str(path)!r}: {str(parent)!r} is not a folder")
                break
        return path
    if stat.S_ISDIR(mode):
        raise FeedbackStoreError(
            f"feedback store {str(path)!r} is a directory; pass a file path such as {str(path / 'feedback.db')!r}"
        )
    if not stat.S_ISREG(mode):
        raise FeedbackStoreError(f"feedback store {str(path)!r} is not a regular file; pass a .db file path")
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise FeedbackStoreError(f"feedback store {str(path)!r} cannot be read: {err.strerror}") from None
    if head and head != _SQLITE_MAGIC:
        raise FeedbackStoreError(
            f"{str(path)!r} is not a SQLite database, so not a feedback store; pass a store file or a new path"
        )
    return path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _content_key(prompt: str, a: str, b: str) -> str:
    """The identity of a pair: adding the same prompt and completions again adds nothing."""
    return hashlib.sha256(json.dumps([prompt, a, b], ensure_ascii=False).encode("utf-8")).hexdigest()


class FeedbackStore:
    """Pairs to label and judgements of them, in a SQLite file (see the module's docstring).

    A store is safe to share between threads (one connection behind a lock, as the labelling server does) and
    between processes (each with its own :class:`FeedbackStore`).

    Args:
        path: the ``.db`` file; made with its folder when missing and ``create`` is true.
        create: make the store when the file does not exist (otherwise refuse).
        busy_timeout_s: how long a write waits for another process's transaction before failing.

    Raises:
        FeedbackStoreError: the path is a directory, not a SQLite file, another program's database, or a store
            of a newer schema than this tokengym reads (nothing in the file is changed).

    Example:
        >>> import tempfile, pathlib
        >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.db")
        >>> store.add_pairs([Candidate("Hi!", " Hello.", " Go away.")])
        Added(new=1, stored=0, identical=0)
        >>> store.next_pair("ana").a
        ' Hello.'
        >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, busy_timeout_s: float = 10.0) -> None:
        self.path = check_store_path(path, create)
        if not busy_timeout_s > 0:
            raise ValueError(f"busy_timeout_s must be positive, not {busy_timeout_s!r}")
        self._lock = threading.RLock()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise FeedbackStoreError(f"feedback store {str(self.path)!r} cannot be opened: {err}") from None
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        """Check the file's version and owner, switch on the write-ahead log, create the tables if new."""
        try:
            self._check_schema(self._read_schema())  # before any change to the file
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise FeedbackStoreError(
                    f"feedback store {str(self.path)!r}: the file system does not allow SQLite's write-ahead log "
                    f"(journal mode stays {mode!r}); put the store on a local disk"
                )
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                version, _, tables = self._read_schema()
                if version == 0 and not tables:  # new (two processes creating it at once: the second sees it here)
                    for statement in _SCHEMA:
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
            self._check_schema(self._read_schema(), created=True)
        except sqlite3.DatabaseError as err:
            raise FeedbackStoreError(f"feedback store {str(self.path)!r} cannot be read: {err}") from None

    def _read_schema(self) -> tuple[int, int, set[str]]:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        application = self._db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return version, application, tables

    def _check_schema(self, schema: tuple[int, int, set[str]], created: bool = False) -> None:
        version, application, tables = schema
        where = f"feedback store {str(self.path)!r}"
        if not created and version == 0 and application == 0 and not tables:
            return  # a new, empty file
        if application != APPLICATION_ID:
            raise FeedbackStoreError(f"{where} is a SQLite database of another program, not a feedback store")
        if version > SCHEMA_VERSION:
            raise FeedbackStoreError(
                f"{where} has schema version {version}, newer than this tokengym reads ({SCHEMA_VERSION}); "
                "upgrade tokengym to use it"
            )
        if version != SCHEMA_VERSION or not {"pairs", "judgements"} <= tables:
            raise FeedbackStoreError(f"{where} is damaged: schema version {version}, tables {sorted(tables)}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock taken at the start (waiting up to the busy timeout), all or nothing."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise FeedbackStoreError(
                    f"feedback store {str(self.path)!r} is busy ({err}): another process held it too long"
                ) from None
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite ends a transaction itself on some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        """Close the connection (the write-ahead log is folded into the file when the last one closes)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeedbackStore({str(self.path)!r})"

    # Pairs ----------------------------------------------------------------------------------------------------

    def add_pair(self, prompt: str, a: str, b: str, metadata: Mapping[str, Any] | None = None) -> int:
        """Add one pair (checked as a :class:`~tokengym.feedback.candidates.Candidate`); returns its id.

        A pair with the same prompt and completions as a stored one is not added again: its id is returned.

        Raises:
            CandidateError: a field that is not text, metadata that is not a JSON object or uses a reserved key,
                or completions that differ only in surrounding whitespace (nothing to judge).
        """
        candidate = Candidate(prompt, a, b, dict(metadata or {}))
        if not candidate.judgeable:
            raise CandidateError("the two completions are the same (up to surrounding whitespace): nothing to judge")
        with self._transaction():
            self._insert(candidate)
            return self._query("SELECT id FROM pairs WHERE content_key = ?", (_key(candidate),))[0][0]

    def add_pairs(self, candidates: Iterable[Candidate | Mapping[str, Any]]) -> Added:
        """Add pairs (candidates, or their JSON records) in one transaction.

        Pairs already stored (the same prompt and completions) are not added again, and pairs whose completions
        differ only in surrounding whitespace are skipped (nothing to judge); the result counts each.

        Raises:
            CandidateError: an item is not a valid candidate (nothing is added).

        Example:
            >>> import tempfile, pathlib
            >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.db")
            >>> store.add_pairs([{"prompt": "Hi!", "a": " Hello.", "b": " Bye."}, Candidate("Hi!", " Hm.", "Hm.")])
            Added(new=1, stored=0, identical=1)
            >>> store.add_pairs([Candidate("Hi!", " Hello.", " Bye.")])
            Added(new=0, stored=1, identical=0)
        """
        items = [c if isinstance(c, Candidate) else candidate_from_record(c) for c in candidates]
        judgeable = [c for c in items if c.judgeable]
        with self._transaction():
            new = sum(self._insert(c) for c in judgeable)
        return Added(new, len(judgeable) - new, len(items) - len(judgeable))

    def add_pairs_file(self, path: str | os.PathLike[str]) -> Added:
        """Add the pairs of a candidate JSONL file (:mod:`~tokengym.feedback.candidates`), as :meth:`add_pairs`.

        The whole file is checked first: a bad line adds nothing.
        """
        return self.add_pairs(read_candidates(path))

    def _insert(self, candidate: Candidate) -> int:
        cursor = self._db.execute(
            "INSERT INTO pairs (prompt, a, b, metadata, content_key, added_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (content_key) DO NOTHING",
            (
                candidate.prompt,
                candidate.a,
                candidate.b,
                json.dumps(candidate.metadata, ensure_ascii=False, allow_nan=False),
                _key(candidate),
                _now(),
            ),
        )
        return cursor.rowcount

    def pair(self, pair_id: int) -> Pair:
        """The pair with this id; :class:`UnknownPairError` if there is none."""
        pair_id = check_pair_id(pair_id)
        rows = self._query("SELECT id, prompt, a, b, metadata FROM pairs WHERE id = ?", (pair_id,))
        if not rows:
            raise UnknownPairError(f"no pair with id {pair_id} in the store ({self.count_pairs()} pairs)")
        return _pair(rows[0])

    def pairs(self) -> list[Pair]:
        """Every stored pair, by id."""
        return [_pair(row) for row in self._query("SELECT id, prompt, a, b, metadata FROM pairs ORDER BY id")]

    def count_pairs(self) -> int:
        """How many pairs the store holds."""
        return self._query("SELECT count(*) FROM pairs")[0][0]

    def next_pair(self, rater: str, after: int | None = None) -> Pair | None:
        """The first pair ``rater`` has not judged (after the id ``after``, wrapping round), or ``None`` when done.

        Args:
            rater: who is labelling.
            after: skip to pairs with a larger id first (the terminal's "skip"); pairs before it come after.
        """
        rater = check_rater(rater)
        unjudged = (
            "SELECT id, prompt, a, b, metadata FROM pairs WHERE id > ? AND NOT EXISTS "
            "(SELECT 1 FROM judgements WHERE judgements.pair_id = pairs.id AND judgements.rater = ?) "
            "ORDER BY id LIMIT 1"
        )
        rows = self._query(unjudged, (after or 0, rater))
        if not rows and after:
            rows = self._query(unjudged, (0, rater))
        return _pair(rows[0]) if rows else None

    def progress(self, rater: str) -> Progress:
        """How many pairs ``rater`` has judged, of how many."""
        rater = check_rater(rater)
        judged = self._query("SELECT count(*) FROM judgements WHERE rater = ?", (rater,))[0][0]
        return Progress(judged, self.count_pairs())

    # Judgements -----------------------------------------------------------------------------------------------

    def record(
        self, pair_id: int, verdict: str, *, rater: str, rating: int | None = None, comment: str = ""
    ) -> Judgement:
        """Record a judgement in its own transaction; when this returns, it is on disk.

        Args:
            pair_id: the pair judged.
            verdict: one of :data:`~tokengym.feedback.judgements.VERDICTS`.
            rater: who judged (a pair takes one judgement from each rater).
            rating: optional 1 to 5.
            comment: optional free text.

        Raises:
            UnknownPairError: no pair has this id.
            AlreadyJudgedError: this rater has judged this pair.
            JudgementError: a verdict, rating, rater or comment out of bounds.
            FeedbackStoreError: another process held the store longer than the busy timeout.

        Nothing is written when an error is raised.
        """
        pair_id, verdict = check_pair_id(pair_id), check_verdict(verdict)
        rating, rater, comment = check_rating(rating), check_rater(rater), check_comment(comment)
        judged_at = _now()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone() is None:
                raise UnknownPairError(f"no pair with id {pair_id} in the store; nothing was recorded")
            query = "SELECT 1 FROM judgements WHERE pair_id = ? AND rater = ?"
            if db.execute(query, (pair_id, rater)).fetchone() is not None:
                raise AlreadyJudgedError(f"{rater!r} has already judged pair {pair_id}; the first judgement stands")
            cursor = db.execute(
                "INSERT INTO judgements (pair_id, verdict, rating, comment, rater, judged_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (pair_id, verdict, rating, comment, rater, judged_at),
            )
            judgement_id = cursor.lastrowid
        return Judgement(judgement_id, pair_id, verdict, rating, comment, rater, judged_at)

    def judgements(self, rater: str | None = None) -> list[Judgement]:
        """Every judgement (of one rater, if given), in the order they were recorded."""
        columns = "SELECT id, pair_id, verdict, rating, comment, rater, judged_at FROM judgements"
        if rater is None:
            rows = self._query(f"{columns} ORDER BY id")
        else:
            rows = self._query(f"{columns} WHERE rater = ? ORDER BY id", (check_rater(rater),))
        return [Judgement(*row) for row in rows]

    def preferences(self, rater: str | None = None) -> list[Preference]:
        """The judgements as :class:`~tokengym.feedback.preferences.Preference` records (see :meth:`export`)."""
        pairs = {p.id: p for p in self.pairs()}
        return [to_preference(pairs[j.pair_id], j) for j in self.judgements(rater)]

    def export(self, path: str | os.PathLike[str], rater: str | None = None) -> int:
        """Write the judgements (of one rater, if given) as preference JSONL, atomically; returns how many.

        Verdict A makes A the chosen completion, B makes B the chosen one; ``tie`` and ``both_bad`` are ties
        (``tie=True``, A written as chosen). Every record's metadata holds the pair's metadata, the ``verdict``,
        the ``pair_id``, ``judged_at`` and the ``comment`` if any; the rating and rater go in their own fields.

        Raises:
            FeedbackStoreError: there is nothing to export yet (no file is written), or ``path`` is a directory.
        """
        preferences = self.preferences(rater)
        whose = "" if rater is None else f" by {rater!r}"
        if not preferences:
            raise FeedbackStoreError(f"feedback store {str(self.path)!r} holds no judgements{whose} to export yet")
        if Path(path).is_dir():
            raise FeedbackStoreError(f"{str(path)!r} is a directory; pass a file path such as 'prefs.jsonl'")
        return write_preferences(path, preferences)


def _key(candidate: Candidate) -> str:
    return _content_key(candidate.prompt, candidate.a, candidate.b)


def _pair(row: tuple[Any, ...]) -> Pair:
    pair_id, prompt, a, b, metadata = row
    return Pair(pair_id, prompt, a, b, json.loads(metadata))
