"""Records of executions as pandas DataFrames with real dtypes.

Shared by ``Run.to_frame()`` and the history store, so both give the same columns:
ids as strings, ``executed_at`` as datetime64, location and model ids as nullable
Int64, status as a category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..contract import FAILED, PENDING, RUNNING, SUCCESS
from ._records import COLUMN_KINDS, FRAME_COLUMNS

STATUS_DTYPE = pd.CategoricalDtype([PENDING, RUNNING, SUCCESS, FAILED])


def executions_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of execution records, typed column by column."""
    names = list(FRAME_COLUMNS)
    frame = pd.DataFrame(list(rows), columns=names)
    for name in names:
        kind = COLUMN_KINDS.get(name)
        if kind == "text":
            frame[name] = frame[name].astype("string")
        elif kind == "integer":
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
        elif kind == "status":
            frame[name] = frame[name].astype(STATUS_DTYPE)
        elif kind == "time":
            frame[name] = pd.to_datetime(frame[name], errors="coerce")
    return frame


def images_frame(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per result picture of ``executions`` (a frame of execution records), then one per video's poster.

    ``image`` is the picture's URL and ``slot`` its place in its execution (from 0); for a
    video, ``image`` is its poster (the still the service sends with it) and ``video`` its
    URL (missing for a picture). The other columns are its execution's, so pictures
    filter and group like executions.
    """
    pictures = executions[executions["n_images"] > 0].explode("images").rename(columns={"images": "image"})
    pictures = pictures.assign(video=None)
    posters = _video_rows(executions)
    frame = pd.concat([pictures, posters[pictures.columns]]) if len(posters) else pictures
    frame["slot"] = frame.groupby("execution_id").cumcount().astype("Int64")
    frame["image"] = frame["image"].astype("string")
    frame["video"] = frame["video"].astype("string")
    return frame.drop(columns=["n_images", "posters"]).reset_index(drop=True)


def _video_rows(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per video of ``executions``: ``video`` its URL, ``image`` its poster (or missing)."""
    has_videos = executions["videos"].map(lambda v: isinstance(v, list) and len(v) > 0).astype(bool)
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
