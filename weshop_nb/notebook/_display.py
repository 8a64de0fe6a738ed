"""Showing things in a notebook: rich output, and the live views of runs.

:data:`VIEWS` is what the work layer's runs use to draw themselves live (see
:mod:`weshop_nb.work._hooks`): a grid beside the static HTML of an unfinished run, a
progress bar while ``Run.wait()`` blocks. One live grid per run, made on the kernel's
thread the first time the run is shown.
"""

from __future__ import annotations

import sys
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..work._runs import Run

__all__ = ["in_notebook", "in_terminal", "show", "VIEWS", "grid_of"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich output and widgets render)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def in_terminal() -> bool:
    """True in a terminal IPython writing to a terminal (not a kernel, not captured output)."""
    terminal = sys.modules.get("IPython.terminal.interactiveshell")  # loaded only by a terminal IPython
    if terminal is None or in_notebook():
        return False
    from IPython import get_ipython

    try:
        interactive = sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
    return isinstance(get_ipython(), terminal.TerminalInteractiveShell) and interactive


def show(html: str, text: str) -> None:
    """Display ``html`` with ``text`` as its plain-text form (for terminals and nbval)."""
    from IPython.display import display

    display({"text/html": html, "text/plain": text}, raw=True)


_grids: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def grid_of(run: Run) -> Any:
    """The live grid of ``run`` (an ipywidgets box), made on first use."""
    grid = _grids.get(run)
    if grid is None:
        from .widgets._grid import RunGrid

        grid = _grids[run] = RunGrid(run)
    return grid


class NotebookViews:
    """The live grid and the progress bar, offered to runs through the work layer's hooks."""

    def live_bundle(self, run: Run, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        if not in_notebook():
            return None
        live = grid_of(run)._repr_mimebundle_(include=include, exclude=exclude)
        return {_WIDGET_MIME: live[_WIDGET_MIME]}

    def wait_progress(self, run: Run) -> Any:
        if in_terminal():
            from ._progress import TerminalRunProgress

            return TerminalRunProgress(run)
        if not in_notebook():
            return None
        from .widgets._grid import RunProgress

        return RunProgress(run).show()

    def counter(self, label: str, total: int) -> Any:
        if in_terminal():
            from ._progress import TerminalCounter

            return TerminalCounter(label, total)
        if not in_notebook():
            return None
        from ._progress import WidgetCounter

        return WidgetCounter(label, total)


VIEWS = NotebookViews()
