"""``tokengym feedback add|label|serve|export`` and the terminal labeller, fed from standard input."""

import doctest
import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest
from cli_runner import run_cli

from tokengym.feedback import terminal as terminal_module
from tokengym.feedback.candidates import Candidate, write_candidates
from tokengym.feedback.preferences import read_preferences
from tokengym.feedback.store import FeedbackStore
from tokengym.feedback.terminal import label_in_terminal, printable

PAIRS = [
    Candidate("User: Hi!\nAssistant:", " Hello!", " What.", {"source": "cli-test"}),
    Candidate("User: Bye.\nAssistant:", " Goodbye!", " \x1b[2J\x1b[31mgone\x07"),
    Candidate("Q: 2+2?\nA:", " 4", " 5"),
]


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    write_candidates(path, PAIRS)
    return path


def assert_one_line_error(code: int, err: str, command: str, message: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tokengym {command}: error: "), err
    assert message in lines[0], err


def answers(*lines: str):
    """A ``read`` function that answers the terminal's questions in turn, then ends the input."""
    queue = list(lines)

    def read(question: str) -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read


# The terminal labeller --------------------------------------------------------------------------------------------


def test_terminal_docstring_examples_run():
    assert doctest.testmod(terminal_module).failed == 0


def test_terminal_records_verdicts_ratings_and_comments(tmp_path):
    with FeedbackStore(tmp_path / "feedback.db") as store:
        store.add_pairs(PAIRS)
        out = io.StringIO()
        read = answers("z", "a", "9", "4", "clear", "x", "", "", "2", "", "says 5")
        assert label_in_terminal(store, "ana", read=read, out=out) == 3
        verdicts = [(j.pair_id, j.verdict, j.rating, j.comment) for j in store.judgements()]
        assert verdicts == [(1, "A", 4, "clear"), (2, "both_bad", None, ""), (3, "B", None, "says 5")]
        text = out.getvalue()
        assert "'z': answer a, b, t, x, s or q" in text and "'9': a rating is a whole number" in text
        assert "(0 of 3 judged)" in text and "(2 of 3 judged)" in text and "All 3 pairs are judged by ana" in text


def test_terminal_skips_quits_and_keeps_what_was_recorded(tmp_path):
    with FeedbackStore(tmp_path / "feedback.db") as store:
        store.add_pairs(PAIRS)
        out = io.StringIO()
        # skip pair 1, judge pair 2 as a tie, then quit at the rating of pair 3
        assert label_in_terminal(store, "ana", read=answers("s", "t", "5", "", "b", "q"), out=out) == 1
        assert [(j.pair_id, j.verdict, j.rating) for j in store.judgements()] == [(2, "tie", 5)]
        assert "Stopped; the judgements so far are saved." in out.getvalue()
        # the end of the input in the middle of a judgement records nothing of it
        assert label_in_terminal(store, "ana", read=answers("a", "3"), out=io.StringIO()) == 0
        assert len(store.judgements()) == 1
        assert store.next_pair("ana").id == 1


def test_terminal_shows_control_characters_as_text(tmp_path):
    with FeedbackStore(tmp_path / "feedback.db") as store:
        store.add_pairs(PAIRS[1:2])
        out = io.StringIO()
        label_in_terminal(store, "ana", read=answers("q"), out=out)
        text = out.getvalue()
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b[2J\\x1b[31mgone\\x07" in text
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"
    assert printable("\r\x9b") == "\\r\\x9b"


# The command line ---------------------------------------------------------------------------------------------


def test_add_then_add_again(tmp_path, pairs_file):
    db = tmp_path / "feedback.db"
    code, out, err = run_cli("feedback", "add", "--db", str(db), "--pairs", str(pairs_file))
    assert code == 0, err
    assert "3 new pair(s), 0 already stored; 3 pair(s) in all" in out
    code, out, _ = run_cli("feedback", "add", "--db", str(db), "--pairs", str(pairs_file))
    assert code == 0 and "0 new pair(s), 3 already stored" in out


def test_label_from_standard_input_then_export(tmp_path, pairs_file, monkeypatch):
    db = tmp_path / "feedback.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n5\nvery good\nt\n\n\nq\n"))
    code, out, err = run_cli("feedback", "label", "--db", str(db), "--pairs", str(pairs_file), "--rater", "ana")
    assert code == 0, err
    assert "--pairs: 3 new pair(s)" in out and "3 pairs in the store, 0 judged by ana" in out
    assert "2 judgement(s) recorded this session." in out
    prefs_path = tmp_path / "prefs.jsonl"
    code, out, err = run_cli("feedback", "export", "--db", str(db), "--out", str(prefs_path))
    assert code == 0, err
    assert f"Wrote 2 preference(s) to {prefs_path}" in out
    first, second = read_preferences(prefs_path)
    assert (first.chosen, first.rating, first.rater, first.metadata["comment"]) == (" Hello!", 5, "ana", "very good")
    assert first.metadata["source"] == "cli-test"
    assert second.tie and second.metadata["verdict"] == "tie"
    code, out, _ = run_cli("feedback", "export", "--db", str(db), "--out", str(prefs_path), "--rater", "ana")
    assert code == 0 and "Wrote 2 preference(s) by ana" in out


def test_label_defaults_the_rater_to_the_login_name(tmp_path, pairs_file, monkeypatch):
    from tokengym.cli.feedback import default_rater

    db = tmp_path / "feedback.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO("b\n\n\n"))
    code, _, err = run_cli("feedback", "label", "--db", str(db), "--pairs", str(pairs_file))
    assert code == 0, err
    with FeedbackStore(db) as store:
        assert [j.rater for j in store.judgements()] == [default_rater()]


@pytest.mark.parametrize(
    ("argv", "command", "message"),
    [
        (["export", "--db", "{tmp}/missing.db", "--out", "{tmp}/p.jsonl"], "feedback", "does not exist"),
        (["label", "--db", "{tmp}/missing.db"], "feedback", "does not exist"),
        (["serve", "--db", "{tmp}/missing.db"], "feedback", "does not exist"),
        (["export", "--db", "{tmp}", "--out", "{tmp}/p.jsonl"], "feedback", "is a directory"),
        (["add", "--db", "{tmp}/notes.txt", "--pairs", "{pairs}"], "feedback", "is not a SQLite database"),
        (["add", "--db", "{tmp}/feedback.db", "--pairs", "{tmp}/bad.jsonl"], "feedback", "line 1: missing field 'b'"),
        (["add", "--db", "{tmp}/feedback.db", "--pairs", "{tmp}/nope.jsonl"], "feedback", "does not exist"),
        (["add", "--db", "{tmp}/feedback.db", "--pairs", "{tmp}"], "feedback", "is a directory"),
        (["label", "--db", "{tmp}/empty.db"], "feedback", "holds no pairs"),
        (["export", "--db", "{tmp}/empty.db", "--out", "{tmp}/p.jsonl"], "feedback", "holds no judgements"),
        (["label", "--db", "{tmp}/empty.db", "--rater", ""], "feedback", "rater must be a non-empty name"),
        (["serve", "--db", "{tmp}/empty.db", "--port", "70000"], "feedback serve", "up to 65,535"),
        (["serve", "--db", "{tmp}/empty.db", "--port", "x"], "feedback serve", "not an integer"),
        (["export", "--db", "{tmp}/empty.db"], "feedback export", "--out"),
        (["export", "--db", "{tmp}/empty.db", "--out", "p", "--bogus"], "feedback export", "unrecognized arguments"),
        ([], "feedback", "required"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, pairs_file, argv, command, message):
    (tmp_path / "notes.txt").write_text("notes\n")
    (tmp_path / "bad.jsonl").write_text('{"prompt": "p", "a": "x"}\n')
    FeedbackStore(tmp_path / "empty.db").close()
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(tmp=tmp_path, pairs=pairs_file) for a in argv]
    code, _, err = run_cli("feedback", *argv)
    assert_one_line_error(code, err, command, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no new store, no export
    assert (tmp_path / "notes.txt").read_text() == "notes\n"


def test_serve_prints_the_address_with_its_token_and_stops_on_ctrl_c(tmp_path, pairs_file):
    db = tmp_path / "feedback.db"
    argv = ["feedback", "serve", "--db", str(db), "--pairs", str(pairs_file), "--port", "0", "--rater", "ana"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokengym", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = None
        for _ in range(10):
            line = proc.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, proc.stderr.read()
        with urllib.request.urlopen(url.replace("/?", "/api/next?"), timeout=10) as response:
            state = json.load(response)
        assert state["pair"]["id"] == 1 and state["total"] == 3 and state["rater"] == "ana"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=10)
        assert refused.value.code == 403
    finally:
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped." in out


def test_serve_on_a_taken_port_is_one_line(tmp_path, pairs_file):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run_cli(
            "feedback", "serve", "--db", str(tmp_path / "f.db"), "--pairs", str(pairs_file), "--port", port
        )
    assert_one_line_error(code, err, "feedback", "in use")
