"""ContextQA-v0: questions with and without answers, the abstention reward, its evaluation figures and warm start."""

import math

import gymnasium as gym
import numpy as np
import pytest

import tokengym
from tokengym import testing
from tokengym.agents.running.evaluate import evaluate_policy_text
from tokengym.data.qa import qa_item_for
from tokengym.envs import TextActionWrapper
from tokengym.rewards import make_reward
from tokengym.rewards.qa import (
    ABSTENTION_PHRASES,
    UnknownPhrasingSetError,
    abstention_summary,
    judge,
    normalize_answer,
)

ENV = "ContextQA-v0"


# ------------------------------------------------------------------------------------------------------ data


def test_items_are_pure_functions_of_their_address_and_the_splits_hold_different_contexts():
    assert qa_item_for(7, "train") == qa_item_for(7, "train")
    train = {qa_item_for(i, "train", source="article").context for i in range(40)}
    test = {qa_item_for(i, "test", source="article").context for i in range(40)}
    assert not train & test
    assert [qa_item_for(i).source for i in range(6)] == ["article", "persona", "support"] * 2


@pytest.mark.parametrize("source", ["article", "persona", "support"])
def test_answers_are_in_the_context_and_unanswerable_questions_are_not_answered_there(source):
    kinds = set()
    for i in range(150):
        item = qa_item_for(i, "train", source=source, unanswerable_share=0.5)
        kinds.add(item.kind)
        assert item.question.endswith("?")
        if item.answerable:
            assert item.answer and item.answer in item.context
            continue
        assert item.answer == ""
        question = item.question.lower()
        if source == "article":  # an event this article does not report
            event = question.split("the news about ", 1)[1].split(" happen")[0].removesuffix("?")
            assert event not in item.context.lower()
        elif source == "persona":
            name = item.context.split(" ", 1)[0]
            if question.startswith("where does"):
                assert " lives in " not in item.context
            elif question.endswith("job?"):
                assert " works as " not in item.context
            else:  # the name of a pet it does not have, or of another species than its own
                pet = question.split(f"{name.lower()}'s ", 1)[1].removesuffix("?")
                assert f"a {pet} called" not in item.context
                assert (" has a " in item.context) == (item.kind == "false_premise")
        elif "ticket number" in question:
            assert item.kind == "absent" and "Ticket" not in item.context
        else:
            product = question.split("the fix for the ", 1)[1].removesuffix("?")
            assert item.kind == "false_premise" and f"product: {product}." not in item.context.lower()
    assert "answerable" in kinds and kinds - {"answerable"}


def test_the_share_of_unanswerable_questions_is_the_one_asked_for():
    assert all(qa_item_for(i, unanswerable_share=0.0).answerable for i in range(60))
    assert not any(qa_item_for(i, unanswerable_share=1.0).answerable for i in range(60))
    share = np.mean([not qa_item_for(i, "test", unanswerable_share=0.4).answerable for i in range(900)])
    assert 0.35 < share < 0.45


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "dev"}, "unknown split"),
        ({"source": "novel"}, "unknown source"),
        ({"unanswerable_share": 1.5}, r"in \[0, 1\]"),
        ({"unanswerable_share": "half"}, r"in \[0, 1\]"),
    ],
)
def test_bad_generator_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        qa_item_for(0, **kwargs)


# ---------------------------------------------------------------------------------------------------- judging


@pytest.mark.parametrize(
    "completion, answer, outcome",
    [
        ("Leeds", "Leeds", "correct"),
        ("She lives in Leeds.", "Leeds", "correct"),
        ("the LEEDS!", "Leeds", "correct"),
        ("Leedsville", "Leeds", "fabricated"),
        ("Leeds Paris Rome Oslo Bonn Kiev Riga", "Leeds", "fabricated"),
        ("Paris", "Leeds", "fabricated"),
        ("I don't know.", "Leeds", "abstained"),
        ("i DONT know", "", "abstained"),
        ("The text doesn't say", "", "abstained"),
        ("I don't know, maybe Leeds", "", "fabricated"),
        ("Leeds", "", "fabricated"),
        ("  ", "Leeds", "empty"),
        ("clean the tank seal and reseat the tank", "clean the tank seal and reseat the tank", "correct"),
    ],
)
def test_judge(completion, answer, outcome):
    assert judge(completion, answer) == outcome


