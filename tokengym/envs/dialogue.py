"""Dialogue: the agent writes the assistant's replies in a conversation, token by token.

One reply per episode (``Dialogue-v0``, the default) or a whole conversation with a simulated user
(``DialogueChat-v0``, ``DialoguePersona-v0``, ``DialogueSupport-v0``, or ``Dialogue-v0`` with ``max_turns > 1``);
the users live in :mod:`tokengym.envs.users`, the registered multi-turn variants in
:mod:`tokengym.envs.dialogue_variants`, the dialogue rewards in :mod:`tokengym.rewards.dialogue`.
"""

from __future__ import annotations

import copy
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tokengym.data.dialogue_examples import DialogueExample, corpus_examples, load_dialogue_file
from tokengym.data.dialogue_layout import ASSISTANT, dialogue_turn_ids, format_dialogue
from tokengym.data.dialogues import conversation_for
from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.users import CorpusUser, UserSimulator, UserSimulatorError, UserTurn, check_user_spec, make_user
from tokengym.envs.users.base import check_patience
from tokengym.envs.validation import check_bool, check_index, check_int
from tokengym.rewards.conversation import user_facts

SOURCES = ("mixed", "corpus", "generated")
SPLITS = ("train", "test")
MAX_INDEX = 2**31 - 1

#: The users of multi-turn chit-chat (``DialogueChat-v0``, ``Dialogue-v0`` with ``max_turns > 1``): a mix.
CHAT_USERS = ("corpus", "persona")
#: Default reward of multi-turn chit-chat, per agent turn.
CHAT_REWARD = (
    "relevance_lexical + 0.5*engagement + 0.2*context_use + 0.2*consistency + 0.2*repetition_turns"
    " + 0.2*verbosity(max_words=30) + 0.2*brevity(min_words=2) + safety"
)
#: Default reward of ``DialoguePersona-v0``, per agent turn.
PERSONA_REWARD = (
    "context_use + 0.5*engagement + 0.5*user_satisfaction + 0.2*consistency + 0.2*repetition_turns"
    " + 0.2*verbosity(max_words=40) + 0.2*brevity(min_words=2) + safety"
)
#: Default reward of ``DialogueSupport-v0``, per agent turn.
SUPPORT_REWARD = (
    "task_success + user_satisfaction + 0.2*politeness + 0.2*repetition_turns + 0.2*verbosity(max_words=40)"
    " + 0.2*brevity(min_words=2) + safety"
)


