"""The text games: rules, determinism and solvability of each game, then both Gymnasium action modes."""

import copy
import pickle
import subprocess
import sys
from collections import deque

import gymnasium as gym
import numpy as np
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym import TextActionWrapper
from tokengym.envs.games import GAMES, CoinCollector, TextNav, TwentyQuestions, Wordle, normalise_command
from tokengym.envs.games.command_env import CommandTextWrapper
from tokengym.envs.games.twenty_questions import answer, load_taxonomy
from tokengym.envs.games.wordle import load_words, render_marks, score_guess

GAME_CLASSES = list(GAMES.values())
TOKEN_IDS = {
    TwentyQuestions: "TwentyQuestions-v0",
    Wordle: "Wordle-v0",
    TextNav: "TextNav-v0",
    CoinCollector: "CoinCollector-v0",
}
CMD_IDS = {cls: token_id.replace("-v0", "Cmd-v0") for cls, token_id in TOKEN_IDS.items()}


def play_random(game, seed, turns=None):
    """A game's text trace under a seeded random admissible policy (with some unknown commands)."""
    rng = np.random.default_rng(seed)
    trace = [str(game.reset(seed=seed))]
    while not game.done and (turns is None or game.turn < turns):
        commands = game.admissible_commands()
        command = commands[rng.integers(len(commands))] if rng.random() < 0.9 else "dance wildly"
        result = game.step(command)
        trace.append((result.command, result.reward, result.done, str(game.text())))
    return trace


# ------------------------------------------------------------------------------------------------ shared rules


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_unknown_command_gets_the_games_response_a_small_penalty_and_the_game_goes_on(game_cls):
    game = game_cls(level=2)
    game.reset(seed=3)
    before = game.admissible_commands()
    result = game.step("Dance wildly!")
    assert not result.valid and not result.done and result.command == "dance wildly"
    assert result.reward == pytest.approx(-0.05) and result.components["invalid"] == pytest.approx(-0.05)
    assert "dance wildly" in result.feedback and game.turn == 1 and game.score == pytest.approx(-0.05)
    assert game.text().feedback == result.feedback
    assert game.admissible_commands() == before, "a rejected command changes nothing but the turn"
    assert game.step("").feedback  # an empty command gets an answer too


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_whole_games_are_deterministic_under_a_seed(game_cls):
    for level in game_cls.LEVELS:
        assert play_random(game_cls(level=level), 11) == play_random(game_cls(level=level), 11)
        openings = {str(play_random(game_cls(level=level), seed, turns=3)) for seed in range(6)}
        assert len(openings) > 1


def test_games_are_identical_across_interpreters_with_other_hash_seeds():
    code = (
        "import hashlib, numpy as np\n"
        "from tokengym.envs.games import GAMES\n"
        "out = []\n"
        "for cls in GAMES.values():\n"
        "    for level in cls.LEVELS:\n"
        "        g = cls(level=level); rng = np.random.default_rng(0); out.append(str(g.reset(seed=5)))\n"
        "        while not g.done:\n"
        "            c = g.admissible_commands(); g.step(c[rng.integers(len(c))]); out.append(str(g.text()))\n"
        "print(hashlib.sha256(repr(out).encode()).hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": ""}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, run.stderr
        digests.add(run.stdout.strip())
    assert len(digests) == 1, "set or dict ordering leaked into the games"


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_a_pickled_game_plays_on_identically(game_cls):
    game = game_cls(level=3)
    game.reset(seed=2)
    game.step(game.admissible_commands()[0])
    clone = pickle.loads(pickle.dumps(game))
    for command in ["xyzzy", *game.admissible_commands()[:1]]:
        assert game.step(command) == clone.step(command)
    assert str(game.text()) == str(clone.text())


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_bad_levels_and_options_say_what_is_allowed(game_cls):
    with pytest.raises(ValueError, match=r"level must be one of \(1, 2, 3\), not 7"):
        game_cls(level=7)
    with pytest.raises(ValueError, match="allowed: invalid_penalty"):
        gym.make(TOKEN_IDS[game_cls], game_kwargs={"colour": "red"})
    with pytest.raises(ValueError, match="level must be one of"):
        gym.make(CMD_IDS[game_cls], level=0)
    with pytest.raises(ValueError, match="max_turns must be a positive integer"):
        game_cls(max_turns=0)
    with pytest.raises(RuntimeError, match="reset"):
        game_cls().step("look")


