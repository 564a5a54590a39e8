"""TextWorld worlds: the contract suite on every TextWorld id, rewards and episode ends, the game cache, and errors.

Games are generated once into a temporary cache shared by the module (pools of two games); the cache's own
mechanics (reuse, repair, atomic writes, concurrent makers) are tested with a stand-in generator.
"""

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tokengym
from tokengym import testing
from tokengym.envs import TEXTWORLD_ENVIRONMENTS, textworld_ids
from tokengym.envs.games import TEXTWORLD_GAMES, TWCoinCollector, TWCooking, TWSimple, TWTreasureHunter
from tokengym.envs.games import textworld_cache as cache
from tokengym.envs.games import textworld_challenges as challenges
from tokengym.envs.games.command_env import CommandTextWrapper
from tokengym.envs.games.textworld_game import SPLITS, clean_feedback

# Jericho warns that TextWorld's games are not in its list of known games; TextWorld silences it at import time,
# but pytest restores the warning filters for each test.
pytestmark = pytest.mark.filterwarnings("ignore:Game .* is not fully supported")
HAVE_TEXTWORLD = importlib.util.find_spec("textworld") is not None
needs_textworld = pytest.mark.skipif(not HAVE_TEXTWORLD, reason="needs the textworld extra")
POOL = {"pool_size": 2}
TEST_IDS = {env_id: f"tokengym_test/{env_id}" for env_id in TEXTWORLD_ENVIRONMENTS}
for _env_id, (_entry, _steps, _) in TEXTWORLD_ENVIRONMENTS.items():
    if TEST_IDS[_env_id] not in gym.registry:  # the registered ids with a pool of two, for check_time_limit
        gym.register(TEST_IDS[_env_id], entry_point=_entry, max_episode_steps=_steps, kwargs={"game_kwargs": POOL})


@pytest.fixture(scope="module", autouse=True)
def tw_cache(tmp_path_factory):
    """Every game of this module goes to one temporary cache (``TOKENGYM_CACHE_DIR``), generated once."""
    root = tmp_path_factory.mktemp("tokengym_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOKENGYM_CACHE_DIR", str(root))
        yield root / "textworld"


def _play(game, seed, turns=30):
    """A whole game's trace under a seeded random admissible policy (with a few unknown commands)."""
    rng = np.random.default_rng(seed)
    trace = [str(game.reset(seed=seed))]
    while not game.done and game.turn < turns:
        commands = game.admissible_commands()
        command = commands[rng.integers(len(commands))] if rng.random() < 0.9 else "dance wildly"
        result = game.step(command)
        trace.append((result.command, result.reward, result.done, str(game.text())))
    return trace


# ------------------------------------------------------------------------------------------ registration


def test_ids_are_registered_apart_from_the_default_list_and_documented():
    names = ("Simple", "CoinCollector", "TreasureHunter", "Cooking")
    assert textworld_ids() == [f"TW{name}{mode}-v0" for name in names for mode in ("", "Cmd")]
    assert not set(textworld_ids()) & set(tokengym.registered_ids())
    for env_id in textworld_ids():
        spec = gym.spec(env_id)
        assert spec.max_episode_steps in (100, 1600, 3200)
        doc = getattr(challenges, spec.entry_point.split(":")[1]).__doc__
        for heading in ("## Description", "## Rewards", "## Episode End", "## Arguments", "## Variants", "TextWorld"):
            assert heading in doc, (env_id, heading)
    assert "``level`` (1): an integer from 1 to 300." in challenges.TWCoinCollectorEnv.__doc__
    assert 'gym.make("TWCookingCmd-v0")' in challenges.TWCookingCmdEnv.__doc__


@needs_textworld
@pytest.mark.parametrize("check", list(testing.ALL_CHECKS), ids=str)
@pytest.mark.parametrize("env_id", textworld_ids())
def test_contract(env_id, check):
    testing.ALL_CHECKS[check](lambda: gym.make(env_id, game_kwargs=POOL))


