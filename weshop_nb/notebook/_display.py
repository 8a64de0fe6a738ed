"""Showing things in a notebook: rich output, and the live views of runs.

:data:`VIEWS` is what the work layer's runs use to draw themselves (see
:mod:`weshop_nb.work._hooks`). In a kernel an unfinished run is shown as a live grid
beside its static HTML, under a display id; when the run ends (everything finished, or
watching stopped) that display is replaced by the run's final static picture and the
grid's widgets are released. So a saved notebook holds the finished pictures, whether or
not the kernel is still there when it is saved and whether or not widgets render where
it is opened. ``Run.wait()`` shows a progress bar, replaced by a fixed sentence when the
wait ends.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..work._run import Run

__all__ = ["in_notebook", "in_terminal", "show", "VIEWS", "replace_display", "static_bundle"]

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


def static_bundle(run: Run) -> dict[str, str]:
    """What a run leaves in a notebook: its summary as text and its pictures as HTML."""
    return {"text/plain": repr(run), "text/html": run._repr_html_()}


def replace_display(display_id: str, bundle: dict[str, Any]) -> None:
    """Replace every output shown under ``display_id`` (in any cell) by ``bundle``.

    Called from the thread that saw a run end, usually a watcher, often after the cell
    that showed the run has returned. That is safe, unlike ``print`` or ``display`` from
    a thread (DESIGN: background threads only set trait values): those add output to
    whichever cell runs at the moment, while an ``update_display_data`` message names the
    outputs it replaces by their display id. ipykernel tags it with the current cell as
    parent and sends it through its IOPub thread, which takes messages from any thread;
    JupyterLab (its kernel connection keeps every display id it saw) and nbclient (it
    keeps a map of display ids over the whole notebook) route it by display id, whichever
    cell is current. tests/test_saved_notebooks.py checks this with a real kernel.
    """
    from IPython.display import update_display

    update_display(bundle, raw=True, display_id=display_id)


class NotebookViews:
    """The live grid and the progress bar, offered to runs through the work layer's hooks."""

    def display(self, run: Run) -> None:
        from IPython.display import display

        if run.finished or not in_notebook():
            display(static_bundle(run), raw=True)
            return
        from .widgets._grid import RunGrid

        grid = RunGrid(run)
        live = grid._repr_mimebundle_()[_WIDGET_MIME]
        # The static HTML stays beside the widget for viewers that do not render widgets.
        handle = display({**static_bundle(run), _WIDGET_MIME: live}, raw=True, display_id=True)

        def finish(run: Run) -> None:
            replace_display(handle.display_id, static_bundle(run))
            grid.release()  # after the display stopped showing it: a closed widget shows an error

        run.on_finish(finish)  # called at once if the run ended meanwhile

    def wait_progress(self, run: Run) -> Any:
        if in_terminal():
            from ._progress import TerminalRunProgress

            return TerminalRunProgress(run)
        if not in_notebook():
            return None
        from IPython.display import display

        from .widgets._grid import RunProgress

        progress = RunProgress(run)
        bundle = {_WIDGET_MIME: progress._repr_mimebundle_()[_WIDGET_MIME], "text/plain": progress.text()}
        return _WaitBar(progress, display(bundle, raw=True, display_id=True).display_id)

    def counter(self, label: str, total: int) -> Any:
        if in_terminal():
            from ._progress import TerminalCounter

            return TerminalCounter(label, total)
        if not in_notebook():
            return None
        from ._progress import WidgetCounter

        return WidgetCounter(label, total)

    def judge_panel(self, judging: Any) -> Any:
        """The blind judge's panel where widgets render; None elsewhere (the judging stays text)."""
        if not in_notebook():
            return None
        from .widgets._judge import JudgePanel

        return JudgePanel(judging)


class _WaitBar:
    """``Run.wait()``'s bar where it was shown. When the wait ends (finished, timed out or
    interrupted: ``close()``), the bar's fixed sentence replaces it and its widget is closed.
    The same sentence: nbval, which ignores display updates, reads the saved notebook's text."""

    def __init__(self, progress: Any, display_id: str) -> None:
        self.progress = progress
        self.display_id = display_id

    def update(self) -> None:
        self.progress.update()

    def close(self) -> None:
        replace_display(self.display_id, {"text/plain": self.progress.text()})
        self.progress.release()


VIEWS = NotebookViews()
