"""The registered multi-turn dialogue variants: ``DialogueChat-v0``, ``DialoguePersona-v0``, ``DialogueSupport-v0``.

Each is :class:`~tokengym.envs.dialogue.DialogueEnv` in multi-turn mode with its own users, reward, turns and
prompt budget; each class docstring documents its variant in full.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tokengym.envs.dialogue import CHAT_REWARD, CHAT_USERS, PERSONA_REWARD, SUPPORT_REWARD, DialogueEnv

__all__ = ["DialogueChatEnv", "DialoguePersonaEnv", "DialogueSupportEnv"]

_VARIANT_DOC = """{summary}

    ## Description
    {description}

    ## Action Space
    ``Discrete(vocab_size)``: the next token id of the agent's turn (4,096 for the embedded tokenizer).

    ## Observation Space
    The token contract of :class:`DialogueEnv`: ``input_ids`` (int32) and ``attention_mask`` (int8), both of
    length ``max_prompt_len + max_new_tokens`` (192 + 48), right-padded ``[history + "Assistant:" | turn so far
    | pad]``. After each user turn the history is laid out again: whole oldest turns go first when it exceeds
    ``max_prompt_len``, the user's opening turn is kept while it fits with the latest turn (``keep_opening``).
    The user's satisfaction and goal are not in the observation (the reward and ``info`` see them).

    ## Rewards
    Per agent turn, on the step that ends it (0 on other steps, nothing extra at the end). Default::

        {reward}

    {rewards}
    Components are in ``info["reward_components"]`` per turn; pass ``reward=`` to reweigh them
    (:mod:`tokengym.rewards.dialogue` lists the dialogue rewards and the columns they read).

    ## Starting State
    {start}

    ## Episode End
    Termination: after {max_turns} agent turns (``max_turns``), or earlier when {ends}
    (``info["end_reason"]``: ``"goal_met"``, ``"disengaged"``, ``"offended"`` or ``"max_turns"``). A turn
    ends on end-of-sequence or at ``max_new_tokens`` tokens. Truncation: the registered ``TimeLimit`` at
    ``max_turns * max_new_tokens`` = {steps} steps, the last turn's budget (``gym.make`` fits it to a new
    ``max_turns`` or ``max_new_tokens``: ``max_turns=8`` gets 8 x 48). With the defaults (``patience=4`` =
    ``max_turns``) a user ignored on every turn leaves on the last one (engagement -1 there); lower ``patience``
    to let them leave earlier. An empty reply is ignored; a failing user simulator raises ``UserSimulatorError``
    naming it and the turn.

    ## Arguments
    ```python
    {example}
    ```
    As :class:`DialogueEnv`: ``split``, ``max_turns`` ({max_turns}), ``users``, ``patience`` (4),
    ``personas``, ``keep_opening``, ``tokenizer``, ``reward``, ``max_prompt_len`` (192), ``max_new_tokens`` (48),
    ``render_mode``.

    ## Version History
    - v0: initial version.
    """


def _variant_doc(**parts: Any) -> str:
    return _VARIANT_DOC.format(**parts, steps=parts["max_turns"] * 48)


class DialogueChatEnv(DialogueEnv):
    __doc__ = _variant_doc(
        summary="Open chit-chat over several turns with a simulated user (``DialogueChat-v0``).",
        description=(
            "Multi-turn :class:`DialogueEnv` with its chit-chat users: each episode draws, with equal odds, a corpus\n"
            "    user (:class:`~tokengym.envs.users.CorpusUser`: the user turns of chatterbot-corpus and generated\n"
            "    chit-chat conversations, chained) or a persona user (:class:`~tokengym.envs.users.PersonaUser`: a\n"
            "    name, interests and a tone; warmer when used, colder and gone when ignored)."
        ),
        reward=CHAT_REWARD,
        rewards=(
            "Relevance to the user's scripted next assistant turn (or their last utterance), engagement (-1 the user\n"
            "    left, 0 ignored, 0.5 engaged, 1 engaged and asking back), context use, penalties for contradicting\n"
            "    or repeating earlier turns, verbosity, brevity and unsafe language: per turn in [-2.3, 1.7]."
        ),
        start="A user drawn from the mix, and their opening turn, drawn with ``self.np_random``.",
        ends="a persona user has had every request answered personally, or the user leaves",
        max_turns=4,
        example='env = gym.make("DialogueChat-v0", split="test", reward="relevance_lexical + engagement")',
    )
    default_max_turns: ClassVar[int] = 4
    default_max_prompt_len: ClassVar[int] = 192
    default_users: ClassVar[Any] = CHAT_USERS


class DialoguePersonaEnv(DialogueEnv):
    __doc__ = _variant_doc(
        summary="Personalised conversation with a persona user (``DialoguePersona-v0``).",
        description=(
            "The user (:class:`~tokengym.envs.users.PersonaUser`) introduces themselves (name, interest, sometimes a\n"
            "    city, job or pet, and a preferred casual or formal tone) and asks for things (ideas for the weekend,\n"
            "    gifts, tips). A reply that mentions what they have said, in their tone, gets a warm reaction and\n"
            "    answers the request; one that ignores them gets a cold one and the request again. Personas come\n"
            "    from generated persona conversations, or from a JSON/YAML file (``personas=``)."
        ),
        reward=PERSONA_REWARD,
        rewards=(
            "Context use (facts the user stated, mentioned: [0, 1]), engagement, the change in the user's\n"
            "    satisfaction (the mean score ``0.5*personal + 0.25*tone + 0.25*on topic`` of the replies, so that\n"
            "    its episode total is the final satisfaction), penalties for contradictions, repeated turns,\n"
            "    verbosity, brevity and unsafe language: per turn in [-2.8, 2]."
        ),
        start="A persona (generated from the split's stream, or drawn from ``personas``) and its introduction.",
        ends="every request has been answered personally (goal met) or the user leaves",
        max_turns=4,
        example='env = gym.make("DialoguePersona-v0", personas="personas.yaml", patience=2)',
    )
    default_max_turns: ClassVar[int] = 4
    default_max_prompt_len: ClassVar[int] = 192
    default_users: ClassVar[Any] = "persona"
    multi_turn_reward: ClassVar[str] = PERSONA_REWARD


class DialogueSupportEnv(DialogueEnv):
    __doc__ = _variant_doc(
        summary="Goal-directed customer support (``DialogueSupport-v0``).",
        description=(
            "The user (:class:`~tokengym.envs.users.SupportUser`) has a concrete problem with a product (a router\n"
            "    that drops the wifi, a printer that jams: 14 products, 3 issues each, from the generated support\n"
            "    conversations). A question gets their answer to the clarifying question; they are satisfied only\n"
            "    when the replies name the steps that solve it (every solution keyword, stemmed), and restate the\n"
            "    problem, losing patience, after a reply that does not help."
        ),
        reward=SUPPORT_REWARD,
        rewards=(
            "Task success (1 on the reply that solves the problem), the change in satisfaction (the share of the\n"
            "    solution keywords named so far: its episode total is the final share), politeness, penalties for\n"
            "    repeated turns, verbosity, brevity and unsafe language: per turn in [-1.8, 2.2]."
        ),
        start="A support problem (product, issue, solution) and the user's complaint, drawn with ``self.np_random``.",
        ends="the problem is solved (goal met) or the user leaves",
        max_turns=4,
        example='env = gym.make("DialogueSupport-v0", split="test", reward="task_success + 0.2*politeness")',
    )
    default_max_turns: ClassVar[int] = 4
    default_max_prompt_len: ClassVar[int] = 192
    default_users: ClassVar[Any] = "support"
    multi_turn_reward: ClassVar[str] = SUPPORT_REWARD