@needs_textworld
@pytest.mark.parametrize("env_id", textworld_ids())
def test_time_limit(env_id):
    testing.check_time_limit(TEST_IDS[env_id])


# ---------------------------------------------------------------------------------------- rewards and ends


@needs_textworld
def test_the_walkthrough_wins_and_score_changes_are_rewards_normalised_by_the_maximum():
    env = CommandTextWrapper(gym.make("TWSimpleCmd-v0", game_kwargs=POOL))
    env.reset(seed=0)
    game = env.unwrapped.game
    assert game.max_score == 10 and game.tw_score == 0  # dense rewards: a point per step of the plan
    total = 0.0
    for command in game.walkthrough:
        _, reward, terminated, truncated, info = env.step(command)
        assert info["valid"] and set(info["reward_components"]) == {"score", "intermediate", "invalid"}
        assert reward == pytest.approx(info["reward_components"]["score"])
        assert reward in (0.0, pytest.approx(0.1)), "each point is a tenth of the maximum score"
        total += reward
    assert terminated and not truncated and info["won"] and game.won and not game.lost
    assert total == pytest.approx(1.0) and game.tw_score == 10
    assert info["feedback"].endswith("You win!") and "*** The End ***" not in info["feedback"]

    raw = TWSimple(normalise_score=False, intermediate_reward=0.5, **POOL)
    raw.reset(seed=0)
    results = [raw.step(command) for command in raw.walkthrough]
    assert sum(r.components["score"] for r in results) == pytest.approx(10.0)
    intermediate = [r.components["intermediate"] for r in results]
    assert set(intermediate) <= {-0.5, 0.0, 0.5} and intermediate[-1] == 0.5 and sum(intermediate) > 0
    assert results[-1].won and results[-1].done


@needs_textworld
def test_walkthrough_turns_are_the_demonstrations_of_a_supervised_warm_start(tmp_path):
    """Each pair is a turn's prompt and the walkthrough's command in the env's own tokens; played in order they
    win; and a short warm start on them learns (the loss falls) and saves a model that loads."""
    from tokengym.agents.lm.loading import load_lm
    from tokengym.agents.supervised.sft import SFTConfig, demonstration_pairs, supervised_finetune, walkthrough_pairs

    env = gym.make("TWCoinCollector-v0", game_kwargs=POOL)
    u = env.unwrapped
    env.reset(seed=0)
    walkthrough = u.game.walkthrough
    pairs = walkthrough_pairs(env, 4 * len(walkthrough), seed=0)
    assert pairs == demonstration_pairs(env, 4 * len(walkthrough), seed=0)
    commands = {tuple(u.tokens.command_ids[c]) + (u.codec.eos_id,): c for c in u.tokens.command_ids}
    assert all(tuple(target) in commands for _, target in pairs)
    obs, _ = env.reset(seed=0)
    turns = {tuple(prompt): commands[tuple(target)] for prompt, target in pairs}
    info: dict = {}
    for command in walkthrough:  # the first game's turns are among the pairs, prompt for prompt
        assert turns[tuple(obs["input_ids"][: u.prompt_length].tolist())] == command
        for token in [*u.tokens.command_ids[command], u.codec.eos_id]:
            obs, _, _, _, info = env.step(token)
    assert info["won"]
    report = supervised_finetune(
        SFTConfig(env_id="TWCoinCollector-v0", env_kwargs={"game_kwargs": POOL}, steps=20, batch_size=4),
        out=tmp_path / "warm",
    )
    assert report["last_loss"] < report["first_loss"] / 3, report
    load_lm(tmp_path / "warm")