def test_commands_compare_normalised():
    assert normalise_command("  Is it an   ANIMAL? ") == "is it an animal"
    game = TwentyQuestions()
    game.reset(seed=0)
    assert game.step("IS IT AN ANIMAL").command == "is it an animal?"


# -------------------------------------------------------------------------------------------- twenty questions


def test_taxonomy_is_rich_enough():
    questions, things = load_taxonomy()
    assert len(things) >= 60 and len(questions) >= 30
    signatures = {tuple(answer(q, t) for q in questions) for t in things}
    assert len(signatures) >= 0.95 * len(things), "almost every object is told apart by the questions"


@pytest.mark.parametrize("level", [1, 2, 3])
def test_twenty_questions_answers_truthfully_and_a_halving_strategy_wins(level):
    questions, things = load_taxonomy()
    by_name = {t.name: t for t in things}
    for seed in range(5):
        game = TwentyQuestions(level=level)
        game.reset(seed=seed)
        alive = sorted(c[len("guess ") :] for c in game.admissible_commands() if c.startswith("guess "))
        while not game.done:
            asked = [q for q in questions if q.text in game.admissible_commands()]
            best = min(asked, key=lambda q: abs(sum(answer(q, by_name[n]) for n in alive) - len(alive) / 2))
            split = sum(answer(best, by_name[n]) for n in alive)
            if len(alive) <= 2 or split in (0, len(alive)):
                result = game.step(f"guess {alive[0]}")
                alive = alive[1:]
                continue
            result = game.step(best.text)
            assert result.valid and result.reward == pytest.approx(-0.02)
            yes = result.feedback.endswith("Yes.")
            assert yes == answer(best, by_name[game.secret])
            alive = [n for n in alive if answer(best, by_name[n]) == yes]
            assert game.secret in alive
        assert game.won and result.components["win"] == 1.0 and game.turn <= 12


def test_twenty_questions_repeats_wrong_guesses_and_running_out():
    game = TwentyQuestions(level=1)
    text = game.reset(seed=4)
    candidates = text.description.removeprefix("Candidates: ").rstrip(".").split(", ")
    assert len(candidates) == 8 and game.secret in candidates
    wrong = next(c for c in candidates if c != game.secret)
    result = game.step(f"guess {wrong}")
    assert result.valid and not result.done and result.reward == pytest.approx(-0.05)
    assert f"guess {wrong}" not in game.admissible_commands()
    again = game.step(f"guess {wrong}")
    assert not again.valid and "not one of the candidates" in again.feedback
    game.step("is it alive?")
    again = game.step("is it alive?")
    assert not again.valid and "already asked" in again.feedback
    assert "Answers (newest first):" in game.text().description
    while not game.done:
        result = game.step("xyzzy")
    assert not game.won and game.turn == 20 and game.secret in result.feedback
    with pytest.raises(RuntimeError, match="game is over"):
        game.step("is it alive?")
    level3 = TwentyQuestions(level=3)
    assert "Candidates" not in level3.reset(seed=0).description
    assert len(level3.admissible_commands()) == level3.max_offered()


# ------------------------------------------------------------------------------------------------------ wordle


def test_word_list():
    words = load_words()
    assert len(words) >= 300 and list(words) == sorted(set(words))
    assert all(len(w) == 5 and w.isalpha() and w.islower() for w in words)


def test_wordle_marks_follow_the_rules_for_repeated_letters():
    assert score_guess("crane", "crane") == (2, 2, 2, 2, 2)
    assert score_guess("speed", "abide") == (0, 0, 1, 0, 1)
    assert score_guess("eerie", "there") == (1, 0, 1, 0, 2)  # the third e is grey: "there" has two
    assert score_guess("lolly", "hello") == (0, 1, 2, 2, 0)  # both answer l's are green: the first l is grey
    assert render_marks("crane", (2, 1, 0, 0, 1)) == "[c] (r) a n (e)"


