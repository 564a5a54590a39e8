"""The token contract's spaces, checked against a language model before anything is built.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from tokengym.agents import check_token_spaces
    >>> env = gym.make("TokenSubset-v0")
    >>> check_token_spaces(env.observation_space, env.action_space, vocab_size=4096)
    16
"""

from __future__ import annotations

from gymnasium import spaces


def check_token_spaces(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    vocab_size: int,
    max_positions: int | None = None,
    model_outputs: int | None = None,
    model_name: str = "the model",
) -> int:
    """Check that the spaces follow the token contract and fit a model of ``vocab_size`` tokens and
    ``max_positions`` positions, whose output scores ``model_outputs`` tokens.

    A model whose output scores more tokens than the environment's action space holds (GPT-2's 50,257 beside the
    embedded tokenizer's 4,096) would write token ids the environment refuses, at the first such token, deep in a
    run; one that scores fewer could never write the others. Both are refused here, before anything is built.

    Returns:
        The sequence length L.

    Raises:
        ValueError: naming what does not match.
    """
    if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {
        "input_ids",
        "attention_mask",
    }:
        raise ValueError(
            f"a language-model policy needs Dict(input_ids, attention_mask) observations (the tokengym token "
            f"contract), got {observation_space}"
        )
    ids, mask = observation_space["input_ids"], observation_space["attention_mask"]
    if not isinstance(ids, spaces.Box) or len(ids.shape) != 1 or ids.shape != mask.shape:
        raise ValueError(f"input_ids and attention_mask must be Box spaces of one shape (L,), got {ids} and {mask}")
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(f"a language-model policy acts with tokens: Discrete(vocab_size), not {action_space}")
    if model_outputs is not None and int(action_space.n) != model_outputs:
        raise ValueError(vocabulary_mismatch(model_name, model_outputs, int(action_space.n)))
    if int(action_space.n) != vocab_size:
        raise ValueError(
            f"the environment's action space is Discrete({action_space.n}) but the model has {vocab_size} tokens; "
            "make the environment with the model's tokenizer: gym.make(env_id, tokenizer=model_folder)"
        )
    if max_positions is not None and ids.shape[0] > max_positions:
        raise ValueError(
            f"observations of {ids.shape[0]} tokens exceed the model's {max_positions} positions; "
            "lower the environment's max_prompt_len or max_new_tokens"
        )
    return int(ids.shape[0])


def vocabulary_mismatch(model_name: str, model_outputs: int, actions: int) -> str:
    """The message for a model that scores ``model_outputs`` tokens on an environment of ``actions`` tokens.

    Example:
        >>> vocabulary_mismatch("model 'gpt2'", 50257, 4096)[:60]
        "model 'gpt2' scores 50,257 tokens but the environment acts i"
    """
    return (
        f"{model_name} scores {model_outputs:,} tokens but the environment acts in Discrete({actions}) (its "
        f"tokenizer has {actions:,} tokens): every action is a token id of the model's own vocabulary, so the "
        "environment must use the model's tokenizer. Leave 'tokenizer' out of the environment's arguments "
        "(--env-kwargs) to get it, or pass gym.make(env_id, tokenizer=<the model's folder or id>)"
    )
