"""Progress shown while something takes a while: a bar in a notebook, one line in a terminal.

In a terminal IPython, ``run --wait`` and ``run.save()`` rewrite one line in place
(a carriage return, no newline until the end), so the scrollback keeps one line per
wait. Nothing is drawn when the output is not a terminal (captured by pytest, piped to a
file): there a progress line would only be noise.
"""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..work._run import Run

__all__ = ["TerminalLine", "TerminalRunProgress", "TerminalCounter", "WidgetCounter"]


class TerminalLine:
    """One terminal line rewritten in place; :meth:`close` ends it with a newline."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._last: str | None = None

    def write(self, text: str) -> None:
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = text if len(text) <= width else text[: width - 1] + "…"
        if text == self._last:
            return
        padding = " " * max(0, len(self._last or "") - len(text))  # wipe what a longer line left
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._last = text

    def close(self) -> None:
        if self._last is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._last = None


class TerminalRunProgress:
    """``Run.wait()`` in a terminal: the run's counts on one line."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.line = TerminalLine()

    def update(self) -> None:
        from ..work._run import progress_text

        self.line.write(f"WeShop run: {progress_text(self.run)}")

    def close(self) -> None:
        self.line.close()


class TerminalCounter:
    """Steps done out of a total, on one line (``run.save()`` in a terminal)."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.line = TerminalLine()
        self.update(0, total)

    def update(self, done: int, total: int) -> None:
        self.line.write(f"{self.label}: {done}/{total}")

    def close(self) -> None:
        self.line.close()


class WidgetCounter:
    """Steps done out of a total as a progress bar in a notebook; its text form is fixed (for nbval)."""

    def __init__(self, label: str, total: int) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.label = label
        self.bar = widgets.IntProgress(min=0, max=max(1, total), layout={"width": "240px"})
        self.text = widgets.HTML()
        box = widgets.HBox([self.bar, self.text])
        bundle: dict[str, Any] = box._repr_mimebundle_()
        bundle["text/plain"] = f"{label}…"
        display(bundle, raw=True)
        self.update(0, total)

    def update(self, done: int, total: int) -> None:
        from html import escape

        self.bar.max = max(1, total)
        self.bar.value = done
        self.text.value = f"&nbsp;{escape(self.label)}: {done}/{total}"

    def close(self) -> None:
        self.bar.bar_style = "success"
