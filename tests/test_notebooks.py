"""The teaching notebooks: numbered lessons, committed without outputs, each run top to bottom at the smoke budget."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))


def test_every_lesson_is_there_with_its_solutions_and_no_outputs():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, 9)]
    for path in NOTEBOOKS:
        assert (FOLDER / "solutions" / f"{path.stem}.md").is_file(), path.name
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
        assert "TOKENGYM_NOTEBOOK_BUDGET" in "".join(cells[1]["source"])  # the first code cell reads the budget
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code")
        assert f"solutions/{path.stem}.md" in "".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, monkeypatch, tmp_path):
    monkeypatch.setenv("TOKENGYM_NOTEBOOK_BUDGET", "smoke")  # the kernel inherits it
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    budget = next(o for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "budget smoke" in budget.text