def test_wordle_rules_win_and_loss():
    game = Wordle(level=2)
    game.reset(seed=1)
    pool = game.offered_commands()
    assert len(pool) == 16 and game.secret in pool and list(pool) == sorted(pool)
    assert len(game.admissible_commands()) == len(load_words())
    other = next(w for w in load_words() if w not in pool)
    result = game.step(other)  # any word of the list is admissible, not only the candidates
    assert result.valid and result.feedback.startswith(f"{other}: ")
    assert other not in game.admissible_commands()
    assert not game.step(other).valid and not game.step("qzxvw").valid
    assert "Guesses (newest first):" in game.text().description
    result = game.step(game.secret)
    assert result.won and result.done and result.reward == 1.0 and "You win!" in result.feedback
    lost = Wordle(level=2)
    lost.reset(seed=1)
    for word in [w for w in load_words() if w != lost.secret][:6]:
        result = lost.step(word)
    assert result.done and not result.won and lost.secret in result.feedback


def test_wordle_levels_hint_and_hard_mode():
    easy = Wordle(level=1)
    easy.reset(seed=0)
    assert f"Hint: it starts with {easy.secret[0]}." in easy.text().status
    assert "Hint" not in Wordle(level=2).reset(seed=0).status
    hard = Wordle(level=3)
    hard.reset(seed=0)
    first = next(w for w in load_words() if any(m for m in score_guess(w, hard.secret)) and w != hard.secret)
    marks = score_guess(first, hard.secret)
    hard.step(first)

    def breaks_hard_mode(word):
        drops_green = any(m == 2 and word[i] != first[i] for i, m in enumerate(marks))
        misses_yellow = any(m == 1 and first[i] not in word for i, m in enumerate(marks))
        return drops_green or misses_yellow

    breaking = next(w for w in load_words() if w not in (first, hard.secret) and breaks_hard_mode(w))
    result = hard.step(breaking)
    assert not result.valid and "Hard mode" in result.feedback
    assert all(hard.is_admissible(w) for w in hard.offered_commands()) and hard.secret in hard.offered_commands()
    with pytest.raises(ValueError, match="candidates must be an integer from 2 to"):
        Wordle(candidates=1)


def test_wordle_filtering_strategy_wins_at_command_level_sets():
    wins = 0
    for seed in range(20):
        game = Wordle(level=1)
        game.reset(seed=seed)
        alive = list(game.offered_commands())
        while not game.done:
            guess = alive[0]
            game.step(guess)
            marks = score_guess(guess, game.secret)
            alive = [w for w in alive if w != guess and score_guess(guess, w) == marks]
        wins += game.won
    assert wins == 20


# ------------------------------------------------------------------------------------- textnav, coin collector


def _world_key(game):
    if isinstance(game, TextNav):
        keys = tuple(sorted((room, tuple(k)) for room, k in game._keys.items() if k))
        return game._here, tuple(game._inventory), tuple(sorted(game._locks)), keys
    return game._here, tuple(sorted(game._coins)), tuple(sorted(game._closed))


def _shortest_win(game):
    """Breadth-first search over game states with the admissible commands: the shortest winning plan."""
    queue = deque([(game, [])])
    seen = {_world_key(game)}
    while queue:
        state, plan = queue.popleft()
        for command in state.admissible_commands():
            nxt = copy.deepcopy(state)
            result = nxt.step(command)
            assert result.valid
            if result.won:
                return [*plan, command]
            key = _world_key(nxt)
            if key not in seen and not nxt.done:
                seen.add(key)
                queue.append((nxt, [*plan, command]))
    return None


