"""Bad data, bad rewards and deep inputs each get a specific error: data files whose fields are not text, paths
that are not regular files, text that is not Unicode, rewards that are not finite numbers, and reward specs
nested or sized to exhaust the parser."""

import json
import math
import os
import sys

import gymnasium as gym
import numpy as np
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym.data import DataFileError, load_records
from tokengym.data.dialogue_examples import load_dialogue_file
from tokengym.data.loaders import load_hub_records, resolve_fields
from tokengym.data.textcheck import require_unicode, unicode_problem
from tokengym.envs.personas import PersonaFileError, load_personas
from tokengym.envs.wrappers import TextActionWrapper
from tokengym.rewards import (
    CompositeReward,
    RewardArgumentError,
    RewardSpecError,
    UnknownRewardError,
    make_reward,
    parse_reward_spec,
)
from tokengym.rewards.spec import MAX_SPEC_DEPTH, MAX_SPEC_OPERATORS

FIELDS = {"article": "article", "summary": "summary"}
GOOD = '{"article": "A text.", "summary": "Short."}\n'
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


# ------------------------------------------------------------------------------------------ data is text


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("42", r"field 'article' holds a number \(42\), not text"),
        ("3.5", r"field 'article' holds a number \(3.5\), not text"),
        ('["a", "b"]', r"field 'article' holds a list \(\['a', 'b'\]\), not text"),
        ('{"x": 1}', r"field 'article' holds an object"),
        ("null", r"field 'article' is null, not text"),
        ("NaN", r"field 'article' holds a number \(nan\)"),
        ("Infinity", r"field 'article' holds a number \(inf\)"),
        ("1e400", r"field 'article' holds a number \(inf\)"),
        ("true", r"field 'article' holds a boolean"),
        ('"a\\ud800b"', r"field 'article' is not valid Unicode text: a lone surrogate '\\ud800' at index 1"),
    ],
)
def test_jsonl_fields_that_are_not_text_are_refused_with_file_line_and_field(tmp_path, value, match):
    path = write(tmp_path, "news.jsonl", GOOD + '{"article": ' + value + ', "summary": "s"}\n')
    with pytest.raises(DataFileError, match=r"news.jsonl:2: " + match):
        load_records(path, FIELDS)


def test_envs_refuse_non_text_fields_when_built(tmp_path):
    summaries = write(tmp_path, "s.jsonl", GOOD + '{"article": "a", "summary": 5}\n')
    with pytest.raises(DataFileError, match=r"s.jsonl:2: field 'summary' holds a number \(5\)"):
        gym.make("Summarization-v0", data_path=str(summaries))
    dialogues = write(tmp_path, "d.jsonl", '{"context": "Hi", "response": ["a"]}\n')
    with pytest.raises(DataFileError, match=r"d.jsonl:1: field 'response' holds a list"):
        gym.make("Dialogue-v0", data_path=str(dialogues))


@pytest.mark.parametrize(
    ("context", "match"),
    [
        ('[["a"]]', r"field 'context' item 0 holds a list \(\['a'\]\); the list must hold strings"),
        ('["a", 3]', r"field 'context' item 1 holds a number \(3\)"),
        ("[]", r"field 'context' holds no text"),
        ('["", " "]', r"field 'context' holds no text"),
        ("7", r"field 'context' holds a number \(7\), not text \(a string, or a list of strings\)"),
        ('["\\udc80"]', r"field 'context' item 0 is not valid Unicode text"),
    ],
)
def test_dialogue_contexts_are_strings_or_lists_of_strings(tmp_path, context, match):
    path = write(tmp_path, "d.jsonl", '{"context": ' + context + ', "response": "r"}\n')
    with pytest.raises(DataFileError, match=r"d.jsonl:1: " + match):
        load_dialogue_file(path)


def test_dialogue_contexts_as_lists_and_strings_still_load(tmp_path):
    path = write(
        tmp_path,
        "d.jsonl",
        '{"context": ["Hi", "", "Hello"], "response": "Bye."}\n{"context": "Hi\\nYo", "response": "x"}\n',
    )
    examples = load_dialogue_file(path)
    assert [e.history for e in examples] == [("Hi", "Hello"), ("Hi", "Yo")]


