"""A local web page for labelling pairs of completions, served from a feedback store by the standard library.

``tokengym feedback serve`` runs :class:`LabellingServer` (``http.server.ThreadingHTTPServer``, no framework). It
binds 127.0.0.1 unless told otherwise and makes a random access token (``secrets.token_urlsafe``): the address it
prints, ``http://127.0.0.1:PORT/?token=...``, is the only way in, and every request without the token is
answered 403 (compared in constant time with ``hmac.compare_digest``). The page (``page.html`` beside this
module) shows a prompt and completions A and B, buttons and keys for the verdict (1/a, 2/b, 3/t, 4/x), an
optional 1-to-5 rating (r then a digit), a comment (c) and the rater's progress ("12 of 40 judged").

Safety. Model text reaches the page only as JSON and is put in with ``textContent``, never parsed as HTML; the
JSON itself writes ``<``, ``>`` and ``&`` as ``\\u003c``-style escapes, and a content security policy lets only
the page's own script (by a fresh nonce) run, so a completion holding ``<script>`` shows as text. A judgement is
posted as a JSON body carrying the token; the server checks the token, that the pair exists (an unknown id is
answered 404 and writes nothing), the verdict and the rating (400), and refuses a second judgement of a pair by
the same rater (409). A cross-site form cannot send JSON and does not know the token. Requests are not logged:
their lines hold the token.

Endpoints (each needs the token: ``?token=`` or an ``X-Token`` header, or ``"token"`` in a POST body):

* ``GET /``: the page.
* ``GET /api/next``: ``{"pair": {"id", "prompt", "a", "b"} or null, "judged", "total", "rater"}``.
* ``POST /api/judgements`` with ``{"token", "pair_id", "verdict", "rating"?, "comment"?}``: 201 and
  ``{"judgement_id", "pair_id", "verdict", "judged", "total"}``.

Example:
    >>> import tempfile, pathlib, threading, urllib.request, json
    >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.db")
    >>> _ = store.add_pair("Hi!", " Hello.", " <b>Go away.</b>")
    >>> server = LabellingServer(store, rater="ana", port=0)
    >>> thread = threading.Thread(target=server.serve_forever, daemon=True); thread.start()
    >>> api = server.url.replace("/?", "/api/next?")
    >>> json.loads(urllib.request.urlopen(api).read())["pair"]["b"]
    ' <b>Go away.</b>'
    >>> server.shutdown(); server.server_close(); store.close()
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tokengym.feedback.judgements import AlreadyJudgedError, JudgementError, UnknownPairError, check_rater
from tokengym.feedback.store import FeedbackStore, FeedbackStoreError

__all__ = ["MAX_BODY", "LabellingServer", "page_template"]

MAX_BODY = 64 * 1024
"""The largest request body read, in bytes (a judgement with the longest comment fits several times)."""
_JUDGEMENT_FIELDS = {"token", "pair_id", "verdict", "rating", "comment"}
_NONCE = "{{nonce}}"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}")


def page_template() -> str:
    """The labelling page's HTML (``page.html``, package data); ``{{nonce}}`` marks where a script nonce goes."""
    return resources.files("tokengym.feedback").joinpath("page.html").read_text(encoding="utf-8")


def _json_bytes(payload: Any) -> bytes:
    """JSON with ``<``, ``>`` and ``&`` escaped, so that no model text reads as markup even if sniffed as HTML."""
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


class LabellingServer(ThreadingHTTPServer):
    """The labelling page and its JSON API over a :class:`~tokengym.feedback.store.FeedbackStore`.

    Args:
        store: where pairs come from and judgements go (shared by the request threads; it locks itself).
        rater: whose judgements this page records.
        host: the address to bind; 127.0.0.1 (this machine only) unless you mean to share the page.
        port: the port; 0 picks a free one (see :attr:`url`).
        token: the access token (16 or more URL-safe characters); a fresh ``secrets.token_urlsafe(32)`` when
            ``None``.

    Raises:
        OSError: the address cannot be bound (a port in use, an unknown host).
        JudgementError: a rater name that is empty or longer than one line.

    Example:
        >>> import tempfile, pathlib
        >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.db")
        >>> server = LabellingServer(store, rater="ana", token="fixed-token-for-a-test")
        >>> server.url.endswith("/?token=fixed-token-for-a-test")
        True
        >>> server.server_close(); store.close()
    """

    daemon_threads = True

    def __init__(
        self, store: FeedbackStore, *, rater: str, host: str = "127.0.0.1", port: int = 0, token: str | None = None
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"host must be an address such as 127.0.0.1, not {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 0 to 65535 (0: any free port), not {port!r}")
        if token is not None and (not isinstance(token, str) or not _TOKEN.fullmatch(token)):
            raise ValueError("token must be at least 16 letters, digits, '-' or '_' (or None for a random one)")
        self.store = store
        self.rater = check_rater(rater)
        self.token = token if token is not None else secrets.token_urlsafe(32)
        self.template = page_template()
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        """The port bound (the free one picked, for port 0)."""
        return self.server_address[1]

    @property
    def url(self) -> str:
        """The page's address with its token, to open in a browser."""
        host = self.server_address[0]
        if host in ("0.0.0.0", "::"):  # bound to every interface: this machine reaches it on the loopback
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    def token_ok(self, given: Any) -> bool:
        """Whether ``given`` is the access token (compared in constant time)."""
        return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def state(self) -> dict[str, Any]:
        """What ``GET /api/next`` answers: the rater's next pair (or ``None``) and progress."""
        pair = self.store.next_pair(self.rater)
        judged, total = self.store.progress(self.rater)
        shown = None if pair is None else {"id": pair.id, "prompt": pair.prompt, "a": pair.a, "b": pair.b}
        return {"pair": shown, "judged": judged, "total": total, "rater": self.rater}


