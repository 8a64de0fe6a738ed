"""The API key is a secret: after every tutorial runs with a key set, it is nowhere on disk or screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from weshop_nb import WeShopClient, emulator
from weshop_nb.config import home_dir
from weshop_nb.service._errors import WeShopError

SECRET = "sk-live-4f9a1c7e2b8d-never-print-me"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def tutorials_run_with_a_key(tmp_path, monkeypatch):
    """Every tutorial executed against an emulator that only accepts SECRET, saved to tmp_path."""
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    log = tmp_path / "kernel.log"
    with emulator.serve(api_key=SECRET, latency=0.5) as emu:
        monkeypatch.setenv("WESHOP_API_KEY", SECRET)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        for path in sorted(work.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            runner = NotebookClient(
                notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
            )
            runner.execute()
            nbformat.write(notebook, path)
        # What a user might print or hit: reprs and errors of the client in the same session.
        client = WeShopClient()
        shown = [repr(client), str(client.agent_info())]
        for bad in (lambda: client.get_task("nope"), lambda: client.execute("nope", {"textDescription": "x"})):
            try:
                bad()
            except WeShopError as exc:
                shown.append(f"{exc!r} {exc}")
        log.write_text("\n".join(shown))
    return work, log


def test_the_key_is_nowhere(tutorials_run_with_a_key) -> None:
    work, log = tutorials_run_with_a_key
    places = list(work.glob("*.ipynb"))  # outputs and saved widget state
    places += [p for p in home_dir().rglob("*") if p.is_file()]  # history database (+WAL) and thumbnail cache
    places.append(log)
    assert len(places) > 8
    assert any(p.name.startswith("history.sqlite3") for p in places)
    assert any(p.suffix == ".webp" for p in places)
    for place in places:
        assert SECRET.encode() not in place.read_bytes(), place
    outputs = [o for p in work.glob("*.ipynb") for c in nbformat.read(p, 4).cells for o in c.get("outputs", [])]
    assert len(outputs) > 20  # the tutorials really ran and showed things
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert os.environ.get("WESHOP_API_KEY") == SECRET  # the key was set for the whole run
