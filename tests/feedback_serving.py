"""A labelling server over a fresh feedback store, running in a thread: shared by the page and server tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tokengym.feedback.candidates import Candidate
from tokengym.feedback.server import LabellingServer
from tokengym.feedback.store import FeedbackStore


@contextmanager
def serving(folder: Path, pairs: Sequence[Candidate], rater: str = "ana") -> Iterator[LabellingServer]:
    """A server on a free port over a store in ``folder`` holding ``pairs``; shut down and closed on exit."""
    store = FeedbackStore(folder / "feedback.db")
    store.add_pairs(pairs)
    server = LabellingServer(store, rater=rater, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        store.close()
