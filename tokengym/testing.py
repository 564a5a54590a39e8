"""Checks that any token-level environment should pass; run them on your own environments too.

Multi-turn environments (text games, whose episodes hold ``max_turns`` commands) and the command-level text
games (``tokengym.envs.games.command_env``) pass the same checks, adapted where a check assumed one completion
per episode or a token action space; each check's docstring says how.

Example:
    >>> from tokengym.testing import check_token_env
    >>> check_token_env("Dialogue-v0")        # raises AssertionError naming the first broken contract
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from tokengym.envs.core import TokenEnv
from tokengym.envs.games.command_env import CommandTextWrapper, TextGameCommandEnv
from tokengym.envs.wrappers import TextActionWrapper

EnvSource = str | Callable[[], gym.Env]


def _maker(env: EnvSource, **kwargs: Any) -> Callable[[], gym.Env]:
    if isinstance(env, str):
        return lambda: gym.make(env, **kwargs)
    return env


def _is_command_env(env: gym.Env) -> bool:
    return isinstance(env.unwrapped, TextGameCommandEnv)


def _completions_per_episode(env: gym.Env) -> int:
    """How many completions (commands) an episode may hold: 1, or a multi-turn env's ``max_turns``."""
    return int(getattr(env.unwrapped, "max_turns", 1))


def _obs_bytes(obs: dict[str, np.ndarray]) -> tuple[bytes, ...]:
    return tuple(obs[key].tobytes() for key in sorted(obs))


def _actions(env: gym.Env, n: int, seed: int) -> list[int]:
    """Random token ids that avoid end-of-sequence, so episodes run to their budget (random slots for a
    command-level game)."""
    rng = np.random.default_rng(seed)
    if _is_command_env(env):
        return [int(a) for a in rng.integers(env.action_space.n, size=n)]
    eos = env.unwrapped.codec.eos_id
    vocab = env.action_space.n
    return [int(a) if a != eos else (eos + 1) % vocab for a in rng.integers(vocab, size=n)]


def check_spaces(env: EnvSource) -> None:
    """The observation and action spaces follow the token contract, and observations lie in them (for a
    command-level game, its own documented contract: see :func:`check_command_spaces`)."""
    e = _maker(env)()
    u = e.unwrapped
    if _is_command_env(e):
        check_command_spaces(e)
        return
    assert isinstance(u, TokenEnv), f"{type(u).__name__} is not a TokenEnv"
    assert isinstance(e.action_space, gym.spaces.Discrete), "the action space must be Discrete(vocab_size)"
    assert e.action_space.n == u.codec.vocab_size
    space = e.observation_space
    assert isinstance(space, gym.spaces.Dict) and set(space.spaces) == {"input_ids", "attention_mask"}
    assert space["input_ids"].dtype == np.int32 and space["attention_mask"].dtype == np.int8
    length = u.max_prompt_len + u.max_new_tokens
    assert space["input_ids"].shape == (length,) and space["attention_mask"].shape == (length,)
    obs, _ = e.reset(seed=0)
    assert space.contains(obs)
    mask = obs["attention_mask"]
    n = int(mask.sum())
    assert n > 0 and mask[:n].all() and not mask[n:].any(), "the prompt must be contiguous and right-padded"
    before = obs["input_ids"].copy()
    obs2, *_ = e.step(_actions(e, 1, 0)[0])
    assert space.contains(obs2)
    assert int(obs2["attention_mask"].sum()) == n + 1, "one step appends exactly one token"
    assert np.array_equal(obs2["input_ids"][:n], before[:n]), "a step must not change the prompt"
    assert not np.shares_memory(obs["input_ids"], obs2["input_ids"]), "observations must be fresh arrays"


