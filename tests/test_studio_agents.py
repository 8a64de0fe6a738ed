"""The studio for every registered agent, driven with .value and .click() against the emulator.

The form must be exactly the registry's (a widget per parameter, a picker per extra
image), a broken rule must disable Launch and say which rule, and a valid form must
launch and fill the grid, on both APIs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import ipywidgets as widgets
import pytest
from PIL import Image

from weshop_nb import WeShopClient, contract, emulator
from weshop_nb.notebook.widgets import _studio
from weshop_nb.notebook.widgets._form import NOT_SET, AgentForm
from weshop_nb.notebook.widgets._pickers import OWN
from weshop_nb.notebook.widgets._studio import Studio
from weshop_nb.work._session import Session

from .conftest import API_KEY

Fill = Callable[[Studio], None]


def _set(**values: object) -> Fill:
    def fill(studio: Studio) -> None:
        for key, value in values.items():
            if key == "prompts":
                studio.choices.prompts.value = value
            elif key == "batch":
                studio.choices.batch.value = value
            else:
                studio.choices.form.fields[key].widget.value = value

    return fill


def _second_picture(**values: object) -> Fill:
    """``_set(**values)``, and a valid picture in the second place of the agent's ``images``."""
    fill = _set(**values)

    def with_picture(studio: Studio) -> None:
        fill(studio)
        buffer = io.BytesIO()
        Image.new("RGB", (700, 900), "navy").save(buffer, format="PNG")
        studio.choices.form.pickers["images[1]"].choose_bytes(buffer.getvalue(), "second.png")

    return with_picture


def _drop_second_picture(studio: Studio) -> None:
    # A picture an upload rule refuses is left out: the list is one short.
    studio.choices.form.pickers["images[1]"].choose_bytes(b"not a picture", "broken.png")


#: Per agent: what makes its form valid. A new agent fails the coverage test until it is here.
VALID: dict[str, Fill] = {
    "aimodel": _set(prompts="summer look"),
    "virtualtryon": _set(),  # its two required choices start on their first allowed value
    "aiproduct": _set(prompts="on marble"),
    "aipose": _set(prompts="arms crossed"),
    "expandimage": _set(targetWidth="1024", targetHeight="1200"),
    "removeBG": _set(backgroundHex="#ffffff"),
    "kling": _set(prompts="she turns slowly"),
    "ai-ghost-mannequin-generator": _set(),
    "flat-lay": _set(prompts="folded, sleeves out"),
    "ai-clothes-changer": _second_picture(),
    "outfit-generator": _set(prompts="smart casual"),
    "ai-photoshoot": _second_picture(modelName="nano", aspectRatio="21:9", imageSize="2K"),
}

#: Per agent, on top of its valid form: one broken rule, the key and rule named, and the message.
BROKEN: dict[str, tuple[Fill, str, str, str]] = {
    "aimodel": (_set(maskType="custom"), "customMaskUrl", "required_when", "maskType=custom needs customMaskUrl"),
    "virtualtryon": (
        _set(descriptionType="custom"),
        "textDescription",
        "required_when",
        "descriptionType=custom needs textDescription",
    ),
    "aiproduct": (_set(prompts=""), "textDescription", "at_least_one", "at least one of textDescription or locationId"),
    "aipose": (
        _set(batch=17),
        "batchCount",
        "range",
        "batchCount 17 is out of range (1 to 16): over the maximum 16 by 1.",
    ),
    "expandimage": (_set(targetWidth="12a"), "targetWidth", "type", "targetWidth must be an integer, got str '12a'"),
    "removeBG": (_set(backgroundId=1), "backgroundId", "at_most_one", "not both (backgroundHex, backgroundId)"),
    "kling": (
        _set(modelName="Kling_2_1", duration="7s"),
        "duration",
        "allowed_when",
        "duration '7s' is not allowed with modelName Kling_2_1; use one of: 5s, 10s",
    ),
    "ai-ghost-mannequin-generator": (_set(batch=0), "batchCount", "range", "batchCount 0 is out of range"),
    "flat-lay": (_set(prompts=""), "textDescription", "required", "textDescription is required for flat-lay"),
    "ai-clothes-changer": (
        _drop_second_picture,
        "images",
        "count",
        "ai-clothes-changer takes exactly 2 images in images (the person first, then the garment), got 1.",
    ),
    "outfit-generator": (_set(batch=17), "batchCount", "range", "batchCount 17 is out of range"),
    "ai-photoshoot": (
        _set(modelName="qwen"),
        "aspectRatio",
        "allowed_when",
        "aspectRatio '21:9' is not allowed with modelName qwen",
    ),
}


