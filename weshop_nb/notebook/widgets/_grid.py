"""The live grid of a run: a placeholder per execution that fills with thumbnails.

Updated from the run's watcher threads by setting traits only (no ``print``,
``display`` or output capture from a thread), so the notebook stays free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ...work import _html as display

if TYPE_CHECKING:
    from ...work._runs import Run, RunItem


Select = Callable[["RunItem", int], None]


class ItemCell(widgets.VBox):
    """One execution: its pictures (or a placeholder with the status), a caption, and a
    button per picture that asks for it full size (``on_select(item, index)``).

    Every widget is made here, on the kernel's thread: one image and one button per
    expected picture (the execution's ``batchCount``). :meth:`refresh` runs in watcher
    threads and only sets trait values.
    """

    def __init__(self, item: RunItem, width: int, on_select: Select | None = None) -> None:
        self.item = item
        self.width = width
        self.on_select = on_select
        expected = max(1, _int(item.job.params.get("batchCount")), len(item.thumbnails))
        self._placeholder = widgets.HTML()
        self._images = [widgets.Image(format="jpeg", layout={"display": "none"}) for _ in range(expected)]
        self._pictures = widgets.Box(
            [self._placeholder, *self._images], layout=widgets.Layout(flex_flow="row wrap", width=f"{width}px")
        )
        self._caption = widgets.HTML()
        buttons = [self._button(n) for n in range(expected)] if on_select is not None else []
        self._buttons = widgets.HBox(buttons)
        super().__init__(
            children=[self._pictures, self._buttons, self._caption],
            layout=widgets.Layout(border="1px solid #d0d7de", padding="6px", width=f"{width + 14}px"),
        )
        self.refresh()

    def refresh(self) -> None:
        thumbs = self.item.thumbnails[: len(self._images)]  # more than asked for: the static HTML has them all
        size = display.thumb_width(len(thumbs), self.width)
        for index, image in enumerate(self._images):
            if index < len(thumbs):
                image.value, image.width = thumbs[index], size
            image.layout.display = "" if index < len(thumbs) else "none"
        for index, button in enumerate(self._buttons.children):
            button.layout.display = "" if index < len(thumbs) else "none"
        self._placeholder.value = "" if thumbs else display.placeholder_html(self.item.status, self.width)
        self._placeholder.layout.display = "none" if thumbs else ""
        self._caption.value = display.item_caption(self.item)
        self.tooltip = self.item.error or None  # the whole reason, where the caption shortens it

    def _button(self, index: int) -> widgets.Button:
        button = widgets.Button(
            description=str(index + 1),
            tooltip=f"Show picture {index + 1} full size",
            layout={"width": "34px", "display": "none"},
        )
        button.on_click(lambda _: self.on_select(self.item, index))  # type: ignore[misc]
        return button


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1


class RunGrid(widgets.VBox):
    """Progress bar, counts, and one :class:`ItemCell` per execution of ``run``."""

    def __init__(self, run: Run, *, width: int = 192, columns: int = 4, on_select: Select | None = None) -> None:
        self.run = run
        self._progress = RunProgress(run)
        self._cells = {id(item): ItemCell(item, width, on_select) for item in run.items}
        grid = widgets.GridBox(
            children=list(self._cells.values()),
            layout=widgets.Layout(grid_template_columns=f"repeat({columns}, {width + 20}px)", grid_gap="6px"),
        )
        super().__init__(children=[self._progress, grid])
        self.add_class("weshop-grid")  # a stable hook for styling and browser tests
        run.on_update(self._on_run_update)

    def _on_run_update(self, run: Run, item: RunItem) -> None:
        cell = self._cells.get(id(item))
        if cell is not None:
            cell.refresh()
        self._progress.update()


class RunProgress(widgets.HBox):
    """A progress bar and the counts of a run.

    Heads the live grid, and stands alone while ``Run.wait()`` blocks (:meth:`show`).
    Shown alone, its plain-text form is a fixed sentence, so a saved notebook (and nbval)
    reads the same whatever the timing; the finished run's grid follows it.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._bar = widgets.IntProgress(min=0, max=max(1, len(run.items)), layout=widgets.Layout(width="240px"))
        self._label = widgets.HTML()
        super().__init__(children=[self._bar, self._label])
        self.update()

    def show(self) -> RunProgress:
        from IPython.display import display as show

        bundle = self._repr_mimebundle_()
        bundle["text/plain"] = f"Waiting for {len(self.run.items)} execution(s)…"
        show(bundle, raw=True)
        return self

    def update(self) -> None:
        self._bar.value = sum(item.done for item in self.run.items)
        self._bar.bar_style = "success" if self.run.done else ""
        self._label.value = f"&nbsp;{display.escape(self.run.summary())}"