@needs_textworld
def test_losing_terminates_the_episode():
    env = CommandTextWrapper(gym.make("TWSimpleCmd-v0", game_kwargs=POOL))
    env.reset(seed=0)
    game = env.unwrapped.game
    *plan, last = game.walkthrough  # "put <food> on stove"; eating the food loses the game
    food = last.removeprefix("put ").removesuffix(" on stove")
    taken = max(i for i, command in enumerate(plan) if command.startswith(f"take {food}"))
    for command in plan[: taken + 1]:
        _, _, terminated, _, info = env.step(command)
        assert not terminated
    _, reward, terminated, truncated, info = env.step(f"eat {food}")
    assert info["valid"] and terminated and not truncated and not info["won"]
    assert game.lost and game.done and info["feedback"].endswith("You lost: game over.")
    assert "*** You lost! ***" not in info["feedback"] and info["admissible_commands"] == []


@needs_textworld
def test_commands_that_are_not_admissible_get_the_games_answer_and_a_penalty():
    game = TWCoinCollector(**POOL)
    game.reset(seed=1)
    before = game.admissible_commands()
    result = game.step("Dance wildly!")
    assert not result.valid and not result.done and result.command == "dance wildly"
    assert result.reward == pytest.approx(-0.05) and "not a verb I recognise" in result.feedback
    assert game.turn == 1 and game.admissible_commands() == before
    for text in ("restart", "undo", "tw-trace-actions", "\\q", ""):  # answered here, never sent to the engine
        sent = len(game._episode[2])
        result = game.step(text)
        assert not result.valid and len(game._episode[2]) == sent and result.feedback
    assert game.step("restart").feedback == '"restart" is not available in this game.'
    assert game.step("TAKE COIN").valid  # commands compare normalised
    assert game.won


@needs_textworld
def test_text_follows_the_layout_without_the_interpreters_prompt_and_tokenises_line_by_line():
    env = gym.make("TWCookingCmd-v0", game_kwargs=POOL)
    _, info = env.reset(seed=3)
    u = env.unwrapped
    for command in u.game.walkthrough[:2]:  # inventory, examine cookbook (a long, multi-line answer)
        _, _, _, _, info = CommandTextWrapper(env).step(command)
    text = u.game.text()
    lines = text.lines()
    assert lines[0].startswith("Goal: You are hungry!") and "Recipe #1" in text.feedback
    assert text.status.startswith("Turns left: 98. Score: 0 of ") and "You are carrying" in text.status
    assert text.description.startswith("-= Kitchen =-")
    assert ">" not in text.feedback and "-= Kitchen =-0/" not in str(text)
    assert u.tokens.text_ids(text, 10_000).tolist() == u.codec.encode(str(text))
    raw = "\n-= Attic =-\nA dusty attic.\n\nYour score has just gone up.\n\n>    -= Attic =-1/2"
    assert clean_feedback(raw, "-= Attic =-\nA dusty attic.") == "-= Attic =-\nYour score has just gone up."


@needs_textworld
def test_whole_games_are_deterministic_under_a_seed():
    for game_cls in (TWCoinCollector, TWCooking):
        assert _play(game_cls(**POOL), 5) == _play(game_cls(**POOL), 5)
        assert len({str(_play(game_cls(**POOL), seed, turns=4)) for seed in range(6)}) > 1


@needs_textworld
def test_a_pickled_game_replays_its_episode_and_plays_on_identically():
    game = TWTreasureHunter(**POOL)
    game.reset(seed=4)
    for command in game.admissible_commands()[:2]:
        game.step(command)
    clone = pickle.loads(pickle.dumps(game))
    assert clone._engine is None
    for command in ["xyzzy", *game.admissible_commands()[:2]]:
        assert game.step(command) == clone.step(command)
    assert str(game.text()) == str(clone.text())