@pytest.fixture(scope="module")
def quick_emu() -> Iterator[emulator.EmulatorServer]:
    with emulator.serve(api_key=API_KEY, latency=0.05, seed=11) as server:
        yield server


@pytest.fixture
def studio(request, quick_emu, tmp_path, make_image, monkeypatch) -> Iterator[Studio]:
    """A studio with a valid garment photo, on the v1 API (or the one ``indirect`` parametrization names)."""
    monkeypatch.setattr(_studio, "ESTIMATE_PAUSE", 0.0)  # no one types here: estimate at once
    api = getattr(request, "param", "v1")
    session = Session(WeShopClient(api_key=API_KEY, base_url=quick_emu.base_url, api=api), poll_interval=0.05)
    panel = Studio(session, start_dir=str(tmp_path))
    panel.source.choose_bytes(make_image(), "garment.png")
    yield panel
    session.close()


def test_every_registered_agent_is_offered_and_covered_here() -> None:
    assert set(VALID) == set(BROKEN) == set(contract.agents())


@pytest.mark.parametrize("agent", contract.agents())
def test_the_form_is_exactly_the_registry(studio, agent) -> None:
    studio.choices.agent.value = agent
    spec, form = contract.spec(agent), studio.choices.form
    assert list(studio.choices.agent.options) == contract.agents()
    shown = set(form.fields) | {name for name in OWN if spec.param(name) is not None}
    assert shown == set(spec.param_names)
    places = [key for key, _, _ in AgentForm.further_places(spec)]
    assert set(form.pickers) == {i.name for i in AgentForm.extra_inputs(spec)} | set(places)
    # copies are never asked for; a list of several pictures has a picker per place after the first
    assert all(spec.input(name.split("[")[0]).copy_of is None for name in form.pickers)
    assert len(places) == max(len(spec.main_input.places) - 1, 0)
    for name, field in form.fields.items():
        param, widget = spec.param(name), field.widget
        if param.kind == "enum":
            values = [value for _, value in widget.options]
            assert values == ([""] if not param.required and param.default is None else []) + list(param.choices)
            assert field.value() == (param.default or (param.choices[0] if param.required else None))
        elif param.kind == "bool":
            assert isinstance(widget, widgets.Checkbox) and field.value() is None  # unchecked: left out
        elif param.kind == "int" and name != "backgroundId":
            assert isinstance(widget, (widgets.IntText, widgets.Combobox))
    takes_catalogue = spec.param("locationId") is not None or spec.param("fashionModelId") is not None
    assert (studio.choices.scenes.layout.display != "none") == takes_catalogue
    assert (studio.choices.fashion_models.layout.display != "none") == (spec.param("fashionModelId") is not None)
    assert (studio.choices.prompts.layout.display != "none") == (spec.param("textDescription") is not None)


def test_catalogue_ids_and_rules_shape_the_fields(studio) -> None:
    studio.choices.agent.value = "removeBG"
    background = studio.choices.form.fields["backgroundId"].widget
    assert background.options[0] == (NOT_SET, "") and ("Pure White", 1) in background.options
    assert background.label == NOT_SET and "backgroundId" not in studio.choices.params()
    studio.choices.agent.value = "kling"
    duration = studio.choices.form.fields["duration"].widget
    assert duration.value == "5s" and duration.options == tuple(f"{s}s" for s in range(3, 16))
    studio.choices.form.fields["modelName"].widget.value = "Kling_2_1"
    assert duration.options == ("5s", "10s")  # the values the rule allows follow the model


@pytest.mark.parametrize("agent", contract.agents())
def test_a_broken_rule_disables_launch_and_says_which(studio, agent) -> None:
    studio.choices.agent.value = agent
    VALID[agent](studio)
    assert studio.problems() == [] and not studio.launch_button.disabled
    breaks, key, rule, words = BROKEN[agent]
    breaks(studio)
    assert studio.launch_button.disabled
    assert (key, rule) in [(p.key, p.rule) for p in studio.problems()]
    assert words in studio.summary.value.replace("&#x27;", "'")
    assert f"<b>{key}</b> ({rule.replace('_', ' ')})" in studio.summary.value
    field = studio.choices.form.fields.get(key)
    if field is not None:
        assert field.widget.layout.border  # the field at fault is outlined
    assert studio.launch() is None and "Not ready" in studio.error.value


