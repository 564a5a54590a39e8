"""The command line's one boundary for bad input: one line saying what to do, exit status 2, no traceback.

Every command runs through :func:`run_command`, which turns the library's own bad-input errors into the line
``tokengym <command>: error: <message>`` on standard error. Which exceptions count as bad input is a decision,
made in :func:`bad_input_errors` and :func:`refused_env_arguments`:

* ``ValueError`` and its subclasses: the library's documented type for bad settings, arguments and files
  (``CheckpointError``, ``DataFileError``, ``PersonaFileError``, ``BrokenGameError``, reward-spec and unknown-reward
  errors, ``TrainingDivergedError``...).
* ``OSError``: files and folders that are missing, taken, unreadable or not writable.
* ``gymnasium.error.Error``: an environment id Gymnasium does not know, a seed it refuses.
* Three ``RuntimeError`` subclasses that name a setting to change: ``AlgorithmUnavailableError``,
  ``UserSimulatorError`` (a user simulator the arguments chose broke the protocol) and ``GameGenerationError``
  (TextWorld cannot make a game with these settings).
* ``RecursionError`` (an input nested too deeply to read) and ``MemoryError`` (sizes too large for the machine).
* A ``TypeError`` that an environment's constructor raised (Gymnasium marks it "was raised from the environment
  creator"): the environment refused the arguments it was given (``--env-kwargs``), such as ``"tokenizer": 5``.

Anything else (another ``TypeError``, ``KeyError``, ``AttributeError``, ``IndexError``, a plain ``RuntimeError``) is
a bug and keeps its traceback, so that it gets reported rather than mistaken for a typo. A ``ValueError`` that a
bug raises also shows one line: ``TOKENGYM_TRACEBACK=1`` brings back the traceback of any error. Parse errors (an
unknown flag, a number that is not one) take the same one-line form (:class:`OneLineParser`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import gymnasium as gym

from tokengym.envs.users.base import UserSimulatorError

SHOW_TRACEBACK = "TOKENGYM_TRACEBACK"
"""Environment variable: set to 1, errors keep their traceback (for reporting a bug)."""
MAX_MESSAGE = 2000
"""The longest message shown; a longer one keeps its start and its end, where the advice is."""


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input (see the module's docstring), imported when first needed."""
    from tokengym.agents.running.algorithms import AlgorithmUnavailableError
    from tokengym.envs.games.textworld_cache import GameGenerationError

    return (
        ValueError,
        OSError,
        gym.error.Error,
        AlgorithmUnavailableError,
        UserSimulatorError,
        GameGenerationError,
        RecursionError,
        MemoryError,
    )


def refused_env_arguments(err: BaseException) -> bool:
    """Whether ``err`` is an environment constructor's ``TypeError``, which Gymnasium re-raises with a mark."""
    return (
        isinstance(err, TypeError)
        and isinstance(err.__cause__, TypeError)
        and "was raised from the environment creator for" in str(err)
    )


def error_message(err: BaseException) -> str:
    """One line saying what went wrong, from a bad-input error."""
    if refused_env_arguments(err):
        return f"the environment refused its arguments: {error_message(err.__cause__)}"
    if isinstance(err, RecursionError):
        return "an input is nested too deeply to read (Python's recursion limit); simplify it"
    if isinstance(err, MemoryError):
        detail = f" ({err})" if str(err) else ""
        return f"out of memory{detail}; lower the sizes asked for (steps, batch size, environments, tokens)"
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        text = err.args[0]  # str() of a KeyError is the repr of its key, quotes and escapes included
    elif isinstance(err, OSError) and err.strerror and err.filename is not None:
        text = f"{err.strerror}: {str(err.filename)!r}"  # without the "[Errno 2]" of str()
    else:
        text = str(err)
    text = " ".join(text.split()) or type(err).__name__
    if len(text) > MAX_MESSAGE:
        text = f"{text[: MAX_MESSAGE // 2]} [...] {text[-MAX_MESSAGE // 2 :]}"
    return text


def library_warnings() -> tuple[type[Warning], ...]:
    """The warnings tokengym itself gives about the user's files (a skipped checkpoint, a repaired game cache, a
    model folder given the embedded tokenizer)."""
    from tokengym.agents.running.checkpoint import CheckpointWarning
    from tokengym.envs.games.textworld_cache import GameCacheWarning
    from tokengym.tokenizer import TokenizerWarning

    return (CheckpointWarning, GameCacheWarning, TokenizerWarning)


@contextlib.contextmanager
def one_line_warnings(command: str) -> Iterator[None]:
    """Show tokengym's own warnings as ``tokengym <command>: warning: <message>``, other warnings as Python does."""
    ours = library_warnings()
    with warnings.catch_warnings():
        python_shows = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *rest: Any, **kwargs: Any) -> None:
            if issubclass(category, ours):
                print(f"tokengym {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)
            else:
                python_shows(message, category, *rest, **kwargs)

        warnings.showwarning = show
        yield


def run_command(command: str, func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; a bad-input error becomes one line on standard error and exit status 2, and the library's
    warnings one line each (:func:`one_line_warnings`)."""
    try:
        with one_line_warnings(command):
            return func(args)
    except Exception as err:
        if not isinstance(err, bad_input_errors()) and not refused_env_arguments(err):
            raise  # a bug: its traceback is what a report needs
        if os.environ.get(SHOW_TRACEBACK, "") not in ("", "0"):
            raise
        print(f"tokengym {command}: error: {error_message(err)}", file=sys.stderr)
        return 2


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose parse errors are one line (no usage block), exit status 2, as every other error."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and where the help is, then exit with status 2."""
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)
