"""The choices of a launch: the agent, then exactly its fields, from the agent registry.

Choosing an agent shows its form (:mod:`._form`): the prompts box when it takes
``textDescription``, the catalogue's scenes and fashion models when it takes
``locationId`` / ``fashionModelId``, the batch size when it takes ``batchCount``, and a
widget for every other parameter, with pickers for its images beyond the main one.
Scenes and models come from ``agent_info`` (through the session), shown by name with a
thumbnail of what is selected, and filterable by category and tag. Several prompts,
scenes and models make a sweep, one execution per combination. What the choices mean is
one :class:`~weshop_nb.work._plan.LaunchPlan`, checked like the magic's. The thumbnails
of what is selected are one strip of HTML: a saved notebook holds the icons of the last
selection once, however often the selection changed.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ... import contract
from ...service._errors import WeShopError
from ...work._catalogue import filter_catalogue
from ...work._html import ICON_WIDTH, image_tag
from ...work._plan import LaunchPlan
from .._prompts import split_prompts
from ._form import AgentForm, tooltip
from ._shared import layout, make, show

if TYPE_CHECKING:
    from ...contract import AgentSpec, Problem
    from ...service._catalogue import AgentInfo, FashionModel, Location
    from ...service._images import ImageFile
    from ...work._session import Session

ALL = "(all)"
#: Parameters holding an id from the agent's catalogue, and the list it comes from.
CATALOGUE = {"locationId": "locations", "fashionModelId": "fashion_models", "backgroundId": "backgrounds"}
#: Parameters the panel shows itself (a sweep or a shared box), not in the agent's form.
OWN = ("textDescription", "locationId", "fashionModelId", "batchCount")


_LABELLED = {"description_width": "110px"}


def _dropdown(description: str, options: Any, value: Any = None) -> widgets.Dropdown:
    return make(widgets.Dropdown, description=description, options=options, value=value, style=_LABELLED)


class ChoicesPanel(widgets.VBox):
    """Every parameter of a launch, as the agent registry describes it.

    Parameters
    ----------
    session : Session
        Where agent info and thumbnails come from.
    start_dir : str, optional
        Where the file choosers of the agent's extra images start.
    """

    def __init__(self, session: Session, *, start_dir: str | None = None) -> None:
        self.session = session
        self.start_dir = start_dir
        self.info: AgentInfo | None = None
        self._callbacks: list[Callable[[ChoicesPanel], None]] = []
        self._forms: dict[str, AgentForm] = {}  # made when an agent is first chosen, kept with its values
        self._switching = False
        names = contract.agents()
        self.agent = _dropdown("Agent", names, names[0])
        self.version = _dropdown("Version", [self.spec.version], self.spec.version)
        self.about = make(widgets.HTML)
        self.category = _dropdown("Category", [ALL], ALL)
        self.tag = _dropdown("Tag", [ALL], ALL)
        box = {"width": "300px", "height": "150px"}
        self.locations = make(widgets.SelectMultiple, description="Locations", layout=box)
        self.fashion_models = make(widgets.SelectMultiple, description="Models", layout=box)
        self.previews = make(widgets.HTML)  # the chosen entries' thumbnails and names
        self._tiles: dict[tuple[str, Any], str] = {}  # (kind, id) -> its thumbnail and name, as HTML
        batch = contract.spec(names[0]).param("batchCount")  # type: ignore[union-attr]
        # Not bounded: a number out of range is refused by the registry's rule, which says so.
        self.batch = make(
            widgets.IntText,
            value=1,
            description=batch.label,  # type: ignore[union-attr]
            tooltip=f"{tooltip(batch)} ({batch.minimum} to {batch.maximum})",  # type: ignore[arg-type,union-attr]
            style={"description_width": "150px"},  # room for its words: "Results per execution"
        )
        self.prompts = make(
            widgets.Textarea,
            placeholder="A prompt. Several prompts: separate them with a line holding only ---",
            description="Prompts",
            layout={"width": "620px", "height": "110px"},
        )
        self.message = make(widgets.HTML)
        # The scene pickers (filters, locations, models, previews): hidden for an agent that takes neither.
        self.scenes = make(
            widgets.VBox,
            [
                make(widgets.HBox, [self.category, self.tag]),
                make(widgets.HBox, [self.locations, self.fashion_models]),
                self.previews,
            ],
        )
        # The chosen agent's form goes between these and the message (no box of its own).
        self._above_form = (make(widgets.HBox, [self.agent, self.version]), self.about, self.scenes, self.prompts)
        super().__init__([*self._above_form, self.batch, self.message], layout=layout())
        self.agent.observe(self._on_agent_value, names="value")
        self.version.observe(self._on_version_value, names="value")
        for control in (self.category, self.tag):
            control.observe(self._on_filter_value, names="value")
        for control in (self.locations, self.fashion_models):
            control.observe(self._on_selection_value, names="value")
        for control in (self.prompts, self.batch):
            control.observe(lambda change: self._changed(), names="value")
        self._show_agent()

    # -- events ---------------------------------------------------------------------------

    def on_change(self, callback: Callable[[ChoicesPanel], None], remove: bool = False) -> None:
        """Call ``callback(panel)`` whenever a choice that changes the launch changes."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def _changed(self) -> None:
        if self._switching:
            return  # the agent's form is being put in place; one change is told when it is
        for callback in list(self._callbacks):
            callback(self)

    def _on_agent_value(self, change: dict[str, Any]) -> None:
        self.version.options = [self.spec.version]
        self._show_agent()
        self._changed()

    def _on_version_value(self, change: dict[str, Any]) -> None:
        self._show_agent()

    def _on_filter_value(self, change: dict[str, Any]) -> None:
        self._fill_lists()

    def _on_selection_value(self, change: dict[str, Any]) -> None:
        self._show_previews()
        self._changed()

    # -- the agent's form -----------------------------------------------------------------

    @property
    def spec(self) -> AgentSpec:
        """The registry's description of the chosen agent."""
        return contract.spec(self.agent.value)  # type: ignore[return-value]

    @property
    def form(self) -> AgentForm:
        """The chosen agent's own fields (made the first time it is chosen)."""
        return self._forms[self.agent.value]

    def takes(self, name: str) -> bool:
        """True when the chosen agent takes the parameter ``name``."""
        return self.spec.param(name) is not None

    def _show_agent(self) -> None:
        self._switching = True
        try:
            self._put_form()
        finally:
            self._switching = False

    def _put_form(self) -> None:
        spec = self.spec
        self.about.value = f'<div style="color:#57606a;margin:2px 0 6px 114px">{escape(spec.summary)}</div>'
        self._load_info()
        show(self.scenes, self.takes("locationId") or self.takes("fashionModelId"))
        show(self.locations, self.takes("locationId"))
        show(self.fashion_models, self.takes("fashionModelId"))
        prompt = spec.param("textDescription")
        show(self.prompts, prompt is not None)
        if prompt is not None:
            self.prompts.description = "Prompts *" if prompt.required else "Prompts"
            self.prompts.tooltip = tooltip(prompt)
        show(self.batch, self.takes("batchCount"))
        if spec.name not in self._forms:
            catalogue = {
                name: [(entry.name, entry.id) for entry in getattr(self.info, kind, ())]
                for name, kind in CATALOGUE.items()
                if name not in OWN and self.takes(name) and getattr(self.info, kind, ())
            }
            form = AgentForm(spec, skip=OWN, catalogue=catalogue, start_dir=self.start_dir)
            form.on_change(lambda _: self._changed())
            self._forms[spec.name] = form
        self.children = (*self._above_form, self.batch, self.form, self.message)

    # -- catalogue ------------------------------------------------------------------------

    def _load_info(self) -> None:
        self.message.value = ""
        if not any(self.takes(name) for name in CATALOGUE):
            # Nothing to choose from the catalogue: no request, and the lists keep their
            # choices (hidden) for when an agent that takes them is chosen again.
            self.info = None
            self._show_previews()
            return
        try:
            self.info = self.session.agent_info(self.agent.value, self.version.value)
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
        chosen = [("location", e) for e in self.chosen_locations()] + [("model", e) for e in self.chosen_models()]
        tiles = "".join(self._tile(kind, entry) for kind, entry in chosen)
        self.previews.value = f'<div style="display:flex;flex-wrap:wrap;gap:6px">{tiles}</div>' if tiles else ""

    def _tile(self, kind: str, entry: Location | FashionModel) -> str:
        """An entry's thumbnail and name (the thumbnail fetched once per entry)."""
        tile = self._tiles.get((kind, entry.id))
        if tile is None:
            picture = image_tag(self.session.icon(entry.image), ICON_WIDTH, entry.name, margin=False)
            tile = self._tiles[(kind, entry.id)] = (
                f'<div style="width:76px;font-size:11px;line-height:1.2">{picture}<br>{escape(entry.name)}</div>'
            )
        return tile

    # -- what the choices mean -------------------------------------------------------------

    def chosen_locations(self) -> list[Location]:
        if not self.info or not self.takes("locationId"):
            return []
        return [loc for loc in self.info.locations if loc.id in self.locations.value]

    def chosen_models(self) -> list[FashionModel]:
        if not self.info or not self.takes("fashionModelId"):
            return []
        return [m for m in self.info.fashion_models if m.id in self.fashion_models.value]

    def prompt_list(self) -> list[str]:
        return split_prompts(self.prompts.value) if self.takes("textDescription") else []

    def plan(self, image: ImageFile | None = None) -> LaunchPlan:
        """The launch these choices describe, on ``image`` (the main input) when given.

        Its checks are the same as ``%%weshop run``'s: every rule of the registry, on
        every combination of the sweep. Without ``image`` the images are not checked.
        """
        values = dict(self.form.values())
        if self.takes("batchCount"):
            values["batchCount"] = self.batch.value
        extra = [(name, picture.data) for name, picture in self.form.images().items()]
        return LaunchPlan(
            agent=self.agent.value,
            version=self.version.value,
            prompts=self.prompt_list(),
            locations=self.chosen_locations(),
            fashion_models=self.chosen_models(),
            param_values=[(key, [value]) for key, value in values.items()],
            image=None if image is None else image.data,
            input_pairs=extra if image is not None else (),
            api=self.session.client.api,
        )

    def problems(self, image: ImageFile | None = None) -> list[Problem]:
        """Every rule the choices break (see :meth:`plan`), and extra images an upload rule refused."""
        refused = [contract.Problem(name, "upload", text) for name, text in self.form.refused_images()]
        problems = [*refused, *self.plan(image).problems()]
        self.form.mark({p.key for p in problems})
        return problems

    def count(self) -> int:
        """How many executions a launch would start."""
        return self.plan().count()

    def problem(self) -> str | None:
        """Why a launch is not possible yet (the rules broken, in words), or None."""
        problems = self.problems()
        return " ".join(p.message for p in problems) if problems else None

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
