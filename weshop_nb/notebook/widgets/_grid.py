"""The live grid of a run: one card per execution that fills with pictures, and a progress bar.

Updated from the run's watcher threads by setting traits only (no ``print``, ``display``
or output capture from a thread), so the notebook stays free. A card is the same HTML as
the run's static picture (:func:`~weshop_nb.work._html.item_card`), so what is seen live
is what is saved. Every widget here is state a notebook may save: cells wear the panels'
shared layouts and styles (:mod:`._shared`), and :meth:`RunGrid.release` empties and
closes the grid's own widgets once the run's static picture stands in for it.

A run larger than :data:`~weshop_nb.work._html.LIVE_CARDS` stays light live: its bar and
counts, and that many cards (:class:`CardSlot`) showing the newest finished executions,
each new one taking the place of the oldest shown; never a widget per execution.

The stars under the cards (:class:`StarBar`) are made when a front-end first shows the
grid (:meth:`RunGrid.show_stars`). A notebook executed with no one looking (nbconvert,
nbclient, ``make refresh-notebooks``) can click none of them, and nbclient saves every
widget ever opened: a star bar per card, with the boxes and looks they took, was 51 KB of
the 66 KB of widget state a finished 100-picture run left there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...work import _html as display
from ._shared import discard, layout, make, style

if TYPE_CHECKING:
    from ...work._run import Run, RunItem


Select = Callable[["RunItem", int], None]
#: ``rate(item, picture, stars)``: stars 1 to 5, or None to clear.
Rate = Callable[["RunItem", int, "int | None"], None]

#: CSS width of one star button (a button is never narrower than its padding, 20 px).
STAR_WIDTH = 20
#: CSS width of a card's stars: five buttons and their margins, so each picture's five make one line.
STARS_LINE = 5 * (STAR_WIDTH + 4) + 4


class StarBar(widgets.ToggleButtons):
    """Five stars under each picture of one execution, as one widget: a click gives that many.

    One ``ToggleButtons`` whatever the number of pictures (its buttons wrap so that each
    picture's five stars make one line, the first picture's first); a filled star is ★. Clicking the
    number a picture has clears it; a click on another changes it. ``rate(item, picture,
    stars)`` is called (the run's :meth:`~weshop_nb.work._run.Run.rate`, which keeps it in
    the history); a refusal shows as ✗ with the reason in the tooltip. :meth:`refresh`
    runs in watcher threads too and only sets trait values. Bars under cards are made
    when the grid is first shown (:meth:`RunGrid.show_stars`).

    ``only`` limits the bar to one picture (the studio's enlarged view).
    """

    def __init__(self, item: RunItem, rate: Rate, *, only: int | None = None) -> None:
        self.item = item
        self.rate = rate
        self.only = only
        box = {"width": f"{STARS_LINE}px"} if only is None else {}
        looks = style(widgets.ToggleButtons, button_width=f"{STAR_WIDTH}px")
        super().__init__(options=(), value=None, style=looks, layout=layout(**box))
        self.add_class("weshop-stars")  # a stable hook for styling and browser tests
        self.observe(self._on_value, names="value")
        self.refresh()

    def pictures(self) -> list[int]:
        """The places of the pictures this bar rates."""
        count = len(self.item.execution.stills) if self.item.execution is not None else 0
        if self.only is not None:
            return [self.only] if self.only < count else []
        return list(range(count))

    def refresh(self) -> None:
        given = dict(self.item.stars)
        options, tips = [], []
        for picture in self.pictures():
            has = given.get(picture, 0)
            for stars in range(1, 6):
                options.append(("★" if stars <= has else "☆", (picture, stars)))
                again = " (click again to clear)" if stars == has else ""
                tips.append(f"Picture {picture + 1}: {stars} star{'s' if stars > 1 else ''}{again}")
        if list(self.options) != options:
            self.options = options
            self.tooltips = tips

    def click_star(self, picture: int, stars: int) -> None:
        """Click star ``stars`` of picture ``picture``, as a person would."""
        self.value = (picture, stars)

    def _on_value(self, change: dict[str, Any]) -> None:
        if change["new"] is None:
            return
        picture, stars = change["new"]
        self.value = None  # a row of buttons, not a switch: the same star can be clicked again
        wanted = None if self.item.stars.get(picture) == stars else stars
        try:
            self.rate(self.item, picture, wanted)
        except Exception as exc:  # a refusal (history off, unknown execution) is said, never raised
            self.description, self.tooltip = "✗", f"Not rated: {exc}"
            return
        self.description = ""
        self.refresh()


class ItemCell(widgets.HTML):
    """One execution's card: its pictures (or a placeholder), caption and status.

    Given ``on_select(item, index)``, :attr:`buttons` is a row of buttons (one
    ``ToggleButtons``: one widget, however many pictures), one per picture arrived, that
    asks for it full size (or per video, that plays it). Every widget is made here, on
    the kernel's thread; :meth:`refresh` runs in watcher threads and only sets trait
    values. It wears shared looks (:mod:`._shared`).
    """

    def __init__(self, item: RunItem, width: int, on_select: Select | None = None, on_rate: Rate | None = None) -> None:
        self.item = item
        self.width = width
        self.on_select = on_select
        self.on_rate = on_rate
        self.buttons: widgets.ToggleButtons | None = None
        #: The stars under the card's pictures, once :meth:`show_stars` has made them (given ``on_rate``).
        self.stars: StarBar | None = None
        if on_select is not None:
            # Two buttons per line, each as wide as the picture above it (two pictures per row).
            self.buttons = make(
                widgets.ToggleButtons,
                options=(),
                value=None,
                style={"button_width": f"{(width + 14) // 2 - 6}px"},
                layout={"width": f"{width + 14}px"},
            )
            self.buttons.observe(self._on_buttons_value, names="value")
        super().__init__(layout=_cell_layout(width), style=style(widgets.HTML))
        self.refresh()

    @property
    def card(self) -> str:
        """The HTML the cell shows: the same card as in the run's static picture."""
        return self.value

    def refresh(self) -> None:
        # Runs after each change of the item is complete (Run.publish), so the last refresh
        # draws its final state even if an earlier one caught it halfway.
        # Held to the card's width: the widget's own box sizes to its content, and a caption
        # (or an execution id, which has no place to break) would spill into the next card.
        card = display.item_card(self.item, self.width)
        # An execution id has no place to break: it wraps anywhere rather than being cut at the edge.
        self.value = f'<div style="width:{self.width}px;overflow:hidden;overflow-wrap:anywhere">{card}</div>'
        self.tooltip = self.item.error or None  # the whole reason, where the caption shortens it
        if self.buttons is not None:
            video = self.item.media == "video"
            # A button per picture of the recorded state: pictures still arriving cannot be asked for yet.
            stills = len(self.item.execution.stills) if self.item.execution is not None else 0
            count = min(len(self.item.thumbnails), stills)
            # Said as what they are (a number alone did not say it shows a picture), a video's with ▶.
            labels = [(f"▶{n + 1}" if video else f"Picture {n + 1}", n) for n in range(count)]
            if list(self.buttons.options) != labels:
                self.buttons.options = labels
                self.buttons.tooltips = [
                    f"Play video {n + 1}" if video else f"Show picture {n + 1} full size" for n in range(count)
                ]
        if self.stars is not None:
            self.stars.refresh()

    def show_stars(self) -> None:
        """Make the stars under the card's pictures (given ``on_rate``), once."""
        if self.stars is None and self.on_rate is not None:
            self.stars = StarBar(self.item, self.on_rate)
            self.stars.refresh()  # what a watcher changed while the bar was being made, before it could see it

    def select(self, index: int) -> None:
        """Ask for picture (or video) ``index`` full size, as a click on its button does."""
        if self.buttons is not None:
            self.buttons.value = index

    def _on_buttons_value(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if index is None or self.buttons is None:
            return
        self.buttons.value = None  # a button, not a switch: the same picture can be asked for again
        self.on_select(self.item, index)  # type: ignore[misc]


def _cell_layout(width: int) -> widgets.Layout:
    return layout(border="1px solid #d0d7de", padding="6px", width=f"{width + 14}px")


class CellRow(widgets.GridBox):
    """Cards side by side (:class:`ItemCell`), each one's buttons and stars (once made) under
    it: one widget per row, its cells' looks shared."""

    def __init__(self, cells: list[ItemCell], width: int) -> None:
        self.cells = cells
        grid = {"grid_template_columns": f"repeat({len(cells)}, {width + 20}px)", "grid_gap": "2px 6px"}
        super().__init__(children=self._parts(), layout=layout(**grid))

    def _parts(self) -> list[widgets.Widget]:
        buttons = [cell.buttons for cell in self.cells if cell.buttons is not None]
        return [*self.cells, *buttons, *(cell.stars for cell in self.cells if cell.stars is not None)]

    def show_stars(self) -> None:
        """Make each card's stars and put them under it."""
        for cell in self.cells:
            cell.show_stars()
        self.children = self._parts()


class CardRow(widgets.HTML):
    """The cards of a row of executions, as one HTML widget (a grid without buttons).

    One widget per row rather than per execution: a notebook saver that keeps closed
    widgets (nbclient) keeps a quarter of them. :meth:`refresh` redraws the row when one of
    its items changes; it runs in watcher threads and only sets the value.
    """

    def __init__(self, items: list[RunItem], width: int, on_rate: Rate | None = None) -> None:
        self.items = items
        self.width = width
        self.on_rate = on_rate
        self._drawing = threading.Lock()
        #: Once :meth:`show_stars` has made them (given ``on_rate``): a :class:`StarBar` under
        #: each card, side by side in one box (:attr:`under`, shown under the row).
        self.stars: list[StarBar] = []
        self.under: widgets.Widget | None = None
        super().__init__(layout=layout(), style=style(widgets.HTML))
        self.refresh()

    def show_stars(self) -> None:
        """Make a :class:`StarBar` under each card (given ``on_rate``), once, in :attr:`under`."""
        if self.under is not None or self.on_rate is None:
            return
        self.stars = [StarBar(item, self.on_rate) for item in self.items]
        for bar in self.stars:
            bar.refresh()  # what a watcher changed while the bars were being made, before it could see them
        columns = {"grid_template_columns": f"repeat({len(self.items)}, {self.width + 14}px)", "grid_gap": "0 6px"}
        self.under = make(widgets.GridBox, children=self.stars, layout=columns)

    def refresh(self) -> None:
        for bar in self.stars:
            bar.refresh()
        box = f"border:1px solid #d0d7de;border-radius:6px;padding:6px;width:{self.width}px;overflow-wrap:anywhere"
        # Items of one row may belong to tasks watched by different threads: one drawing at a
        # time, so a row drawn earlier is never sent after one drawn later.
        with self._drawing:
            cards = "".join(f'<div style="{box}">{display.item_card(item, self.width)}</div>' for item in self.items)
            self.value = f'<div style="display:flex;gap:6px;align-items:flex-start;margin-bottom:6px">{cards}</div>'


class CardSlot(widgets.HTML):
    """One card of a large run's live grid: whichever finished execution it was last given."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.item: RunItem | None = None
        super().__init__(layout=layout(), style=style(widgets.HTML))

    def show(self, item: RunItem | None) -> None:
        """Show ``item``'s card here (None: empty); runs in watcher threads and only sets the value."""
        self.item = item
        self.refresh()

    def refresh(self) -> None:
        if self.item is None:
            self.value = ""
            return
        box = f"border:1px solid #d0d7de;border-radius:6px;padding:6px;width:{self.width}px"
        self.value = f'<div style="{box}">{display.item_card(self.item, self.width)}</div>'


class NewestCards(widgets.GridBox):
    """At most ``count`` cards: the newest finished executions of a large run, each in a :class:`CardSlot`.

    A newly finished execution takes the slot of the one shown longest, so each change
    redraws one card, whatever the size of the run.
    """

    def __init__(self, run: Run, width: int, columns: int, count: int) -> None:
        self.slots = [CardSlot(width) for _ in range(count)]
        self._shown: dict[int, CardSlot] = {}  # id(item) -> its slot
        self._next = 0
        self._lock = threading.Lock()
        for slot, item in zip(self.slots, reversed(display.newest_finished(run.items, count)), strict=False):
            self._place(slot, item)
        grid = {"grid_template_columns": f"repeat({columns}, {width + 20}px)", "grid_gap": "6px"}
        super().__init__(children=self.slots, layout=layout(**grid))

    def _place(self, slot: CardSlot, item: RunItem) -> None:
        if slot.item is not None:
            self._shown.pop(id(slot.item), None)
        self._shown[id(item)] = slot
        slot.show(item)
        self._next = (self.slots.index(slot) + 1) % len(self.slots)

    def changed(self, item: RunItem) -> None:
        """``item`` changed: redraw its card if shown, or show it if it has just finished."""
        with self._lock:  # items of one run change in several threads
            slot = self._shown.get(id(item))
            if slot is not None:
                slot.refresh()
            elif item.done:
                self._place(self.slots[self._next], item)


class RunGrid(widgets.VBox):
    """Progress bar, counts, and the cards of ``run``'s executions: in rows (:class:`CardRow`),
    or, given ``on_select``, one :class:`ItemCell` with its buttons per execution. A run of
    more than :data:`~weshop_nb.work._html.LIVE_CARDS` shows that many cards, the newest
    finished (:class:`NewestCards`).

    ``width`` is the CSS width of a card (the run's own by default). The stars under the
    cards are made when a front-end first shows the grid (:meth:`show_stars`).

    Attributes
    ----------
    progress : RunProgress
        The bar and counts above the cards.
    """

    def __init__(
        self, run: Run, *, width: int | None = None, columns: int = 4, on_select: Select | None = None
    ) -> None:
        self.run = run
        width = width or run.width
        self.progress = RunProgress(run)
        self._cells: dict[int, ItemCell | CardRow]
        rate: Rate = lambda item, picture, stars: run.rate(item, stars, picture)  # noqa: E731
        self._newest: NewestCards | None = None
        self._rows: list[CardRow | CellRow] = []
        if on_select is None and len(run.items) > display.LIVE_CARDS:  # the newest finished only
            self._newest = NewestCards(run, width, columns, display.LIVE_CARDS)
            self._cells = {}
        elif on_select is None:  # rows of cards
            items = run.items
            self._rows = [CardRow(items[n : n + columns], width, rate) for n in range(0, len(items), columns)]
            self._cells = {id(item): row for row in self._rows for item in row.items}
        else:  # a card and its buttons per execution
            cells = [ItemCell(item, width, on_select, rate) for item in run.items]
            self._cells = {id(cell.item): cell for cell in cells}
            self._rows = [CellRow(cells[n : n + columns], width) for n in range(0, len(cells), columns)]
        # Showing the stars and letting the grid go happen in different threads (the kernel's,
        # a watcher's): never stars made for a grid already let go.
        self._stars_lock = threading.Lock()
        self._released = False
        # A view count of 0 asks the front-end to say when it shows the grid (ipywidgets'
        # _view_count): the stars are made then (_on_view_count).
        super().__init__(children=self._parts(), layout=layout(), _view_count=0)
        self.add_class("weshop-grid")  # a stable hook for styling and browser tests
        self.observe(self._on_view_count, names="_view_count")
        run.on_update(self._on_run_update)

    def _parts(self) -> list[widgets.Widget]:
        """What the grid shows, top to bottom: the bar, then the rows (under a row of cards, its stars once made).
        The rows are the grid's own children, not a box's: a box is one more widget for nbclient to keep."""
        if self._newest is not None:
            return [self.progress, self._newest]
        parts: list[widgets.Widget] = [self.progress]
        for row in self._rows:
            parts.append(row)
            if isinstance(row, CardRow) and row.under is not None:
                parts.append(row.under)
        return parts

    def show_stars(self) -> None:
        """Make the stars under every card, once: a front-end has shown the grid, so someone may click them.
        Runs on the kernel's thread (the front-end's message); a large run's newest cards have none."""
        with self._stars_lock:
            if self._released:
                return
            for row in self._rows:
                row.show_stars()
            self.children = self._parts()

    def _on_view_count(self, change: dict[str, Any]) -> None:
        if change["new"] and not change["old"]:
            self.show_stars()

    @property
    def cells(self) -> list[Any]:
        """What shows the executions, in the run's order: an :class:`ItemCell` each, a :class:`CardRow`
        per row, or (a large run) the :class:`CardSlot` of each card shown."""
        if self._newest is not None:
            return list(self._newest.slots)
        return list(dict.fromkeys(self._cells.values()))  # a row holds several items: once each

    def _on_run_update(self, run: Run, item: RunItem) -> None:
        if self._newest is not None:
            self._newest.changed(item)
        cell = self._cells.get(id(item))
        if cell is not None:
            cell.refresh()
        self.progress.update()

    def release(self) -> None:
        """Stop following the run, empty every card and close every widget of the grid.

        Called once the run's static picture has replaced the grid's display: the
        front-end then drops the grid's state, and a saved notebook keeps the pictures
        once, in the static output. A card is emptied before it is closed because some
        savers (nbclient) keep the last state of closed widgets.
        """
        self.run.on_update(self._on_run_update, remove=True)
        with self._stars_lock:
            self._released = True
        discard(self)


class RunProgress(widgets.HTML):
    """A progress bar and the counts of a run, as one HTML widget (an HTML ``<progress>``):
    one widget's state to save rather than a bar, a label and a box.

    Heads the live grid, and stands alone while ``Run.wait()`` blocks. Shown alone, its
    plain-text form is one fixed sentence (:meth:`text`), so a saved notebook (and nbval)
    reads the same whatever the timing; when the run ends, that sentence replaces the bar
    (see :mod:`weshop_nb.notebook._display`) and :meth:`release` closes it.
    """

    #: Seconds between redraws while the run goes on: a large run changes hundreds of
    #: times a second at its peak, and a person reads a bar a few times a second at most.
    REDRAW = 0.25

    def __init__(self, run: Run) -> None:
        self.run = run
        self._drawing = threading.Lock()  # updated by every watcher of the run
        self._drawn = 0.0
        self._later: threading.Timer | None = None  # the one redraw waiting for its moment
        super().__init__(layout=layout(), style=style(widgets.HTML))
        self.update()

    def text(self) -> str:
        """The fixed sentence that stands for the bar where widgets do not render, and after the run."""
        return f"Waited for {len(self.run.items)} execution(s)."

    def release(self) -> None:
        """Close the bar's widgets (once its display shows something else)."""
        with self._drawing:
            if self._later is not None:
                self._later.cancel()
                self._later = None
        discard(self)

    def update(self) -> None:
        with self._drawing:
            now = time.monotonic()
            if now - self._drawn < self.REDRAW and not self.run.done and not self.run.notice:
                # Drawn a moment ago: once more when the moment is over, so the last change shows.
                if self._later is None:
                    self._later = threading.Timer(self.REDRAW - (now - self._drawn), self._draw_later)
                    self._later.daemon = True
                    self._later.start()
                return
            self._drawn = now
            self._draw()

    def _draw_later(self) -> None:
        with self._drawing:
            self._later = None
            self._drawn = time.monotonic()
            self._draw()

    def _draw(self) -> None:
        from ...work._run import progress_text

        finished = sum(item.done for item in self.run.items)
        color = "#1a7f37" if self.run.done else "#1f6feb"
        self.value = (
            f'<progress value="{finished}" max="{max(1, len(self.run.items))}" '
            f'style="width:240px;accent-color:{color};vertical-align:middle"></progress>'
            f"&nbsp;{display.escape(progress_text(self.run))}"
        )