def check_command_spaces(env: EnvSource) -> None:
    """A command-level game: ``Discrete(max_commands)``; text ids and command ids right-padded; the offered
    commands fill the first slots in sorted order, decode to themselves, and are what ``action_masks()`` marks."""
    e = _maker(env)() if not isinstance(env, gym.Env) else env
    u = e.unwrapped
    assert isinstance(e.action_space, gym.spaces.Discrete) and e.action_space.n == u.max_commands
    space = e.observation_space
    keys = {"input_ids", "attention_mask", "command_ids", "command_mask"}
    assert isinstance(space, gym.spaces.Dict) and set(space.spaces) == keys
    assert space["input_ids"].dtype == np.int32 and space["command_ids"].dtype == np.int32
    assert space["attention_mask"].dtype == np.int8 and space["command_mask"].dtype == np.int8
    assert space["input_ids"].shape == space["attention_mask"].shape == (u.max_text_len,)
    assert space["command_ids"].shape == space["command_mask"].shape == (u.max_commands, u.max_command_len)
    obs, _ = e.reset(seed=0)
    for _ in range(2):
        assert space.contains(obs)
        mask = obs["attention_mask"]
        n = int(mask.sum())
        assert n > 0 and mask[:n].all() and not mask[n:].any(), "the text must be contiguous and right-padded"
        slots = u.action_masks()
        assert slots.dtype == bool and slots.shape == (u.max_commands,)
        commands = u.admissible_commands
        k = len(commands)
        assert k > 0 and commands == sorted(commands), "offered commands fill the first slots, sorted"
        assert slots[:k].all() and not slots[k:].any(), "action_masks() marks exactly the used slots"
        rows = obs["command_mask"]
        assert not rows[k:].any(), "unused slots hold no tokens"
        for i, command in enumerate(commands):
            length = int(rows[i].sum())
            assert length > 0 and rows[i, :length].all(), "command tokens are contiguous and right-padded"
            assert u.codec.decode(obs["command_ids"][i, :length]).strip() == command
        obs2, _, terminated, *_ = e.step(0)
        assert not np.shares_memory(obs["input_ids"], obs2["input_ids"]), "observations must be fresh arrays"
        obs = obs2
        if terminated:
            break


def check_gymnasium(env: EnvSource) -> None:
    """Gymnasium's own ``check_env`` on the unwrapped environment."""
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(_maker(env)().unwrapped, skip_render_check=True)


def check_sb3(env: EnvSource) -> None:
    """Stable-Baselines3's ``check_env``: the environment can be trained on with SB3."""
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(_maker(env)(), warn=False, skip_render_check=True)


def _rollout(env: gym.Env, seed: int, actions: list[int], episodes: int = 2) -> list[tuple]:
    trace: list[tuple] = []
    obs, info = env.reset(seed=seed)
    trace.append(("reset", _obs_bytes(obs), info.get("prompt"), info.get("text")))
    done_episodes, i = 0, 0
    while done_episodes < episodes:
        obs, reward, terminated, truncated, info = env.step(actions[i % len(actions)])
        i += 1
        trace.append((_obs_bytes(obs), reward, terminated, truncated, info.get("completion"), info.get("command")))
        if terminated or truncated:
            done_episodes += 1
            obs, info = env.reset()
            trace.append(("reset", _obs_bytes(obs), info.get("prompt"), info.get("text")))
    return trace


def _opening(env: gym.Env, seed: int, completions: int = 0) -> tuple:
    """The first observation under ``seed`` and, for ``completions > 0``, the steps of that many completions
    played along the first action ``action_masks()`` allows."""
    obs, _ = env.reset(seed=seed)
    trace: list = [_obs_bytes(obs)]
    ended = 0
    while ended < completions:
        action = int(np.flatnonzero(env.unwrapped.action_masks())[0])
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((_obs_bytes(obs), reward))
        ended += "reward_components" in info
        if terminated or truncated:
            break
    return tuple(trace)


def check_determinism(env: EnvSource, seed: int = 123) -> None:
    """The same seed and actions give the same episodes (observations, rewards, flags, texts); different seeds
    give different first observations. A game whose opening text can hide what the seed drew (a hidden word or
    object) may open alike; then its answers to the same legal commands (along ``action_masks()``) must differ."""
    make = _maker(env)
    a, b = make(), make()
    actions = _actions(a, 500, seed)
    assert _rollout(a, seed, actions) == _rollout(b, seed, actions), "same seed, different episodes"
    first = [_opening(make(), s) for s in range(8)]
    if len(set(first)) == 1 and hasattr(a.unwrapped, "action_masks") and _completions_per_episode(a) > 1:
        first = [_opening(make(), s, completions=5) for s in range(8)]
    assert len(set(first)) > 1, "different seeds should give different prompts"


