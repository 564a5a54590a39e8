"""A property-based fuzz of every registered environment (TextWorld's aside: their games take minutes to generate).

Random sequences of resets (odd seeds, odd options) and steps (valid, masked, out of range, of the wrong type)
go through :func:`tokengym.testing.check_operations`: only the documented exceptions, a refused call leaves the
environment as it was (checked against a twin that never sees it), every observation lies in its space.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokengym
from tokengym import testing
from tokengym.envs.toy import TokenSubsetEnv

ENV_IDS = tokengym.registered_ids()

seeds = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(testing.ODD_SEEDS),
)
option_values = st.one_of(
    st.integers(min_value=-5, max_value=2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
)
options = st.one_of(
    st.sampled_from(testing.ODD_OPTIONS),
    st.dictionaries(st.sampled_from(["index", "repeat_task", "seed", ""]), option_values, max_size=2),
)
actions = st.one_of(
    st.sampled_from(testing.ODD_ACTIONS),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True),
    st.builds(np.int64, st.integers(min_value=-(2**40), max_value=2**40)),
)
operation = st.one_of(
    st.tuples(st.just("reset"), seeds, options),
    st.tuples(st.just("step"), st.sampled_from(["token", "allowed", "masked"]), st.integers(0, 2**31)),
    st.tuples(st.just("step"), st.sampled_from(["token", "allowed", "masked"]), st.integers(0, 2**31)),
    st.just(("step", "eos")),
    st.tuples(st.just("step"), st.just("value"), actions),
)
# Most sequences start with a valid reset, so that their steps reach the middle and the end of episodes.
sequences = st.tuples(st.booleans(), st.integers(0, 2**32), st.lists(operation, max_size=30)).map(
    lambda drawn: ([("reset", drawn[1], None)] if drawn[0] else []) + drawn[2]
)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations=sequences)
def test_any_sequence_of_calls_keeps_the_contract(env_id, operations):
    testing.check_operations(env_id, operations)


def test_fuzz_env_runs_a_seeded_random_fuzz():
    testing.fuzz_env("TokenSubset-v0", count=150, seed=3)


class _LeakyEnv(TokenSubsetEnv):
    """Draws from its generator even on a step it refuses."""

    def step(self, action):
        self.np_random.random()
        return super().step(action)


class _SloppyEnv(TokenSubsetEnv):
    """Reads an option it does not check."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=seed, options={k: v for k, v in options.items() if k != "k"})


def test_the_fuzz_catches_a_refused_call_that_changes_the_env_or_an_undocumented_error():
    with pytest.raises(AssertionError, match="changed the env"):
        testing.check_operations(_LeakyEnv, [("reset", 0, None), ("step", "value", -1)])
    with pytest.raises(AssertionError, match="undocumented AttributeError"):
        testing.check_operations(_SloppyEnv, [("reset", 0, None)])
