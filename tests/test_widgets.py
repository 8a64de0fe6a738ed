"""The studio driven end to end with .value and .click(), against the emulator (no browser)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import ipywidgets as widgets
import pytest

# Every widget alive in this process (ipywidgets' own registry; its public alias is deprecated).
from ipywidgets.widgets.widget import _instances as _live_widgets

from weshop_nb import WeShopClient, emulator
from weshop_nb.notebook.widgets._studio import Studio
from weshop_nb.work._session import Session

from .conftest import API_KEY


@pytest.fixture
def studio(emu, tmp_path):
    session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
    panel = Studio(session, start_dir=str(tmp_path))
    yield panel
    session.close()


def _pictures(cell) -> list[str]:
    """The data URIs of the pictures a cell's card shows."""
    return re.findall(r'<img src="(data:[^"]+)"', cell.card)


def test_sweep_of_two_locations_by_two_models_fills_the_grid(studio, make_image, tmp_path) -> None:
    assert studio.launch_button.disabled and "source picture for originalImage" in studio.summary.value
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image(640, 800))
    studio.source.choose_path(str(photo))
    assert "✓ garment.png: png, 640x800" in studio.source.message.value
    assert studio.source.preview.value  # previewed at once
    info = studio.choices.info
    studio.choices.locations.value = (info.location("Sunny Beach").id, info.location("White Studio").id)
    studio.choices.fashion_models.value = (info.fashion_model("Eve").id, info.fashion_model("Kenji").id)
    studio.choices.prompts.value = "summer look"
    studio.choices.batch.value = 2
    assert studio.choices.previews.value.count("<img ") == 4
    assert not studio.launch_button.disabled
    assert studio.launch_button.description.startswith("Launch 4 executions")
    assert studio.wait_estimate() is not None  # the cost, estimated in the background
    assert studio.launch_button.description == "Launch 4 executions · cost unknown"
    assert "the v1 API gives no estimate" in studio.cost.value
    assert "price notes add 20 points in all" in studio.cost.value  # Eve: 5 points x 2 pictures x 2 scenes
    assert "Eve: Additional cost of 5 points / image" in studio.cost.value
    assert "Kenji" not in studio.cost.value  # no extra cost, nothing to say
    assert "points" not in studio.summary.value  # the cost is said once: on the button and the line below
    studio.launch_button.click()
    run = studio.run
    assert run is not None and len(run.items) == 4
    run.wait(timeout=30)
    grid = studio.results.children[0]
    grid.set_state({"_view_count": 1})  # a front-end shows the grid: the stars under its cards are made
    cells = list(grid.cells)
    assert len(cells) == 4
    for cell in cells:
        assert cell.item.status == "success"
        pictures = _pictures(cell)
        assert len(pictures) == 2 and all(p.startswith("data:image/webp;base64,") for p in pictures)
        assert 'width="78"' in cell.card  # two pictures share a card 160 px wide
    assert '<progress value="4" max="4"' in grid.progress.value
    cells[0].select(1)  # enlarge the second picture
    header, picture = studio.detail.children
    assert isinstance(picture, widgets.Image) and len(picture.value) > len(_pictures(cells[0])[1]) * 3 / 4
    assert cells[0].item.execution.images[1] in header.children[1].value
    studio.detail_stars.click_star(1, 4)  # the enlarged picture's stars: the second picture, four
    assert cells[0].item.stars == {1: 4} and "★★★★☆" in cells[0].card
    assert [label for label, _ in cells[0].stars.options][5:] == ["★", "★", "★", "★", "☆"]
    header.children[0].click()  # Close: the enlarged picture is let go, emptied first (nbclient keeps closed widgets)
    assert studio.detail.children == () and picture.comm is None and bytes(picture.value) == b""
    studio.launch_button.click()  # a new launch lets the last grid go; its run goes on
    assert grid.comm is None and cells[0].comm is None and cells[0].value == ""
    assert studio.results.children[0] is not grid and studio.run is not run
    studio.run.wait(timeout=30)


def test_broken_rule_is_shown_and_launch_stays_disabled(studio, make_image) -> None:
    studio.source.choose_bytes(make_image(1440, 600), "wide.png")
    assert "aspect ratio 2.40 (1440x600), must be below 2" in studio.source.message.value
    assert studio.source.image is None and studio.launch_button.disabled
    studio.source.upload.value = (
        {
            "name": "ok.png",
            "type": "image/png",
            "size": 1,
            "content": memoryview(make_image()),
            "last_modified": datetime.now(timezone.utc),
        },
    )
    assert studio.source.image is not None
    assert studio.launch_button.disabled  # still nothing to generate
    studio.choices.prompts.value = "one\n---\ntwo"
    assert not studio.launch_button.disabled and studio.launch_button.description.startswith("Launch 2 executions")