def check_pickle(env: EnvSource) -> None:
    """A pickled environment, mid-episode, continues exactly like the original."""
    e = _maker(env)()
    e.reset(seed=7)
    actions = _actions(e, 500, 7)
    for a in actions[:3]:
        e.step(a)
    clone = pickle.loads(pickle.dumps(e))
    for a in actions[3:40]:
        r1, r2 = e.step(a), clone.step(a)
        assert _obs_bytes(r1[0]) == _obs_bytes(r2[0]) and r1[1:4] == r2[1:4]
        if r1[2] or r1[3]:
            break


def _filler(env: gym.Env, n: int, seed: int) -> list[int] | None:
    """Actions that never end a game early: random non-EOS tokens, or ``None`` for a command-level game,
    which is played on an unused slot (an unknown command) every step instead."""
    return None if _is_command_env(env) else _actions(env, n, seed)


def _unused_slot(env: gym.Env) -> int:
    free = np.flatnonzero(~env.unwrapped.action_masks())
    assert free.size, "a command-level game needs an unused slot for this check; raise max_commands"
    return int(free[-1])


def check_time_limit(env_id: str) -> None:
    """A full budget ends the episode on the registered ``max_episode_steps``: the completion is scored and the
    episode terminates (the registered ``TimeLimit`` flags truncation on the same step). A shorter ``TimeLimit``
    truncates earlier, unscored.

    A multi-turn env (``max_turns`` completions per episode) is registered with ``max_turns * max_new_tokens``
    steps: played with tokens that never form a command, every ``max_new_tokens``-th step ends (and scores) a
    completion without ending the episode, until the last turn's budget ends the game. A command-level game is
    registered with ``max_turns`` steps and played on unused slots."""
    e = gym.make(env_id)
    u = e.unwrapped
    limit = e.spec.max_episode_steps
    assert limit is not None, f"{env_id} must be registered with max_episode_steps"
    turns = _completions_per_episode(e)
    command_level = _is_command_env(e)
    per_turn = 1 if command_level else u.max_new_tokens
    if turns == 1:
        assert limit == u.max_new_tokens, "max_episode_steps must equal max_new_tokens"
    else:
        assert limit == turns * per_turn, (
            "max_episode_steps must equal max_turns * max_new_tokens (max_turns at command level)"
        )
    e.reset(seed=0)
    actions = _filler(e, limit, 0)
    for t in range(1, limit + 1):
        _, reward, terminated, truncated, info = e.step(_unused_slot(e) if actions is None else actions[t - 1])
        if t < limit:
            assert not (terminated or truncated) and np.isfinite(reward)
            if t % per_turn:
                assert info == {}
            else:
                assert "reward_components" in info, "each completion is scored when its budget fills"
                assert command_level or info["ended_by"] == "budget"
    assert terminated, "the budget's last step must terminate: the completion is scored, nothing follows"
    assert truncated, "the registered TimeLimit must fall on the budget's last step"
    assert "reward_components" in info, "the completion is scored when the budget fills"
    if not command_level:
        assert "completion" in info and info["ended_by"] == "budget"
    short = gym.make(env_id, max_episode_steps=3)
    short.reset(seed=0)
    actions = _filler(short, 3, 1)
    flags = [short.step(_unused_slot(short) if actions is None else actions[i])[3] for i in range(3)]
    assert flags == [False, False, True], "TimeLimit(3) must truncate on the third step"
    if command_level:
        return
    e.reset(seed=1)
    _, reward, terminated, truncated, info = e.step(u.codec.eos_id)
    if turns == 1:
        assert terminated and not truncated and "reward_components" in info, "EOS must terminate and score"
    else:
        assert not truncated and "reward_components" in info, "EOS must end the completion and score it"
    assert info["ended_by"] == "eos"