def test_hub_records_that_are_not_text_are_refused(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = [{"dialogue": "Ann: hi", "summary": "They greet."}, {"dialogue": "Ann: bye", "summary": None}]
    monkeypatch.setattr(datasets, "load_dataset", lambda repo_id, config, split: rows)
    with pytest.raises(DataFileError, match=r"Samsung/samsum train record 1: field 'summary' is null"):
        load_hub_records("samsum", "train")


def test_line_separators_inside_records_do_not_split_them(tmp_path):
    # JSON strings may hold U+2028 and form feeds unescaped; only "\n" ends a JSONL line
    record = {"article": "One\u2028two\x0cthree\x85four.", "summary": "s"}
    jsonl = write(tmp_path, "a.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    assert load_records(jsonl, FIELDS) == [record]
    csv = write(tmp_path, "a.csv", 'article,summary\nOne\u2028two\x0cthree,"s\nmore"\n')
    assert load_records(csv, FIELDS) == [{"article": "One\u2028two\x0cthree", "summary": "s\nmore"}]


def test_a_pretty_printed_json_file_is_named_as_such(tmp_path):
    path = write(tmp_path, "a.json", json.dumps([{"article": "x", "summary": "y"}], indent=2))
    with pytest.raises(DataFileError, match=r"a.json: the file is one JSON document spread over lines, not JSON Lines"):
        load_records(path, FIELDS)


def test_a_short_csv_row_reports_the_missing_field(tmp_path):
    with pytest.raises(DataFileError, match=r"short.csv:3: missing field 'summary'"):
        load_records(write(tmp_path, "short.csv", "article,summary\nx,y\nz\n"), FIELDS)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"article": ' + "[" * 100_000 + "]" * 100_000 + "}\n", r"deep.jsonl:1: JSON nested too deeply"),
        ('{"article": ' + "9" * 5000 + "}\n", r"deep.jsonl:1: not readable JSON \(Exceeds the limit"),
    ],
)
def test_deep_or_huge_json_gets_a_data_error(tmp_path, content, match):
    with pytest.raises(DataFileError, match=match):
        load_records(write(tmp_path, "deep.jsonl", content), FIELDS)


# ------------------------------------------------------------------------------------------ paths and encodings


def test_a_directory_is_reported_as_one(tmp_path):
    with pytest.raises(DataFileError, match=r"is a directory, not a data file; pass the path of a .jsonl or .csv"):
        load_records(tmp_path, FIELDS)
    (tmp_path / "looks.jsonl").mkdir()
    with pytest.raises(DataFileError, match=r"looks.jsonl' is a directory"):
        gym.make("Summarization-v0", data_path=str(tmp_path / "looks.jsonl"))


@POSIX
def test_a_named_pipe_is_reported_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    with pytest.raises(DataFileError, match=r"pipe.jsonl' is a named pipe \(FIFO\), not a data file"):
        load_records(fifo, FIELDS)
    persona_fifo = tmp_path / "p.yaml"
    os.mkfifo(persona_fifo)
    with pytest.raises(PersonaFileError, match=r"is a named pipe \(FIFO\), not a persona file"):
        load_personas(persona_fifo)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_is_reported_as_one():
    with pytest.raises(DataFileError, match=r"'/dev/null' is a device, not a data file"):
        load_records("/dev/null", FIELDS)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_broken_symlink_names_its_target(tmp_path):
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(DataFileError, match=r"is a symbolic link to .*gone.jsonl', which does not exist"):
        load_records(tmp_path / "link.jsonl", FIELDS)


@pytest.mark.parametrize(
    ("path", "match"),
    [
        (42, r"data file must be a path \(a str or os.PathLike\)"),
        ("", "the path is empty"),
        ("a\x00b.jsonl", "not a valid path"),
    ],
)
def test_paths_that_are_not_paths(path, match):
    with pytest.raises(DataFileError, match=match):
        load_records(path, FIELDS)


