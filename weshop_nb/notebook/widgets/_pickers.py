"""The choices of an execution: agent, scenes, fashion models, mask, mode, pose, batch, prompts.

Scenes and models come from ``agent_info`` (through the session), shown by name with a
thumbnail of what is selected, and filterable by category and tag. Several of each may be
selected: with several prompts they make a sweep, one execution per combination.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...contract import AGENTS, BATCH_RANGE, GENERATE_VERSIONS, GENERATED_CONTENT, MASK_TYPES, POSES
from ...service._errors import WeShopError
from ...work._catalogue import filter_catalogue
from ...work._plan import LaunchPlan
from .._prompts import split_prompts

if TYPE_CHECKING:
    from ...service._models import AgentInfo, FashionModel, Location
    from ...work._session import Session

ALL = "(all)"


def _dropdown(description: str, options: Any, value: Any = None) -> widgets.Dropdown:
    return widgets.Dropdown(description=description, options=options, value=value, style={"description_width": "110px"})


class ChoicesPanel(widgets.VBox):
    """Every parameter of a launch, with the allowed values of the contract."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.info: AgentInfo | None = None
        self._callbacks: list[Callable[[ChoicesPanel], None]] = []
        first = next(iter(AGENTS))
        self.agent = _dropdown("Agent", list(AGENTS), first)
        self.version = _dropdown("Version", list(AGENTS[first]), AGENTS[first][0])
        self.category = _dropdown("Category", [ALL], ALL)
        self.tag = _dropdown("Tag", [ALL], ALL)
        box = {"width": "300px", "height": "150px"}
        self.locations = widgets.SelectMultiple(description="Locations", layout=box)
        self.fashion_models = widgets.SelectMultiple(description="Models", layout=box)
        self.previews = widgets.HBox(layout={"flex_flow": "row wrap"})
        self.mask = _dropdown("Mask", list(MASK_TYPES[:-1]), MASK_TYPES[0])  # custom masks: use the magic
        self.mode = _dropdown("Mode", list(GENERATED_CONTENT), GENERATED_CONTENT[0])
        self.pose = _dropdown("Pose", list(POSES), POSES[0])
        self.generate_version = _dropdown("Quality", list(GENERATE_VERSIONS), GENERATE_VERSIONS[0])
        self.batch = widgets.BoundedIntText(
            value=1,
            min=BATCH_RANGE[0],
            max=BATCH_RANGE[1],
            description="Images each",
            style={"description_width": "110px"},
        )
        self.prompts = widgets.Textarea(
            placeholder="A prompt. Several prompts: separate them with a line holding only ---",
            description="Prompts",
            layout={"width": "620px", "height": "110px"},
        )
        self.negative = widgets.Text(description="Avoid", placeholder="what to avoid", layout={"width": "620px"})
        self.message = widgets.HTML()
        self._scene_box = widgets.VBox(
            [
                widgets.HBox([self.category, self.tag]),
                widgets.HBox([self.locations, self.fashion_models]),
                self.previews,
                widgets.HBox([self.mask, self.mode]),
                self.pose,
            ]
        )
        super().__init__(
            [
                widgets.HBox([self.agent, self.version]),
                self._scene_box,
                widgets.HBox([self.batch, self.generate_version]),
                self.prompts,
                self.negative,
                self.message,
            ]
        )
        self.agent.observe(self._on_agent_value, names="value")
        self.version.observe(self._on_version_value, names="value")
        for control in (self.category, self.tag):
            control.observe(self._on_filter_value, names="value")
        for control in (self.locations, self.fashion_models):
            control.observe(self._on_selection_value, names="value")
        for control in (self.prompts, self.batch):
            control.observe(lambda change: self._changed(), names="value")
        self._load_info()

    # -- events ---------------------------------------------------------------------------

    def on_change(self, callback: Callable[[ChoicesPanel], None], remove: bool = False) -> None:
        """Call ``callback(panel)`` whenever a choice that changes the launch changes."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def _changed(self) -> None:
        for callback in list(self._callbacks):
            callback(self)

    def _on_agent_value(self, change: dict[str, Any]) -> None:
        self.version.options = list(AGENTS[change["new"]])
        self._load_info()

    def _on_version_value(self, change: dict[str, Any]) -> None:
        self._load_info()

    def _on_filter_value(self, change: dict[str, Any]) -> None:
        self._fill_lists()

    def _on_selection_value(self, change: dict[str, Any]) -> None:
        self._show_previews()
        self._changed()

    # -- catalogue ------------------------------------------------------------------------

    def _load_info(self) -> None:
        is_aimodel = self.agent.value == "aimodel"
        self._scene_box.layout.display = "" if is_aimodel else "none"
        self.generate_version.layout.display = "none" if is_aimodel else ""
        try:
            self.info = self.session.agent_info(self.agent.value, self.version.value)
            self.message.value = ""
        except WeShopError as exc:
            self.info = None
            self.message.value = (
                f'<span style="color:#cf222e">Could not load scenes and models: {escape(str(exc))}</span>'
            )
        entries = list(self.info.locations + self.info.fashion_models) if self.info else []
        self.category.options = [ALL, *sorted({c for e in entries for c in e.categories})]
        self.tag.options = [ALL, *sorted({t.name for e in entries for t in e.tags})]
        self._fill_lists()

    def _fill_lists(self) -> None:
        category = None if self.category.value == ALL else self.category.value
        tag = None if self.tag.value == ALL else self.tag.value
        for control, entries in (
            (self.locations, self.info.locations if self.info else ()),
            (self.fashion_models, self.info.fashion_models if self.info else ()),
        ):
            kept = [v for v in control.value if v in {e.id for e in entries}]
            shown = filter_catalogue(entries, category, tag)
            ids = {e.id for e in shown}
            control.options = [(e.name, e.id) for e in shown] + [
                (e.name, e.id) for e in entries if e.id in kept and e.id not in ids
            ]
            control.value = tuple(kept)
        self._show_previews()

    def _show_previews(self) -> None:
        tiles = []
        for entry in self.chosen_locations() + self.chosen_models():
            caption = widgets.HTML(f'<div style="width:76px;font-size:11px;line-height:1.2">{escape(entry.name)}</div>')
            tiles.append(
                widgets.VBox([widgets.Image(value=self.session.icon(entry.image), format="jpeg", width=64), caption])
            )
        self.previews.children = tiles

    # -- what the choices mean -------------------------------------------------------------

    def chosen_locations(self) -> list[Location]:
        if not self.info or self.agent.value != "aimodel":
            return []
        return [loc for loc in self.info.locations if loc.id in self.locations.value]

    def chosen_models(self) -> list[FashionModel]:
        if not self.info or self.agent.value != "aimodel":
            return []
        return [m for m in self.info.fashion_models if m.id in self.fashion_models.value]

    def prompt_list(self) -> list[str]:
        return split_prompts(self.prompts.value)

    def plan(self) -> LaunchPlan:
        """The launch these choices describe; its checks are the same as ``%%weshop run``'s."""
        aimodel = self.agent.value == "aimodel"
        return LaunchPlan(
            agent=self.agent.value,
            version=self.version.value,
            prompts=self.prompt_list(),
            locations=self.chosen_locations(),
            fashion_models=self.chosen_models(),
            mask=self.mask.value if aimodel else None,
            mode=self.mode.value if aimodel else None,
            pose=self.pose.value if aimodel else None,
            generate_version=None if aimodel else self.generate_version.value,
            batch=self.batch.value,
            negative=(self.negative.value.strip() or None) if aimodel else None,
            api=getattr(self.session.client, "api", "v1"),
        )

    def count(self) -> int:
        """How many executions a launch would start."""
        return self.plan().count()

    def problem(self) -> str | None:
        """Why a launch is not possible yet, or None."""
        return self.plan().problem()

    def extra_costs(self) -> list[str]:
        """The chosen fashion models' extra-cost notes, as the profile gives them (those that name a cost)."""
        return [
            f"{m.name}: {m.price_description}"
            for m in self.chosen_models()
            if m.price_description and any(ch.isdigit() for ch in m.price_description)
        ]

    def params(self) -> dict[str, Any]:
        """Parameters shared by every execution (prompt, location and model are per job)."""
        return self.plan().params()
