"""The ``tokengym`` command: :mod:`.main` (the parser and the commands), :mod:`.flags` (flags generated from a
configuration dataclass) and :mod:`.play` (playing an environment in the terminal)."""

from tokengym.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