def check_text_wrapper(env: EnvSource) -> None:
    """The environment can be driven with whole strings through :class:`TextActionWrapper`
    (:class:`~tokengym.envs.games.command_env.CommandTextWrapper` for a command-level game).

    A single-completion env terminates on the text; a multi-turn one scores it as one completion (here an
    unknown command) and, where it lists ``admissible_commands``, plays the first of them as that command."""
    inner = _maker(env)()
    if _is_command_env(inner):
        e = CommandTextWrapper(inner)
        e.reset(seed=0)
        _, reward, terminated, truncated, info = e.step("Thank you!")
        assert not truncated and info["text"] == "Thank you!" and not info["valid"]
        assert np.isfinite(reward) and "reward_components" in info
        if not terminated:
            command = info["admissible_commands"][0]
            _, reward, terminated, truncated, info = e.step(command.upper())
            assert info["command"] == command and info["valid"], "the text of an offered command plays it"
        return
    e = TextActionWrapper(inner)
    e.reset(seed=0)
    _, reward, terminated, truncated, info = e.step("Thank you!")
    if _completions_per_episode(inner) == 1:
        assert terminated and not truncated
    else:
        assert not truncated and "reward_components" in info
    assert info["completion"] == "Thank you!"
    assert np.isfinite(reward) and info["tokens_dropped"] == 0
    commands = getattr(inner.unwrapped, "admissible_commands", None)
    if _completions_per_episode(inner) > 1 and commands and not terminated:
        _, reward, terminated, truncated, info = e.step(commands[0])
        assert info["completion"] == commands[0] and info["command"] == commands[0] and info["tokens_dropped"] == 0


def check_token_env(env: EnvSource) -> None:
    """Run every check above (``check_time_limit`` only for registered ids)."""
    for check in (check_spaces, check_gymnasium, check_sb3, check_determinism, check_pickle, check_text_wrapper):
        check(env)
    if isinstance(env, str):
        check_time_limit(env)


ALL_CHECKS = {
    "spaces": check_spaces,
    "gymnasium": check_gymnasium,
    "sb3": check_sb3,
    "determinism": check_determinism,
    "pickle": check_pickle,
    "text_wrapper": check_text_wrapper,
}


# ------------------------------------------------------------------------------------------------------ fuzzing

#: What ``reset`` may raise on bad input: ``ValueError`` (a bad seed or option, an index out of range) and
#: ``RuntimeError`` (``repeat_task`` with no task yet; a user simulator that fails). Anything else is a bug.
RESET_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError)
#: What ``step`` may raise: ``TypeError`` (an action that is not an integer), ``ValueError`` (one out of range)
#: and ``RuntimeError`` (a step before ``reset`` or after the episode's end).
STEP_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, RuntimeError)
#: Seeds worth trying: valid ones (``None``, 0, NumPy and huge integers) and bad ones.
ODD_SEEDS: tuple[Any, ...] = (None, 0, 7, 2**64 + 3, np.int64(5), -1, -(2**63), 1.5, float("nan"), "3", True, [1])
#: ``reset`` options worth trying: the documented ones, unknown keys, bad values and things that are no dict.
ODD_OPTIONS: tuple[Any, ...] = (
    None,
    {},
    {"repeat_task": True},
    {"repeat_task": False},
    {"index": 0},
    {"index": 3},
    {"index": None},
    {"index": -1},
    {"index": 1.5},
    {"index": "3"},
    {"index": True},
    {"index": 2**31},
    {"index": 2**80},
    {"index": 2, "repeat_task": True},
    {"repeat_task": "yes"},
    {"foo": 1},
    "index",
    5,
    [("index", 1)],
)
#: Actions no environment takes: negative, past any vocabulary, not integers, arrays of several values.
ODD_ACTIONS: tuple[Any, ...] = (
    *(-1, -(2**70), 2**31, 2**70, 1.5, float("nan"), "5", None, True, np.float32(1.0)),
    *(np.array([1, 2]), np.array(["a"]), b"\x01", [3]),
)

Operation = tuple[Any, ...]


