"""Records of executions as pandas DataFrames with real dtypes.

Shared by ``Run.to_frame()`` and the history store, so both give the same columns:
ids as strings, ``executed_at`` as datetime64, location and model ids as nullable
Int64, status as a category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..service._models import FAILED, PENDING, RUNNING, SUCCESS
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
    """One row per result picture of ``executions`` (a frame of execution records).

    ``image`` is the picture's URL and ``slot`` its place in its execution (from 0); the
    other columns are its execution's, so pictures filter and group like executions.
    """
    frame = executions[executions["n_images"] > 0].explode("images").rename(columns={"images": "image"})
    frame["slot"] = frame.groupby("execution_id").cumcount().astype("Int64")
    frame["image"] = frame["image"].astype("string")
    return frame.drop(columns=["n_images"]).reset_index(drop=True)


def results_frame(executions: pd.DataFrame) -> pd.DataFrame:
    """Every result file of ``executions``: the rows of :func:`images_frame`, then one per video.

    ``kind`` says which (``image`` or ``video``); a video's URL is in ``image`` too, so
    one column holds what to download.
    """
    pictures = images_frame(executions).assign(kind="image")
    has_videos = executions["videos"].map(lambda v: isinstance(v, list) and len(v) > 0)
    if not has_videos.any():
        return pictures
    videos = executions[has_videos].drop(columns=["images"]).explode("videos").rename(columns={"videos": "image"})
    videos["slot"] = videos.groupby("execution_id").cumcount().astype("Int64")
    videos = videos.drop(columns=["n_images"]).assign(kind="video", videos=[[] for _ in range(len(videos))])
    videos["image"] = videos["image"].astype("string")
    return pd.concat([pictures, videos[pictures.columns]], ignore_index=True)
