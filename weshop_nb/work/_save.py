"""Keeping the pictures: result images downloaded into a folder under names a person reads.

A picture's file name says what made it: the prompt, the scene, the fashion model, then
the first characters of its execution id and its place in that execution
(``golden-hour-on-the-beach_sunny-beach_eve_3f2a1c-1.png``). The name depends on the
picture alone, so saving again finds what is already there and skips it, and two
pictures never share a name. A file is written under a temporary name and renamed when
complete, so an interrupted save never leaves half a picture that looks whole.
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..service._errors import WeShopError
from . import _hooks

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

__all__ = ["DEFAULT_FOLDER", "save_pictures", "save_run", "save_picture", "picture_stem", "public_fetch"]

#: Where ``run.save()`` and the studio's Save button put pictures when no folder is given.
DEFAULT_FOLDER = "weshop-pictures"
#: The outcome of each picture in the frame :func:`save_pictures` returns.
OUTCOMES = ("downloaded", "existing", "failed")
_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".mov", ".webm")
_SIGNATURES = (
    (b"\x89PNG", ".png"),
    (b"\xff\xd8", ".jpg"),
    (b"RIFF", ".webp"),
    (b"GIF8", ".gif"),
    (b"\x1aE\xdf\xa3", ".webm"),
)
_ID_CHARS = 6  # enough to tell executions apart; the whole id when two would clash
_WORDS = 6  # words of the prompt kept in a name


Fetch = Callable[[str], bytes]
Progress = Callable[[int, int], None]


def slug(text: Any, words: int = _WORDS) -> str:
    """``text`` as lowercase ASCII words joined by ``-`` (accents dropped), at most ``words`` of them."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", plain.lower())[:words])


def picture_stem(row: dict[str, Any], id_chars: int = _ID_CHARS) -> str:
    """The file name of one picture, without extension: prompt, scene, model, execution, index."""
    parts = [slug(row.get("prompt") or "") or "no-prompt"]
    for key in ("location_name", "fashion_model_name"):
        name = slug(row.get(key) or "", words=4)
        if name:
            parts.append(name)
    execution = str(row.get("execution_id") or "x")[:id_chars]
    video = "v" if row.get("kind") == "video" else ""  # never the name of a picture of the same slot
    parts.append(f"{execution}-{video}{int(row.get('slot') or 0) + 1}")
    return "_".join(parts)


def _extension(url: str, data: bytes | None = None) -> str:
    for signature, extension in _SIGNATURES:
        if data is not None and data.startswith(signature):
            return extension
    if data is not None and data[4:8] == b"ftyp":  # the ISO media family: mp4, mov
        return ".mov" if data[8:10] == b"qt" else ".mp4"
    suffix = os.path.splitext(url.split("?", 1)[0])[1].lower()
    return suffix if suffix in _EXTENSIONS else ".img"


def _stems(rows: list[dict[str, Any]]) -> list[str]:
    """Each picture's stem; pictures whose short names clash get their whole execution id."""
    stems = [picture_stem(row) for row in rows]
    urls: dict[str, set[str]] = {}
    for stem, row in zip(stems, rows, strict=True):
        urls.setdefault(stem, set()).add(str(row["image"]))
    return [
        picture_stem(row, id_chars=10_000) if len(urls[stem]) > 1 else stem
        for stem, row in zip(stems, rows, strict=True)
    ]


def garment_folders(pictures: list[Any]) -> dict[str, str]:
    """A subfolder name per source picture (its file stem), when there is more than one picture.

    Two pictures with the same stem (``a/shirt.jpg``, ``b/shirt.jpg``) get ``shirt`` and ``shirt-2``.
    Empty when the pictures came from at most one source picture: then nothing is nested.
    """
    named = list(dict.fromkeys(str(p) for p in pictures if isinstance(p, str) and p))
    if len(named) < 2:
        return {}
    folders: dict[str, str] = {}
    taken: set[str] = set()
    for picture in named:
        base = slug(Path(picture.split("?", 1)[0]).stem, words=12) or "picture"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name)
        folders[picture] = name
    return folders


def _existing(folder: Path, stem: str) -> Path | None:
    for extension in (*_EXTENSIONS, ".img"):
        path = folder / f"{stem}{extension}"
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _download(fetch: Fetch, url: str, folder: Path, stem: str) -> Path:
    data = fetch(url)
    if not data:
        raise WeShopError(f"{url} came back empty.")
    path = folder / f"{stem}{_extension(url, data)}"
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)  # whole or absent: never half a picture under the final name
    return path


