"""The pictures a launch is given: files, URLs, globs and folders, as one ordered list.

A set of garment pictures is named the way a person names files: ``shirt.png``, an image
URL, a glob (``shoot/*.jpg``) or a folder (every picture directly inside it, sorted by
name). Each becomes the picture as the user named it: the absolute local path, or the
URL, which is what the history keeps as ``input_image``. A name that matches nothing is
refused before anything is sent, saying where it was looked for and what comes close.
"""

from __future__ import annotations

import difflib
import glob
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..contract import is_url

__all__ = ["PICTURE_SUFFIXES", "PictureError", "expand_pictures", "missing_file_message"]

#: What a folder or a glob offers as pictures (the upload rules' formats).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_GLOB_CHARS = frozenset("*?[")


class PictureError(ValueError):
    """A picture named for a launch that is not there (no file, an empty folder, a glob matching nothing)."""


def missing_file_message(path: str, option: str) -> str:
    """Why ``path`` cannot be read: where it was looked for, and the names that come close."""
    given = Path(os.path.expanduser(path))
    working = Path.cwd()
    folder = given.parent if given.is_absolute() else working / given.parent
    where = "" if given.is_absolute() else f" in the kernel's working folder, {working}"
    if given.is_dir() or folder.joinpath(given.name).is_dir():  # where one file is wanted (a mask, an upload)
        return f"{option}: {path} is a folder, not a picture; give a file in it."
    if not folder.is_dir():
        return f"{option}: no file {path}{where}: the folder {given.parent} does not exist."
    names = sorted(entry.name for entry in folder.iterdir() if not entry.name.startswith("."))
    close = difflib.get_close_matches(given.name, names, n=3, cutoff=0.6)
    hint = f" Close matches: {', '.join(str(Path(path).parent / name) for name in close)}." if close else ""
    return f"{option}: no file {path}{where}.{hint}"


def _is_picture(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PICTURE_SUFFIXES and not path.name.startswith(".")


def _one(value: str, option: str) -> list[str]:
    if is_url(value):
        return [value]
    expanded = os.path.expanduser(value)
    if _GLOB_CHARS & set(value):
        found = sorted(p for p in map(Path, glob.glob(expanded)) if _is_picture(p))
        if not found:
            raise PictureError(
                f"{option}: no picture matches {value} (looked for {', '.join(PICTURE_SUFFIXES)} files"
                f" from {Path.cwd()})."
            )
        return [str(p.resolve()) for p in found]
    path = Path(expanded)
    if path.is_dir():
        found = sorted((p for p in path.iterdir() if _is_picture(p)), key=lambda p: p.name)
        if not found:
            raise PictureError(f"{option}: the folder {value} holds no picture ({', '.join(PICTURE_SUFFIXES)}).")
        return [str(p.resolve()) for p in found]
    if not path.is_file():
        raise PictureError(missing_file_message(value, option))
    return [str(path.resolve())]


def expand_pictures(values: Any, option: str = "--image", *, unique: bool = True) -> list[str]:
    """Every picture ``values`` name, in the order named, each once (``unique=False``: as often as
    named, for a launch that says what it collapsed).

    ``values`` is one name or several (a list, a tuple, a pandas Series): each a local
    file, an http(s) URL, a glob or a folder. Returns absolute paths and URLs. Every name
    is looked at before this returns: :class:`PictureError` names each one that matches
    nothing.
    """
    if values is None:
        return []
    if isinstance(values, (str, os.PathLike)):
        values = [values]
    elif not isinstance(values, Iterable):
        raise PictureError(f"{option}: give a path, a URL, a glob or a folder, or a list of them; got {values!r}.")
    found: list[str] = []
    problems: list[str] = []
    for value in values:
        try:
            found.extend(_one(os.fspath(value) if isinstance(value, os.PathLike) else str(value), option))
        except PictureError as exc:
            problems.append(str(exc))
    if problems:
        raise PictureError(" ".join(problems))
    return list(dict.fromkeys(found)) if unique else found
