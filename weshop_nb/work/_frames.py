"""Records of executions as pandas DataFrames with real dtypes.

Shared by ``Run.to_frame()`` and the history store, so both give the same columns:
ids as strings, ``executed_at`` as datetime64, location and model ids as nullable
Int64, status as a category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from ..contract import FAILED, PENDING, RUNNING, SUCCESS
from ._records import COLUMN_KINDS, FRAME_COLUMNS

STATUS_DTYPE = pd.CategoricalDtype([PENDING, RUNNING, SUCCESS, FAILED])


def executions_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of execution records (mappings with every :data:`FRAME_COLUMNS` name), typed column by column."""
    rows = list(rows)
    return columns_frame({name: [row[name] for row in rows] for name in FRAME_COLUMNS})


def columns_frame(columns: MutableMapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A DataFrame of execution records given column by column (a sequence per :data:`FRAME_COLUMNS` name,
    or per some of them: the frame has those, in that order).

    The history reads 100k executions this way: no dict per row, and each column typed in
    one pass over an array (list columns hold one list per execution). ``columns`` is
    emptied as it goes, so each column as read is let go once it is typed.
    """
    typed = {name: _typed(columns.pop(name), COLUMN_KINDS.get(name)) for name in FRAME_COLUMNS if name in columns}
    return pd.DataFrame(typed, copy=False)


def _typed(values: Sequence[Any], kind: str | None) -> Any:
    if kind == "text":
        return pd.array(_objects(values), dtype="string")
    if kind == "integer":
        try:
            return pd.array(_objects(values), dtype="Int64")
        except (TypeError, ValueError, OverflowError):  # text or floats in the column: what is not a number is NA
            return pd.to_numeric(pd.Series(_objects(values)), errors="coerce").astype("Int64").array
    if kind == "status":
        return pd.Categorical(_objects(values), dtype=STATUS_DTYPE)
    if kind == "time":
        return pd.to_datetime(pd.Series(_objects(values)), errors="coerce").array
    return _objects(values)


def _objects(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a one-dimensional object array (a list of lists stays one list per element)."""
    return np.fromiter(values, dtype=object, count=len(values))


def images_frame(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per result picture of ``executions`` (a frame of execution records), then one per video's poster.

    ``image`` is the picture's URL and ``slot`` its place in its execution (from 0); for a
    video, ``image`` is its poster (the still the service sends with it) and ``video`` its
    URL (missing for a picture). The other columns are its execution's, so pictures
    filter and group like executions.
    """
    pictures = _exploded(executions[executions["n_images"] > 0], "images").rename(columns={"images": "image"})
    pictures = pictures.assign(video=None)
    posters = _video_rows(executions)
    frame = pd.concat([pictures, posters[pictures.columns]]) if len(posters) else pictures
    # Counted by the executions' own row labels where they are unique: grouping 400k rows by an
    # integer label takes a tenth of the time of grouping them by their execution's id (text).
    frame["slot"] = frame.groupby(level=0 if executions.index.is_unique else "execution_id").cumcount().astype("Int64")
    frame["image"] = frame["image"].astype("string")
    frame["video"] = frame["video"].astype("string")
    return frame.drop(columns=["n_images", "posters"]).reset_index(drop=True)


def _exploded(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame.explode(column)`` for a column of lists: the other columns taken by position.

    pandas' explode joins every other column back on the index, about half of the time
    of :func:`images_frame` at 400k pictures; a take does the same in a fraction of it.
    """
    cells = frame[column].tolist()
    # As explode: an empty list is one row with a missing value, anything else not a list one row as it is.
    counts = np.fromiter((len(c) or 1 if isinstance(c, list) else 1 for c in cells), dtype="intp", count=len(cells))
    values = list(chain.from_iterable((c or [np.nan]) if isinstance(c, list) else [c] for c in cells))
    exploded = frame.take(np.repeat(np.arange(len(cells)), counts))
    exploded[column] = np.fromiter(values, dtype=object, count=len(values))
    return exploded


def _video_rows(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per video of ``executions``: ``video`` its URL, ``image`` its poster (or missing)."""
    has_videos = np.fromiter((isinstance(v, list) and len(v) > 0 for v in executions["videos"]), dtype=bool)
    rows = executions[has_videos].drop(columns=["images"])
    # Posters go with videos in order; a list of another length (an older record) is not trusted.
    rows = rows.assign(
        pair=[
            list(zip(v, p if isinstance(p, list) and len(p) == len(v) else [""] * len(v), strict=True))
            for v, p in zip(rows["videos"], rows["posters"], strict=True)
        ]
    ).explode("pair")
    rows["video"] = [pair[0] for pair in rows["pair"]]
    rows["image"] = [pair[1] or None for pair in rows["pair"]]
    return rows.drop(columns=["pair"])


def results_frame(executions: pd.DataFrame) -> pd.DataFrame:
    """Every result file of ``executions``: the pictures of :func:`images_frame`, then one row per video.

    ``kind`` says which (``image`` or ``video``); a video's URL is in ``image`` too, so
    one column holds what to download (its poster is not a result file).
    """
    frame = images_frame(executions)
    pictures = frame[frame["video"].isna()].assign(kind="image")
    videos = frame[frame["video"].notna()]
    if videos.empty:
        return pictures.reset_index(drop=True)
    videos = videos.assign(image=videos["video"], kind="video")
    videos["slot"] = videos.groupby("execution_id").cumcount().astype("Int64")
    return pd.concat([pictures, videos], ignore_index=True)
