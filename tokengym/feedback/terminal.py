"""Label pairs in the terminal: ``tokengym feedback label``, the labelling page's keys on standard input.

For each pair the rater has not judged, the prompt and completions A and B are shown, then three questions:
the verdict (``a``, ``b``, ``t`` tie, ``x`` both bad; ``s`` skips the pair for now, ``q`` quits), a rating
(1 to 5, Enter for none) and a comment (Enter for none). A judgement is recorded, in its own transaction, once
all three are answered; quitting (``q`` or end of input) in the middle records nothing of that pair.

Model text is shown with control characters written out (``\\x1b``), so that a completion cannot move the cursor,
recolour or clear the terminal, as the page shows markup as text.

Example:
    >>> import io, tempfile, pathlib
    >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.db")
    >>> _ = store.add_pair("Hi!", " Hello.", " Go away.")
    >>> answers = iter(["a", "4", "friendly"])
    >>> label_in_terminal(store, "ana", read=lambda prompt: next(answers), out=io.StringIO())
    1
    >>> store.judgements()[0].verdict, store.judgements()[0].rating
    ('A', 4)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TextIO

from tokengym.feedback.judgements import AlreadyJudgedError, Pair, check_rater
from tokengym.feedback.store import FeedbackStore

__all__ = ["TERMINAL_KEYS", "label_in_terminal", "printable"]

TERMINAL_KEYS = {"a": "A", "1": "A", "b": "B", "2": "B", "t": "tie", "3": "tie", "x": "both_bad", "4": "both_bad"}
"""What each answer to the verdict question records (the labelling page's keys)."""
_VERDICT_QUESTION = "verdict: [a] A better, [b] B better, [t] tie, [x] both bad, [s] skip, [q] quit > "
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Quit(Exception):
    """The rater quit (``q`` or end of input)."""


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences, carriage returns...) written out; tabs and newlines kept.

    Example:
        >>> printable("red \\x1b[31mtext\\r")
        'red \\\\x1b[31mtext\\\\r'
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _show(pair: Pair, judged: int, total: int, out: TextIO) -> None:
    print(f"\n== pair {pair.id} ({judged} of {total} judged)", file=out)
    print("-- prompt:", file=out)
    print(printable(pair.prompt), file=out)
    print("-- A:", file=out)
    print(printable(pair.a), file=out)
    print("-- B:", file=out)
    print(printable(pair.b), file=out)


def _ask(read: Callable[[str], str], question: str) -> str:
    try:
        return read(question).strip()
    except EOFError:
        raise _Quit from None


def label_in_terminal(
    store: FeedbackStore,
    rater: str,
    *,
    read: Callable[[str], str] = input,
    out: TextIO | None = None,
) -> int:
    """Ask ``rater`` about each pair they have not judged until none is left or they quit.

    Args:
        store: the feedback store.
        rater: who is labelling.
        read: asks a question and returns the answer (``input``; raises ``EOFError`` at the end of input).
        out: where the pairs and messages go (standard output by default).

    Returns:
        How many judgements were recorded.
    """
    out = sys.stdout if out is None else out
    rater = check_rater(rater)
    recorded = 0
    skipped_from: int | None = None
    try:
        while True:
            pair = store.next_pair(rater, after=skipped_from)
            judged, total = store.progress(rater)
            if pair is None:
                print(f"\nAll {total} pairs are judged by {rater}.", file=out)
                break
            _show(pair, judged, total, out)
            verdict = _ask_verdict(read, out)
            if verdict is None:
                skipped_from = pair.id
                continue
            rating = _ask_rating(read, out)
            comment = _ask(read, "comment (Enter for none) > ")
            try:
                store.record(pair.id, verdict, rater=rater, rating=rating, comment=comment)
            except AlreadyJudgedError:  # the same rater in another window got there first
                print(f"pair {pair.id} was judged meanwhile by {rater} elsewhere; that judgement stands", file=out)
            else:
                recorded += 1
            skipped_from = pair.id  # go on in id order from here
    except _Quit:
        print("\nStopped; the judgements so far are saved.", file=out)
    print(f"{recorded} judgement(s) recorded this session.", file=out)
    return recorded


def _ask_verdict(read: Callable[[str], str], out: TextIO) -> str | None:
    """The verdict, or ``None`` to skip the pair."""
    while True:
        answer = _ask(read, _VERDICT_QUESTION).lower()
        if answer == "q":
            raise _Quit
        if answer == "s":
            return None
        if answer in TERMINAL_KEYS:
            return TERMINAL_KEYS[answer]
        print(f"{answer!r}: answer a, b, t, x, s or q", file=out)


def _ask_rating(read: Callable[[str], str], out: TextIO) -> int | None:
    while True:
        answer = _ask(read, "rating 1-5 of the better one (Enter for none, q to quit) > ").lower()
        if answer == "":
            return None
        if answer == "q":
            raise _Quit
        if answer in ("1", "2", "3", "4", "5"):
            return int(answer)
        print(f"{answer!r}: a rating is a whole number from 1 to 5, or Enter for none", file=out)