def test_missing_files_keep_their_messages(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_records(tmp_path / "nope.jsonl", FIELDS)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_personas(tmp_path / "nope.yaml")


def test_encodings_are_named(tmp_path):
    utf16 = write(tmp_path, "u16.jsonl", GOOD.encode("utf-16"))
    with pytest.raises(DataFileError, match=r"the file is UTF-16 text .*re-encode it as UTF-8"):
        load_records(utf16, FIELDS)
    latin = write(tmp_path, "l1.csv", "article,summary\ncaf\xe9,y\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"l1.csv:2: not UTF-8 text \(invalid continuation byte at byte 19: 0xe9\)"):
        load_records(latin, FIELDS)
    persona = write(tmp_path, "p.yaml", "- name: Jos\xe9\n  interests: [x]\n".encode("latin-1"))
    with pytest.raises(PersonaFileError, match=r"p.yaml:1: not UTF-8 text"):
        load_personas(persona)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    bom = b"\xef\xbb\xbf"
    assert load_records(write(tmp_path, "b.csv", bom + b"article,summary\nx,y\n"), FIELDS) == [
        {"article": "x", "summary": "y"}
    ]
    assert load_records(write(tmp_path, "b.jsonl", bom + GOOD.encode()), FIELDS)[0]["summary"] == "Short."


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ("document", r"fields must map field names to the file's column names"),
        ({"articel": "document"}, r"fields renames \['article', 'summary'\]; \['articel'\] is not among them"),
        ({"article": 3}, r"fields\['article'\] must be a column name"),
    ],
)
def test_field_renames_are_checked(tmp_path, fields, match):
    with pytest.raises(ValueError, match=match):
        resolve_fields(fields, FIELDS)
    path = write(tmp_path, "s.jsonl", GOOD)
    with pytest.raises(ValueError, match=match):
        gym.make("Summarization-v0", data_path=str(path), fields=fields)


def test_dialogue_field_renames_are_checked(tmp_path):
    path = write(tmp_path, "d.jsonl", '{"context": "Hi", "response": "r"}\n')
    with pytest.raises(ValueError, match=r"fields renames \['context', 'response'\]; \['contxt'\]"):
        load_dialogue_file(path, {"contxt": "c"})


# ------------------------------------------------------------------------------------------ personas


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("deep.yaml", "[" * 20_000 + "]" * 20_000, r"YAML nested too deeply"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, r"JSON nested too deeply"),
        ("s.json", '[{"name": "A\\ud800", "interests": ["x"]}]', r"'name' is not valid Unicode text"),
        ("i.json", '[{"name": "A", "interests": ["\\udfff"]}]', r"'interests' is not valid Unicode text"),
        ("c.json", '[{"name": "A", "interests": ["x"], "city": "\\ud800"}]', r"'city' is not valid Unicode text"),
    ],
)
def test_persona_files_that_are_deep_or_not_unicode(tmp_path, name, content, match):
    with pytest.raises(PersonaFileError, match=match):
        load_personas(write(tmp_path, name, content))


def test_persona_directory_is_reported_as_one(tmp_path):
    with pytest.raises(PersonaFileError, match=r"is a directory, not a persona file"):
        load_personas(tmp_path)


def test_personas_on_an_env_without_persona_users_are_refused():
    persona = [{"name": "Ann", "interests": ["chess"]}]
    with pytest.raises(ValueError, match="personas= is for persona users, and a single-reply episode has no user"):
        gym.make("Dialogue-v0", personas=persona)
    with pytest.raises(ValueError, match="personas= is for persona users"):
        gym.make("DialogueSupport-v0", personas=persona)
    env = gym.make("Dialogue-v0", personas=persona, users="persona", max_turns=2, max_episode_steps=96)
    assert "Ann" in env.reset(seed=0)[1]["prompt"]


# ------------------------------------------------------------------------------------------ the reward boundary


