"""The feedback store keeps every acknowledged judgement, refuses bad ones whole, and exports preferences.

The crash test starts a writer process that records judgements and prints each id once its commit returns,
kills it with SIGKILL at random moments, reopens the store and checks that every acknowledged judgement is there,
complete, and that the file passes SQLite's integrity check.
"""

import doctest
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from tokengym.feedback import candidates as candidates_module
from tokengym.feedback import judgements as judgements_module
from tokengym.feedback import store as store_module
from tokengym.feedback.candidates import Candidate, CandidateError, read_candidates, write_candidates
from tokengym.feedback.judgements import AlreadyJudgedError, JudgementError, UnknownPairError
from tokengym.feedback.preferences import read_preferences
from tokengym.feedback.store import SCHEMA_VERSION, Added, FeedbackStore, FeedbackStoreError

PAIRS = [
    Candidate("User: Hi!\nAssistant:", " Hello! How can I help?", " What.", {"source": "test", "seed": 1}),
    Candidate("User: Bye.\nAssistant:", " Goodbye!", " Whatever.", {"source": "test", "seed": 2}),
    Candidate("Q: 2+2?\nA:", " 4", " 5"),
    Candidate("Say something.", " <script>window.pwned=1</script><b>bold</b>", " plain text"),
]


@pytest.fixture
def store(tmp_path):
    with FeedbackStore(tmp_path / "feedback.db") as opened:
        opened.add_pairs(PAIRS)
        yield opened


def judgement_count(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM judgements").fetchone()[0]


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_docstring_examples_run():
    for module in (candidates_module, judgements_module, store_module):
        assert doctest.testmod(module).failed == 0


def test_wal_full_sync_and_schema_version(store):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_judgements_export_as_preferences(store, tmp_path):
    store.record(1, "A", rater="ana", rating=5, comment="clear and polite")
    store.record(2, "B", rater="ana")
    store.record(3, "tie", rater="ana", rating=3)
    store.record(4, "both_bad", rater="ana", rating=1)
    store.record(1, "B", rater="ben")  # a second rater on the same pair
    out = tmp_path / "prefs.jsonl"
    assert store.export(out) == 5
    prefs = read_preferences(out)
    a, b, tie, both_bad, other = prefs
    assert (a.chosen, a.rejected, a.tie, a.rating, a.rater) == (PAIRS[0].a, PAIRS[0].b, False, 5, "ana")
    assert a.metadata["comment"] == "clear and polite" and a.metadata["verdict"] == "A"
    assert a.metadata["source"] == "test" and a.metadata["seed"] == 1 and a.metadata["pair_id"] == 1
    assert "judged_at" in a.metadata
    assert (b.chosen, b.rejected, b.tie, b.rating) == (PAIRS[1].b, PAIRS[1].a, False, None)
    assert "comment" not in b.metadata
    assert tie.tie and tie.metadata["verdict"] == "tie" and tie.rating == 3
    assert both_bad.tie and both_bad.metadata["verdict"] == "both_bad" and both_bad.rating == 1
    assert (other.rater, other.chosen) == ("ben", PAIRS[0].b)
    assert store.export(tmp_path / "ben.jsonl", rater="ben") == 1


def test_next_pair_per_rater_until_done(store):
    assert store.next_pair("ana").id == 1
    store.record(1, "A", rater="ana")
    assert store.next_pair("ana").id == 2
    assert store.next_pair("ben").id == 1  # another rater's judgements do not count
    assert store.next_pair("ana", after=3).id == 4
    store.record(4, "A", rater="ana")
    assert store.next_pair("ana", after=3).id == 2  # wraps round past the last id
    for pair_id in (2, 3):
        store.record(pair_id, "tie", rater="ana")
    assert store.next_pair("ana") is None
    assert tuple(store.progress("ana")) == (4, 4)
    assert tuple(store.progress("ben")) == (0, 4)


def test_text_is_stored_verbatim_with_parameterised_queries(tmp_path):
    nasty = "'); DROP TABLE judgements; --"
    with FeedbackStore(tmp_path / "feedback.db") as store:
        pair_id = store.add_pair(nasty, ' "quoted" ', " \\ backslash \x00 nul")
        store.record(pair_id, "A", rater="o'brien", comment=nasty)
        stored = store.pair(pair_id)
        assert (stored.prompt, stored.a, stored.b) == (nasty, ' "quoted" ', " \\ backslash \x00 nul")
        assert store.judgements()[0].comment == nasty and store.judgements()[0].rater == "o'brien"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"pair_id": 99, "verdict": "A"}, UnknownPairError, "no pair with id 99"),
        ({"pair_id": 0, "verdict": "A"}, JudgementError, "positive whole number"),
        ({"pair_id": True, "verdict": "A"}, JudgementError, "positive whole number"),
        ({"pair_id": 1, "verdict": "a"}, JudgementError, "verdict must be one of"),
        ({"pair_id": 1, "verdict": "both bad"}, JudgementError, "verdict must be one of"),
        ({"pair_id": 1, "verdict": "A", "rating": 0}, JudgementError, "rating must be a whole number from 1 to 5"),
        ({"pair_id": 1, "verdict": "A", "rating": 6}, JudgementError, "rating must be"),
        ({"pair_id": 1, "verdict": "A", "rating": 2.5}, JudgementError, "rating must be"),
        ({"pair_id": 1, "verdict": "A", "rating": True}, JudgementError, "rating must be"),
        ({"pair_id": 1, "verdict": "A", "rater": ""}, JudgementError, "rater must be a non-empty name"),
        ({"pair_id": 1, "verdict": "A", "rater": "a\nb"}, JudgementError, "one line"),
        ({"pair_id": 1, "verdict": "A", "comment": "x" * 10_001}, JudgementError, "the most is 10,000"),
        ({"pair_id": 1, "verdict": "A", "comment": "\ud800"}, JudgementError, "not valid Unicode"),
        ({"pair_id": 1, "verdict": "A", "comment": 5}, JudgementError, "comment must be text"),
    ],
)
def test_bad_judgements_are_refused_and_write_nothing(store, kwargs, error, message):
    kwargs = {"rater": "ana", **kwargs}
    with pytest.raises(error, match=message):
        store.record(kwargs.pop("pair_id"), kwargs.pop("verdict"), **kwargs)
    assert judgement_count(store.path) == 0
    assert store.judgements() == []


