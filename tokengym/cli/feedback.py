"""``tokengym feedback``: people judge pairs of completions; the judgements are stored, then exported as preferences.

tokengym feedback add    --db FILE --pairs candidates.jsonl
                         add candidate pairs ({"prompt", "a", "b", "metadata"?} a line) to the store
tokengym feedback serve  --db FILE [--pairs FILE] [--host 127.0.0.1] [--port N] [--rater NAME]
                         a labelling page on this machine; prints its address with the access token
tokengym feedback label  --db FILE [--pairs FILE] [--rater NAME]
                         the same questions in the terminal
tokengym feedback export --db FILE --out prefs.jsonl [--rater NAME]
                         the judgements as preference JSONL (tokengym.feedback.preferences)

The store is :class:`tokengym.feedback.store.FeedbackStore`; the formats are those of
:mod:`tokengym.feedback.candidates` and :mod:`tokengym.feedback.preferences`.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from typing import Any

from tokengym.cli.flags import int_in

__all__ = ["add_feedback", "default_rater"]


def default_rater() -> str:
    """The login name, the rater id when ``--rater`` is not given (``"human"`` where there is none)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "human"
    return name if name.strip() else "human"


def add_feedback(sub: Any) -> None:
    """Declare ``tokengym feedback`` and its four commands on the top-level subparsers ``sub``."""
    feedback = sub.add_parser(
        "feedback",
        help="label pairs of completions by hand (web page or terminal); store and export the judgements",
        description="Human feedback: label pairs of completions in a local web page or the terminal; the "
        "judgements go to a SQLite store and export as preference JSONL.",
    )
    commands = feedback.add_subparsers(dest="feedback_command", required=True, metavar="COMMAND")
    rater_help = "who is labelling (default: your login name)"
    pairs_help = 'candidate pairs to add first: JSONL of {"prompt", "a", "b", "metadata"?}'

    add = commands.add_parser("add", help="add candidate pairs from a JSONL file to the store (made if missing)")
    _db_flag(add)
    add.add_argument("--pairs", required=True, metavar="FILE", help=pairs_help)
    add.set_defaults(func=cmd_add)

    serve = commands.add_parser("serve", help="a labelling web page on this machine, with an access token")
    _db_flag(serve)
    serve.add_argument("--pairs", metavar="FILE", help=pairs_help)
    serve.add_argument(
        "--host", default="127.0.0.1", metavar="ADDRESS", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int_in(0, 65535), default=0, metavar="N", help="port (default 0: a free one)")
    serve.add_argument("--rater", default=None, metavar="NAME", help=rater_help)
    serve.set_defaults(func=cmd_serve)

    label = commands.add_parser("label", help="label pairs in the terminal (a/b/t/x, a rating, a comment; q quits)")
    _db_flag(label)
    label.add_argument("--pairs", metavar="FILE", help=pairs_help)
    label.add_argument("--rater", default=None, metavar="NAME", help=rater_help)
    label.set_defaults(func=cmd_label)

    export = commands.add_parser("export", help="write the judgements as preference JSONL")
    _db_flag(export)
    export.add_argument("--out", required=True, metavar="FILE", help="the preference file to write (replaced)")
    export.add_argument(
        "--rater", default=None, metavar="NAME", help="only this rater's judgements (default: everyone's)"
    )
    export.set_defaults(func=cmd_export)

    for command in commands.choices.values():  # an unknown flag is reported by the command's own parser
        command.set_defaults(command_parser=command)


def _db_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, metavar="FILE", help="the feedback store, a SQLite file")


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    """The store (made when ``--pairs`` is given) after adding the pairs of ``--pairs``, and what adding them did
    (``None`` without ``--pairs``)."""
    from tokengym.feedback.candidates import read_candidates
    from tokengym.feedback.store import FeedbackStore

    # The pairs file is read first: a bad one leaves no new store behind.
    candidates = None if getattr(args, "pairs", None) is None else read_candidates(args.pairs)
    store = FeedbackStore(args.db, create=candidates is not None)
    try:
        added = None if candidates is None else store.add_pairs(candidates)
    except BaseException:
        store.close()
        raise
    return store, added


def _added_text(added: Any) -> str:
    skipped = f", {added.identical} skipped (the same completion twice)" if added.identical else ""
    return f"{added.new} new pair(s), {added.stored} already stored{skipped}"


def _rater(args: argparse.Namespace) -> str:
    from tokengym.feedback.judgements import check_rater

    return check_rater(default_rater() if args.rater is None else args.rater)


def _ready_to_label(store: Any, rater: str, added: Any) -> None:
    """Say what the store holds; refuse an empty one."""
    judged, total = store.progress(rater)
    if total == 0:
        raise ValueError(f"the feedback store {str(store.path)!r} holds no pairs; add some with --pairs FILE")
    new = "" if added is None else f"--pairs: {_added_text(added)}; "
    print(f"{new}{total} pairs in the store, {judged} judged by {rater}", flush=True)


def cmd_add(args: argparse.Namespace) -> int:
    store, added = _open(args)
    with store:
        total = store.count_pairs()
    print(f"{store.path}: {_added_text(added)}; {total} pair(s) in all")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from tokengym.feedback.server import LabellingServer

    rater = _rater(args)
    store, added = _open(args)
    with store:
        _ready_to_label(store, rater, added)
        server = LabellingServer(store, rater=rater, host=args.host, port=args.port)
        if not _loopback(args.host):
            print(
                f"tokengym feedback: warning: bound to {args.host}: anyone who can reach it and has the address "
                "with its token can label",
                file=sys.stderr,
            )
        print(f"Labelling page for {rater}: {server.url}", flush=True)
        print("Ctrl-C stops the server; every judgement is saved when it is made.", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")
        finally:
            server.server_close()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_label(args: argparse.Namespace) -> int:
    from tokengym.feedback.terminal import label_in_terminal

    rater = _rater(args)
    store, added = _open(args)
    with store:
        _ready_to_label(store, rater, added)
        label_in_terminal(store, rater)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tokengym.feedback.judgements import check_rater
    from tokengym.feedback.store import FeedbackStore

    rater = None if args.rater is None else check_rater(args.rater)
    if not args.out.strip():
        raise ValueError("--out must name a file, such as prefs.jsonl")
    with FeedbackStore(args.db, create=False) as store:
        written = store.export(args.out, rater=rater)
    whose = "" if rater is None else f" by {rater}"
    print(f"Wrote {written} preference(s){whose} to {args.out}")
    return 0
