"""Garment sets: many pictures in one sweep, uploaded once across kernels, picked up where they stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from IPython.core.error import UsageError

import weshop_nb
from weshop_nb import History

from .conftest import API_KEY
from .conftest import run_cell_capturing as _cell


@pytest.fixture
def shoot(make_image, tmp_path):
    """A folder of three garment pictures and one that is not a picture."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name, color in (("a-shirt.jpg", "teal"), ("b-dress.png", "navy"), ("c-coat.jpg", "olive")):
        (folder / name).write_bytes(make_image(640, 800, "JPEG" if name.endswith("jpg") else "PNG", color))
    (folder / "notes.txt").write_text("not a picture")
    return folder


@pytest.fixture
def demo(ip):
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 0.3 --seed 3")
    return ip.magics_manager.registry["WeShopMagics"]


def test_a_folder_and_a_glob_through_the_magic(ip, demo, shoot) -> None:
    shown = _cell(ip, f'%%weshop run --image {shoot} --location "Sunny Beach" --wait -o run\nsummer\n---\nwinter')
    run = ip.user_ns["run"]
    frame = run.to_frame()
    pictures = sorted(str(p) for p in shoot.glob("*.*") if p.suffix != ".txt")
    assert list(frame["input_image"].drop_duplicates()) == pictures  # sorted by name, the .txt left out
    assert len(frame) == 6 and set(frame["status"]) == {"success"}
    assert len({item.job.task.id for item in run.items}) == 3  # one task per picture
    stats = demo.emulator.stats()
    assert stats["uploads"] == 3 and stats["executions_created"] == 6
    history = History().executions()
    assert sorted(history["input_image"]) == sorted(frame["input_image"])
    # A quoted glob and a repeated --image: the same pictures, collapsed, nothing uploaded again.
    shown = _cell(ip, f"%%weshop run --image '{shoot}/*.jpg' --image {shoot}/a-shirt.jpg --wait -o again\nsummer")
    assert "Collapsed 1 repeated picture" in shown.stdout
    assert list(ip.user_ns["again"].to_frame()["input_image"]) == [p for p in pictures if p.endswith(".jpg")]
    assert demo.emulator.stats()["uploads"] == 3


def test_a_value_that_matches_nothing_sends_nothing(ip, demo, shoot) -> None:
    with pytest.raises(UsageError) as refused:
        _cell(ip, f"%%weshop run --image {shoot} --image '{shoot}/*.gif' --image nowhere.png\nsummer")
    assert f"no picture matches {shoot}/*.gif" in str(refused.value) and "no file nowhere.png" in str(refused.value)
    assert demo.emulator.stats()["uploads"] == 0 and demo.emulator.stats()["tasks_created"] == 0


def test_a_refused_picture_among_many_is_named_and_nothing_is_sent(ip, demo, shoot, make_image) -> None:
    (shoot / "d-small.png").write_bytes(make_image(300, 400))
    (shoot / "e-tiny.png").write_bytes(make_image(200, 200))
    with pytest.raises(UsageError) as refused:
        _cell(ip, f"%%weshop run --image {shoot}\nsummer")
    message = str(refused.value)
    assert "2 of 5 pictures break the upload rules; nothing was uploaded or launched" in message
    assert "d-small.png" in message and "e-tiny.png" in message and "a-shirt" not in message
    stats = demo.emulator.stats()
    assert stats["uploads"] == 0 and stats["tasks_created"] == 0 and stats["executions_created"] == 0


def test_launch_from_python_takes_lists_series_and_params(ip, demo, shoot) -> None:
    pictures = pd.Series(sorted(str(p) for p in shoot.glob("*.jpg")))
    run = weshop_nb.launch(
        images=pictures,
        prompts="summer",
        locations=["Sunny Beach", "sunny beach"],
        params={"batchCount": [1, 2]},
        wait=True,
    )
    assert "launch" in weshop_nb.__all__ and isinstance(run, weshop_nb.Run)
    frame = run.to_frame()
    assert len(frame) == 4 and sorted(frame["batch_count"].tolist()) == [1, 1, 2, 2]
    assert set(frame["location_name"]) == {"Sunny Beach"}  # the case-insensitive twin collapsed
    # The same checks and sentences as the magic.
    with pytest.raises(ValueError, match=r"No prompt: aimodel needs one to know what to make\. To add one: launch"):
        weshop_nb.launch(images=pictures, locations="Sunny Beach")
    from weshop_nb.work._pictures import PictureError

    with pytest.raises(PictureError, match=r"no file nowhere\.png"):
        weshop_nb.launch(images="nowhere.png", prompts="x")


