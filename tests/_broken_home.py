"""A home folder that cannot be written, and what weshop_nb makes of it.

:func:`break_home` spoils a ``WESHOP_NB_HOME`` in one of the ways the catalogue names;
the two that need the kernel's help (a read-only mount, a full disk) are made in a
private mount namespace by :func:`in_mount_namespace`, which runs :func:`look` there in a
child process. :func:`look` reads and writes the history and shows a picture and an icon
the way a session does, and returns what happened as plain data.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Mounts made in a private namespace: the shell lines, with F the folder and S a copy of it.
MOUNTS = {
    "read-only": 'mount --bind "$F" "$F" && mount -o remount,bind,ro "$F"',
    # A small tmpfs holding the intact history, then filled to the last block.
    "full": 'mount -t tmpfs -o size=1m tmpfs "$F" && cp -a "$S/." "$F/" && '
    '(dd if=/dev/zero of="$F/ballast" bs=4k 2>/dev/null; true)',
}


def seed_history(home: Path) -> Path:
    """An intact history with one task in ``home``, closed cleanly; returns its path."""
    from weshop_nb.service._models import Task
    from weshop_nb.work._history import History

    home.mkdir(parents=True, exist_ok=True)
    history = History(home / "history.sqlite3")
    history.record_task(Task(id="t1", agent_name="aimodel", agent_version="v1.0", init_params={}), "http://kept")
    history.close()
    return history.path


def break_home(home: Path, how: str) -> Any:
    """Spoil ``home`` in place (the cases that need no mount); returns what must stay alive (a lock)."""
    if how == "home is a file":
        shutil.rmtree(home, ignore_errors=True)
        home.write_text("not a folder")
    elif how == "thumbnails folder is a file":
        (home / "thumbnails").write_text("not a folder")
    elif how == "history is a folder":
        (home / "history.sqlite3").unlink()
        (home / "history.sqlite3").mkdir()
    elif how == "corrupt history":
        (home / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    elif how == "locked history":
        holder = sqlite3.connect(home / "history.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        return holder
    return None


def look(home: Path, picture_url: str | None = None) -> dict[str, Any]:
    """Read and write the history in ``home`` and show one picture twice (thumbnail, icon)."""
    from weshop_nb import WeShopClient, emulator
    from weshop_nb.service._errors import HistoryError
    from weshop_nb.service._models import Task
    from weshop_nb.work._history import History
    from weshop_nb.work._session import Session

    os.environ["WESHOP_NB_HOME"] = str(home)
    seen: dict[str, Any] = {}
    history = History(home / "history.sqlite3", timeout=0.2)
    try:
        seen["rows"] = len(history.task_ids(include_deleted=True))
    except HistoryError as exc:
        seen["read_error"] = {"reason": exc.reason, "message": str(exc)}
    try:
        history.record_task(Task(id="t2", agent_name="aimodel", agent_version="v1.0", init_params={}), "http://new")
    except HistoryError as exc:
        seen["write_error"] = {"reason": exc.reason, "message": str(exc)}
    history.close()
    # The history is off while pictures are shown: a locked one would hold each event for its timeout.
    os.environ["WESHOP_NB_HISTORY"] = "off"
    with emulator.serve(api_key="k") as emu, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = Session(WeShopClient(api_key="k", base_url=emu.base_url))
        url = session.client.agent_info().locations[0].image
        seen["thumbnail"] = len(session.thumbnail(url))
        seen["icon"] = len(session.icon(url))
        seen["thumbnail_again"] = len(session.thumbnail(url))
        seen["downloads"] = session.thumbnails.downloads  # one cache: the icon is made from the card-size copy
    del os.environ["WESHOP_NB_HISTORY"]
    seen["warnings"] = [str(w.message) for w in caught if "thumbnail" in str(w.message)]
    return seen


@functools.cache
def mounts_work() -> bool:
    """True when this process may make a private mount namespace and mount a tmpfs in it (root on Linux)."""
    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0" && touch "$0/x"', folder],
            capture_output=True,
            timeout=20,
        )
    return probe.returncode == 0


def in_mount_namespace(how: str, home: Path) -> dict[str, Any]:
    """:func:`look` at ``home`` from a child process that sees it mounted ``how`` (see MOUNTS)."""
    seed = home.parent / (home.name + ".seed")
    shutil.copytree(home, seed)
    line = f'{MOUNTS[how]} && exec "$P" -m tests._broken_home "$F"'
    env = {**os.environ, "F": str(home), "S": str(seed), "P": sys.executable, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", line], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(look(Path(sys.argv[1]))))