def test_service_errors_appear_in_the_panel(studio, make_image, emu) -> None:
    studio.source.choose_bytes(make_image(), "ok.png")
    studio.choices.prompts.value = "x"
    studio.choices.batch.value = 3
    emu.stop()  # the network goes down
    assert studio.launch() is None
    assert "Could not reach the WeShop service" in studio.error.value
    assert "Traceback" not in studio.error.value


def test_filters_and_aipose(studio) -> None:
    studio.choices.tag.value = "Night"
    names = [name for name, _ in studio.choices.locations.options]
    assert names == ["Neon Street at Night", "Tokyo Crosswalk"]
    studio.choices.agent.value = "aipose"
    assert studio.choices.scenes.layout.display == "none"
    assert studio.choices.params() == {"generateVersion": "lite", "batchCount": 1}


def test_untrusted_names_are_escaped_in_every_widget(make_image, tmp_path) -> None:
    evil = '<img src=x onerror="alert(1)">'
    catalogue = {
        "locations": [{"id": 1, "name": evil, "categories": [evil], "tags": [{"id": 2, "name": evil}]}],
        "fashionModels": [{"id": 3, "name": evil, "profile": {"priceDescription": evil}, "tags": []}],
    }
    with emulator.serve(api_key=API_KEY, latency=0, catalogue=catalogue) as emu:
        session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
        studio = Studio(session, start_dir=str(tmp_path))
        studio.source.choose_bytes(make_image(), "ok.png")
        studio.choices.locations.value = (1,)
        studio.choices.fashion_models.value = (3,)
        run = studio.launch()
        run.wait(timeout=20)
        grid = studio.results.children[0]
        shown = [studio.summary.value, *(c.value for c in _html_widgets(studio))]
        shown += [cell.card for cell in grid.cells]
        assert all("<img src=x" not in text for text in shown)
        assert any("&lt;img src=x" in text for text in shown)
        session.close()


def _html_widgets(root) -> list:
    found, stack = [], [root]
    while stack:
        widget = stack.pop()
        if isinstance(widget, widgets.HTML):
            found.append(widget)
        stack.extend(getattr(widget, "children", ()))
    return found


def test_a_panel_and_its_grid_save_each_look_once(studio, make_image) -> None:
    """Layouts and styles are shared: no two of them in a launched panel hold the same traits."""
    studio.source.choose_bytes(make_image(), "ok.png")
    studio.choices.prompts.value = "one\n---\ntwo"
    studio.launch().wait(timeout=20)
    looks, stack, seen = {}, [studio], set()
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        for part in ("layout", "style"):
            look = getattr(widget, part, None)
            if isinstance(look, widgets.Widget):
                looks[look.model_id] = json.dumps([type(look).__name__, look.get_state()], sort_keys=True)
        stack.extend(getattr(widget, "children", ()))
    assert len(seen) > 40 and len(looks) < 25  # 58 widgets wear 18 looks (they had over 75 layouts)
    assert len(set(looks.values())) == len(looks)  # each look made once


def test_key_is_not_in_widget_state(studio, make_image) -> None:
    studio.source.choose_bytes(make_image(), "ok.png")
    studio.choices.prompts.value = "x"
    studio.launch().wait(timeout=20)
    state = widgets.Widget.get_manager_state(drop_defaults=True)
    assert API_KEY not in str(state)


def test_panel_magic_prefills(ip, make_image, tmp_path) -> None:
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    ip.run_cell("%weshop demo --latency 0.2")
    ip.run_cell(f"studio = %weshop panel --image {photo} --location 'sunny beach' --model Eve --prompt hello")
    studio = ip.user_ns["studio"]
    assert studio.source.image is not None and "✓ garment.png" in studio.source.message.value
    assert studio.source.chooser is None  # made only when Browse is clicked
    assert studio.choices.locations.value == (6000401,) and studio.choices.fashion_models.value == (4020095,)
    assert studio.launch_button.description.startswith("Launch 1 execution ·")
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="Did you mean 'Sunny Beach'"):
        ip.run_cell("%weshop panel --location 'sunny bech'")