def save_pictures(
    pictures: pd.DataFrame,
    folder: str | os.PathLike[str],
    fetch: Fetch,
    *,
    progress: Progress | None = None,
    workers: int = 4,
    warn: bool = True,
) -> pd.DataFrame:
    """Download every picture of ``pictures`` (rows as ``History.images()`` gives them) into ``folder``.

    Parameters
    ----------
    pictures : DataFrame
        One row per picture, with ``image`` (its URL), ``slot``, ``execution_id``,
        ``prompt``, ``location_name`` and ``fashion_model_name``.
    folder : path
        Made if missing. A picture already there under its name is not downloaded again.
        When the pictures come from several source pictures (``input_image``: a garment
        set), each garment's results go in a subfolder named after its picture's file stem.
    fetch : callable
        ``fetch(url) -> bytes``.
    progress : callable, optional
        ``progress(done, total)``, called on the caller's thread after each picture.

    Returns
    -------
    DataFrame
        ``pictures`` with ``path`` (None when it failed), ``outcome`` (downloaded,
        existing or failed) and ``save_error`` first. A picture that cannot be
        downloaded does not stop the others; a warning counts them.
    """
    import pandas as pd

    target = Path(folder).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    rows = pictures.to_dict("records")
    stems = _stems(rows)
    garments = garment_folders([row.get("input_image") for row in rows])
    folders = [target / garments[row["input_image"]] if row.get("input_image") in garments else target for row in rows]
    for made in set(folders):
        made.mkdir(parents=True, exist_ok=True)
    paths: list[Path | None] = [None] * len(rows)
    outcomes = ["existing"] * len(rows)
    errors: list[str | None] = [None] * len(rows)
    pending = []
    for index, stem in enumerate(stems):
        paths[index] = _existing(folders[index], stem)
        if paths[index] is None:
            pending.append(index)
    total, done = len(rows), len(rows) - len(pending)
    if progress is not None:
        progress(done, total)
    if pending:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="weshop-save") as pool:
            futures = {pool.submit(_download, fetch, str(rows[i]["image"]), folders[i], stems[i]): i for i in pending}
            for future in as_completed(futures):
                index = futures[future]
                try:
                    paths[index], outcomes[index] = future.result(), "downloaded"
                except (WeShopError, OSError) as exc:
                    outcomes[index], errors[index] = "failed", str(exc)
                done += 1
                if progress is not None:
                    progress(done, total)
    failed = [e for e in errors if e]
    if failed and warn:
        warnings.warn(
            f"{len(failed)} of {total} picture(s) could not be saved (first: {failed[0]}); "
            "see the outcome and save_error columns, and save again to retry them.",
            stacklevel=3,
        )
    frame = pictures.reset_index(drop=True).copy()
    frame.insert(0, "save_error", pd.array(errors, dtype="string"))
    frame.insert(0, "outcome", pd.Categorical(outcomes, categories=OUTCOMES))
    frame.insert(0, "path", pd.array([str(p) if p else None for p in paths], dtype="string"))
    return frame


def with_progress(
    pictures: pd.DataFrame, folder: str | os.PathLike[str], fetch: Fetch, progress: bool | Progress | None
) -> pd.DataFrame:
    """:func:`save_pictures` with the progress the caller asked for.

    ``progress`` None or True: what the notebook layer draws (a bar in a notebook, one
    updating line in a terminal), if anything; False: none; a callable: that.
    """
    if callable(progress):
        return save_pictures(pictures, folder, fetch, progress=progress)
    counter = None
    if progress is not False:
        views = _hooks.views()
        videos = "kind" in pictures and bool((pictures["kind"] == "video").any())
        label = f"Saving {len(pictures)} {'file(s)' if videos else 'picture(s)'} to {folder}"
        counter = views.counter(label, len(pictures)) if views is not None else None
    try:
        return save_pictures(pictures, folder, fetch, progress=counter.update if counter is not None else None)
    finally:
        if counter is not None:
            counter.close()


def save_run(run: Run, folder: str | os.PathLike[str], progress: bool | Progress | None = None) -> pd.DataFrame:
    """Every picture and video ``run`` has so far, saved with :func:`save_pictures`."""
    from ._frames import results_frame

    return with_progress(results_frame(run.to_frame()), folder, run.client.fetch_image, progress)


def save_picture(run: Run, execution_id: str, slot: int, folder: str | os.PathLike[str] = DEFAULT_FOLDER) -> Path:
    """One picture of ``run`` (its execution's ``slot``-th, from 0) saved into ``folder``; returns its path.

    A video's slot (after its execution's pictures, as in ``Execution.stills``) saves the video.

    Raises
    ------
    WeShopError
        When the run has no such picture, or it cannot be downloaded.
    """
    from ._frames import images_frame

    pictures = images_frame(run.to_frame())
    chosen = pictures[(pictures["execution_id"] == execution_id) & (pictures["slot"] == slot)]
    if chosen.empty:
        raise WeShopError(f"Execution {execution_id} has no picture {slot + 1} (yet).")
    if chosen["video"].notna().all():
        # A video's row holds its poster: the video itself is kept, numbered among the
        # execution's videos as save_run names it.
        own = pictures[pictures["execution_id"] == execution_id]
        chosen = chosen.assign(image=chosen["video"], kind="video", slot=slot - int(own["video"].isna().sum()))
    saved = save_pictures(chosen, folder, run.client.fetch_image, warn=False)
    if saved["outcome"].iloc[0] == "failed":
        raise WeShopError(str(saved["save_error"].iloc[0]))
    return Path(str(saved["path"].iloc[0]))


def public_fetch() -> Fetch:
    """A fetch for result pictures without a session: they are public, no key is sent."""
    from ..service._client import WeShopClient

    return WeShopClient().fetch_image