def test_phrasing_sets_nest_and_an_unknown_one_is_a_specific_error():
    strict, default, lenient = (set(ABSTENTION_PHRASES[n]) for n in ("strict", "default", "lenient"))
    assert strict < default < lenient
    assert judge("Not sure.", "", phrases="strict") == "fabricated"
    assert judge("Not sure.", "", phrases="default") == "abstained"
    assert judge("No idea", "", phrases="default") == "fabricated"
    assert judge("No idea", "", phrases="lenient") == "abstained"
    assert normalize_answer("I don't know.") == normalize_answer("i dont KNOW")
    for build in (
        lambda: judge("x", "", phrases="polite"),
        lambda: make_reward("abstention(phrases='polite')"),
        lambda: gym.make(ENV, abstention_phrases="polite"),
    ):
        with pytest.raises(UnknownPhrasingSetError, match="unknown abstention phrasing set 'polite'; choose one of"):
            build()
    assert issubclass(UnknownPhrasingSetError, ValueError)


def test_the_three_rewards_read_the_answers_column():
    reward = make_reward("answer_correct + abstention - 2*fabrication")
    totals, parts = reward.score(
        ["Q"] * 4, ["Leeds", "I don't know", "Paris", "I don't know"], answers=["Leeds", "", "", "Leeds"]
    )
    assert parts == {
        "answer_correct": [1.0, 0.0, 0.0, 0.0],
        "abstention": [0.0, 1.0, 0.0, 0.0],
        "fabrication": [0.0, 0.0, 1.0, 0.0],
    }
    assert totals == [1.0, 1.0, -2.0, 0.0]
    assert reward.score(["Q"] * 2, ["Leeds", "Leeds"], references=["Leeds", "I do not know"])[0] == [1.0, -2.0]
    with pytest.raises(ValueError, match="needs answers="):
        reward(["Q"], ["Leeds"])


def test_summary_figures_are_rates_over_the_questions_they_name():
    outcomes = ["correct", "correct", "fabricated", "abstained", "abstained", "fabricated", "empty", "abstained"]
    kinds = ["answerable"] * 4 + ["absent", "absent", "false_premise", "false_premise"]
    s = abstention_summary(outcomes, kinds)
    assert s["accuracy_answerable"] == {"mean": 0.5, "std": 0.5, "n": 4.0}
    assert s["abstention_answerable"]["mean"] == 0.25
    assert s["abstention_unanswerable"]["mean"] == 0.5 and s["abstention_unanswerable"]["n"] == 4
    assert s["abstention_absent"]["mean"] == 0.5 and s["abstention_false_premise"]["mean"] == 0.5
    assert s["fabrication_unanswerable"]["mean"] == 0.25
    assert s["fabrication_all"]["mean"] == 0.25
    assert s["answer_precision"]["mean"] == pytest.approx(2 / 4)
    assert s["calibration"]["mean"] == pytest.approx(4 / 8)  # 2 right answers, 2 abstentions on unanswerable
    assert math.isclose(s["calibration"]["std"], 0.5)
    only_answerable = abstention_summary(["correct"], ["answerable"])
    assert "fabrication_unanswerable" not in only_answerable and only_answerable["calibration"]["mean"] == 1.0
    with pytest.raises(ValueError, match="unknown outcomes"):
        abstention_summary(["right"], ["answerable"])


# --------------------------------------------------------------------------------------------------------- env


def test_contextqa_is_registered_and_passes_the_contract_suite():
    assert ENV in tokengym.registered_ids()
    for check in testing.ALL_CHECKS.values():
        check(ENV)
    testing.check_time_limit(ENV)


def _play(env, text):
    env.reset(seed=0)
    sample = env.unwrapped.current_sample
    return sample, env.step(text)