@needs_textworld
def test_token_masks_admit_only_the_continuations_of_admissible_commands():
    env = gym.make("TWCooking-v0", game_kwargs=POOL)
    _, info = env.reset(seed=2)
    u = env.unwrapped
    eos, rng = u.codec.eos_id, np.random.default_rng(0)
    commands_played = 0
    for _ in range(300):
        admissible = {u.tokens.command_ids[c]: c for c in u.admissible_commands}
        written = tuple(u.completion_ids)
        allowed = np.flatnonzero(u.action_masks())
        for token in allowed:
            if token == eos:
                assert written in admissible, "EOS only where a whole admissible command is written"
            else:
                path = (*written, int(token))
                assert any(ids[: len(path)] == path for ids in admissible), "a masked token leaves every command"
        action = int(allowed[rng.integers(len(allowed))])
        _, reward, terminated, truncated, info = env.step(action)
        if action == eos:
            assert info["valid"] and info["command"] == admissible[written]
            commands_played += 1
        if terminated or truncated:
            env.reset()
    assert commands_played >= 10


@needs_textworld
def test_command_limit_offers_the_most_useful_commands_and_slots_must_hold_them():
    game = TWCooking(command_limit=5, **POOL)
    game.reset(seed=0)
    offered, admissible = game.offered_commands(), game.admissible_commands()
    assert len(admissible) > 5 and len(offered) == 5 and offered == tuple(sorted(offered))
    assert set(offered) <= set(admissible) and not any(c.startswith("examine ") for c in offered)
    with pytest.raises(ValueError, match="max_commands=8 is too small"):
        gym.make("TWCookingCmd-v0", max_commands=8, game_kwargs=POOL)
    with pytest.raises(ValueError, match="max_command_len=4 is too short"):
        gym.make("TWCookingCmd-v0", max_command_len=4, game_kwargs=POOL)
    with pytest.raises(ValueError, match="max_new_tokens=4 is too short"):
        gym.make("TWCooking-v0", max_new_tokens=4, game_kwargs=POOL)


# ------------------------------------------------------------------------------------------------ the pools


