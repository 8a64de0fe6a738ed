"""Local files named in a magic: found, or a message that helps find them.

Relative paths start at the kernel's working folder, which is not always the folder a
person thinks of (the notebook's, the server's). A missing file is named with that
folder and the names in it that come close, before any request is sent.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from IPython.core.error import UsageError

__all__ = ["local_file", "missing_file_message"]


def missing_file_message(path: str, option: str) -> str:
    """Why ``path`` cannot be read: where it was looked for, and the names that come close."""
    given = Path(os.path.expanduser(path))
    working = Path.cwd()
    folder = given.parent if given.is_absolute() else working / given.parent
    where = "" if given.is_absolute() else f" in the kernel's working folder, {working}"
    if given.is_dir() or folder.joinpath(given.name).is_dir():
        return f"{option}: {path} is a folder, not a picture; give a file in it."
    if not folder.is_dir():
        return f"{option}: no file {path}{where}: the folder {given.parent} does not exist."
    names = sorted(entry.name for entry in folder.iterdir() if not entry.name.startswith("."))
    close = difflib.get_close_matches(given.name, names, n=3, cutoff=0.6)
    hint = f" Close matches: {', '.join(str(Path(path).parent / name) for name in close)}." if close else ""
    return f"{option}: no file {path}{where}.{hint}"


def local_file(path: str, option: str) -> str:
    """``path`` with ``~`` expanded when it is a readable file; a ``UsageError`` saying why not otherwise."""
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        raise UsageError(missing_file_message(path, option))
    return expanded
