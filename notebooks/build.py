"""Write the teaching notebooks (``NN_*.ipynb``, outputs cleared) and their solutions from the lessons below.

The notebooks are generated so that their shared first cell, their style and their budgets stay in one place:
edit a lesson here, then run ``python notebooks/build.py``. Each lesson is a list of cells: ``md(...)`` for
Markdown, ``code(...)`` for Python. The lessons live in ``lessons_a.py`` (1 to 4) and ``lessons_b.py`` (5 to 8).

Every notebook's first code cell reads ``TOKENGYM_NOTEBOOK_BUDGET``: ``full`` (the default, what students run:
at most about 3 CPU minutes) or ``smoke`` (what the test suite runs: seconds). Code reads the budget through
``B(smoke, full)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import tokengym

BUDGET = os.environ.get("TOKENGYM_NOTEBOOK_BUDGET", "full")
if BUDGET not in ("smoke", "full"):
    raise ValueError(f"TOKENGYM_NOTEBOOK_BUDGET must be smoke or full, not {BUDGET!r}")


def B(smoke, full):
    \"\"\"The smoke budget's value (the tests: seconds) or the full one (yours: a few CPU minutes).\"\"\"
    return smoke if BUDGET == "smoke" else full


torch.set_num_threads(1)  # small models run fastest on one thread
%matplotlib inline
print(f"tokengym {tokengym.__version__}, budget {BUDGET}")"""


def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text.strip("\n"))}


def code(text: str) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": _lines(text.strip("\n")),
    }


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def notebook(cells: list[dict]) -> dict:
    first_markdown, rest = cells[0], cells[1:]
    return {
        "cells": [first_markdown, code(SETUP), *rest],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(name: str, cells: list[dict], solutions: str) -> None:
    nb = notebook(cells)
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{name[:2]}-{i:02d}"
    (HERE / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "solutions").mkdir(exist_ok=True)
    (HERE / "solutions" / f"{name}.md").write_text(solutions.strip("\n") + "\n", encoding="utf-8")


def main() -> None:
    sys.path.insert(0, str(HERE))
    from lessons_a import LESSONS as FIRST
    from lessons_b import LESSONS as SECOND

    for name, cells, solutions in [*FIRST, *SECOND]:
        write(name, cells, solutions)
        print(f"wrote notebooks/{name}.ipynb and notebooks/solutions/{name}.md")


if __name__ == "__main__":
    main()
