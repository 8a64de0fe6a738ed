"""The studio: pick an agent and a picture, fill the agent's form, launch, watch the grid fill in.

Everything happens inside the panel: a broken upload rule, a broken rule of the agent
registry (named in the summary line, Launch disabled), a service refusal or a network
failure is shown in it in plain words, never as a traceback. The Launch button shows
what the launch would cost, estimated in a background thread through the session (the
service's figure on the runs API; unknown on v1, which has no estimate). The history tab
shows the record of every execution and the side-by-side comparison.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...service._errors import WeShopError
from ...work._html import picture_mime
from ...work._save import DEFAULT_FOLDER
from ._grid import RunGrid, StarBar
from ._pickers import ChoicesPanel
from ._shared import discard, make
from ._shared import layout as make_layout
from ._upload import SourcePicker

if TYPE_CHECKING:
    from ...contract import Problem
    from ...work._estimate import SweepEstimate
    from ...work._plan import LaunchPlan
    from ...work._run import Run, RunItem
    from ...work._session import Session

#: Seconds an estimate waits for the choices to settle (typing a prompt changes them per key).
ESTIMATE_PAUSE = 0.3
#: CSS width of a card in the studio's grid: four side by side fit the panel's width, and
#: a picture alone in its card is embedded 320 px wide (2x) rather than the magic's 384.
CARD_WIDTH = 160
#: Endings of video URLs that are animated pictures (the emulator's clips), shown as pictures.
ANIMATED = (".webp", ".gif", ".png")


def _error(message: str) -> str:
    return f'<div style="color:#cf222e;padding:4px 0">✗ {escape(message)}</div>'


class Studio(widgets.VBox):
    """The whole app: source picture, choices, Launch, live grid, history.

    Parameters
    ----------
    session : Session
        Where launches, pictures and agent info come from.
    start_dir : str, optional
        Where the file chooser starts (default: the kernel's working directory).
    """

    def __init__(self, session: Session, *, start_dir: str | None = None) -> None:
        self.session = session
        self.run: Run | None = None
        #: The enlarged picture's stars (None when no picture of the studio's run is enlarged).
        self.detail_stars: StarBar | None = None
        self.estimate: SweepEstimate | None = None
        self._estimates = 0  # a counter: only the newest choices' estimate is shown
        self._estimating: threading.Thread | None = None
        self.source = SourcePicker(start_dir, several=True)
        self.choices = ChoicesPanel(session, start_dir=start_dir)
        self.task_name = make(
            widgets.Text, description="Task name", placeholder="optional", style={"description_width": "110px"}
        )
        self.launch_button = make(
            widgets.Button,
            description="Launch",
            button_style="primary",
            icon="play",
            disabled=True,
            layout={"width": "auto"},
        )
        self.summary = make(widgets.HTML)
        self.cost = make(widgets.HTML)
        self.error = make(widgets.HTML)
        self.results = make(widgets.VBox)
        self.detail = make(widgets.VBox)
        self.history = HistoryView(session)
        create = make(
            widgets.VBox,
            [
                _heading("1 · Agent and its choices"),
                self.choices,
                _heading("2 · Source picture"),
                self.source,
                self.task_name,
                _heading("3 · Launch"),
                make(widgets.HBox, [self.launch_button, self.summary]),
                self.cost,
                self.error,
                self.results,
                self.detail,
            ],
        )
        tabs = make(widgets.Tab, children=[create, self.history], titles=("Create", "History"))
        tabs.observe(self._on_tabs_selected_index, names="selected_index")
        super().__init__([tabs], layout=make_layout())
        self.source.on_change(self._refresh)
        self.choices.on_change(self._refresh)
        self.launch_button.on_click(self._on_launch_button_click)
        self._refresh()

    def __repr__(self) -> str:
        # The plain-text form saved beside the widget: short, and the same on every run.
        return "<weshop_nb Studio: run `%weshop panel` in a live kernel to use it>"

    def problems(self) -> list[Problem]:
        """Why a launch is not possible now (the source picture first, then the agent's rules); empty when it is."""
        from ...contract import Problem

        main = self.choices.spec.main_input
        if self.source.image is None:
            what = f"Choose a valid source picture for {main.name} ({main.doc})."
            return [Problem(main.name, "required", what)]
        return self.choices.problems(self.source.image)

    def _refresh(self, *_: Any) -> None:
        main = self.choices.spec.main_input
        # Words first, the service's name after: "The source image (originalImage)".
        self.source.describe(f"{main.doc[:1].upper()}{main.doc[1:]} ({main.name})")
        problems = self.problems()
        pictures = max(1, len(self.source.images))  # a set: the same sweep on each picture
        count = self.choices.count() * pictures
        self.launch_button.disabled = bool(problems)
        self.launch_button.description = f"Launch {count} execution{'s' if count != 1 else ''}"
        self._estimates += 1  # whatever estimate is under way is for older choices now
        self.estimate = None
        self.cost.value = ""
        if problems:
            lines = "".join(
                f"<div>✗ <b>{escape(p.key)}</b> ({escape(p.rule.replace('_', ' '))}): {escape(p.message)}</div>"
                for p in problems
            )
            self.summary.value = f'<div style="color:#9a3412;padding-left:6px">{lines}</div>'
            return
        batch = self.choices.batch.value if self.choices.takes("batchCount") else 1
        noun = "video" if self.choices.spec.output == "video" else "picture"
        # What it costs is said once, by the estimate (the button and the line under it).
        on = f" on {pictures} pictures" if pictures > 1 else ""
        executions = f"{count} execution{'s' if count != 1 else ''}{on}"
        made = count * batch
        self.summary.value = f"&nbsp;{executions}, {made} {noun}{'s' if made != 1 else ''}."
        self._estimate_later(self.choices.plan(self.source.image), self._estimates)

    # -- the cost ------------------------------------------------------------------------

    def _estimate_later(self, plan: LaunchPlan, ticket: int) -> None:
        """Estimate ``plan`` in a thread; its result is shown only if the choices have not changed since."""
        self.launch_button.description += " · estimating…"
        self._estimating = threading.Thread(
            target=self._estimate, args=(plan, ticket), name="weshop-estimate", daemon=True
        )
        self._estimating.start()

    def _estimate(self, plan: LaunchPlan, ticket: int) -> None:
        # Runs in its own thread: it only sets trait values of widgets made on the kernel's thread.
        time.sleep(ESTIMATE_PAUSE)
        if ticket != self._estimates:
            return
        try:
            estimate = self.session.estimate(plan)
        except WeShopError as exc:
            estimate, words = None, f"Unknown because the estimate failed ({type(exc).__name__}: {exc})."
            short = "cost unknown"
        else:
            short, words = _cost_words(estimate, self.session.client.api, self.choices.extra_costs())
        if ticket != self._estimates:
            return
        self.estimate = estimate
        base = self.launch_button.description.split(" · ")[0]
        self.launch_button.description = f"{base} · {short}"
        self.cost.value = f'<div style="color:#57606a">{escape(words)}</div>'

    def wait_estimate(self, timeout: float = 10.0) -> SweepEstimate | None:
        """Wait for the estimate under way (tests, scripts); the estimate, or None when there is none."""
        if self._estimating is not None:
            self._estimating.join(timeout)
        return self.estimate

    # -- launching -----------------------------------------------------------------------

    def _on_launch_button_click(self, button: widgets.Button) -> None:
        self.launch()

    def launch(self) -> Run | None:
        """Launch what the panel shows, as the button does; returns the run, or None on error."""
        problems = self.problems()
        if problems:
            self.error.value = _error("Not ready: " + " ".join(p.message for p in problems))
            return None
        self.error.value = ""
        self.launch_button.disabled = True
        try:
            plan = self.choices.plan(self.source.image)
            name = self.task_name.value.strip() or None
            # Every picture chosen is launched as one set: one task each, the same sweep on each.
            pictures = dict(self.source.images) or {"source": self.source.image}
            plan = replace(plan, images=tuple(pictures))
            run = self.session.launch_set(
                plan, name=name, pictures=pictures, width=min(CARD_WIDTH, self.session.width), say=lambda _: None
            )
        except WeShopError as exc:
            self.error.value = _error(f"{type(exc).__name__}: {exc}")
            return None
        finally:
            self._refresh()
        self.run = run
        self._show_in_detail([])
        last = self.results.children
        self.results.children = [RunGrid(run, on_select=self.show_picture)]
        for grid in last:  # the last launch's grid, once replaced: its run goes on, its widgets are let go
            if isinstance(grid, RunGrid):
                grid.release()
        return run

    def show_picture(self, item: RunItem, index: int) -> None:
        """Enlarge picture ``index`` of ``item`` below the grid (or play it, for a video), as its button does."""
        execution = item.execution
        if execution is None or index >= len(execution.stills):
            return
        if index >= len(execution.images):  # the stills of videos come after the pictures
            self.show_video(item, index, execution.videos[index - len(execution.images)])
            return
        url = execution.images[index]
        try:
            picture = make(widgets.Image, value=self.session.picture(url), format="jpeg", layout={"max_width": "768px"})
        except WeShopError as exc:
            self._show_in_detail([make(widgets.HTML, _error(f"Could not fetch the picture: {exc}"))])
            return
        link = f'<a href="{escape(url)}" target="_blank" download title="{escape(url)}">Download the original</a>'
        self._show_detail(item, index, link, "Save picture", picture)

    def show_video(self, item: RunItem, index: int, url: str) -> None:
        """Play ``item``'s video at ``url`` (its still ``index``) below the grid: in the browser's player,
        or as the animated picture it is."""
        if url.split("?", 1)[0].lower().endswith(ANIMATED):
            # The emulator's clips are animated pictures, which a <video> cannot play: they
            # are fetched through the session and shown as a picture, which plays.
            try:
                clip = self.session.clip(url)
            except WeShopError as exc:
                self._show_in_detail([make(widgets.HTML, _error(f"Could not fetch the video: {exc}"))])
                return
            player: widgets.Widget = make(
                widgets.Image, value=clip, format=picture_mime(clip).split("/")[1], layout={"max_width": "768px"}
            )
        else:
            # A real video is streamed by the browser from its URL, never through the kernel.
            player = widgets.Video.from_url(url, autoplay=True, controls=True, layout=make_layout(max_width="768px"))
        link = f'<a href="{escape(url)}" target="_blank" title="{escape(url)}">Open the video</a>'
        self._show_detail(item, index, link, "Save video", player)

    def _show_detail(self, item: RunItem, index: int, link: str, save_label: str, view: widgets.Widget) -> None:
        """The enlarged view: a bar (close, a link to the original, save) above ``view``."""
        close = make(widgets.Button, description="Close", icon="times")
        close.on_click(lambda _: self._show_in_detail([]))
        save = make(widgets.Button, description=save_label, icon="download", tooltip=f"Save into {DEFAULT_FOLDER}/")
        self.saved = make(widgets.HTML)
        save.on_click(lambda _: self._save_picture(item, index))
        self.save_button = save
        bar = [close, make(widgets.HTML, link), save, self.saved]
        self.detail_stars = None
        run = self.run
        if run is not None and any(item is mine for mine in run.items):
            self.detail_stars = StarBar(item, lambda item, picture, stars: run.rate(item, stars, picture), only=index)
            bar.insert(3, self.detail_stars)
        self._show_in_detail([make(widgets.HBox, bar), view])

    def _show_in_detail(self, shown: list[widgets.Widget]) -> None:
        """Put ``shown`` in the enlarged view, discarding what it showed: a notebook saved
        later keeps no picture that was looked at and closed."""
        before = self.detail.children
        self.detail.children = shown
        discard(*before)

    def _save_picture(self, item: RunItem, index: int) -> None:
        """Keep the enlarged picture in the kernel's folder (``weshop-pictures/``), under its readable name."""
        from ...work._save import save_picture

        if self.run is None or item.execution is None:
            return
        try:
            path = save_picture(self.run, item.execution.id, index)
        except (WeShopError, OSError) as exc:
            self.saved.value = _error(f"Not saved: {exc}")
            return
        self.saved.value = f'<span style="color:#1a7f37">&nbsp;✓ saved as {escape(str(path))}</span>'

    def _on_tabs_selected_index(self, change: dict[str, Any]) -> None:
        if change["new"] == 1:
            self.history.refresh()


def _heading(text: str) -> widgets.HTML:
    return make(widgets.HTML, f"<h3 style='margin:4px 0'>{escape(text)}</h3>")


def _cost_words(estimate: SweepEstimate, api: str, notes: Sequence[str] = ()) -> tuple[str, str]:
    """The cost on the Launch button (said there once), and what the line below it adds: whose
    figure it is, whether the balance is enough, why it is unknown, the models' price notes."""
    if estimate.points is not None:
        words = "The service's estimate."
        if estimate.enough is False:
            words += " The balance is not enough for all of them."
        return f"{estimate.points} points", words
    extra = estimate.extra
    words = f"Unknown because the {api} API gives no estimate"
    words += " (WESHOP_API=runs asks the service)." if api == "v1" else "."
    if extra is not None:
        said = f"{'; '.join(notes)}; the" if notes else "The"
        words += f" {said} chosen fashion models' price notes add {extra} points in all."
    return "cost unknown", words


class HistoryView(widgets.VBox):
    """The record of executions, and pictures compared by one or two columns.

    Its controls are made the first time it is shown (:meth:`refresh`): a panel whose
    history tab is never opened saves none of them.
    """

    COLUMNS = ["prompt", "location_name", "fashion_model_name", "status", "n_images", "executed_at", "task_id"]
    BY = ["prompt", "location_name", "fashion_model_name", "mask_type", "pose", "task_name"]

    def __init__(self, session: Session) -> None:
        self.session = session
        super().__init__(layout=make_layout())

    def _build(self) -> None:
        self.rows = make(widgets.Dropdown, description="Rows", options=self.BY, value="prompt")
        self.columns = make(
            widgets.Dropdown, description="Columns", options=["(none)", *self.BY], value="location_name"
        )
        self.limit = make(widgets.BoundedIntText, value=24, min=1, max=1000, description="Latest")
        self.refresh_button = make(widgets.Button, description="Refresh", icon="refresh")
        self.table = make(widgets.HTML)
        self.comparison = make(widgets.HTML)
        self.refresh_button.on_click(lambda _: self.refresh())
        controls = make(widgets.HBox, [self.limit, self.rows, self.columns, self.refresh_button])
        self.children = [controls, self.table, self.comparison]

    def refresh(self) -> None:
        from ...work._history import require_history

        if not self.children:
            self._build()
        history = require_history()
        try:
            frame = history.executions(limit=self.limit.value)
            by = [self.rows.value] + ([] if self.columns.value == "(none)" else [self.columns.value])
            comparison = history.compare(by, fetch=self.session.client.fetch_image, limit=self.limit.value)
        except (WeShopError, ValueError) as exc:
            self.table.value = _error(str(exc))
            self.comparison.value = ""
            return
        # A deleted task's pictures are gone from the service: drawn from the copies kept, else said.
        comparison.mark_deleted(set(history.task_ids(include_deleted=True)) - set(history.task_ids()))
        shown = frame[self.COLUMNS].iloc[::-1]
        self.table.value = f"<b>{len(frame)} most recent execution(s)</b>" + shown.to_html(index=False, escape=True)
        self.comparison.value = comparison._repr_html_() if len(comparison.executions) else ""