def check_operations(env: EnvSource, operations: list[Operation]) -> None:
    """Play ``operations`` on an environment and check the contract of every call, good input or bad.

    Each operation is ``("reset", seed, options)`` or a step: ``("step", "token", k)`` (a valid action,
    ``k`` modulo the action space), ``("step", "allowed", k)`` / ``("step", "masked", k)`` (the ``k``-th action
    that ``action_masks()`` allows / masks, for environments that have it: masked actions are valid too),
    ``("step", "eos")`` (end-of-sequence; slot 0 of a command-level game) or ``("step", "value", action)``
    (that very action, e.g. one of :data:`ODD_ACTIONS`).

    Checked: a call raises nothing but :data:`RESET_ERRORS` / :data:`STEP_ERRORS`; a call that raises leaves
    the environment as it was (a twin that never sees the refused calls is in the same state, pickled byte for
    byte, and answers every later call alike); every observation lies in the observation space. The calls go to
    the unwrapped environment: Gymnasium's wrappers are not its contract (``TimeLimit`` zeroes its count before
    the environment's ``reset`` runs, refused or not).

    Raises:
        AssertionError: naming the operation that broke the contract.
    """
    make = _maker(env)
    subject, twin = make().unwrapped, make().unwrapped
    # The same generator in both, so that a first reset without a seed draws alike.
    subject.np_random, twin.np_random = np.random.default_rng(0), np.random.default_rng(0)
    try:
        for number, operation in enumerate(operations):
            where = f"operation {number} {operation!r} on {type(subject).__name__}"
            call, argument = _resolve(subject, operation)
            documented = RESET_ERRORS if operation[0] == "reset" else STEP_ERRORS
            try:
                result = call(subject, argument)
            except documented as err:
                assert str(err), f"{where} raised {type(err).__name__} without a message"
                assert _state(subject) == _state(twin), f"{where} raised {type(err).__name__} but changed the env"
                continue
            except Exception as err:
                raise AssertionError(f"{where} raised an undocumented {type(err).__name__}: {err}") from err
            expected = call(twin, argument)
            assert _summary(result) == _summary(expected), f"{where}: the env and its twin disagree"
            assert subject.observation_space.contains(result[0]), f"{where}: the observation is not in the space"
        # The generators must agree too: draw a new episode on both.
        assert _summary(subject.reset()) == _summary(twin.reset()), "the env and its twin draw different episodes"
    finally:
        subject.close()
        twin.close()


def random_operations(env: gym.Env, count: int, seed: int = 0) -> list[Operation]:
    """``count`` random operations for :func:`check_operations`: mostly valid steps, with resets and bad input
    of every kind (odd seeds, options and actions) mixed in."""
    rng = np.random.default_rng(seed)
    operations: list[Operation] = [("reset", int(rng.integers(2**31)), None)]
    for _ in range(count):
        kind = rng.random()
        if kind < 0.1:
            seed_, options = ODD_SEEDS[rng.integers(len(ODD_SEEDS))], ODD_OPTIONS[rng.integers(len(ODD_OPTIONS))]
            operations.append(("reset", seed_, options))
        elif kind < 0.25:
            operations.append(("step", "value", ODD_ACTIONS[rng.integers(len(ODD_ACTIONS))]))
        elif kind < 0.3:
            operations.append(("step", "eos"))
        else:
            operations.append(("step", str(rng.choice(["token", "allowed", "masked"])), int(rng.integers(2**31))))
    return operations


def fuzz_env(env: EnvSource, count: int = 300, seed: int = 0) -> None:
    """:func:`check_operations` on ``count`` :func:`random_operations`: a quick fuzz of your own environment."""
    probe = _maker(env)()
    operations = random_operations(probe.unwrapped, count, seed)
    probe.close()
    check_operations(env, operations)


def _resolve(env: gym.Env, operation: Operation) -> tuple[Callable[[gym.Env, Any], Any], Any]:
    """The call an operation makes and its argument (steps pick their action from the env's state now)."""
    if operation[0] == "reset":
        seed, options = operation[1], operation[2]
        return (lambda e, _: e.reset(seed=seed, options=options)), None
    how = operation[1]
    n = int(env.action_space.n)
    if how == "value":
        return _step, operation[2]
    if how == "eos":
        return _step, 0 if _is_command_env(env) else int(env.codec.eos_id)
    k = int(operation[2])
    if how in ("allowed", "masked") and hasattr(env, "action_masks") and getattr(env, "_status", "") == "running":
        mask = np.asarray(env.action_masks(), dtype=bool)
        choices = np.flatnonzero(mask if how == "allowed" else ~mask)
        if choices.size:
            return _step, int(choices[k % choices.size])
    return _step, k % n


def _step(env: gym.Env, action: Any) -> Any:
    return env.step(action)


def _state(env: gym.Env) -> bytes:
    """The environment's whole state, as pickle bytes (its caches are left out of its pickles)."""
    try:
        return pickle.dumps(env)
    except Exception as err:
        raise AssertionError(f"check_operations compares states by pickling; {type(env).__name__}: {err}") from err


def _summary(result: tuple) -> tuple:
    """What a ``reset`` or ``step`` returned, comparable with ``==``: observation bytes, then the rest as text."""
    obs, *rest = result
    return (_obs_bytes(obs), repr(rest))