@pytest.mark.parametrize("game_cls", [TextNav, CoinCollector], ids=lambda c: c.__name__)
@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_map_is_solvable_and_the_winning_plan_wins(game_cls, level):
    for seed in range(12):
        game = game_cls(level=level, max_turns=1000)
        game.reset(seed=seed)
        plan = _shortest_win(game)
        assert plan is not None and len(plan) <= game_cls.DEFAULT_MAX_TURNS // 2
        replay = game_cls(level=level)
        replay.reset(seed=seed)
        total = 0.0
        for command in plan:
            result = replay.step(command)
            total += result.reward
        assert result.won and replay.done and total == pytest.approx(replay.score)
        if game_cls is TextNav:
            locks = TextNav.LAYOUTS[level][1]
            assert total == pytest.approx(1.0 + 0.1 * locks)
            assert sum(c.startswith("unlock") for c in plan) == locks
        else:
            assert total == pytest.approx(1.0)


def test_textnav_doors_keys_and_refusals():
    game = TextNav(level=3)
    game.reset(seed=0)
    assert "Inventory: nothing." in game.text().status and game.goal_room in game.text().goal
    assert not game.step("go up").valid
    blocked = [d for d in ("north", "east", "south", "west") if f"go {d}" not in game.admissible_commands()]
    assert "You can't go" in game.step(f"go {blocked[0]}").feedback
    plan = _shortest_win(game)
    for command in plan:
        if command.startswith("unlock"):
            spare = [c for c in game._inventory if c != command.split()[4]]
            for colour in spare:  # a wrong key is admissible and does nothing
                wrong = game.step(command.replace(command.split()[4], colour))
                assert wrong.valid and "does not fit" in wrong.feedback and wrong.reward == 0.0
        result = game.step(command)
        if command.startswith("unlock"):
            assert result.components["unlock"] == pytest.approx(0.1)
    assert game.won and game.location == game.goal_room


def test_coin_collector_counts_coins():
    game = CoinCollector(level=2)
    game.reset(seed=5)
    assert game.coins_left == 3 and "Coins: 0 of 3." in game.text().status
    assert "There is no coin here." in game.step("take coin").feedback
    plan = _shortest_win(game)
    rewards = [game.step(c).reward for c in plan]
    assert rewards.count(pytest.approx(1 / 3)) == 3 and game.won


# --------------------------------------------------------------------------------------------- token level


def _written_ids(env):
    u = env.unwrapped
    return tuple(u.completion_ids)


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_token_level_winning_commands_and_relayout(game_cls):
    env = TextActionWrapper(gym.make(TOKEN_IDS[game_cls], level=1))
    obs, info = env.reset(seed=0)
    u = env.unwrapped
    game = u.game
    if isinstance(game, (TwentyQuestions, Wordle)):
        plan = [f"guess {game.secret}" if isinstance(game, TwentyQuestions) else game.secret]
    else:
        plan = _shortest_win(copy.deepcopy(game))
    total = 0.0
    for command in plan:
        obs, reward, terminated, truncated, info = env.step(command)
        total += reward
        assert info["valid"] and info["command"] == command and info["completion"] == command
        n = int(obs["attention_mask"].sum())
        assert obs["attention_mask"][:n].all() and not obs["attention_mask"][n:].any()
        assert n <= u.max_prompt_len
        assert u.codec.decode(obs["input_ids"][:n]) == str(game.text()) + "\n>"
    assert terminated and not truncated and info["won"] and total == pytest.approx(game.score)


def test_token_level_unknown_command_by_eos_or_budget_keeps_the_game_going():
    env = gym.make("TextNav-v0")
    env.reset(seed=1)
    u = env.unwrapped
    junk = u.codec.encode(" xyzzy plugh")
    assert not u.action_masks()[junk[0]]
    for t in junk:
        obs, reward, terminated, truncated, info = env.step(t)
        assert reward == 0.0 and info == {}
        assert u.action_masks().sum() == 1 and u.action_masks()[u.codec.eos_id], "off the trie only EOS is offered"
    obs, reward, terminated, truncated, info = env.step(u.codec.eos_id)
    assert reward == pytest.approx(-0.05) and not (terminated or truncated) and not info["valid"]
    assert info["ended_by"] == "eos" and 'I don\'t understand "xyzzy plugh"' in info["feedback"]
    assert u.prompt_length > 0 and u.completion_ids == [] and info["turn"] == 1
    for _ in range(u.max_new_tokens):  # a full budget without EOS
        obs, reward, terminated, truncated, info = env.step(junk[0])
    assert info["ended_by"] == "budget" and not info["valid"] and not (terminated or truncated)
    assert info["turn"] == 2 and u.completion_ids == [] and int(obs["attention_mask"].sum()) == u.prompt_length