class DialogueEnv(TokenEnv):
    """Write the assistant's replies in a conversation, one token per step: one reply, or a whole conversation.

    ## Description
    **Single reply** (the default, ``max_turns=1``): a conversation so far is drawn from the data (the bundled
    chatterbot-corpus conversations, procedurally generated chit-chat/persona/support conversations, or a local
    file) and laid out as a prompt::

        User: My router keeps dropping the wifi.
        Assistant: I'm sorry to hear that. How long has it been happening?
        User: Since yesterday evening.
        Assistant:

    The agent continues it with the reply and ends it with the end-of-sequence token; the episode ends there.

    **Multi-turn** (``max_turns > 1``, or ``users=`` given): an episode is a conversation with a simulated user
    (:mod:`tokengym.envs.users`). The user opens; the agent writes its turn token by token; at its end of
    utterance the user answers, and the observation is laid out again as the history (truncated, rule below)
    followed by ``Assistant:``. The default users are a mix of a corpus user (follows real conversations)
    and a persona user (name, interests, tone); ``DialogueChat-v0`` registers this mode, and
    ``DialoguePersona-v0`` and ``DialogueSupport-v0`` are its personalisation and customer-support variants.

    ## Action Space
    ``Discrete(vocab_size)``: the next token id (4,096 for the embedded tokenizer).

    ## Observation Space
    ``Dict``, both arrays of length ``L = max_prompt_len + max_new_tokens``, right-padded:

    | key              | dtype | shape | content                                                   |
    |------------------|-------|-------|-----------------------------------------------------------|
    | ``input_ids``      | int32 | (L,)  | ``[prompt | reply so far | pad]``, pad = tokenizer's pad id |
    | ``attention_mask`` | int8  | (L,)  | 1 over prompt and reply, 0 over padding                   |

    Assistant turns in the prompt end with the end-of-sequence token, as the agent's own reply does, then a
    newline (``info["prompt"]`` shows the turns without it). **Truncation**: a prompt longer than
    ``max_prompt_len`` loses whole oldest turns, then tokens from the left of the latest turn if it alone is
    too long. In multi-turn mode with ``keep_opening=True`` (the default) the user's opening turn (who they
    are, what they want) is kept as long as it fits together with the latest turn, and the turns after it go
    first. The user's satisfaction is never in the observation.

    ## Rewards
    Single reply: 0 on every step but the last; at the end of the reply, the reward spec evaluated on it. The
    default is ``relevance_lexical + 0.2*verbosity(max_words=30) + 0.2*repetition + 0.2*brevity(min_words=2)``:
    ROUGE-1 F to the reference reply in [0, 1], minus penalties in [-1, 0] each for more than 30 words,
    repeated bigrams and fewer than 2 words; the total lies in [-0.6, 1]. ``info["reward_components"]`` has each.

    Multi-turn: paid **per agent turn**, on the step that ends it (0 on the other steps; nothing more at the end
    of the episode: the last turn's reward already holds the user's final reaction). The default is
    :data:`CHAT_REWARD`: ``relevance_lexical`` (to the user's scripted next assistant turn, or to the user's
    last utterance where there is none), ``0.5*engagement`` (-1 if the user leaves, 0 ignored, 0.5 engaged, 1
    engaged and asking back), ``0.2*context_use`` (facts the user stated, used), ``0.2*consistency`` and
    ``0.2*repetition_turns`` (contradicting or repeating its own earlier turns), ``0.2*verbosity(max_words=30)``,
    ``0.2*brevity(min_words=2)`` and ``safety``: per turn in [-2.3, 1.7]. The reward receives, besides
    ``references`` and ``history``, the user's reaction as columns (:mod:`tokengym.rewards.dialogue`):
    ``user_reply``, ``user_engaged``, ``user_left``, ``user_goal_met``, ``user_satisfaction``,
    ``user_satisfaction_before`` and ``user_facts``. ``info`` holds them too, with ``reward_components``,
    ``turn`` and ``user`` (the simulator's name).

    ## Starting State
    Single reply: a conversation and an assistant turn in it, drawn with ``self.np_random``: with
    ``source="mixed"`` half from the corpus, half generated. ``reset(options={"index": i})`` picks example
    ``i`` (the i-th corpus example for ``source="corpus"`` or a file, the i-th generated conversation otherwise):
    a non-negative integer below the number of examples. Multi-turn: the user (one of a mix, drawn first) and
    their opening, all drawn with ``self.np_random`` (``index`` is refused). ``reset`` reads no other option
    than ``index`` and ``repeat_task``; anything else is refused with ``ValueError``, the env unchanged.

    ## Episode End
    Single reply -- termination: the agent emits the end-of-sequence token, or the reply reaches
    ``max_new_tokens`` tokens; the reply is scored on that step and ``info["ended_by"]`` says which (``"eos"`` or
    ``"budget"``). ``max_new_tokens`` is ``max_episode_steps`` (48 registered; ``gym.make`` follows a new
    ``max_new_tokens``), so ``TimeLimit`` also flags
    truncation on the budget's step. Terminated, not merely truncated: the score is final, and a learner must
    not bootstrap a value past it. A shorter ``TimeLimit`` truncates earlier, unscored.

    Multi-turn -- each agent turn ends like a single reply; the episode terminates after the turn that
    reaches ``max_turns``, or earlier when the user's goal is met (``info["end_reason"] == "goal_met"``) or the
    user leaves: ignored ``patience`` times in a row (``"disengaged"``), offended by an unsafe reply
    (``"offended"``) or, for a person, ``/quit`` (``"quit"``); ``"max_turns"`` otherwise. Truncation: only
    ``TimeLimit``, at ``max_turns * max_new_tokens`` steps: ``gym.make("Dialogue-v0", max_turns=3)`` limits the
    episode to 3 x 48 steps, not the registered 48, so the conversation is never cut after its first turn
    (:func:`tokengym.envs.match_time_limit`); a ``max_episode_steps`` passed to ``gym.make`` is kept.

    Bad input: an empty reply (end-of-sequence at once) is a turn like any other; users treat it as ignored.
    A user simulator that raises, or returns something else than a :class:`~tokengym.envs.users.UserTurn`
    with a satisfaction in [0, 1] and a non-empty utterance while the conversation goes on, raises
    :class:`~tokengym.envs.users.UserSimulatorError` naming the simulator and the turn; the step is undone
    (user, generator and token) as for any error at the end of a reply.

    ## Arguments
    ```python
    env = gym.make("Dialogue-v0", source="corpus", split="test", reward="relevance_lexical", max_new_tokens=32)
    env = gym.make("Dialogue-v0", max_turns=3)          # multi-turn chit-chat, TimeLimit 3 * 48
    ```
    ``tokenizer``, ``reward``, ``max_prompt_len`` (128), ``max_new_tokens`` (48), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`; ``source`` (``"mixed"``, ``"corpus"``, ``"generated"``); ``split``
    (``"train"``, ``"test"``); ``data_path`` (a JSONL/CSV file with ``context`` and ``response``; in
    multi-turn mode the corpus user plays its conversations) and ``fields`` (renames them); ``max_turns`` (1:
    single reply); ``users`` (``"corpus"``, ``"persona"``, ``"support"``, ``"human"``, a
    :class:`~tokengym.envs.users.UserSimulator`, or a list of them for a mix; default ``["corpus",
    "persona"]``); ``patience`` (4: ignored replies in a row before a simulated user leaves); ``personas`` (a
    JSON/YAML persona file or a list of personas for persona users: :mod:`tokengym.envs.personas`);
    ``keep_opening`` (True or False: True). Each is checked, type and value, before anything is built; the
    prompt must leave room for at least one token before ``Assistant:``, and ``max_prompt_len +
    max_new_tokens`` is at most 131,072 (:data:`tokengym.envs.validation.MAX_TOKENS`).

    ## Version History
    - v0: single reply per episode; chatterbot-corpus and generated conversations. Multi-turn conversations
      with user simulators through ``max_turns``/``users`` (the single-reply default is unchanged).
    """

    default_reward: ClassVar[str] = (
        "relevance_lexical + 0.2*verbosity(max_words=30) + 0.2*repetition + 0.2*brevity(min_words=2)"
    )
    multi_turn_reward: ClassVar[str] = CHAT_REWARD
    default_max_turns: ClassVar[int] = 1
    default_max_prompt_len: ClassVar[int] = 128
    default_users: ClassVar[Any] = None  # None: single reply unless max_turns > 1 (then CHAT_USERS)
    truncation_side: ClassVar[str] = "left"
    reset_options: ClassVar[tuple[str, ...]] = ("repeat_task", "index")

    def __init__(
        self,
        source: str = "mixed",
        split: str = "train",
        data_path: str | os.PathLike[str] | None = None,
        fields: Mapping[str, str] | None = None,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int | None = None,
        max_new_tokens: int = 48,
        render_mode: str | None = None,
        max_turns: int | None = None,
        users: Any = None,
        patience: int = 4,
        personas: Any = None,
        keep_opening: bool = True,
    ) -> None:
        # Every argument is checked before the tokenizer, the reward, the data or the users are built.
        if not isinstance(source, str) or source not in SOURCES:
            raise ValueError(f"unknown dialogue source {source!r}; choose one of {SOURCES}")
        if not isinstance(split, str) or split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        max_turns = self.default_max_turns if max_turns is None else max_turns
        max_turns = check_int("max_turns", max_turns, low=1, what="agent turns per episode")
        patience = check_patience(patience)
        keep_opening = check_bool("keep_opening", keep_opening)
        if fields is not None and data_path is None:
            raise ValueError("fields= renames the columns of a data_path file; pass data_path too, or drop fields")
        users = self.default_users if users is None else users
        if users is None and max_turns > 1:
            users = CHAT_USERS
        self.multi_turn = users is not None
        if self.multi_turn:
            check_user_spec(users)
        if personas is not None and not self.multi_turn:
            raise ValueError(
                "personas= is for persona users, and a single-reply episode has no user; pass users='persona' "
                "and max_turns > 1 (the TimeLimit follows max_turns), or use DialoguePersona-v0"
            )
        if reward is None:
            reward = self.multi_turn_reward if self.multi_turn else self.default_reward
        if max_prompt_len is None:
            max_prompt_len = self.default_max_prompt_len
        super().__init__(tokenizer, reward, max_prompt_len, max_new_tokens, render_mode)
        self._suffix_ids = self.codec.encode(f"{ASSISTANT}:")
        if len(self._suffix_ids) >= self.max_prompt_len:
            raise ValueError(
                f"max_prompt_len={self.max_prompt_len} leaves no room for the conversation before the "
                f"{ASSISTANT + ':'!r} suffix ({len(self._suffix_ids)} tokens); use at least {len(self._suffix_ids) + 1}"
            )
        self.split = split
        self.max_turns = max_turns
        self.keep_opening = keep_opening
        if data_path is not None:
            self.source = "file"
            self._examples: tuple[DialogueExample, ...] = tuple(load_dialogue_file(data_path, fields))
        else:
            self.source = source
            self._examples = corpus_examples(split) if source != "generated" and not self.multi_turn else ()
        self._prompt_cache: dict[int, list[int]] = {}
        self.users: UserSimulator | None = self._build_users(users, patience, personas) if self.multi_turn else None
        self._turns: list[str] = []
        self._turn_ids: list[list[int]] = []
        self._agent_turns = 0
        self._facts: dict[str, Any] = {}
        self._satisfaction = 0.0
        self._reference: str | None = None
        self._opening: tuple[UserSimulator, UserTurn] | None = None

    def _build_users(self, spec: Any, patience: int, personas: Any) -> UserSimulator:
        def resolve(item: Any) -> Any:
            if item != "corpus":
                return item
            if self.source == "file":
                conversations = [(*e.history, e.reference) for e in self._examples]
                return CorpusUser(split=self.split, patience=patience, conversations=conversations)
            return CorpusUser(source=self.source, split=self.split, patience=patience)

        specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        if personas is not None and "persona" not in specs:
            raise ValueError(f"personas= is for persona users, and users={spec!r} builds none; add 'persona' to users")
        items = [resolve(s) for s in specs]
        user = make_user(items if len(items) > 1 else items[0], split=self.split, patience=patience, personas=personas)
        return copy.deepcopy(user)  # a user object given to several envs must not share its state between them

    def eval_metrics(self) -> str:
        """Lexical and semantic relevance to the reference reply (ROUGE-1 where no embedding model is installed,
        named as such), sentiment, politeness, safety, verbosity and repetition."""
        return (
            "relevance_lexical + relevance_semantic(fallback='lexical') + sentiment + politeness + safety"
            " + verbosity(max_words=30) + repetition"
        )

    # ----------------------------------------------------------------------------------------- single reply

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        if self.multi_turn:
            return self._start_conversation(options)
        index = options.get("index")
        from_corpus = self.source in ("corpus", "file") or (self.source == "mixed" and self.np_random.random() < 0.5)
        if from_corpus:
            if index is None:
                index = int(self.np_random.integers(len(self._examples)))
            check_index(index, len(self._examples), "examples of this dialogue data")
            example = self._examples[index]
            ids = self._prompt_cache.get(index)
            if ids is None:
                ids = self._prompt_cache[index] = self._prompt_ids(example.history)
        else:
            if index is None:
                index = int(self.np_random.integers(MAX_INDEX))
            check_index(index, MAX_INDEX, "generated conversations")
            conversation = conversation_for(int(index), self.split)
            turn = 1 + 2 * int(self.np_random.integers(len(conversation.turns) // 2))
            example = DialogueExample(
                conversation.turns[:turn], conversation.turns[turn], source="generated", kind=conversation.kind
            )
            ids = self._prompt_ids(example.history)
        return Sample(
            prompt=format_dialogue(example.history),
            prompt_ids=ids,
            columns={"references": example.reference, "history": example.history},
            metadata={"source": example.source, "kind": example.kind, "index": int(index)},
        )

    def _prompt_ids(self, history: Sequence[str]) -> list[int]:
        # Drop whole oldest turns first, then tokens from the left if the last user turn alone is too long.
        suffix = self.codec.encode(f"{ASSISTANT}:")
        room = self.max_prompt_len - len(suffix)
        turns = [dialogue_turn_ids(self.codec, i, t) for i, t in enumerate(history)]
        kept: list[int] = []
        for turn_ids in reversed(turns):
            if len(kept) + len(turn_ids) > room and kept:
                break
            kept = turn_ids + kept
        return fit_prompt(kept, self.max_prompt_len, side="left", suffix=suffix)

    # ------------------------------------------------------------------------------------------ multi-turn

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode (see :meth:`TokenEnv.reset`); in multi-turn mode ``repeat_task`` replays the same
        user from the same opening (for group baselines)."""
        obs, info = super().reset(seed=seed, options=options)
        if self.multi_turn:
            info.update(user=self.users.name, turn=1)
        return obs, info

    def _repeat_sample(self) -> Sample:
        if not self.multi_turn or self._opening is None:
            return super()._repeat_sample()
        user, opening = self._opening  # the same user, as it was, from the same opening
        self.users = copy.deepcopy(user)
        self._begin(opening)
        return self._turn_sample()

    def _start_conversation(self, options: Mapping[str, Any]) -> Sample:
        if "index" in options:
            raise ValueError(
                "reset(options={'index': ...}) picks a single-reply example; multi-turn episodes draw "
                "their user with the seed"
            )
        try:
            opening = self._call_user("start", 0, self.np_random)
            self._check_turn(opening, 0, final=False)
        except BaseException:
            self._status = "new"  # the previous episode cannot go on with a half-started user
            raise
        self._opening = (copy.deepcopy(self.users), opening)
        self._begin(opening)
        return self._turn_sample()

    def _begin(self, opening: UserTurn) -> None:
        self._turns = [opening.text]
        self._turn_ids = [dialogue_turn_ids(self.codec, 0, opening.text)]
        self._agent_turns = 0
        self._facts = _merge_facts({}, opening)
        self._satisfaction = float(opening.satisfaction)
        self._reference = opening.reference

    def _turn_sample(self) -> Sample:
        history = tuple(self._turns)
        reference = self._reference if self._reference is not None else self._turns[-1]
        return Sample(
            prompt=format_dialogue(history),
            prompt_ids=self._history_ids(),
            columns={"references": reference, "history": history},
            metadata={"source": self.source, "user": self.users.name, "turn": self._agent_turns + 1},
        )

    def _history_ids(self) -> list[int]:
        room = self.max_prompt_len - len(self._suffix_ids)
        turns = self._turn_ids
        pinned = turns[0] if self.keep_opening and len(turns) > 1 else []
        kept: list[int] = []
        for ids in reversed(turns[1:] if pinned else turns):
            if kept and len(kept) + len(ids) + len(pinned) > room:
                break
            kept = ids + kept
        if pinned and len(kept) + len(pinned) <= room:
            kept = pinned + kept
        return fit_prompt(kept, self.max_prompt_len, side="left", suffix=self._suffix_ids)

    def _call_user(self, method: str, turn: int, *args: Any) -> UserTurn:
        try:
            return getattr(self.users, method)(*args)
        except UserSimulatorError:
            raise
        except Exception as err:
            raise UserSimulatorError(
                f"user simulator {self._user_name()!r} failed at turn {turn} ({method}): {type(err).__name__}: {err}"
            ) from err

    def _user_name(self) -> str:
        return str(getattr(self.users, "name", type(self.users).__name__))

    def _check_turn(self, turn: Any, number: int, final: bool) -> None:
        where = f"user simulator {self._user_name()!r} at turn {number}"
        if not isinstance(turn, UserTurn):
            raise UserSimulatorError(f"{where} returned {turn!r}; a user returns a tokengym.envs.users.UserTurn")
        if not isinstance(turn.text, str):
            raise UserSimulatorError(f"{where} returned a text of type {type(turn.text).__name__}, not str")
        value = turn.satisfaction
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
            raise UserSimulatorError(f"{where} returned satisfaction {value!r}; it must be a number in [0, 1]")
        if number == 0 and turn.done:
            raise UserSimulatorError(f"{where}: a user cannot end the conversation before it starts")
        if not turn.text.strip() and not (turn.done or final):
            raise UserSimulatorError(
                f"{where} said nothing without ending the conversation; a user with nothing to say must leave "
                "(left=True) or have its goal met"
            )

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        if not self.multi_turn:
            return super()._end_of_completion(completion, ended_by_eos)
        assert self._sample_ is not None and self.reward_fn is not None
        sample, number = self._sample_, self._agent_turns + 1
        final = number >= self.max_turns
        snapshot, generator = copy.deepcopy(self.users), copy.deepcopy(self.np_random.bit_generator.state)
        try:
            answer = self._call_user("respond", number, completion, self.np_random, final)
            self._check_turn(answer, number, final)
            columns = {
                **sample.columns,
                "user_reply": answer.text,
                "user_engaged": bool(answer.engaged),
                "user_left": bool(answer.left),
                "user_goal_met": bool(answer.goal_met),
                "user_satisfaction": float(answer.satisfaction),
                "user_satisfaction_before": self._satisfaction,
                "user_facts": copy.deepcopy(self._facts),
            }
            totals, parts = self.reward_fn.score([sample.prompt], [completion], **{k: [v] for k, v in columns.items()})
        except BaseException:
            self.users = snapshot  # undo the user's turn: the step is retried as if it never happened
            self.np_random.bit_generator.state = generator
            raise
        terminated = final or answer.done
        self._agent_turns = number
        self._satisfaction = float(answer.satisfaction)
        self._facts = _merge_facts(self._facts, answer)
        info = {
            **{k: v for k, v in columns.items() if k != "user_facts"},
            "prompt": sample.prompt,
            "completion": completion,
            "reward_components": {name: values[0] for name, values in parts.items()},
            "user": self._user_name(),
            "turn": number,
            "user_facts": copy.deepcopy(self._facts),
            **({"user_rating": answer.rating} if answer.rating is not None else {}),
            **({"end_reason": answer.reason or ("goal_met" if answer.goal_met else "left")} if answer.done else {}),
        }
        if terminated:
            info.setdefault("end_reason", "max_turns")
        else:
            self._turns += [completion, answer.text]
            self._turn_ids += [
                dialogue_turn_ids(self.codec, len(self._turns) - 2, completion),
                dialogue_turn_ids(self.codec, len(self._turns) - 1, answer.text),
            ]
            self._reference = answer.reference
            self._lay_out(self._turn_sample())
        return totals[0], terminated, info

    @property
    def history(self) -> list[str]:
        """The current conversation, user first (multi-turn mode; the prompt's turns in single-reply mode)."""
        if self.multi_turn:
            return list(self._turns)
        return list(self._sample_.columns["history"]) if self._sample_ is not None else []

    @property
    def user_facts(self) -> dict[str, Any]:
        """What the user has stated about themselves so far (multi-turn mode): name, interests, product..."""
        return copy.deepcopy(self._facts)


def _merge_facts(facts: Mapping[str, Any], turn: UserTurn) -> dict[str, Any]:
    """``facts`` updated with what ``turn`` states: the simulator's own ``facts``, then what
    :func:`~tokengym.rewards.conversation.user_facts` reads in its text (list values are merged)."""
    merged = copy.deepcopy(dict(facts))
    for source in (dict(turn.facts), user_facts(turn.text)):
        for key, value in source.items():
            if isinstance(value, (list, tuple)):
                known = merged.setdefault(key, [])
                known.extend(v for v in value if v not in known)
            else:
                merged.setdefault(key, value)
    return merged
