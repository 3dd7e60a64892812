"""The playground notebook runs in a Jupyter kernel and prints what it has stored."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebooks" / "chatter.ipynb"


def _text(outputs) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(p.rstrip() for p in parts).strip()


def test_notebook_outputs_match(seeded_database):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    seeded_database.reset()
    stored = nbformat.read(NOTEBOOK, as_version=4)
    executed = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(executed, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    finally:
        seeded_database.reset()
    for number, (want, got) in enumerate(zip(stored.cells, executed.cells)):
        if want.cell_type == "code":
            assert _text(got.outputs) == _text(want.outputs), f"cell {number}: {want.source[:60]!r}"
