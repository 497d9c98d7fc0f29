"""notebooks/what-if.ipynb runs from top to bottom in a fresh kernel, and is stored without outputs.

The kernel is ``python3`` as ipykernel provides it inside this environment
(its wheel installs ``share/jupyter/kernels/python3`` under the venv, and
jupyter_client also offers the running interpreter's own ipykernel under
that name): nothing is installed per user, so a fresh virtual environment
made by ``.ci/run`` has it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "what-if.ipynb"


def test_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


def test_python3_kernel_is_this_environments() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.language == "python"
    # jupyter_client launches a bare "python" as this very interpreter.
    assert spec.argv[0] in {"python", "python3", sys.executable}, spec.argv


def test_notebook_runs(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            text.append(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")))
    joined = "\n".join(text)
    assert "tutorial: optimal" in joined
    assert "budget 3,000 -> 2,400 CNY million" in joined
    assert "facilities:" in joined and "moves elsewhere" in joined and "zhuozhou" in joined
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    # Section 8's schedule: the figures worked by hand in instances/hand/phased-schedule.toml
    # (one relocation of 50 within the 2021-2025 budget of 60, the milestone of 10 met).
    assert "hand-phased-schedule: optimal" in joined and "spending 50.00 / 60.00" in joined
    assert "2021-2025" in joined and "2026-2030" in joined and "residents_moved_by_end" in joined
