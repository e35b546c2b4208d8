"""Execute every teaching notebook (issue 8) and check its shape.

Each notebook in ``notebooks/`` is run top to bottom in a fresh ``python3``
kernel with nbclient (the same engine nbmake uses, so ``pytest --nbmake
notebooks/`` runs them too); any cell error fails the test. The notebooks are
committed without outputs and must be exactly what
``notebooks/build_notebooks.py`` generates, so the generator stays the source.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_sip_basics.ipynb",
    "02_loss_and_retransmissions.ipynb",
    "03_proxies_and_forking.ipynb",
    "04_voice_quality.ipynb",
    "05_capacity_planning.ipynb",
    "06_property_testing.ipynb",
]
#: Seconds per cell; a whole notebook is meant to run in well under a minute.
CELL_TIMEOUT = 300


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOKS / "build_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_all_six_notebooks_exist() -> None:
    assert NAMES == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_matches_generator_and_is_clean(name: str) -> None:
    generated = _generator().build()[name]
    on_disk = _read(name)
    nbformat.validate(on_disk)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in on_disk.cells if c.cell_type == "code"), f"{name} is committed with outputs"
    assert [(c.cell_type, c.source) for c in on_disk.cells] == \
        [(c.cell_type, c.source) for c in generated.cells], \
        f"{name} differs from build_notebooks.py: run python notebooks/build_notebooks.py"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_states_what_it_teaches_and_ends_with_exercises(name: str) -> None:
    cells = _read(name).cells
    first, last = cells[0], cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**What this notebook teaches.**" in first.source
    assert last.cell_type == "markdown" and last.source.startswith("## Exercises")
    items = [line for line in last.source.splitlines() if re.match(r"\d+\. ", line)]
    assert 3 <= len(items) <= 5, f"{name}: {len(items)} exercises"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_without_errors(name: str) -> None:
    nb = _read(name)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    # Every code cell ran (none skipped), in order.
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