def returning(value):
    def reward(prompts, completions, **kwargs):
        return value(len(completions)) if callable(value) else value

    reward.name = "mine"
    return reward


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (lambda n: [0.0] * (n - 1) + [math.inf], r"'mine' returned inf for completion 1; rewards must be real numbers"),
        (lambda n: [-math.inf] * n, r"'mine' returned -inf for completion 0"),
        (lambda n: [0.0, None], r"'mine' returned None for completion 1"),
        (lambda n: [math.nan] * n, r"'mine' returned nan for completion 0"),
        (lambda n: [np.float32(np.inf)] * n, r"'mine' returned .*inf.* for completion 0"),
        (lambda n: ["1.0"] * n, r"'mine' returned '1.0' for completion 0"),
        (lambda n: [10**400] * n, r"'mine' returned 1000.*\.\.\. for completion 0"),
        (lambda n: [1j] * n, r"'mine' returned 1j for completion 0"),
        (None, r"'mine' returned None; a reward returns one real number per completion \(a list of 2\)"),
        (1.0, r"'mine' returned 1.0; a reward returns one real number per completion"),
        ("ab", r"'mine' returned 'ab'; a reward returns"),
        (lambda n: {i: 1.0 for i in range(n)}, r"'mine' returned \{0: 1.0, 1: 1.0\}; a reward returns"),
        (lambda n: [1.0], r"'mine' returned 1 values for 2 completions"),
    ],
)
def test_rewards_that_are_not_finite_numbers_are_refused(value, match):
    with pytest.raises(ValueError, match=match):
        CompositeReward({"mine": returning(value)}).score(["p", "q"], ["a", "b"])


def test_finite_rewards_of_any_real_type_pass():
    for value in [lambda n: np.ones(n), lambda n: (x for x in [True, 2]), lambda n: [np.float32(0.5), 3]]:
        totals, _ = CompositeReward({"mine": returning(value)}).score(["p", "q"], ["a", "b"])
        assert all(isinstance(t, float) and math.isfinite(t) for t in totals)


def test_a_weighted_sum_that_overflows_is_refused():
    mix = CompositeReward({"a": returning(lambda n: [1e308] * n), "b": returning(lambda n: [1e308] * n)})
    with pytest.raises(ValueError, match=r"the weighted sum of 'a\+b' is inf for completion 0; rewards must be finite"):
        mix(["p"], ["c"])


def test_an_infinite_reward_leaves_the_episode_as_it_was():
    env = TextActionWrapper(gym.make("Summarization-v0", reward=returning(lambda n: [math.inf] * n)))
    obs, _ = env.reset(seed=0)
    u = env.unwrapped
    with pytest.raises(ValueError, match="returned inf for completion 0"):
        u.step(u.codec.eos_id)
    np.testing.assert_array_equal(u._obs()["input_ids"], obs["input_ids"])
    u.reward_fn = make_reward("rouge_l")  # fixed: the same step now scores
    assert u.step(u.codec.eos_id)[2] is True


# ------------------------------------------------------------------------------------------ deep and huge specs


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("(" * 5000 + "rouge_l" + ")" * 5000, r"longer than 10000 characters"),
        ("(" * 150 + "rouge_l" + ")" * 150, rf"brackets nested more than {MAX_SPEC_DEPTH} deep at column 33"),
        ("-" * 100_000 + "rouge_l", r"\(100007 characters\) is longer than 10000 characters"),
        ("-" * 5000 + "rouge_l", rf"more than {MAX_SPEC_OPERATORS} operators and brackets \(the 257th at column 257\)"),
        ("*".join(["2"] * 3000) + "*rouge_l", r"more than 256 operators"),
        ("not " * 2400 + "rouge_l", r"more than 256 operators"),
        ("rouge_l" + ".a" * 4900, r"more than 256 operators"),
        ("rouge_l" + "[0]" * 3000, r"more than 256 operators"),
        ("rouge_l" + "()" * 4900, r"more than 256 operators"),
        ("lambda:" * 1400 + "1", r"more than 256 operators"),
        ("1e999999*rouge_l", r"the number 1e999999 at column 1 is too large for a float"),
        ("1e309*rouge_l", r"too large for a float"),
        ("1" * 5000 + "*rouge_l", r"the number at column 1 has 5000 characters, more than 40"),
        ("1" * 100_000 + "*rouge_l", r"longer than 10000 characters"),
        ("10**10**10*rouge_l", r"should be NUMBER\*name"),
        ("verbosity(max_words=" + "[" * 300 + "]" * 300 + ")", r"brackets nested more than 32 deep at column 52"),
        ("verbosity(max_words=" + "9" * 4000 + ")", r"the number at column 21 has 4000 characters"),
        ("verbosity(max_words=1e999)", r"the number 1e999 at column 21 is too large"),
        ("verbosity(max_words='" + "a" * 10**6 + "')", r"longer than 10000 characters"),
        ("verbosity(x={[1]: 2})", r"argument x=\{\[1\]: 2\} must be a literal"),
        ("rouge_l\ud800", r"is not valid Unicode text: a lone surrogate '\\ud800' at index 7"),
        ("rouge_l + (", r"does not parse \(unclosed bracket or quote\)"),
        ("verbosity(x='abc)", r"does not parse at column 13"),
        ("rouge_l + rouge_l", r"appears twice"),
    ],
)
def test_deep_or_huge_specs_get_a_spec_error(spec, match):
    with pytest.raises(RewardSpecError, match=match):
        make_reward(spec)