def test_token_text_layout_equals_tokenising_the_text_whole_and_cuts_at_the_end():
    env = gym.make("TwentyQuestions-v0", level=2)
    env.reset(seed=0)
    u = env.unwrapped
    for command in u.game.admissible_commands()[:12]:
        TextActionWrapper(env).step(command)
    text = str(u.game.text())
    assert u.tokens.text_ids(u.game.text(), 10_000).tolist() == u.codec.encode(text)
    small = gym.make("TwentyQuestions-v0", level=2, max_prompt_len=48)
    obs, _ = small.reset(seed=0)
    n = int(obs["attention_mask"].sum())
    decoded = small.unwrapped.codec.decode(obs["input_ids"][:n])
    assert n == 48 and decoded.startswith("Goal: find the hidden object") and decoded.endswith("\n>")


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_token_level_rejects_budgets_too_small_for_the_commands(game_cls):
    with pytest.raises(ValueError, match="max_new_tokens=2 is too short"):
        gym.make(TOKEN_IDS[game_cls], max_new_tokens=2)


def _check_mask_walk(env_id, level, seed, choices):
    """Follow the mask with the given choices; check every mask against the tokenised admissible commands."""
    env = gym.make(env_id, level=level)
    _, info = env.reset(seed=seed)
    u = env.unwrapped
    eos = u.codec.eos_id
    admissible = {u.tokens.command_ids[c]: c for c in info["admissible_commands"]}
    for choice in choices:
        mask = u.action_masks()
        written = _written_ids(env)
        allowed = np.flatnonzero(mask)
        for token in allowed:
            if token == eos:
                assert written in admissible, "EOS only where a whole admissible command is written"
            else:
                path = (*written, int(token))
                assert any(ids[: len(path)] == path for ids in admissible), "a masked token leaves every command"
        if written in admissible:
            assert mask[eos]
        action = int(allowed[choice % len(allowed)])
        _, reward, terminated, truncated, info = env.step(action)
        if action == eos:
            assert info["valid"] and info["command"] == admissible[written], "a masked path plays its command"
            if terminated or truncated:
                return
            admissible = {u.tokens.command_ids[c]: c for c in info["admissible_commands"]}
        else:
            assert info == {} and reward == 0.0


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:

    @settings(max_examples=30, deadline=None)
    @given(
        game=st.sampled_from(sorted(TOKEN_IDS.values())),
        level=st.integers(1, 3),
        seed=st.integers(0, 10_000),
        choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=60),
    )
    def test_the_token_mask_admits_exactly_the_continuations_of_admissible_commands(game, level, seed, choices):
        _check_mask_walk(game, level, seed, choices)


def test_mask_walk_with_fixed_choices_reaches_command_ends():
    for env_id in TOKEN_IDS.values():
        _check_mask_walk(env_id, 3, 0, list(range(0, 400, 7)))


# -------------------------------------------------------------------------------------------- command level


@pytest.mark.parametrize("game_cls", GAME_CLASSES, ids=lambda c: c.__name__)
def test_command_level_observation_and_masks(game_cls):
    env = gym.make(CMD_IDS[game_cls], level=3)
    obs, info = env.reset(seed=4)
    u = env.unwrapped
    commands = info["admissible_commands"]
    assert commands == sorted(commands) == list(u.game.offered_commands())
    mask = u.action_masks()
    assert mask.sum() == len(commands) and mask[: len(commands)].all()
    for slot, command in enumerate(commands):
        row = obs["command_ids"][slot][obs["command_mask"][slot] == 1]
        assert u.codec.decode(row) == " " + command
    n = int(obs["attention_mask"].sum())
    assert u.codec.decode(obs["input_ids"][:n]) == info["text"] == str(u.game.text())
    obs, reward, terminated, truncated, info = env.step(len(commands))  # an unused slot
    assert not info["valid"] and reward == pytest.approx(-0.05) and not terminated and info["turn"] == 1
    obs, reward, terminated, truncated, info = env.step(0)
    assert info["valid"] and info["command"] == commands[0]
    with pytest.raises(ValueError, match=r"outside Discrete"):
        env.step(u.max_commands)
    with pytest.raises(TypeError, match="integer slot"):
        env.step("go north")


