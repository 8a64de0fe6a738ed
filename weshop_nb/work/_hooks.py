"""How runs are drawn live, told to the work layer by the layer above it.

The work layer knows no IPython and no ipywidgets. The notebook layer provides
:class:`RunViews` (the live grid, the progress bar); ``weshop_nb/__init__`` registers a
loader for it, so the notebook code is imported only when a run is first drawn in a
kernel. Without views a run is plain text and static HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["RunViews", "set_views_loader", "views"]


class RunViews(Protocol):
    """What the notebook layer offers for drawing a run."""

    def display(self, run: Any) -> None:
        """Show ``run`` where IPython shows things: live until it ends, then its static picture."""

    def wait_progress(self, run: Any) -> Any:
        """Something shown while ``run.wait()`` blocks, with ``update()`` and ``close()``; or None."""

    def counter(self, label: str, total: int) -> Any:
        """A progress display of ``total`` steps with ``update(done, total)`` and ``close()``; or None."""


_loader: Callable[[], RunViews | None] | None = None


def set_views_loader(loader: Callable[[], RunViews | None] | None) -> None:
    """Register the function that gives the notebook layer's views (None: no live views)."""
    global _loader
    _loader = loader


def views() -> RunViews | None:
    """The registered views, or None (outside IPython, or when none are registered)."""
    try:
        return _loader() if _loader is not None else None
    except ImportError:  # ipywidgets missing: runs stay static
        return None
