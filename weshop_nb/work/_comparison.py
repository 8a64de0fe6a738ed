"""Result pictures side by side, in a table whose rows and columns are parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..config import home_dir

if TYPE_CHECKING:
    import pandas as pd


class Comparison:
    """Result pictures in a table whose rows and columns are parameters (say prompt x location).

    ``table`` is the DataFrame behind it (cells are lists of image URLs); in a notebook it
    renders as static HTML with thumbnails.
    """

    def __init__(self, executions: pd.DataFrame, by: Sequence[str], *, fetch: Callable[[str], bytes] | None) -> None:
        self.executions = executions
        self.by = list(by)
        self._fetch = fetch
        frame = executions.assign(_all="all images")
        rows, columns = self.by[0], (self.by[1] if len(self.by) > 1 else "_all")
        frame[[rows, columns]] = frame[[rows, columns]].astype("object").fillna("(none)")
        self.table = frame.groupby([rows, columns], sort=True)["images"].sum().unstack(columns)
        self.table.columns.name = None if columns == "_all" else columns

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.table.shape)
        return f"<Comparison by {', '.join(self.by)}: {shape} cells from {len(self.executions)} executions>"

    def _repr_html_(self) -> str:
        from ..service._thumbnails import ThumbnailCache
        from . import _html as display

        cache = ThumbnailCache(self._fetch or _public_fetch(), max_side=192, directory=home_dir() / "thumbnails")
        return display.comparison_html(self.table, self.by, cache.get_or_empty)


def _public_fetch() -> Callable[[str], bytes]:
    from ..service._client import WeShopClient

    return WeShopClient().fetch_image  # result images are public: no key is sent with them