def test_reward_pays_right_answers_and_abstentions_and_charges_inventions_by_the_given_weights():
    env = TextActionWrapper(gym.make(ENV, correct_reward=2.0, abstention_reward=0.5, fabrication_cost=3.0))
    unanswerable = answerable = None
    for index in range(40):
        env.reset(options={"index": index})
        sample = env.unwrapped.current_sample
        if sample.metadata["answerable"] and answerable is None:
            answerable = index
        if not sample.metadata["answerable"] and unanswerable is None:
            unanswerable = index
    env.reset(options={"index": answerable})
    answer = env.unwrapped.current_sample.columns["answers"]
    _, reward, terminated, _, info = env.step(answer)
    assert terminated and reward == 2.0 and info["outcome"] == "correct"
    assert info["reward_components"] == {"answer_correct": 1.0, "abstention": 0.0, "fabrication": 0.0}
    env.reset(options={"index": answerable})
    assert env.step("I don't know.")[1] == 0.0  # abstaining on an answerable question: neither paid nor charged
    env.reset(options={"index": unanswerable})
    assert env.unwrapped.current_sample.columns["references"] == "I don't know."
    _, reward, _, _, info = env.step("I can't tell from the text.")
    assert reward == 0.5 and info["outcome"] == "abstained" and info["kind"] in ("absent", "false_premise")
    env.reset(options={"index": unanswerable})
    _, reward, _, _, info = env.step("Leeds")
    assert reward == -3.0 and info["reward_components"]["fabrication"] == 1.0 and info["answers"] == ""


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"fabrication_cost": "high"}, ValueError, "fabrication_cost must be a number"),
        ({"correct_reward": True}, ValueError, "correct_reward must be a number"),
        ({"abstention_reward": float("nan")}, ValueError, "abstention_reward"),
        ({"fabrication_cost": -1.0}, ValueError, "fabrication_cost"),
        ({"unanswerable_share": 2}, ValueError, "unanswerable_share"),
        ({"source": "news"}, ValueError, "source must be one of"),
        ({"split": "valid"}, ValueError, "split must be one of"),
        ({"reward": "abstention", "fabrication_cost": 2.0}, ValueError, "not both"),
        ({"max_prompt_len": 8}, ValueError, "raise max_prompt_len"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        env = gym.make(ENV, **kwargs)
        env.reset(seed=0)  # a prompt budget too small for the question shows at the first question


def test_a_reward_spec_replaces_the_weighted_reward():
    env = TextActionWrapper(gym.make(ENV, reward="rouge_l"))
    env.reset(options={"index": 0})
    reference = env.unwrapped.current_sample.columns["references"]
    _, reward, _, _, info = env.step(reference)
    assert reward == pytest.approx(1.0) and list(info["reward_components"]) == ["rouge_l"]


class _Scripted:
    """Writes a text chosen from the current question, token by token (a stand-in policy for evaluation)."""

    def __init__(self, env, choose):
        self.env, self.choose = env, choose

    def predict(self, obs, deterministic=False):
        u = self.env.unwrapped
        target = u.codec.encode(" " + self.choose(u.current_sample)) + [u.codec.eos_id]
        return np.int64(target[len(u.completion_ids)]), None


@pytest.mark.parametrize(
    "choose, expected",
    [
        (
            lambda sample: sample.columns["references"],  # the oracle: the answer, or the canonical abstention
            {
                "accuracy_answerable": 1.0,
                "abstention_unanswerable": 1.0,
                "fabrication_unanswerable": 0.0,
                "calibration": 1.0,
            },
        ),
        (
            lambda sample: "I don't know.",
            {"accuracy_answerable": 0.0, "abstention_answerable": 1.0, "fabrication_unanswerable": 0.0},
        ),
        (
            lambda sample: "Leeds",
            {"accuracy_answerable": 0.0, "fabrication_unanswerable": 1.0, "fabrication_all": 1.0, "calibration": 0.0},
        ),
    ],
)
def test_evaluation_reports_the_task_figures_through_the_eval_summary_hook(choose, expected):
    env = gym.make(ENV, split="test")
    report = evaluate_policy_text(_Scripted(env, choose), env, range(12), metrics="default")
    for name, value in expected.items():
        assert report.metrics[name]["mean"] == pytest.approx(value), name
    answerable = sum(s["reference"] != "I don't know." for s in report.samples)
    assert report.metrics["accuracy_answerable"]["n"] == answerable
    assert report.metric_notes["accuracy_answerable"] == f" [over {answerable} of 12 episodes]"
    assert {"answer_correct", "abstention", "fabrication"} <= set(report.metrics)
    if "calibration" not in expected:  # always abstaining: right exactly on the unanswerable questions
        assert report.metrics["calibration"]["mean"] == pytest.approx(1 - answerable / 12)
    plain = evaluate_policy_text(_Scripted(env, choose), env, range(2))  # no metrics asked: no figures
    assert plain.metrics == {}


def test_eval_command_prints_the_figures(micro_lm):
    from cli_runner import run_cli

    code, out, _ = run_cli("eval", ENV, "--model", micro_lm, "--episodes", "3", "--samples", "0")
    assert code == 0, out
    assert "split test" in out
    for name in ("accuracy_answerable", "fabrication_unanswerable", "calibration"):
        assert name in out


# ----------------------------------------------------------------------------------------------- warm start


def test_warm_start_learns_the_answers_and_the_canonical_abstention(micro_lm, tmp_path):
    from tokengym.agents.supervised.sft import SFTConfig, demonstration_pairs, supervised_finetune

    env = gym.make(ENV, unanswerable_share=0.5)
    pairs = demonstration_pairs(env, 12, seed=0)
    codec = env.unwrapped.codec
    targets = [codec.decode(target[:-1]).strip() for _, target in pairs]
    assert all(target[-1] == codec.eos_id for _, target in pairs)
    assert "I don't know." in targets and any(t != "I don't know." for t in targets)
    for seed, target in enumerate(targets):
        env.reset(seed=seed)
        assert target == (env.unwrapped.current_sample.columns["answers"] or "I don't know.")
    report = supervised_finetune(
        SFTConfig(env_id=ENV, model_name=micro_lm, steps=25, batch_size=8, lr=3e-3, progress_bar=False),
        out=tmp_path / "sft",
    )
    assert report["last_loss"] < report["first_loss"] - 1.0, report