@pytest.mark.parametrize("studio", ["v1", "runs"], indirect=True)
@pytest.mark.parametrize("agent", contract.agents())
def test_a_valid_form_launches_and_the_grid_fills(studio, agent) -> None:
    studio.choices.agent.value = agent
    VALID[agent](studio)
    estimate = studio.wait_estimate()
    if studio.session.client.api == "runs":
        assert estimate.points is not None and f"· {estimate.points} points" in studio.launch_button.description
    else:
        assert studio.launch_button.description.endswith("· cost unknown")
        assert "the v1 API gives no estimate" in studio.cost.value
    run = studio.launch()
    assert run is not None, studio.error.value
    run.wait(timeout=30, progress=False)
    [item] = run.items
    assert item.status == "success" and item.job.task.agent_name == agent
    expected = contract.spec(agent).output
    assert item.execution.media == expected
    grid = studio.results.children[0]
    [cell] = grid.cells
    if expected == "image":
        shown = re.findall(r'<img src="data:image/(?:webp|jpeg);base64,[^"]+"', cell.card)  # the card's pictures
        assert shown and len(shown) == len(item.execution.images)
    else:  # a player per video, its poster embedded, the video itself by its URL
        players = re.findall(r'<video controls [^>]*poster="data:image/[a-z]+;base64,[^"]+" src="([^"]+)"', cell.card)
        assert players and players == item.execution.videos


@pytest.mark.parametrize("studio", ["v1", "runs"], indirect=True)
def test_extra_images_go_to_their_inputs(studio, make_image, tmp_path) -> None:
    studio.choices.agent.value = "virtualtryon"
    pickers = studio.choices.form.pickers
    pickers["locationImage"].choose_bytes(make_image(1440, 600), "wide.png")  # breaks an upload rule
    assert studio.launch_button.disabled
    assert "locationImage: " in studio.summary.value and "aspect ratio" in studio.summary.value
    pickers["locationImage"].choose_bytes(make_image(700, 900, color="navy"), "beach.png")
    person = tmp_path / "person.png"
    person.write_bytes(make_image(640, 900, color="orange"))
    pickers["fashionModelImage"].choose_path(str(person))
    assert not studio.launch_button.disabled
    run = studio.launch()
    run.wait(timeout=30, progress=False)
    sent = run.items[0].job.task.init_params
    assert {"originalImage", "fashionModelImage", "locationImage"} <= set(sent)
    assert len({sent[k] for k in ("originalImage", "fashionModelImage", "locationImage")}) == 3
    assert all(str(sent[k]).startswith("http") for k in ("originalImage", "fashionModelImage", "locationImage"))


def test_switching_agents_keeps_each_form_and_the_catalogue_choices(studio) -> None:
    info = studio.choices.info
    studio.choices.locations.value = (info.location("Sunny Beach").id,)
    studio.choices.prompts.value = "summer"
    studio.choices.agent.value = "virtualtryon"  # takes no scenes: the lists hide, their choice stays
    assert studio.choices.chosen_locations() == [] and studio.choices.previews.value == ""
    assert "locationId" not in studio.choices.params() and not studio.launch_button.disabled
    studio.choices.form.fields["imageSize"].widget.value = "2K"
    studio.choices.agent.value = "aimodel"
    assert [loc.name for loc in studio.choices.chosen_locations()] == ["Sunny Beach"]
    assert studio.choices.previews.value.count("<img ") == 1
    studio.choices.agent.value = "virtualtryon"
    assert studio.choices.params()["imageSize"] == "2K"  # the form came back with its values


@pytest.mark.parametrize("studio", ["v1", "runs"], indirect=True)
def test_a_two_picture_agent_sends_the_source_then_the_second_picture(studio) -> None:
    studio.choices.agent.value = "ai-clothes-changer"
    picker = studio.choices.form.pickers["images[1]"]
    assert "images[1] (required): the garment" in picker.label.value
    assert studio.launch_button.disabled and "got 1" in studio.summary.value  # the garment is missing
    VALID["ai-clothes-changer"](studio)
    assert not studio.launch_button.disabled
    run = studio.launch()
    run.wait(timeout=30, progress=False)
    sent = run.items[0].job.task.init_params["images"]
    assert len(sent) == 2 and sent[0] != sent[1] and all(url.startswith("http") for url in sent)
    studio.choices.agent.value = "kling"  # its last frame is optional
    assert "images[1] (optional): the last frame" in studio.choices.form.pickers["images[1]"].label.value