def test_the_same_set_in_a_new_process_uploads_nothing(shoot, tmp_path) -> None:
    home = tmp_path / "home"
    with weshop_nb.emulator.serve(port=0, api_key=API_KEY, latency=0.2, seed=5) as emu:
        env = {**os.environ, "WESHOP_NB_HOME": str(home), "WESHOP_API_KEY": API_KEY, "WESHOP_BASE_URL": emu.base_url}
        env.pop("WESHOP_API", None)
        script = textwrap.dedent(
            f"""
            import weshop_nb
            run = weshop_nb.launch(images={str(shoot)!r}, prompts=["summer"], wait=True)
            print(run.summary())
            """
        )
        first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert emu.stats()["uploads"] == 3
        second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        stats = emu.stats()
        assert stats["uploads"] == 3  # the second kernel found every picture in the history's upload cache
        assert stats["executions_created"] == 6


def test_skip_done_launches_exactly_the_missing_combinations(ip, demo, shoot) -> None:
    _cell(ip, f"%%weshop run --image '{shoot}/*.jpg' --wait\nsummer")  # 2 of the 3 pictures, one prompt
    assert demo.emulator.stats()["executions_created"] == 2
    cell = f"%%weshop run --image {shoot} --skip-done --wait -o run\nsummer\n---\nwinter"
    shown = _cell(ip, cell)
    assert "2 of 6 already done, 0 watched, 4 launched." in shown.stdout
    stats = demo.emulator.stats()
    assert stats["executions_created"] == 6 and stats["uploads"] == 3
    frame = ip.user_ns["run"].to_frame()
    assert len(frame) == 6 and set(frame["status"]) == {"success"}  # the done ones are in the run, pictures and all
    assert all(frame["n_images"] >= 1)
    # Run again: nothing launched, nothing uploaded, no task made.
    tasks = stats["tasks_created"]
    shown = _cell(ip, cell)
    assert "6 of 6 already done, 0 watched, 0 launched." in shown.stdout
    stats = demo.emulator.stats()
    assert stats["executions_created"] == 6 and stats["tasks_created"] == tasks
    assert len(History().executions()) == stats["executions_created"]


def test_skip_done_watches_what_is_unfinished(ip, shoot) -> None:
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 3 --seed 3")
    magics = ip.magics_manager.registry["WeShopMagics"]
    _cell(ip, f"%%weshop run --image {shoot}/a-shirt.jpg -o first\nsummer")
    magics.session.close()  # the kernel stops watching; the history holds it unfinished
    shown = _cell(ip, f"%%weshop run --image {shoot}/a-shirt.jpg --skip-done --wait -o run\nsummer")
    assert "0 of 1 already done, 1 watched, 0 launched." in shown.stdout
    assert magics.emulator.stats()["executions_created"] == 1
    assert ip.user_ns["run"].items[0].status == "success"


def test_estimate_and_budget_over_a_set(ip, demo, shoot) -> None:
    shown = _cell(ip, f"%%weshop run --image {shoot} --estimate\nsummer\n---\nwinter")
    assert "Estimate for 6 executions" in shown.stdout
    with pytest.raises(UsageError, match="--budget cannot be checked on the v1 API: it has no estimate"):
        _cell(ip, f"%%weshop run --image {shoot} --budget 10\nsummer")
    assert demo.emulator.stats()["uploads"] == 0


