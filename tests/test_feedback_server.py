"""The labelling server: the token guards every request, judgements are checked before anything is written, and
model text never reaches the page as markup."""

import doctest
import json
import urllib.error
import urllib.request

import pytest
from feedback_serving import serving

from tokengym.feedback import server as server_module
from tokengym.feedback.candidates import Candidate
from tokengym.feedback.server import MAX_BODY, LabellingServer, page_template
from tokengym.feedback.store import FeedbackStore

NASTY = " <script>window.pwned=1</script><b>bold</b> & </pre>"
PAIRS = [
    Candidate("User: Hi!\nAssistant:", " Hello!", " What."),
    Candidate("<img src=x onerror=alert(1)>", NASTY, " plain"),
    Candidate("Q: 2+2?\nA:", " 4", " 5"),
]


@pytest.fixture
def served(tmp_path):
    with serving(tmp_path, PAIRS) as server:
        yield server


def base(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def request(server, path, *, data=None, headers=None, method=None):
    """``(status, headers, body bytes)`` of a request; HTTP errors are answers here, not exceptions."""
    req = urllib.request.Request(base(server) + path, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def post(server, payload, *, token=True, content_type="application/json"):
    body = dict(payload)
    if token is True:
        body["token"] = server.token
    elif token is not None:
        body["token"] = token
    data = json.dumps(body).encode()
    return request(server, "/api/judgements", data=data, headers={"Content-Type": content_type})


def stored(server) -> int:
    return len(server.store.judgements())


def test_docstring_examples_run():
    assert doctest.testmod(server_module).failed == 0


def test_url_binds_loopback_with_a_random_token(served):
    assert served.server_address[0] == "127.0.0.1"
    assert served.url == f"http://127.0.0.1:{served.port}/?token={served.token}"
    assert served.port != 0 and len(served.token) >= 40
    other = LabellingServer(served.store, rater="ana", port=0)
    assert other.token != served.token
    other.server_close()


@pytest.mark.parametrize(
    "path", ["/", "/?token=", "/?token=wrong", "/api/next", "/api/next?token=x", "/nowhere", "/favicon.ico"]
)
def test_requests_without_the_token_are_refused(served, path):
    status, _, body = request(served, path)
    assert status == 403
    assert b"token" in body and b"Hello" not in body


def test_a_token_that_differs_in_its_last_character_is_refused(served):
    wrong = served.token[:-1] + ("A" if served.token[-1] != "A" else "B")
    assert request(served, f"/?token={wrong}")[0] == 403
    assert request(served, "/api/next", headers={"X-Token": wrong})[0] == 403


def test_the_page_holds_no_model_text_and_a_strict_policy(served):
    status, headers, body = request(served, f"/?token={served.token}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "Which completion is better?" in page and "of" in page
    for text in ("Hello!", "window.pwned", "<b>bold", "onerror"):
        assert text not in page
    policy = headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page and "{{nonce}}" not in page
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
    assert request(served, f"/?token={served.token}")[1]["Content-Security-Policy"] != policy  # a fresh nonce
    assert "textContent" in page_template() and "innerHTML" not in page_template()


def test_next_pair_json_escapes_markup(served):
    for _ in range(2):
        served.store.record(served.store.next_pair("ana").id, "A", rater="ana")
    served.store.record(3, "A", rater="ben")
    status, headers, body = request(served, "/api/next", headers={"X-Token": served.token})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert b"<" not in body and b">" not in body and b"&" not in body
    state = json.loads(body)
    assert state["pair"] == {"id": 3, "prompt": "Q: 2+2?\nA:", "a": " 4", "b": " 5"}
    assert (state["judged"], state["total"], state["rater"]) == (2, 3, "ana")
    status, _, body = request(served, f"/api/next?token={served.token}")
    assert status == 200


def test_markup_in_model_text_comes_back_intact_as_data(served):
    served.store.record(1, "A", rater="ana")
    state = json.loads(request(served, f"/api/next?token={served.token}")[2])
    assert state["pair"]["a"] == NASTY and state["pair"]["prompt"] == "<img src=x onerror=alert(1)>"


def test_a_judgement_is_recorded(served):
    status, _, body = post(served, {"pair_id": 2, "verdict": "both_bad", "rating": 1, "comment": "<i>meh</i>"})
    assert status == 201
    reply = json.loads(body)
    assert (reply["pair_id"], reply["verdict"], reply["judged"], reply["total"]) == (2, "both_bad", 1, 3)
    [judgement] = served.store.judgements()
    assert (judgement.verdict, judgement.rating, judgement.comment, judgement.rater) == (
        "both_bad",
        1,
        "<i>meh</i>",
        "ana",
    )
    status, _, _ = post(served, {"pair_id": 1, "verdict": "A", "rating": None, "comment": None})
    assert status == 201 and stored(served) == 2


def test_the_token_may_come_in_a_header(served):
    data = json.dumps({"pair_id": 1, "verdict": "B"}).encode()
    headers = {"Content-Type": "application/json", "X-Token": served.token}
    assert request(served, "/api/judgements", data=data, headers=headers)[0] == 201


@pytest.mark.parametrize(
    ("payload", "token", "status", "message"),
    [
        ({"pair_id": 1, "verdict": "A"}, None, 403, "token"),
        ({"pair_id": 1, "verdict": "A"}, "forged-token-forged-token", 403, "token"),
        ({"pair_id": 9999, "verdict": "A"}, True, 404, "no pair with id 9999"),
        ({"pair_id": -1, "verdict": "A"}, True, 400, "positive whole number"),
        ({"pair_id": "1", "verdict": "A"}, True, 400, "positive whole number"),
        ({"pair_id": 1, "verdict": "C"}, True, 400, "verdict must be one of"),
        ({"pair_id": 1, "verdict": "A", "rating": 6}, True, 400, "rating must be"),
        ({"pair_id": 1, "verdict": "A", "rating": "5"}, True, 400, "rating must be"),
        ({"pair_id": 1, "verdict": "A", "rater": "mallory"}, True, 400, "unknown field"),
        ({"verdict": "A"}, True, 400, "missing field"),
        ({"pair_id": 1, "verdict": "A", "comment": "x" * 10_001}, True, 400, "the most is 10,000"),
    ],
)
def test_bad_judgements_are_refused_and_write_nothing(served, payload, token, status, message):
    code, _, body = post(served, payload, token=token)
    assert code == status
    assert message in json.loads(body)["error"]
    assert stored(served) == 0


def test_malformed_posts_write_nothing(served):
    token = served.token
    headers = {"Content-Type": "application/json", "X-Token": token}
    assert request(served, "/api/judgements", data=b"{not json", headers=headers)[0] == 400
    assert request(served, "/api/judgements", data=b"[1, 2]", headers=headers)[0] == 400
    nan = b'{"pair_id": 1, "verdict": "A", "rating": NaN}'
    assert request(served, "/api/judgements", data=nan, headers=headers)[0] == 400
    status, _, _ = post(served, {"pair_id": 1, "verdict": "A"}, content_type="text/plain")
    assert status == 415  # what a cross-site form could send
    big = json.dumps({"token": token, "pair_id": 1, "verdict": "A", "comment": "x" * MAX_BODY}).encode()
    assert request(served, "/api/judgements", data=big, headers=headers)[0] == 413
    assert request(served, "/api/elsewhere", data=b"{}", headers=headers)[0] == 404
    assert request(served, "/api/judgements", data=b"{}", headers={"Content-Type": "application/json"})[0] == 403
    assert stored(served) == 0


def test_a_second_judgement_of_a_pair_conflicts(served):
    assert post(served, {"pair_id": 1, "verdict": "A"})[0] == 201
    status, _, body = post(served, {"pair_id": 1, "verdict": "B"})
    assert status == 409 and "already judged" in json.loads(body)["error"]
    assert [j.verdict for j in served.store.judgements()] == ["A"]


def test_unknown_pages_need_the_token_too(served):
    assert request(served, f"/nowhere?token={served.token}")[0] == 404
    assert request(served, "/nowhere")[0] == 403


def test_bad_server_arguments(tmp_path):
    with FeedbackStore(tmp_path / "feedback.db") as store:
        with pytest.raises(ValueError, match="port must be"):
            LabellingServer(store, rater="ana", port=70000)
        with pytest.raises(ValueError, match="token must be"):
            LabellingServer(store, rater="ana", token="short")
        with pytest.raises(ValueError, match="token must be"):
            LabellingServer(store, rater="ana", token="has spaces and &=? signs")
        with pytest.raises(ValueError, match="rater must be"):
            LabellingServer(store, rater=" ")