class _Handler(BaseHTTPRequestHandler):
    server: LabellingServer
    server_version = "tokengym-feedback"
    sys_version = ""
    timeout = 30  # a client that stops sending does not hold its thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: every request line holds the token."""

    # Responses ------------------------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, _json_bytes(payload), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    def _refuse(self) -> None:
        self._error(HTTPStatus.FORBIDDEN, "a valid token is needed: open the address the server printed")

    # Requests -------------------------------------------------------------------------------------------------

    def _given_token(self, query: str) -> str | None:
        header = self.headers.get("X-Token")
        if header is not None:
            return header
        values = parse_qs(query).get("token")
        return values[0] if values else None

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self.server.token_ok(self._given_token(url.query)):
            return self._refuse()
        if url.path == "/":
            nonce = secrets.token_urlsafe(16)
            policy = (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
                "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            )
            page = self.server.template.replace(_NONCE, nonce).encode("utf-8")
            return self._send(HTTPStatus.OK, page, "text/html; charset=utf-8", {"Content-Security-Policy": policy})
        if url.path == "/api/next":
            return self._send_json(HTTPStatus.OK, self.server.state())
        return self._error(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body, problem = self._read_body()
        payload = _json_object(body) if body is not None else None
        given = self._given_token(url.query)
        if given is None and payload is not None:
            given = payload.get("token")
        if not self.server.token_ok(given):
            return self._refuse()
        if problem is not None:
            return self._error(*problem)
        if url.path != "/api/judgements":
            return self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {url.path}")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the judgement as application/json")
        if payload is None:
            return self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        self._judge(payload)

    def _read_body(self) -> tuple[bytes | None, tuple[int, str] | None]:
        """The request body, or ``None`` and why it was not read (the connection then closes)."""
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return None, (HTTPStatus.LENGTH_REQUIRED, "a Content-Length is needed")
        if length > MAX_BODY:
            self.close_connection = True
            return None, (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {MAX_BODY:,} bytes")
        return self.rfile.read(length), None

    def _judge(self, payload: dict[str, Any]) -> None:
        unknown = sorted(set(payload) - _JUDGEMENT_FIELDS)
        if unknown:
            return self._error(HTTPStatus.BAD_REQUEST, f"unknown field(s) {unknown}; send {sorted(_JUDGEMENT_FIELDS)}")
        missing = [key for key in ("pair_id", "verdict") if key not in payload]
        if missing:
            return self._error(HTTPStatus.BAD_REQUEST, f"missing field(s) {missing}")
        server = self.server
        try:
            judgement = server.store.record(
                payload["pair_id"],
                payload["verdict"],
                rater=server.rater,
                rating=payload.get("rating"),
                comment="" if payload.get("comment") is None else payload["comment"],
            )
        except UnknownPairError as err:
            return self._error(HTTPStatus.NOT_FOUND, str(err))
        except AlreadyJudgedError as err:
            return self._error(HTTPStatus.CONFLICT, str(err))
        except JudgementError as err:
            return self._error(HTTPStatus.BAD_REQUEST, str(err))
        except FeedbackStoreError as err:  # another process held the store past the busy timeout
            return self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(err))
        judged, total = server.store.progress(server.rater)
        reply = {"judgement_id": judgement.id, "pair_id": judgement.pair_id, "verdict": judgement.verdict}
        self._send_json(HTTPStatus.CREATED, {**reply, "judged": judged, "total": total})


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in ``body``, or ``None`` (not UTF-8, not JSON, not an object, a NaN)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