def test_both_action_modes_list_the_commands_under_one_key_and_the_old_one_still_reads():
    _, token_info = gym.make("TextNav-v0").reset(seed=0)
    env = gym.make("TextNavCmd-v0")
    _, reset_info = env.reset(seed=0)
    _, _, _, _, step_info = env.step(0)
    assert reset_info["admissible_commands"] == token_info["admissible_commands"] and "admissible_commands" in step_info
    with pytest.warns(DeprecationWarning, match=r"info\['commands'\] is renamed info\['admissible_commands'\]"):
        assert step_info["commands"] == step_info["admissible_commands"]
    with pytest.warns(DeprecationWarning):
        assert "commands" in reset_info and reset_info.get("commands") == reset_info["admissible_commands"]
    wrapped = CommandTextWrapper(gym.make("TextNavCmd-v0"))
    _, info = wrapped.reset(seed=0)
    _, _, _, _, info = wrapped.step(info["admissible_commands"][0])
    with pytest.warns(DeprecationWarning):
        assert info["commands"] == info["admissible_commands"]  # the wrapper's copy keeps the old name readable
    assert pickle.loads(pickle.dumps(step_info))["admissible_commands"] == step_info["admissible_commands"]


def test_command_level_wordle_offers_a_fixed_candidate_set():
    env = gym.make("WordleCmd-v0", level=2)
    _, info = env.reset(seed=9)
    first = info["admissible_commands"]
    assert len(first) == 16 and env.unwrapped.game.secret in first
    _, _, _, _, info = env.step(0)
    assert info["admissible_commands"] == first[1:] or info["won"]
    with pytest.raises(ValueError, match="max_commands=4 is too small"):
        gym.make("WordleCmd-v0", level=2, max_commands=4)


def test_command_text_wrapper_and_render():
    env = CommandTextWrapper(gym.make("CoinCollectorCmd-v0", render_mode="ansi"))
    _, info = env.reset(seed=0)
    _, _, _, _, step_info = env.step(info["admissible_commands"][0].upper() + "!")
    assert step_info["valid"] and step_info["command"] == info["admissible_commands"][0]
    _, reward, _, _, step_info = env.step("sing a song")
    assert not step_info["valid"] and step_info["text"] == "sing a song" and reward < 0
    assert "Commands:" in env.render() and "Goal: collect" in env.render()
    token_env = gym.make("TextNav-v0", render_mode="ansi")
    token_env.reset(seed=0)
    assert token_env.render().startswith("Goal: reach the")


@pytest.mark.parametrize("level", [2, 3])
@pytest.mark.parametrize("env_id", sorted([*TOKEN_IDS.values(), *CMD_IDS.values()]))
def test_other_levels_pass_the_contract_suite(env_id, level):
    from tokengym import testing

    testing.check_token_env(lambda: gym.make(env_id, level=level))


# ------------------------------------------------------------------------------------------------ learning


def test_maskable_ppo_trains_on_a_command_level_game():
    from sb3_contrib import MaskablePPO

    env = gym.make("CoinCollectorCmd-v0")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
    assert env.unwrapped.action_masks()[int(action)]


def test_maskable_ppo_runs_on_a_token_level_game_with_the_trie_mask():
    from sb3_contrib import MaskablePPO

    env = gym.make("Wordle-v0")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        mask = env.unwrapped.action_masks()
        action, _ = model.predict(obs, action_masks=mask)
        assert mask[int(action)]
        obs, _, terminated, truncated, info = env.step(int(action))
        if info:
            assert info["valid"]
        if terminated or truncated:
            break
