"""Run the ``tokengym`` command in this process, as the CLI tests do: ``run_cli("eval", ENV, "--episodes", "1")``."""

import contextlib
import io

from tokengym.cli import main


def run_cli(*argv: str) -> tuple[int, str, str]:
    """The exit status, standard output and standard error of ``tokengym ARGV`` (argparse's exits included)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse's errors and --help exit
            code = exit_.code
    return code, out.getvalue(), err.getvalue()
