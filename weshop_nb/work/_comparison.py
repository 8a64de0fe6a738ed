"""Result pictures side by side, in a table whose rows and columns are parameters."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import home_dir

if TYPE_CHECKING:
    import pandas as pd


def _labels(values: pd.Series) -> pd.Series:
    """A compared column's values as row or column labels: missing ones read "(none)"."""
    return values.astype("object").fillna("(none)")


class Comparison:
    """Result pictures in a table whose rows and columns are parameters (say prompt x location).

    ``table`` is the DataFrame behind it (cells are lists of image URLs: the pictures, and
    for a video its poster); ``videos`` maps each poster in it to its video. In a notebook
    it renders as static HTML with thumbnails, a video as its poster in a player.

    ``stars`` maps each rated picture's URL to its mean stars and number of ratings (over
    every rater): a rated picture shows its stars under it, a row with ratings its mean
    under its header, and :meth:`sort_by_stars` puts the best rows first.

    ``executions`` may hold only the columns the table needs (compared ones, pictures,
    ``source``, ``execution_id``, ``task_id``, ratings); ``every_column()`` then reads every
    column of the same kind of executions for :meth:`to_frame`.
    """

    def __init__(
        self,
        executions: pd.DataFrame,
        by: Sequence[str],
        *,
        fetch: Callable[[str], bytes] | None,
        stars: Mapping[str, tuple[float, int]] | None = None,
        every_column: Callable[[], pd.DataFrame] | None = None,
    ) -> None:
        self.executions = executions
        self._every_column = every_column
        self.by = list(by)
        self._fetch = fetch
        self.videos: dict[str, str] = {}
        self.stars: dict[str, tuple[float, int]] = dict(stars or {})
        #: Pictures the service no longer has, and why ("task deleted"): drawn from a kept copy, else said.
        self.gone: dict[str, str] = {}
        self.table = self._cells(self.by[0], self.by[1] if len(self.by) > 1 else None)

    def mark_deleted(self, task_ids: Iterable[str]) -> None:
        """The pictures of these (deleted) tasks are gone: not asked of the service, drawn from what was kept."""
        deleted = {str(t) for t in task_ids}
        if not deleted:
            return
        frame = self.executions
        mine = frame[frame["task_id"].astype("object").isin(deleted)]
        for images, videos, posters in zip(mine["images"], mine["videos"], mine["posters"], strict=True):
            for url in [*(images if isinstance(images, list) else []), *(posters if isinstance(posters, list) else []),
                        *(videos if isinstance(videos, list) else [])]:  # fmt: skip
                if url:
                    self.gone[url] = "task deleted"

    def row_stars(self) -> dict[object, tuple[float, int]]:
        """``{row label: (mean stars, ratings)}`` over every rating of the row's executions (rated rows only)."""
        if "n_ratings" not in self.executions.columns:
            return {}
        rated = self.executions[self.executions["n_ratings"].fillna(0) > 0]
        if rated.empty:
            return {}
        labels = _labels(rated[self.by[0]])
        total = (rated["stars"].astype("float64") * rated["n_ratings"].astype("float64")).groupby(labels).sum()
        count = rated["n_ratings"].astype("int64").groupby(labels).sum()
        return {label: (float(total[label] / count[label]), int(count[label])) for label in count.index}

    def sort_by_stars(self) -> Comparison:
        """Order the rows by their mean stars, best first (rows no one rated last, in their order).

        A row's mean is over every rating of every picture in it, by every rater (its
        header shows it). Returns the comparison itself, so
        ``History().compare("prompt").sort_by_stars()`` shows the best prompt on top.
        """
        means = self.row_stars()
        order = sorted(
            range(len(self.table.index)),
            key=lambda n: (self.table.index[n] not in means, -means.get(self.table.index[n], (0.0, 0))[0], n),
        )
        self.table = self.table.iloc[order]
        return self

    def _cells(self, rows: str, columns: str | None) -> pd.DataFrame:
        """The table: each cell the pictures of the executions with its row's and its column's value, in order.

        Built by numbering the values (sorted, as a groupby would) and walking the executions
        once: adding lists up in a pandas groupby goes through Python one group at a time and
        copies each list again per execution (9 s at 100k executions, this 0.1 s).
        """
        import numpy as np
        import pandas as pd

        count = len(self.executions)
        row_codes, row_values = pd.factorize(_labels(self.executions[rows]), sort=True)
        if columns is None:
            column_codes, column_values = np.zeros(count, dtype="intp"), np.array(["all images"], dtype=object)
        else:
            column_codes, column_values = pd.factorize(_labels(self.executions[columns]), sort=True)
        cells = np.full((len(row_values), len(column_values)), np.nan, dtype=object)
        for row, column, stills in zip(row_codes.tolist(), column_codes.tolist(), self._stills(), strict=True):
            cell = cells[row, column]
            if isinstance(cell, list):
                cell.extend(stills)
            else:
                cells[row, column] = list(stills)
        return pd.DataFrame(
            cells,
            index=pd.Index(list(row_values), name=rows),  # typed as a groupby would
            columns=pd.Index(list(column_values), name=columns),
            copy=False,
        )

    def _stills(self) -> Iterable[list[str]]:
        """Each execution's pictures as shown and rated (:func:`~._judgement.stills_shown`); each video's
        poster shown is remembered in :attr:`videos`."""
        from ._judgement import stills_shown

        frame = self.executions
        rows = zip(frame["images"].tolist(), frame["videos"].tolist(), frame["posters"].tolist(), strict=True)
        for pictures, videos, posters in rows:
            shown = stills_shown(pictures, videos, posters)
            if isinstance(videos, list) and videos:
                self.videos.update(zip(shown[len(shown) - len(videos) :], videos, strict=True))
            yield shown

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.table.shape)
        return f"<Comparison by {', '.join(self.by)}: {shape} cells from {len(self.executions)} executions>"

    def to_frame(self) -> pd.DataFrame:
        """One row per picture: the compared columns first, then ``image`` and its execution's columns.

        ``stars`` and ``n_ratings`` are the picture's own (its mean over raters, missing
        when no one rated it; 0 ratings), not its execution's.
        """
        import pandas as pd

        from ._frames import images_frame

        frame = images_frame(self._records())
        found = [self.stars.get(url) if isinstance(url, str) else None for url in frame["image"].tolist()]
        frame["stars"] = pd.array([f[0] if f else None for f in found], dtype="Float64").astype("float64")
        frame["n_ratings"] = pd.array([f[1] if f else 0 for f in found], dtype="int64")
        return frame[[*self.by, *(c for c in frame.columns if c not in self.by)]]

    def _records(self) -> pd.DataFrame:
        """Every column of the compared executions, in their order (read now when the table has a few)."""
        if self._every_column is None:
            return self.executions
        every = self._every_column()
        key = ["source", "execution_id"]
        # The same executions as the table, even if the history gained some since it was made.
        return self.executions[key].merge(every, on=key, how="left")[list(every.columns)]

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

        fetch = self._fetch or public_fetch()

        def fetch_unless_gone(url: str) -> bytes:
            if url in self.gone:  # a kept copy is read before this is asked
                raise LookupError(f"{url}: {self.gone[url]}")
            return fetch(url)

        cache = ThumbnailCache(fetch_unless_gone, directory=home_dir() / "thumbnails")
        return display.comparison_html(
            self.table,
            self.by,
            cache.get_or_empty,
            videos=self.videos,
            stars=self.stars,
            row_stars=self.row_stars(),
            missing=self.gone,
        )