def test_spec_limits_are_inclusive_and_errors_carry_the_column():
    depth = MAX_SPEC_DEPTH
    assert parse_reward_spec("(" * depth + "rouge_l" + ")" * depth) == [(1.0, "rouge_l", {})]
    # depth brackets count toward the operator limit too: fill it with unary signs
    signs = MAX_SPEC_OPERATORS
    assert parse_reward_spec("-" * signs + "rouge_l") == [(1.0, "rouge_l", {})]
    with pytest.raises(RewardSpecError) as err:
        parse_reward_spec("-" * (signs + 1) + "rouge_l")
    assert err.value.column == signs + 1 and isinstance(err.value, ValueError)
    with pytest.raises(RewardSpecError, match="a reward spec is a string"):
        parse_reward_spec(42)


def test_signed_weights_and_ordinary_specs_still_parse():
    assert parse_reward_spec("-0.5*rouge_l + bleu*-2 + +3*chrf") == [
        (-0.5, "rouge_l", {}),
        (-2.0, "bleu", {}),
        (3.0, "chrf", {}),
    ]
    assert parse_reward_spec("(rouge_l +\n 0.2*verbosity(max_words=30))") == [
        (1.0, "rouge_l", {}),
        (0.2, "verbosity", {"max_words": 30}),
    ]


def test_unknown_names_and_bad_arguments_are_value_errors_too():
    with pytest.raises(UnknownRewardError) as err:
        make_reward("rouge_x")
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    assert str(err.value).startswith("unknown reward 'rouge_x'; did you mean 'rouge_l'")  # not quoted as KeyError is
    with pytest.raises(RewardArgumentError, match="bad arguments for reward 'rouge_l'") as err:
        make_reward("rouge_l(colour=1)")
    assert isinstance(err.value, TypeError) and isinstance(err.value, ValueError)


# ------------------------------------------------------------------------------------------ text actions


def test_unicode_check():
    assert unicode_problem("fine 😀") is None
    assert unicode_problem("ok\ud83d") == "a lone surrogate '\\ud83d' at index 2"
    # what Python's surrogateescape makes of a byte that is not UTF-8 (terminal input, file names)
    assert unicode_problem(b"caf\xe9".decode("utf-8", "surrogateescape")).endswith(
        "(the byte 0xe9 of input that was not UTF-8)"
    )
    with pytest.raises(ValueError, match=r"the input is not valid Unicode text: a lone surrogate '\\udfff' at index 0"):
        require_unicode("\udfff", "the input")


@pytest.mark.parametrize(("text", "index"), [("\ud800", 0), ("hello \udfff world", 6), ("ok\ud83d", 2)])
def test_text_actions_with_lone_surrogates_are_refused_before_the_env_moves(text, index):
    env = TextActionWrapper(gym.make("Dialogue-v0"))
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"TextActionWrapper.step is not valid Unicode text: .* at index {index}"):
        env.step(text)
    u = env.unwrapped
    np.testing.assert_array_equal(u._obs()["input_ids"], obs["input_ids"])
    assert u._pos == u._start  # nothing fed
    assert env.step("Hello! 😀")[2] is True  # still usable
