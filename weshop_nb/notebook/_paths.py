"""Local files named in a magic: found, or a message that helps find them.

Relative paths start at the kernel's working folder, which is not always the folder a
person thinks of (the notebook's, the server's). A missing file is named with that
folder and the names in it that come close, before any request is sent.
"""

from __future__ import annotations

import os

from IPython.core.error import UsageError

from ..work._pictures import missing_file_message

__all__ = ["local_file"]


def local_file(path: str, option: str) -> str:
    """``path`` with ``~`` expanded when it is a readable file; a ``UsageError`` saying why not otherwise."""
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        raise UsageError(missing_file_message(path, option))
    return expanded