def test_enlarged_picture_saves_and_failures_show_their_reason(studio, make_image, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    studio.source.browse_button.click()
    studio.source.choose_path(str(photo))
    assert studio.source.chooser.selected == str(photo)  # the chooser shows the photo as chosen
    assert any("garment.png" in shown.value for shown in _html_widgets(studio.source.chooser))
    studio.choices.prompts.value = "keep me\n---\n#fail <b>me</b>"
    studio.launch_button.click()
    studio.run.wait(timeout=30)
    grid = studio.results.children[0]
    kept, failed = grid.cells
    assert kept.tooltip is None and "asked to fail" in failed.tooltip
    kept.select(0)
    header = studio.detail.children[0]
    assert "download" in header.children[1].value
    studio.save_button.click()
    (saved,) = (tmp_path / "weshop-pictures").iterdir()
    assert saved.name.startswith("keep-me_") and saved.name.endswith("-1.png")
    assert "✓ saved as weshop-pictures/keep-me_" in studio.saved.value
    studio.save_button.click()  # again: already there, nothing fetched
    assert len(list((tmp_path / "weshop-pictures").iterdir())) == 1


def test_saving_in_a_notebook_shows_a_bar(ip, client, make_image, tmp_path, monkeypatch) -> None:
    from IPython.utils.capture import capture_output

    from weshop_nb.notebook import _display
    from weshop_nb.work._jobs import Job
    from weshop_nb.work._launch import launch

    task = client.create_task(originalImage=client.upload_image(make_image()))
    run = launch(client, [Job(task, {"textDescription": "x", "batchCount": 3})], poll_interval=0.1).wait(timeout=20)
    monkeypatch.setattr(_display, "in_notebook", lambda: True)
    with capture_output() as shown:
        saved = run.save(tmp_path / "pictures")
    (bar,) = shown.outputs
    assert bar.data["text/plain"] == f"Saving 3 picture(s) to {tmp_path / 'pictures'}…"  # fixed: nbval-stable
    assert "application/vnd.jupyter.widget-view+json" in bar.data
    counter = _display.VIEWS.counter("Saving", 2)
    counter.update(2, 2)
    counter.close()
    assert (counter.bar.value, counter.bar.bar_style) == (2, "success") and len(saved) == 3


def test_catalogue_thumbnails_are_made_once_per_entry(studio) -> None:
    info = studio.choices.info
    beach, studio_white = info.location("Sunny Beach").id, info.location("White Studio").id
    studio.choices.locations.value = (beach, studio_white)
    first = studio.choices.previews.value
    before = len(_live_widgets)
    fetched = studio.session.thumbnails.downloads
    for chosen in [(beach,), (), (studio_white, beach), (beach, studio_white)]:
        studio.choices.locations.value = chosen
    assert studio.choices.previews.value == first  # the same strip again
    # No new widget and no new download: one strip, whose saved state is the last selection's icons.
    assert len(_live_widgets) == before and studio.session.thumbnails.downloads == fetched
    assert first.count("<img ") == 2 and first.count('src="data:image/webp;base64,') == 2


def test_the_form_speaks_words_and_keeps_the_service_names_in_tooltips(studio) -> None:
    assert studio.choices.batch.description == "Results per execution"
    assert studio.choices.batch.tooltip.startswith("batchCount: results per execution")
    fields = studio.choices.form.fields
    assert fields["negTextDescription"].widget.description == "What to avoid"
    assert fields["customMask"].widget.tooltip.startswith("customMask: a base64 PNG mask")
    for field in fields.values():  # a placeholder is never cut mid-word by its box
        placeholder = getattr(field.widget, "placeholder", "")
        assert len(placeholder) <= 36
        if placeholder.endswith("…"):  # shortened at a word's end
            kept = placeholder[:-1]
            assert field.param.doc.startswith(kept) and field.param.doc[len(kept)] in " ,;:("
    assert fields["customMask"].widget.placeholder == "a base64 PNG mask without the…"


def test_the_history_tab_says_a_deleted_task_s_pictures_are_gone(studio, make_image, tmp_path) -> None:
    from weshop_nb.work._history import History

    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    studio.source.choose_path(str(photo))
    studio.choices.prompts.value = "kept or gone"
    studio.launch().wait(timeout=30)
    studio.session.client.delete_task(studio.run.items[0].job.task.id)
    History().sync(studio.session.client)  # the history learns the task is gone
    studio.history.refresh()
    shown = studio.history.comparison.value
    assert "image unavailable" not in shown and ("task deleted" in shown or "<img" in shown)
