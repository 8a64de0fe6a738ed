"""Result pictures side by side, in a table whose rows and columns are parameters."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import home_dir

if TYPE_CHECKING:
    import pandas as pd


class Comparison:
    """Result pictures in a table whose rows and columns are parameters (say prompt x location).

    ``table`` is the DataFrame behind it (cells are lists of image URLs: the pictures, and
    for a video its poster); ``videos`` maps each poster in it to its video. In a notebook
    it renders as static HTML with thumbnails, a video as its poster in a player.
    """

    def __init__(self, executions: pd.DataFrame, by: Sequence[str], *, fetch: Callable[[str], bytes] | None) -> None:
        self.executions = executions
        self.by = list(by)
        self._fetch = fetch
        self.videos: dict[str, str] = {}
        stills = [self._stills(row) for row in executions[["images", "videos", "posters"]].itertuples(index=False)]
        frame = executions.assign(_all="all images", _stills=stills)
        rows, columns = self.by[0], (self.by[1] if len(self.by) > 1 else "_all")
        frame[[rows, columns]] = frame[[rows, columns]].astype("object").fillna("(none)")
        self.table = frame.groupby([rows, columns], sort=True)["_stills"].sum().unstack(columns)
        self.table.columns.name = None if columns == "_all" else columns

    def _stills(self, row: tuple[Any, Any, Any]) -> list[str]:
        """An execution's pictures, then each video's poster (the video itself where it has none)."""
        images, videos, posters = (value if isinstance(value, list) else [] for value in row)
        posters = posters if len(posters) == len(videos) else [""] * len(videos)
        shown = []
        for video, poster in zip(videos, posters, strict=True):
            self.videos[poster or video] = video
            shown.append(poster or video)
        return [*images, *shown]

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.table.shape)
        return f"<Comparison by {', '.join(self.by)}: {shape} cells from {len(self.executions)} executions>"

    def to_frame(self) -> pd.DataFrame:
        """One row per picture: the compared columns first, then ``image`` and its execution's columns."""
        from ._frames import images_frame

        frame = images_frame(self.executions)
        return frame[[*self.by, *(c for c in frame.columns if c not in self.by)]]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the comparison as one self-contained HTML file (pictures embedded as thumbnails).

        The file needs nothing else to open: no kernel, no network, no other file.
        Returns the path written.
        """
        from html import escape

        target = Path(path).expanduser()
        if target.suffix.lower() not in (".html", ".htm"):
            target = target.with_name(target.name + ".html")
        title = f"WeShop comparison by {', '.join(self.by)}"
        page = (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>\n'
            f"<body><h2>{escape(title)}</h2>\n<p>{escape(repr(self))}</p>\n{self._repr_html_()}\n</body></html>\n"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        from ..service._thumbnails import ThumbnailCache
        from . import _html as display
        from ._save import public_fetch

        cache = ThumbnailCache(self._fetch or public_fetch(), directory=home_dir() / "thumbnails")
        return display.comparison_html(self.table, self.by, cache.get_or_empty, videos=self.videos)