def test_a_rater_judges_a_pair_once(store):
    first = store.record(1, "A", rater="ana")
    with pytest.raises(AlreadyJudgedError, match="already judged pair 1"):
        store.record(1, "B", rater="ana")
    assert store.judgements() == [first]


def test_adding_pairs_skips_known_and_identical(tmp_path):
    path = tmp_path / "pairs.jsonl"
    records = [c.to_record() for c in PAIRS] + [{"prompt": "x", "a": " same", "b": "same "}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n")
    with FeedbackStore(tmp_path / "feedback.db") as store:
        assert store.add_pairs_file(path) == Added(new=4, stored=0, identical=1)
        assert store.add_pairs_file(path) == Added(new=0, stored=4, identical=1)
        assert store.count_pairs() == 4
        assert store.add_pair(PAIRS[0].prompt, PAIRS[0].a, PAIRS[0].b) == 1
        with pytest.raises(CandidateError, match="nothing to judge"):
            store.add_pair("x", "same", "same")
        assert store.pair(1).metadata == {"source": "test", "seed": 1}


def test_candidate_files_round_trip(tmp_path):
    path = tmp_path / "out" / "pairs.jsonl"
    assert write_candidates(path, PAIRS) == len(PAIRS)
    assert read_candidates(path) == PAIRS


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "p", "a": "x"}', "line 1: missing field 'b'"),
        ('{"prompt": "p", "a": "x", "b": 3}', "field 'b' must be text, not int"),
        ('{"prompt": "p", "a": "x", "b": "y", "completion": "z"}', r"unknown field\(s\) \['completion'\]"),
        ('{"prompt": "p", "a": "x", "b": "y", "metadata": []}', "'metadata' must be an object"),
        ('{"prompt": "p", "a": "x", "b": "y", "metadata": {"verdict": "A"}}', "reserved"),
        ('{"prompt": "p", "a": "x", "b": "y", "metadata": {"v": NaN}}', "not valid JSON"),
        ('{"prompt": "p", "a": "x", "b": "\\ud800"}', "lone surrogate"),
        ('["p", "x", "y"]', "must be a JSON object, not list"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_candidate_files_name_the_line_and_add_nothing(tmp_path, line, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text(line + "\n")
    with FeedbackStore(tmp_path / "feedback.db") as store:
        with pytest.raises(CandidateError, match=message):
            store.add_pairs_file(path)
        assert store.count_pairs() == 0


def test_a_bad_line_after_good_ones_adds_nothing(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIRS[0].to_record()) + "\n" + '{"prompt": "p"}\n')
    with FeedbackStore(tmp_path / "feedback.db") as store:
        with pytest.raises(CandidateError, match="line 2"):
            store.add_pairs_file(path)
        assert store.count_pairs() == 0


def test_empty_and_missing_candidate_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(CandidateError, match="nothing in the file"):
        read_candidates(tmp_path / "empty.jsonl")
    with pytest.raises(CandidateError, match="does not exist"):
        read_candidates(tmp_path / "missing.jsonl")
    with pytest.raises(CandidateError, match="is a directory"):
        read_candidates(tmp_path)


def test_export_refuses_an_empty_store_and_a_directory(store, tmp_path):
    with pytest.raises(FeedbackStoreError, match="no judgements"):
        store.export(tmp_path / "prefs.jsonl")
    assert not (tmp_path / "prefs.jsonl").exists()
    store.record(1, "A", rater="ana")
    with pytest.raises(FeedbackStoreError, match="is a directory"):
        store.export(tmp_path)
    with pytest.raises(FeedbackStoreError, match="no judgements by 'ben'"):
        store.export(tmp_path / "prefs.jsonl", rater="ben")


def test_store_path_is_checked_at_the_boundary(tmp_path):
    with pytest.raises(FeedbackStoreError, match="is a directory"):
        FeedbackStore(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    with pytest.raises(FeedbackStoreError, match="is not a SQLite database"):
        FeedbackStore(text)
    assert text.read_text() == "not a database\n"
    with pytest.raises(FeedbackStoreError, match="does not exist"):
        FeedbackStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(FeedbackStoreError, match="is not a folder"):
        FeedbackStore(text / "feedback.db")
    with pytest.raises(FeedbackStoreError, match="file path"):
        FeedbackStore("")
    with FeedbackStore(tmp_path / "new" / "sub" / "feedback.db") as store:  # folders made
        assert store.count_pairs() == 0


def test_another_programs_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    before = file_digest(path)
    with pytest.raises(FeedbackStoreError, match="another program"):
        FeedbackStore(path)
    assert file_digest(path) == before


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "feedback.db"
    FeedbackStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = file_digest(path)
    with pytest.raises(FeedbackStoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer than"):
        FeedbackStore(path)
    assert file_digest(path) == before


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "feedback.db"
    path.write_bytes(b"")
    with FeedbackStore(path) as store:
        store.add_pairs(PAIRS[:1])
    with FeedbackStore(path, create=False) as store:
        assert store.count_pairs() == 1


# Processes ----------------------------------------------------------------------------------------------------

LABELLER = textwrap.dedent(
    """
    import sys
    from tokengym.feedback.candidates import Candidate
    from tokengym.feedback.store import FeedbackStore

    path, rater, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with FeedbackStore(path) as store:
        store.add_pairs([Candidate(f"prompt {i}", f" a{i}", f" b{i}") for i in range(count)])
        while (pair := store.next_pair(rater)) is not None:
            store.record(pair.id, "A", rater=rater, comment=f"{rater} on {pair.id}")
    """
)


def test_two_labellers_in_two_processes(tmp_path):
    path = tmp_path / "feedback.db"  # both processes create it at once, add the same pairs, and label them all
    procs = [
        subprocess.Popen([sys.executable, "-c", LABELLER, str(path), rater, "25"], stderr=subprocess.PIPE, text=True)
        for rater in ("ana", "ben")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with FeedbackStore(path, create=False) as store:
        assert store.count_pairs() == 25
        assert tuple(store.progress("ana")) == (25, 25) and tuple(store.progress("ben")) == (25, 25)
        assert all(j.comment == f"{j.rater} on {j.pair_id}" for j in store.judgements())


WRITER = textwrap.dedent(
    """
    import sys
    from tokengym.feedback.store import FeedbackStore

    store = FeedbackStore(sys.argv[1], create=False)
    tag = sys.argv[2]
    n = 0
    while True:
        n += 1
        verdict = ("A", "B", "tie", "both_bad")[n % 4]
        comment = f"{tag}-{n}:" + "x" * (n * 7919 % 9990)  # some span several pages of the log
        judgement = store.record(1 + n % 3, verdict, rater=f"{tag}-{n}", rating=1 + n % 5, comment=comment)
        print(judgement.id, flush=True)  # the acknowledgement: the commit has returned
    """
)


def expected_fields(tag: str, n: int) -> tuple:
    return ("A", "B", "tie", "both_bad")[n % 4], 1 + n % 5, f"{tag}-{n}:" + "x" * (n * 7919 % 9990), 1 + n % 3


@pytest.mark.parametrize("round_", range(4))
def test_killed_writer_loses_no_acknowledged_judgement(tmp_path, round_):
    rng = random.Random(round_)
    path = tmp_path / "feedback.db"
    with FeedbackStore(path) as store:
        store.add_pairs(PAIRS[:3])
        store.record(1, "A", rater="before")  # present before the crash, must survive it
    for kill in range(3):  # several crashes on one file: each reopening recovers the last one
        tag = f"r{round_}k{kill}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        acknowledged = []
        wanted = rng.randint(1, 40)
        while len(acknowledged) < wanted:
            line = proc.stdout.readline()
            assert line, proc.stderr.read().decode()
            acknowledged.append(int(line))
        # Let it run on for a random moment, so the kill lands anywhere in a later write.
        time.sleep(rng.uniform(0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        rest = proc.stdout.read().decode()
        acknowledged += [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]
        proc.stdout.close()
        proc.stderr.close()

        with FeedbackStore(path, create=False) as store:
            assert store._db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
            mine = {j.id: j for j in store.judgements() if j.rater.startswith(tag + "-")}
            assert set(acknowledged) <= set(mine), "an acknowledged judgement was lost"
            # at most one commit returned without its acknowledgement being printed before the kill
            assert len(mine) - len(acknowledged) in (0, 1)
            for judgement in mine.values():  # every stored record is whole
                n = int(judgement.rater.rsplit("-", 1)[1])
                verdict, rating, comment, pair_id = expected_fields(tag, n)
                assert (judgement.verdict, judgement.rating, judgement.comment, judgement.pair_id) == (
                    verdict,
                    rating,
                    comment,
                    pair_id,
                )
            assert sorted(int(j.rater.rsplit("-", 1)[1]) for j in mine.values()) == list(range(1, len(mine) + 1))
            assert [j.rater for j in store.judgements(rater="before")] == ["before"]
