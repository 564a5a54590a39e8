import sys

import gymnasium as gym
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym.data import DataFileError, load_records
from tokengym.data.loaders import load_hub_records

FIELDS = {"article": "article", "summary": "summary"}


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def test_jsonl_and_csv_read_with_renamed_fields(tmp_path):
    jsonl = write(tmp_path, "a.jsonl", '{"doc": "Text one.", "tl": "One."}\n\n{"doc": "Text two.", "tl": "Two."}\n')
    records = load_records(jsonl, {"article": "doc", "summary": "tl"})
    assert records == [{"article": "Text one.", "summary": "One."}, {"article": "Text two.", "summary": "Two."}]
    csv = write(tmp_path, "a.csv", 'article,summary\n"Text, with comma.",Short.\n')
    assert load_records(csv, FIELDS) == [{"article": "Text, with comma.", "summary": "Short."}]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("e.jsonl", "", "holds no records"),
        ("e.jsonl", "\n  \n", "holds no records"),
        ("bad.jsonl", '{"article": "a", "summary": "b"}\n{"article": "a", \n', r"bad.jsonl:2: not valid JSON"),
        ("list.jsonl", '["a", "b"]\n', r"list.jsonl:1: expected a JSON object"),
        (
            "miss.jsonl",
            '{"article": "a", "summary": "b"}\n{"article": "a"}\n',
            r"miss.jsonl:2: missing field 'summary'",
        ),
        ("empty.jsonl", '{"article": "  ", "summary": "b"}\n', r"empty.jsonl:1: field 'article' is empty"),
        ("miss.csv", "article,summary\nx,y\nz,\n", r"miss.csv:3: field 'summary' is empty"),
        ("wide.csv", "article,summary\nx,y,z\n", r"wide.csv:2: more values than header columns"),
        ("a.txt", "hello", "unsupported format '.txt'"),
    ],
)
def test_malformed_files_name_the_line_and_field(tmp_path, name, content, match):
    with pytest.raises(DataFileError, match=match):
        load_records(write(tmp_path, name, content), FIELDS)


def test_non_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "latin.jsonl", '{"article": "ok", "summary": "ok"}\n{"article": "caf\xe9"}\n', "latin-1")
    with pytest.raises(DataFileError, match=r"latin.jsonl:2: not UTF-8"):
        load_records(path, FIELDS)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_records(tmp_path / "nope.jsonl", FIELDS)


def test_hub_dataset_offline_says_how_to_use_a_local_file(hub_offline):
    pytest.importorskip("datasets")  # installed by the Makefile; without it, the next test's error applies
    with pytest.raises(DataFileError, match=r"EdinburghNLP/xsum.*to_json\('xsum_test.jsonl'\).*data_path"):
        load_hub_records("xsum", "test")
    with pytest.raises(DataFileError, match=r"abisee/cnn_dailymail.*'3.0.0'.*'highlights'"):
        gym.make("Summarization-v0", dataset="cnn_dailymail", split="test")


def test_hub_dataset_without_the_datasets_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match=r"tokengym\[hub\]"):
        load_hub_records("samsum", "train")


def test_hub_records_are_renamed_and_checked(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = [{"dialogue": "Ann: hi\nBob: hello", "summary": "They greet."}, {"dialogue": "Ann: bye", "summary": " "}]
    calls = []

    def fake_load(repo_id, config, split):
        calls.append((repo_id, config, split))
        return rows[: int(split.split(":")[1].rstrip("]"))] if ":" in split else rows

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    assert load_hub_records("samsum", "train", limit=1) == [
        {"article": "Ann: hi\nBob: hello", "summary": "They greet."}
    ]
    assert calls == [("Samsung/samsum", None, "train[:1]")]
    with pytest.raises(DataFileError, match=r"Samsung/samsum train record 1: field 'summary' is empty"):
        load_hub_records("samsum", "train")
    env = gym.make("Summarization-v0", dataset="samsum", dataset_limit=1)
    assert env.reset(seed=0)[1]["prompt"].startswith("Ann: hi")
    with pytest.raises(ValueError, match="not both"):
        gym.make("Summarization-v0", dataset="samsum", data_path="x.jsonl")
    with pytest.raises(ValueError, match="limit must be a positive int"):
        load_hub_records("samsum", "train", limit=0)