@needs_textworld
def test_train_and_test_pools_are_disjoint_and_resets_draw_from_the_pool():
    ranges = list(SPLITS.values())
    assert all(not set(a) & set(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    train, test = TWCoinCollector(**POOL), TWCoinCollector(split="test", **POOL)
    assert {g.seed for g in train.pool} == {1, 2} and {g.seed for g in test.pool} == {2_000_000, 2_000_001}
    assert not {g.folder for g in train.pool} & {g.folder for g in test.pool}
    drawn = set()
    for seed in range(12):
        train.reset(seed=seed)
        drawn.add(train.game_index)
    assert drawn == {0, 1}


@needs_textworld
def test_the_cache_is_reused_and_a_corrupt_game_is_generated_again(tw_cache, monkeypatch):
    TWCoinCollector(**POOL)
    folders = sorted(tw_cache.glob("tw-coin_collector/level-1/seed-*"))
    assert [f.name for f in folders][:2] == ["seed-1", "seed-2"]
    stamps = {f: (f / "tokengym.json").stat().st_mtime_ns for f in folders}
    generated = []
    real = cache._make_game_files
    monkeypatch.setattr(cache, "_make_game_files", lambda *a: generated.append(a[2]) or real(*a))
    env = gym.make("TWCoinCollectorCmd-v0", game_kwargs=POOL)
    assert generated == [] and all((f / "tokengym.json").stat().st_mtime_ns == stamps[f] for f in folders)

    game_json = (folders[0] / "game.json").read_bytes()
    with open(folders[0] / "game.z8", "r+b") as f:  # corrupt the story file after the env was made
        f.seek(100)
        f.write(b"\0" * 64)
    env.reset(seed=0)  # the files are checked again before the interpreter reads them
    while env.unwrapped.game.game_index != 0:
        env.reset()
    assert generated == [1] and (folders[0] / "game.json").read_bytes() == game_json, "the same game again"
    (folders[1] / "tokengym.json").unlink()  # a partial folder
    gym.make("TWCoinCollectorCmd-v0", game_kwargs=POOL)
    assert generated == [1, 2]
    assert not list(folders[0].parent.glob(".*.tmp-*")), "no temporary folder is left behind"


# ----------------------------------------------------------------------------- cache mechanics, stand-in maker


class StandIn:
    """A fast stand-in for TextWorld's generator that records the seeds it makes."""

    def __init__(self) -> None:
        self.made: list[int] = []
        self.delay = 0.0

    def __call__(self, challenge, settings, seed, out):
        self.made.append(seed)
        time.sleep(self.delay)
        (out / "game.z8").write_bytes(b"Z" * 512 + str(seed).encode())
        (out / "game.json").write_text(json.dumps({"seed": seed}))
        return {"commands": ["go north", "look"], "max_score": 1, "walkthrough": ["look"]}


@pytest.fixture
def stand_in(monkeypatch):
    maker = StandIn()
    monkeypatch.setattr(cache, "_make_game_files", maker)
    return maker


def test_games_are_found_reused_and_repaired(tmp_path, stand_in):
    games = cache.ensure_games("tw-coin_collector", {"level": 3}, [7, 8], cache_dir=tmp_path)
    assert stand_in.made == [7, 8] and games[0].folder == tmp_path / "tw-coin_collector" / "level-3" / "seed-7"
    assert games[0].commands == ("go north", "look") and games[1].walkthrough == ("look",)
    assert cache.ensure_games("tw-coin_collector", {"level": 3}, [8, 7], cache_dir=tmp_path)[0] == games[1]
    assert stand_in.made == [7, 8]
    (games[0].folder / "game.z8").write_bytes(b"truncated")
    with pytest.raises(cache.BrokenGameError, match="corrupt"):
        cache.load_game_files(games[0].folder)
    (games[1].folder / "tokengym.json").write_text("{not json")
    cache.ensure_games("tw-coin_collector", {"level": 3}, [7, 8], cache_dir=tmp_path)
    assert stand_in.made == [7, 8, 7, 8]
    other = cache.ensure_games("tw-coin_collector", {"level": 4}, [7], cache_dir=tmp_path)
    assert other[0].folder.parent.name == "level-4" and stand_in.made[-1] == 7


def test_a_failed_generation_leaves_no_half_written_game(tmp_path, monkeypatch):
    def broken(challenge, settings, seed, out):
        (out / "game.z8").write_bytes(b"half a story")
        raise RuntimeError("the compiler crashed")

    monkeypatch.setattr(cache, "_make_game_files", broken)
    with pytest.raises(cache.GameGenerationError, match="the compiler crashed"):
        cache.ensure_games("tw-cooking", {"recipe": 1}, [3], cache_dir=tmp_path)
    parent = tmp_path / "tw-cooking" / "recipe-1"
    assert not (parent / "seed-3").exists()
    assert [p.name for p in parent.iterdir()] == [".seed-3.lock"], "nothing but the lock file"


def test_temporary_folders_of_dead_processes_are_removed(tmp_path, stand_in):
    parent = tmp_path / "tw-simple" / "default"
    stale = parent / ".seed-5.tmp-dead"
    stale.mkdir(parents=True)
    (stale / "game.z8").write_bytes(b"half")
    cache.ensure_games("tw-simple", {}, [5], cache_dir=tmp_path)
    assert not stale.exists() and (parent / "seed-5" / "tokengym.json").is_file()


@pytest.mark.skipif(os.name != "posix", reason="the lock is POSIX only")
def test_two_makers_of_the_same_pool_generate_each_game_once(tmp_path, stand_in):
    stand_in.delay = 0.3
    results = []

    def maker():
        results.append(cache.ensure_games("tw-coin_collector", {"level": 1}, [1, 2, 3], cache_dir=tmp_path))

    threads = [threading.Thread(target=maker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(stand_in.made) == [1, 2, 3], "each game generated by one maker only"
    assert results[0] == results[1] and len(results[0]) == 3


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TOKENGYM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "tokengym" / "textworld"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_root() == Path.home() / ".cache" / "tokengym" / "textworld"
    monkeypatch.setenv("TOKENGYM_CACHE_DIR", str(tmp_path / "tg"))
    assert cache.cache_root() == tmp_path / "tg" / "textworld"
    assert cache.cache_root(tmp_path / "mine") == tmp_path / "mine"


# ----------------------------------------------------------------------------------------------- bad input


@needs_textworld
def test_bad_input_gets_specific_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown TextWorld challenge 'tw-zork'; the challenges are tw-simple"):
        cache.ensure_games("tw-zork", {}, [1], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="level must be an integer from 1 to 300, not 301"):
        TWCoinCollector(level=301)
    with pytest.raises(ValueError, match="level must be an integer from 1 to 30, not 31"):
        gym.make("TWTreasureHunterCmd-v0", level=31)
    with pytest.raises(ValueError, match=r"level must be one of \(1,\), not 2"):
        gym.make("TWCooking-v0", level=2)
    with pytest.raises(ValueError, match="allowed: invalid_penalty, split, pool_size"):
        gym.make("TWSimpleCmd-v0", game_kwargs={"colour": "red"})
    with pytest.raises(ValueError, match="split must be one of"):
        TWCoinCollector(split="dev")
    with pytest.raises(ValueError, match="pool_size must be an integer from 1 to 999999, not 0"):
        TWCoinCollector(pool_size=0)
    with pytest.raises(ValueError, match="take must be an integer from 0 to recipe=1, not 2"):
        TWCooking(take=2)
    with pytest.raises(ValueError, match=r"go must be one of \(1, 6, 9, 12\), not 2"):
        TWCooking(go=2)
    with pytest.raises(ValueError, match="rewards must be one of"):
        TWSimple(rewards="lots")
    with pytest.raises(TypeError, match="depend on its pool"):
        TWCooking.command_vocabulary()
    with pytest.raises(FileNotFoundError, match="no TextWorld game folder"):
        cache.load_game_files(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    with pytest.raises(cache.BrokenGameError, match="was not completely written"):
        cache.load_game_files(tmp_path / "half")
    assert set(TEXTWORLD_GAMES) == set(cache.CHALLENGES)


def test_without_textworld_the_rest_works_and_making_a_textworld_env_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['textworld'] = None\n"  # as if the extra were not installed
        "import gymnasium as gym, tokengym\n"
        "gym.make('CoinCollectorCmd-v0').reset(seed=0)\n"
        "try:\n"
        "    gym.make('TWCoinCollectorCmd-v0')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "TOKENGYM_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "pip install 'tokengym[textworld]'" in out.stdout
    assert not list(tmp_path.iterdir()), "nothing is generated without textworld"


@needs_textworld
def test_history_repeats_the_last_commands_in_the_status_line():
    plain, remembering = TWSimple(**POOL), TWSimple(history=2, **POOL)
    for game in (plain, remembering):
        game.reset(seed=0)
        for command in game.walkthrough[:3]:
            game.step(command)
    sent = remembering.walkthrough[:3]
    assert f"Your last commands: {sent[1]}, {sent[2]}." in remembering.text().status
    assert "Your last commands" not in plain.text().status
    assert plain.text().description == remembering.text().description
    with pytest.raises(ValueError, match="history must be a non-negative integer"):
        TWSimple(history=-1, **POOL)


@needs_textworld
def test_objective_false_leaves_the_goal_line_out():
    shown, hidden = TWSimple(**POOL), TWSimple(objective=False, **POOL)
    for game in (shown, hidden):
        game.reset(seed=0)
    assert shown.text().goal and str(shown.text()).startswith("Goal: ")
    assert hidden.text().goal == "" and "Goal:" not in str(hidden.text())
    assert str(hidden.text()) == str(shown.text()).split("\n", 1)[1]  # the rest is the same
    with pytest.raises(ValueError, match="objective must be True or False"):
        TWSimple(objective=1, **POOL)
