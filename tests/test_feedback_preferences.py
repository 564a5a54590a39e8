"""Preference data as JSONL: the plain and the conversational form, and every refusal."""

from __future__ import annotations

import json

import pytest

from tokengym.feedback.preferences import (
    Preference,
    PreferenceError,
    preference_from_record,
    read_preferences,
    write_preferences,
)

PROMPT = "User: Hi!\nAssistant:"


def test_round_trip_keeps_every_field(tmp_path):
    prefs = [
        Preference(PROMPT, " Hello!", " Go away.", rating=5, rater="ana", metadata={"env": "Dialogue-v0", "k": [1]}),
        Preference(PROMPT, " Hi.", " Hey.", tie=True, metadata={"verdict": "tie"}),
    ]
    path = tmp_path / "sub" / "prefs.jsonl"
    assert write_preferences(path, prefs) == 2
    assert read_preferences(path) == prefs
    assert not [p for p in path.parent.iterdir() if p.name != "prefs.jsonl"]  # no temporary file left
    assert json.loads(path.read_text().splitlines()[1]) == {
        "prompt": PROMPT,
        "chosen": " Hi.",
        "rejected": " Hey.",
        "tie": True,
        "metadata": {"verdict": "tie"},
    }


def test_the_conversational_form_becomes_the_dialogue_layout():
    record = {
        "chosen": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "What."}],
    }
    pref = preference_from_record(record)
    assert (pref.prompt, pref.chosen, pref.rejected) == (PROMPT, " Hello!", " What.")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": PROMPT, "chosen": "a"}, "missing field 'rejected'"),
        ({"prompt": PROMPT, "chosen": 3, "rejected": "b"}, "field 'chosen' must be text"),
        ({"prompt": PROMPT, "chosen": "a", "rejected": "b", "rating": 6}, "from 1 to 5"),
        ({"prompt": PROMPT, "chosen": "a", "rejected": "b", "rating": True}, "from 1 to 5"),
        ({"prompt": PROMPT, "chosen": "a", "rejected": "b", "tie": "yes"}, "'tie' must be true or false"),
        ({"prompt": PROMPT, "chosen": "a", "rejected": "b", "metadata": []}, "'metadata' must be an object"),
        ({"prompt": PROMPT, "chosen": "a", "rejected": "b", "score": 1}, "unknown field"),
        ({"prompt": PROMPT, "chosen": "", "rejected": ""}, "both completions are empty"),
        (
            {
                "chosen": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello!"}],
                "rejected": [{"role": "user", "content": "Bye!"}, {"role": "assistant", "content": "What."}],
            },
            "differ before their last message",
        ),
        (
            {
                "chosen": [{"role": "user", "content": "Hi!"}],
                "rejected": [{"role": "user", "content": "Hi!"}],
            },
            "last message must be the assistant's",
        ),
        ("not an object", "must be a JSON object"),
    ],
)
def test_bad_records_are_refused_with_the_field(record, message):
    with pytest.raises(PreferenceError, match=message):
        preference_from_record(record)


def test_a_bad_line_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "prefs.jsonl"
    good = json.dumps({"prompt": PROMPT, "chosen": "a", "rejected": "b"})
    path.write_text(f"{good}\n\n{good.replace('rejected', 'other')}\n")
    with pytest.raises(PreferenceError, match=r"prefs.jsonl, line 3: unknown field"):
        read_preferences(path)
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b", "metadata": {"x": NaN}}\n')
    with pytest.raises(PreferenceError, match="line 1: not valid JSON"):
        read_preferences(path)
    path.write_text("\n")
    with pytest.raises(PreferenceError, match="nothing in the file"):
        read_preferences(path)
    with pytest.raises(PreferenceError, match="does not exist"):
        read_preferences(tmp_path / "missing.jsonl")
    with pytest.raises(PreferenceError, match="is a directory"):
        read_preferences(tmp_path)


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "prefs.jsonl"
    write_preferences(path, [Preference(PROMPT, " a", " b")])
    before = path.read_text()

    def broken():
        yield Preference(PROMPT, " c", " d")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_preferences(path, broken())
    assert path.read_text() == before
