"""Hand pairs to people and wait for their judgements: the human side of a round of RLHF.

:func:`wait_for_judgements` adds candidate pairs to a :class:`~tokengym.feedback.store.FeedbackStore`, says how to
open the labelling page (``tokengym feedback serve --db FILE``) or the terminal labeller (``tokengym feedback
label --db FILE``), then looks at the store every ``poll_s`` seconds until each of the pairs has a judgement from
any rater, and returns those judgements as preferences. Labellers write to the store from their own process (the
page's server, the terminal) or thread; the store is made for that (write-ahead log, one transaction per
judgement). When ``timeout_s`` passes first it raises :class:`FeedbackTimeoutError`: the judgements made so far
stay in the store, and adding the same pairs again later adds nothing, so a caller that starts over picks them up.

Example:
    >>> import tempfile, pathlib, threading, time
    >>> from tokengym.feedback.candidates import Candidate
    >>> from tokengym.feedback.store import FeedbackStore
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "feedback.db"
    >>> FeedbackStore(db).close()  # made before the judging thread opens it
    >>> def judge():
    ...     with FeedbackStore(db) as store:
    ...         while store.next_pair("ana") is None:
    ...             time.sleep(0.01)
    ...         store.record(store.next_pair("ana").id, "B", rater="ana")
    >>> threading.Thread(target=judge).start()
    >>> [pref] = wait_for_judgements(db, [Candidate("Hi!", " Go away.", " Hello!")], poll_s=0.05,
    ...                              timeout_s=60, log=lambda *a: None)
    >>> pref.chosen
    ' Hello!'
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tokengym.feedback.candidates import Candidate
from tokengym.feedback.preferences import Preference

__all__ = ["FeedbackTimeoutError", "wait_for_judgements"]


class FeedbackTimeoutError(TimeoutError):
    """People did not judge the pairs in time; the judgements made so far are kept in the feedback store."""


def wait_for_judgements(
    db: str | os.PathLike[str],
    pairs: Sequence[Candidate],
    *,
    metadata: Mapping[str, Any] | None = None,
    timeout_s: float = 86400.0,
    poll_s: float = 2.0,
    what: str = "the pairs",
    log: Callable[..., None] = print,
) -> list[Preference]:
    """Add ``pairs`` to the store ``db`` and wait until every one has a judgement; returns those judgements.

    Args:
        db: the feedback store's file (made when missing).
        pairs: the candidate pairs; those whose replies are the same text are left out (nothing to judge).
        metadata: added to each pair's metadata in the store (``{"round": 2}``).
        timeout_s: how long to wait, in seconds.
        poll_s: seconds between looks at the store.
        what: how the pairs are named in messages (``"round 2"``).
        log: where the instructions and the progress go.

    Returns:
        One preference per judgement of the pairs (several raters: several each), in the order they were made.

    Raises:
        ValueError: no pair has two different replies.
        FeedbackTimeoutError: ``timeout_s`` passed before every pair was judged.
    """
    from tokengym.feedback.store import FeedbackStore

    if not timeout_s > 0 or not poll_s > 0:
        raise ValueError(f"timeout_s and poll_s must be positive, not {timeout_s!r} and {poll_s!r}")
    with FeedbackStore(db) as store:
        extra = dict(metadata or {})
        wanted = {store.add_pair(p.prompt, p.a, p.b, {**p.metadata, **extra}) for p in pairs if p.judgeable}
        if not wanted:
            raise ValueError(f"{what}: every pair has two equal replies; there is nothing for people to judge")
        log(
            f"{what}: {len(wanted)} pair(s) to judge. Open the labelling page with\n"
            f"    tokengym feedback serve --db {store.path}\n"
            f"or label in a terminal with\n"
            f"    tokengym feedback label --db {store.path}\n"
            f"Waiting up to {timeout_s:g} s; this goes on once every pair has a judgement."
        )
        deadline = time.monotonic() + timeout_s
        shown = -1
        while True:
            judged = {j.pair_id for j in store.judgements()} & wanted
            if len(judged) == len(wanted):
                break
            if len(judged) != shown:
                log(f"{what}: {len(judged)} of {len(wanted)} pair(s) judged")
                shown = len(judged)
            left = deadline - time.monotonic()
            if left <= 0:
                raise FeedbackTimeoutError(
                    f"{what}: {len(judged)} of {len(wanted)} pairs judged after {timeout_s:g} s; the judgements are "
                    f"kept in {store.path}: judge the rest, then start again"
                )
            time.sleep(min(poll_s, left))
        return [p for p in store.preferences() if p.metadata.get("pair_id") in wanted]
