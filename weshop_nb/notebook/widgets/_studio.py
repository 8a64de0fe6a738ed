"""The studio: pick a garment, choose scenes and models, launch, watch the grid fill in.

Everything happens inside the panel: a broken upload rule, a service refusal or a
network failure is shown in it in plain words, never as a traceback. The history tab
shows the record of every execution and the side-by-side comparison.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...service._errors import WeShopError
from ...work._save import DEFAULT_FOLDER
from ._grid import RunGrid
from ._pickers import ChoicesPanel
from ._upload import SourcePicker

if TYPE_CHECKING:
    from ...work._runs import Run, RunItem
    from ...work._session import Session


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
        self.source = SourcePicker(start_dir)
        self.choices = ChoicesPanel(session)
        self.task_name = widgets.Text(
            description="Task name", placeholder="optional", style={"description_width": "110px"}
        )
        self.launch_button = widgets.Button(
            description="Launch", button_style="primary", icon="play", disabled=True, layout={"width": "230px"}
        )
        self.summary = widgets.HTML()
        self.error = widgets.HTML()
        self.results = widgets.VBox()
        self.detail = widgets.VBox()
        self.history = HistoryView(session)
        create = widgets.VBox(
            [
                widgets.HTML("<h3 style='margin:4px 0'>1 · Garment photo</h3>"),
                self.source,
                widgets.HTML("<h3 style='margin:4px 0'>2 · Scenes, models and prompts</h3>"),
                self.choices,
                self.task_name,
                widgets.HTML("<h3 style='margin:4px 0'>3 · Launch</h3>"),
                widgets.HBox([self.launch_button, self.summary]),
                self.error,
                self.results,
                self.detail,
            ]
        )
        tabs = widgets.Tab(children=[create, self.history])
        tabs.set_title(0, "Create")
        tabs.set_title(1, "History")
        tabs.observe(self._on_tabs_selected_index, names="selected_index")
        super().__init__([tabs])
        self.source.on_change(self._refresh)
        self.choices.on_change(self._refresh)
        self.launch_button.on_click(self._on_launch_button_click)
        self._refresh()

    def __repr__(self) -> str:
        # The plain-text form saved beside the widget: short, and the same on every run.
        return "<weshop_nb Studio: run `%weshop panel` in a live kernel to use it>"

    def _refresh(self, *_: Any) -> None:
        problem = "Choose a valid garment photo." if self.source.image is None else self.choices.problem()
        count = self.choices.count()
        self.launch_button.disabled = problem is not None
        self.launch_button.description = f"Launch {count} execution{'s' if count != 1 else ''}"
        if problem:
            self.summary.value = f'<span style="color:#8a8a8a">&nbsp;{escape(problem)}</span>'
            return
        costs = self.choices.extra_costs()
        note = f" Extra cost per image: {'; '.join(costs)}." if costs else " No extra cost for the chosen models."
        images = count * self.choices.batch.value
        self.summary.value = f"&nbsp;{count} execution(s), {images} picture(s).{escape(note)}"

    def _on_launch_button_click(self, button: widgets.Button) -> None:
        self.launch()

    def launch(self) -> Run | None:
        """Launch what the panel shows, as the button does; returns the run, or None on error."""
        if self.launch_button.disabled or self.source.image is None:
            self.error.value = _error(
                self.summary.value and "Not ready: " + self.choices.problem()
                if self.choices.problem()
                else "Choose a valid garment photo."
            )
            return None
        self.error.value = ""
        self.launch_button.disabled = True
        try:
            plan = self.choices.plan()
            task = self.session.create_task(
                plan.agent, plan.version, self.source.image.data, self.task_name.value.strip() or None
            )
            run = self.session.launch(plan.jobs(task))
        except WeShopError as exc:
            self.error.value = _error(f"{type(exc).__name__}: {exc}")
            return None
        finally:
            self._refresh()
        self.run = run
        self.detail.children = []
        self.results.children = [RunGrid(run, width=self.session.thumbnails.max_side, on_select=self._show_picture)]
        return run

    def _show_picture(self, item: RunItem, index: int) -> None:
        url = item.execution.images[index] if item.execution is not None else None
        if not url:
            return
        try:
            picture = widgets.Image(value=self.session.picture(url), format="jpeg", layout={"max_width": "768px"})
        except WeShopError as exc:
            self.detail.children = [widgets.HTML(_error(f"Could not fetch the picture: {exc}"))]
            return
        link = widgets.HTML(
            f'<a href="{escape(url)}" target="_blank" download title="{escape(url)}">Download the original</a>'
        )
        close = widgets.Button(description="Close", icon="times")
        close.on_click(lambda _: setattr(self.detail, "children", []))
        save = widgets.Button(description="Save picture", icon="download", tooltip=f"Save into {DEFAULT_FOLDER}/")
        self.saved = widgets.HTML()
        save.on_click(lambda _: self._save_picture(item, index))
        self.save_button = save
        self.detail.children = [widgets.HBox([close, link, save, self.saved]), picture]

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


class HistoryView(widgets.VBox):
    """The record of executions, and pictures compared by one or two columns."""

    COLUMNS = ["prompt", "location_name", "fashion_model_name", "status", "n_images", "executed_at", "task_id"]

    def __init__(self, session: Session) -> None:
        self.session = session
        by = ["prompt", "location_name", "fashion_model_name", "mask_type", "pose", "task_name"]
        self.rows = widgets.Dropdown(description="Rows", options=by, value="prompt")
        self.columns = widgets.Dropdown(description="Columns", options=["(none)", *by], value="location_name")
        self.limit = widgets.BoundedIntText(value=24, min=1, max=1000, description="Latest")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.table = widgets.HTML()
        self.comparison = widgets.HTML()
        self.refresh_button.on_click(lambda _: self.refresh())
        controls = widgets.HBox([self.limit, self.rows, self.columns, self.refresh_button])
        super().__init__([controls, self.table, self.comparison])

    def refresh(self) -> None:
        from ...work._history import require_history

        history = require_history()
        try:
            frame = history.executions(limit=self.limit.value)
            by = [self.rows.value] + ([] if self.columns.value == "(none)" else [self.columns.value])
            comparison = history.compare(by, fetch=self.session.client.fetch_image, limit=self.limit.value)
        except (WeShopError, ValueError) as exc:
            self.table.value = _error(str(exc))
            self.comparison.value = ""
            return
        shown = frame[self.COLUMNS].iloc[::-1]
        self.table.value = f"<b>{len(frame)} most recent execution(s)</b>" + shown.to_html(index=False, escape=True)
        self.comparison.value = comparison._repr_html_() if len(comparison.executions) else ""
