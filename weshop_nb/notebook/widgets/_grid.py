"""The live grid of a run: one card per execution that fills with pictures, and a progress bar.

Updated from the run's watcher threads by setting traits only (no ``print``, ``display``
or output capture from a thread), so the notebook stays free. A card is the same HTML as
the run's static picture (:func:`~weshop_nb.work._html.item_card`), so what is seen live
is what is saved. Every widget here is state a notebook may save: cells share one layout
and one style, and :meth:`RunGrid.release` empties and closes them all once the run's
static picture stands in for the grid.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from ...work import _html as display

if TYPE_CHECKING:
    from ...work._runs import Run, RunItem


Select = Callable[["RunItem", int], None]


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1


def _tree(widget: Any) -> Iterator[Any]:
    """``widget``, its layout and style, and the same of every descendant."""
    yield widget
    for part in ("layout", "style"):
        if isinstance(getattr(widget, part, None), widgets.Widget):
            yield getattr(widget, part)
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


class ItemCell(widgets.HTML):
    """One execution's card: its pictures (or a placeholder), caption and status.

    Given ``on_select(item, index)``, :attr:`buttons` holds a button per picture that asks
    for it full size (or per video, that plays it), one per expected result (the
    execution's ``batchCount``), shown as results arrive. Every widget is made here, on
    the kernel's thread; :meth:`refresh` runs in watcher threads and only sets trait
    values. ``layout``, ``style`` and ``button`` (a button's layout and style) may be
    shared by the cells of a grid.
    """

    def __init__(
        self,
        item: RunItem,
        width: int,
        on_select: Select | None = None,
        *,
        layout: widgets.Layout | None = None,
        style: HTMLStyle | None = None,
        button: tuple[widgets.Layout, widgets.ButtonStyle] | None = None,
    ) -> None:
        self.item = item
        self.width = width
        self.on_select = on_select
        self.buttons: widgets.HBox | None = None
        self._all_buttons: list[widgets.Button] = []
        if on_select is not None:
            expected = max(1, _int(item.job.params.get("batchCount")), len(item.thumbnails))
            parts = button or (widgets.Layout(width="34px"), widgets.ButtonStyle())
            self._all_buttons = [self._button(n, *parts) for n in range(expected)]
            self.buttons = widgets.HBox(layout=layout) if layout else widgets.HBox()
        super().__init__(layout=layout or _cell_layout(width), style=style or HTMLStyle())
        self.refresh()

    @property
    def card(self) -> str:
        """The HTML the cell shows: the same card as in the run's static picture."""
        return self.value

    def refresh(self) -> None:
        # Runs after each change of the item is complete (Run.publish), so the last refresh
        # draws its final state even if an earlier one caught it halfway.
        self.value = display.item_card(self.item, self.width)
        self.tooltip = self.item.error or None  # the whole reason, where the caption shortens it
        if self.buttons is not None:
            # The buttons of the pictures that arrived (each made on the kernel's thread):
            # shown by the box's children, so every button shares one layout.
            shown = tuple(self._all_buttons[: len(self.item.thumbnails)])
            if self.buttons.children != shown:
                self.buttons.children = shown

    def _button(self, index: int, layout: widgets.Layout, style: widgets.ButtonStyle) -> widgets.Button:
        video = self.item.media == "video"
        button = widgets.Button(
            description=f"▶{index + 1}" if video else str(index + 1),
            tooltip=f"Play video {index + 1}" if video else f"Show picture {index + 1} full size",
            layout=layout,
            style=style,
        )
        button.on_click(lambda _: self.on_select(self.item, index))  # type: ignore[misc]
        return button


def _cell_layout(width: int) -> widgets.Layout:
    return widgets.Layout(border="1px solid #d0d7de", padding="6px", width=f"{width + 14}px")


class CardRow(widgets.HTML):
    """The cards of a row of executions, as one HTML widget (a grid without buttons).

    One widget per row rather than per execution: a notebook saver that keeps closed
    widgets (nbclient) keeps a quarter of them. :meth:`refresh` redraws the row when one of
    its items changes; it runs in watcher threads and only sets the value.
    """

    def __init__(self, items: list[RunItem], width: int, *, layout: widgets.Layout, style: HTMLStyle) -> None:
        self.items = items
        self.width = width
        self._drawing = threading.Lock()
        super().__init__(layout=layout, style=style)
        self.refresh()

    def refresh(self) -> None:
        box = f"border:1px solid #d0d7de;border-radius:6px;padding:6px;width:{self.width}px"
        # Items of one row may belong to tasks watched by different threads: one drawing at a
        # time, so a row drawn earlier is never sent after one drawn later.
        with self._drawing:
            cards = "".join(f'<div style="{box}">{display.item_card(item, self.width)}</div>' for item in self.items)
            self.value = f'<div style="display:flex;gap:6px;align-items:flex-start;margin-bottom:6px">{cards}</div>'


class RunGrid(widgets.VBox):
    """Progress bar, counts, and the cards of ``run``'s executions: in rows (:class:`CardRow`),
    or, given ``on_select``, one :class:`ItemCell` with its buttons per execution.

    ``width`` is the CSS width of a card (the run's own by default).
    """

    def __init__(
        self, run: Run, *, width: int | None = None, columns: int = 4, on_select: Select | None = None
    ) -> None:
        self.run = run
        width = width or run.width
        self._progress = RunProgress(run)
        # One layout and one style for every cell or row: the same box, saved once.
        plain, style = widgets.Layout(), HTMLStyle()
        body: widgets.Widget
        self._cells: dict[int, ItemCell | CardRow]
        if on_select is None:  # rows of cards
            items = run.items
            rows = [
                CardRow(items[n : n + columns], width, layout=plain, style=style) for n in range(0, len(items), columns)
            ]
            self._cells = {id(item): row for row in rows for item in row.items}
            body = widgets.VBox(rows, layout=plain)
        else:  # a card and its buttons per execution
            button = (widgets.Layout(width="34px"), widgets.ButtonStyle())
            cells = {
                id(item): ItemCell(item, width, on_select, layout=plain, style=style, button=button)
                for item in run.items
            }
            self._cells = dict(cells)
            boxed = _cell_layout(width)
            body = widgets.GridBox(
                children=[widgets.VBox([cell, cell.buttons], layout=boxed) for cell in cells.values()],
                layout=widgets.Layout(grid_template_columns=f"repeat({columns}, {width + 20}px)", grid_gap="6px"),
            )
        super().__init__(children=[self._progress, body])
        self.add_class("weshop-grid")  # a stable hook for styling and browser tests
        run.on_update(self._on_run_update)

    def _on_run_update(self, run: Run, item: RunItem) -> None:
        cell = self._cells.get(id(item))
        if cell is not None:
            cell.refresh()
        self._progress.update()

    def release(self) -> None:
        """Stop following the run, empty every card and close every widget of the grid.

        Called once the run's static picture has replaced the grid's display: the
        front-end then drops the grid's state, and a saved notebook keeps the pictures
        once, in the static output. A card is emptied before it is closed because some
        savers (nbclient) keep the last state of closed widgets.
        """
        self.run.on_update(self._on_run_update, remove=True)
        for cell in set(self._cells.values()):
            cell.value = ""
        buttons = [b for cell in set(self._cells.values()) for b in getattr(cell, "_all_buttons", ())]
        for widget in [*_tree(self), *buttons]:
            widget.close()


class RunProgress(widgets.HTML):
    """A progress bar and the counts of a run, as one HTML widget (an HTML ``<progress>``):
    one widget's state to save rather than a bar, a label and a box.

    Heads the live grid, and stands alone while ``Run.wait()`` blocks. Shown alone, its
    plain-text form is one fixed sentence (:meth:`text`), so a saved notebook (and nbval)
    reads the same whatever the timing; when the run ends, that sentence replaces the bar
    (see :mod:`weshop_nb.notebook._display`) and :meth:`release` closes it.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._drawing = threading.Lock()  # updated by every watcher of the run
        super().__init__()
        self.update()

    def text(self) -> str:
        """The fixed sentence that stands for the bar where widgets do not render, and after the run."""
        return f"Waited for {len(self.run.items)} execution(s)."

    def release(self) -> None:
        """Close the bar's widgets (once its display shows something else)."""
        for widget in list(_tree(self)):
            widget.close()

    def update(self) -> None:
        with self._drawing:
            self._draw()

    def _draw(self) -> None:
        finished = sum(item.done for item in self.run.items)
        color = "#1a7f37" if self.run.done else "#1f6feb"
        self.value = (
            f'<progress value="{finished}" max="{max(1, len(self.run.items))}" '
            f'style="width:240px;accent-color:{color};vertical-align:middle"></progress>'
            f"&nbsp;{display.escape(self.run.summary())}"
        )