def test_budget_on_the_runs_api_refuses_before_anything_starts(shoot, monkeypatch) -> None:
    from weshop_nb import WeShopClient
    from weshop_nb.work._estimate import BudgetError
    from weshop_nb.work._session import Session, launch_pictures

    with weshop_nb.emulator.serve(api_key=API_KEY, latency=0.2, seed=5) as emu:
        session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url, api="runs"), poll_interval=0.2)
        with pytest.raises(BudgetError, match=r"Over budget: the launch would cost \d+ points for 6 executions"):
            launch_pictures(session, str(shoot), prompts=["a", "b"], budget=1)
        stats = emu.stats()
        assert stats["executions_created"] == 0
        assert stats["requests"]["run_estimate"] == 2  # 6 executions, 2 distinct parameter sets: asked twice
        run = launch_pictures(session, str(shoot), prompts=["a", "b"], budget=10**6, wait=True)
        assert len(run.items) == 6 and set(run.to_frame()["status"]) == {"success"}
        assert run.to_frame()["input_image"].nunique() == 3
        assert emu.stats()["uploads"] == 3  # estimated, then launched: each picture uploaded once
        run.wait(timeout=20)
        assert History().executions(source=emu.base_url)["input_image"].nunique() == 3
        session.close()


def test_save_puts_each_garment_in_its_folder(ip, demo, shoot, tmp_path) -> None:
    _cell(ip, f"%%weshop run --image '{shoot}/*.jpg' --wait -o run\nsummer")
    saved = ip.user_ns["run"].save(tmp_path / "out")
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == ["a-shirt", "c-coat"]
    assert len(saved) >= 2


def test_the_studio_launches_several_pictures_as_one_set(shoot, make_image) -> None:
    from weshop_nb import WeShopClient
    from weshop_nb.notebook.widgets._studio import Studio
    from weshop_nb.work._session import Session

    with weshop_nb.emulator.serve(api_key=API_KEY, latency=0.1, seed=5) as emu:
        session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
        studio = Studio(session, start_dir=str(shoot))
        assert studio.source.upload.multiple and "(" not in studio.source.upload.description
        studio.source.choose_paths([str(shoot / "a-shirt.jpg"), str(shoot / "c-coat.jpg")])
        studio.source.choose_bytes(make_image(300, 300), "small.png")  # refused, and the set stays
        assert len(studio.source.images) == 2 and "2 pictures chosen" in studio.source.message.value
        assert "small.png" in studio.source.message.value
        studio.choices.prompts.value = "summer"
        run = studio.launch()
        run.wait(timeout=20)
        frame = run.to_frame()
        assert list(frame["input_image"]) == [str(shoot / "a-shirt.jpg"), str(shoot / "c-coat.jpg")]
        assert frame["task_id"].nunique() == 2 and emu.stats()["uploads"] == 2
        studio.source.clear()
        assert studio.source.images == {} and studio.source.image is None
        session.close()


def test_compare_by_input_image_shows_the_source_picture(ip, demo, shoot) -> None:
    _cell(ip, f"%%weshop run --image '{shoot}/*.jpg' --wait\nsummer\n---\nwinter")
    comparison = History().compare(by="input_image,prompt")
    html = comparison._repr_html_()
    assert "a-shirt.jpg</div>" in html and "c-coat.jpg</div>" in html
    header = html.split("a-shirt.jpg</div>")[0].rsplit("<th", 1)[1]
    assert "<img src=" in header  # the source picture is the row's header


def test_a_cached_url_the_service_refuses_is_uploaded_again_once(shoot) -> None:
    from weshop_nb import InvalidRequestError, WeShopClient
    from weshop_nb.service._images import prepare_upload
    from weshop_nb.work._session import Session, launch_pictures

    picture = str(shoot / "a-shirt.jpg")
    with weshop_nb.emulator.serve(api_key=API_KEY, latency=0.1, seed=5) as emu:
        gone = f"{emu.base_url}/files/long-gone.png"
        History().remember_upload(emu.base_url, prepare_upload(picture).sha256, gone)
        session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
        create = session.client.create_task
        refused = []

        def strict(*args, **init):
            if init.get("originalImage") == gone:  # as a service that forgot the upload would
                refused.append(gone)
                raise InvalidRequestError("originalImage: the image cannot be read.")
            return create(*args, **init)

        session.client.create_task = strict
        run = launch_pictures(session, picture, prompts="summer", wait=True)
        assert refused == [gone] and run.summary() == "1/1 done (1 success)"
        assert emu.stats()["uploads"] == 1
        fresh = History().known_upload(emu.base_url, prepare_upload(picture).sha256)
        assert fresh not in (None, gone) and run.items[0].job.task.init_params["originalImage"] == fresh
        session.close()
