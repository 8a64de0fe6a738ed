"""What a person reaches for after a run: save the pictures, see why one failed, retry, stop, share."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from weshop_nb import WeShopClient
from weshop_nb.work._history import History
from weshop_nb.work._jobs import Job, sweep
from weshop_nb.work._launch import RetryError, launch
from weshop_nb.work._run import WaitInterrupted
from weshop_nb.work._save import picture_stem, save_pictures


def _run(client: WeShopClient, image: bytes, prompts, *, batch: int = 2):
    task = client.create_task(originalImage=client.upload_image(image), taskName="next steps")
    info = client.agent_info()
    locations = [info.location("Sunny Beach"), info.location("Paris Café Terrace")]
    jobs = sweep(task, list(prompts), locations, [info.fashion_model("Eve")], batchCount=batch)
    return launch(client, jobs, poll_interval=0.1).wait(timeout=30)


def test_save_names_skips_and_reports(client, make_image, tmp_path) -> None:
    run = _run(client, make_image(), ["Golden hour on the beach!", "#fail here"])
    seen: list[tuple[int, int]] = []
    saved = run.save(tmp_path / "out", progress=lambda done, total: seen.append((done, total)))
    assert len(saved) == 4 and (saved["outcome"] == "downloaded").all()  # the failed prompt has no pictures
    names = sorted(Path(p).name for p in saved["path"])
    assert names[0].startswith("golden-hour-on-the-beach_paris-cafe-terrace_eve_") and names[0].endswith("-1.png")
    assert len(set(names)) == 4 and {n.rsplit("-", 1)[1] for n in names} == {"1.png", "2.png"}
    assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in saved["path"])
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert list(saved.columns[:4]) == ["path", "outcome", "save_error", "prompt"]

    Path(saved["path"][0]).unlink()  # one gone, three there: only that one is fetched again
    again = run.save(tmp_path / "out", progress=False)
    assert sorted(again["outcome"].astype(str)) == ["downloaded", "existing", "existing", "existing"]
    assert not list((tmp_path / "out").glob("*.part"))

    from_history = History().save(tmp_path / "out", status="success", progress=False, fetch=client.fetch_image)
    assert set(from_history["outcome"].astype(str)) == {"existing"}  # same pictures, same names
    one = History().images(text="golden").head(1)
    assert History().save(tmp_path / "one", one, fetch=client.fetch_image, progress=False)["path"].notna().all()


def test_save_never_clashes_and_a_failed_download_does_not_stop_the_rest(tmp_path) -> None:
    import pandas as pd

    rows = [
        {"prompt": "Same", "location_name": "Café", "fashion_model_name": None, "execution_id": "abcdef01", "slot": 0},
        {"prompt": "Same", "location_name": "Café", "fashion_model_name": None, "execution_id": "abcdef02", "slot": 0},
        {"prompt": None, "location_name": None, "fashion_model_name": None, "execution_id": "99", "slot": 1},
    ]
    pictures = pd.DataFrame([{**row, "image": f"http://x/{n}.jpg"} for n, row in enumerate(rows)])
    assert picture_stem(rows[2]) == "no-prompt_99-2"

    def fetch(url: str) -> bytes:
        if url.endswith("2.jpg"):
            raise OSError("connection reset")
        return b"\xff\xd8 a jpeg"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved = save_pictures(pictures, tmp_path, fetch)
    names = [Path(p).name for p in saved["path"][:2]]
    assert names == ["same_cafe_abcdef01-1.jpg", "same_cafe_abcdef02-1.jpg"]  # the short id would clash
    assert list(saved["outcome"].astype(str)) == ["downloaded", "downloaded", "failed"]
    assert saved["save_error"][2] == "connection reset" and pd.isna(saved["path"][2])
    assert "1 of 3 picture(s) could not be saved" in str(caught[0].message)


def test_error_column_in_the_run_and_the_history(client, make_image) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    jobs = [
        Job(task, {"textDescription": "fine"}),
        Job(task, {"textDescription": "#fail"}),
        Job(task, {"locationId": 1}),
    ]
    run = launch(client, jobs, poll_interval=0.1).wait(timeout=20)
    frame = run.to_frame()
    assert frame["error"].isna()[0]
    assert "asked to fail" in frame["error"][1] and "locationId 1 does not exist" in frame["error"][2]
    assert str(frame["error"].dtype) == "string"
    stored = History().executions(task=task.id).set_index("prompt")
    assert "asked to fail" in stored.loc["#fail", "error"] and stored["error"].isna()["fine"]
    assert frame.columns[8] == "error" and list(frame.columns[:8]) == [
        *("prompt", "status", "location_name", "fashion_model_name", "executed_at", "n_images", "images", "videos")
    ]
    assert list(frame.columns[-3:]) == ["task_id", "execution_id", "source"]


def test_retry_relaunches_only_the_failed_with_the_same_parameters(client, emu, make_image) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    jobs = [Job(task, {"textDescription": "fine", "batchCount": 1}), Job(task, {"textDescription": "#fail"})]
    run = launch(client, jobs, poll_interval=0.1).wait(timeout=20)
    created = emu.stats()["executions_created"]
    again = run.retry().wait(timeout=20)
    assert emu.stats()["executions_created"] == created + 1
    assert [item.job.params for item in again.items] == [{"textDescription": "#fail"}]
    assert again is not run and run.items[1].status == "failed"  # the first run is left as it was
    chosen = run.retry([0, run.items[1].execution.id], watch=False)
    assert [item.job.prompt for item in chosen.items] == ["fine", "#fail"]
    chosen.start().wait(timeout=20)
    fine = launch(client, [jobs[0]], poll_interval=0.1).wait(timeout=20)
    with pytest.raises(RetryError, match="none of the 1 execution"):
        fine.retry()
    with pytest.raises(RetryError, match="No execution at position 5"):
        fine.retry([5])
    with pytest.raises(RetryError, match="No execution 'nope'"):
        fine.retry(["nope"])


def test_stop_says_the_executions_go_on_and_start_watches_again(client, make_image) -> None:
    from weshop_nb import emulator

    from .conftest import API_KEY

    with emulator.serve(api_key=API_KEY, latency=1.0) as slow:
        slow_client = WeShopClient(api_key=API_KEY, base_url=slow.base_url)
        task = slow_client.create_task(originalImage=slow_client.upload_image(make_image()))
        run = launch(slow_client, [Job(task, {"textDescription": "x"})], poll_interval=0.1)
        run.stop()
        assert not run.watching and "no cancel call" in run.summary() and "start()" in run.summary()
        assert run.wait(timeout=5) is run and not run.done  # nothing watches: the wait ends at once
        run.start().wait(timeout=20)
        assert run.done and "no cancel call" not in run.summary()


def test_interrupted_wait_is_one_line(client, make_image, monkeypatch) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    run = launch(client, [Job(task, {"textDescription": "x"})], poll_interval=0.1)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl-C lands, inside threading's Condition.wait

    monkeypatch.setattr(run._changed, "wait", interrupt)
    with pytest.raises(WaitInterrupted) as caught:
        run.wait()
    assert isinstance(caught.value, KeyboardInterrupt)
    (line,) = caught.value._render_traceback_()
    assert "1 of 1 execution(s) go on at the service" in line and "no cancel call" in line
    assert "run.wait()" in line and caught.value.__suppress_context__


def test_comparison_saves_one_self_contained_file_and_a_frame(client, make_image, tmp_path) -> None:
    _run(client, make_image(), ["<b>bold</b> look", "plain"], batch=1)
    comparison = History().compare("prompt,location_name", fetch=client.fetch_image)
    path = comparison.save(tmp_path / "shared" / "comparison")
    page = path.read_text(encoding="utf-8")
    assert path.name == "comparison.html" and page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/webp;base64,") == 4 and 'src="http' not in page  # nothing to load
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    frame = comparison.to_frame()
    assert len(frame) == 4 and list(frame.columns[:3]) == ["prompt", "location_name", "status"]
    assert frame["image"].str.startswith("http").all()


def test_magic_retry_and_stop(ip, make_image, tmp_path) -> None:
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
    ip.run_cell("%weshop demo --latency 0.3")
    with pytest.raises(UsageError, match="no run in this session yet"):
        ip.run_cell("%weshop retry")
    ip.run_cell(f"%%weshop run --image {garment} --wait -o first\nfine\n---\n#fail please")
    with capture_output() as shown:
        ip.run_cell("%weshop retry --wait -o again")
    assert "Launched 1 execution(s) again" in shown.stdout
    again = ip.user_ns["again"]
    assert [item.job.prompt for item in again.items] == ["#fail please"] and again.done
    with pytest.raises(UsageError, match="No execution 'nope'"):
        ip.run_cell("%weshop retry nope")
    first_id = ip.user_ns["first"].items[0].execution.id
    ip.run_cell(f"%weshop retry {first_id} -o chosen")
    assert [item.job.prompt for item in ip.user_ns["chosen"].items] == ["fine"]


def test_magic_stop(ip, make_image, tmp_path) -> None:
    from IPython.utils.capture import capture_output

    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    ip.run_cell("%weshop demo --latency 60")  # slow enough to be stopped half way
    with capture_output() as shown:
        ip.run_cell("%weshop stop")
    assert "Nothing is being watched" in shown.stdout
    ip.run_cell(f"%%weshop run --image {garment} -o slow\nslow")
    with capture_output() as shown:
        ip.run_cell("%weshop stop")
    assert "Stopped watching 1 run(s); their 1 unfinished execution(s) go on" in shown.stdout
    assert "no cancel call" in shown.stdout and not ip.user_ns["slow"].watching
    assert "no cancel call" in repr(ip.user_ns["slow"])


def test_saving_keeps_videos_too(client, make_image, tmp_path) -> None:
    started = client.start(
        "kling",
        {"textDescription": "slow pan", "modelName": "Kling_2_6", "duration": "5s", "batchCount": 1},
        input={"images": [make_image()], "taskName": "video"},
    )
    done = client.wait(started.id, timeout=30, poll_interval=0.05)
    saved = History().save(tmp_path / "clips", task=done.task_id, fetch=client.fetch_image, progress=False)
    video = saved[saved["kind"] == "video"]
    assert len(video) == len(done.videos) == 1 and video["image"].iloc[0] == done.videos[0]
    name = Path(video["path"].iloc[0]).name
    assert name.startswith("slow-pan_") and "-v1." in name  # never the name of a picture of the same slot
    assert Path(video["path"].iloc[0]).read_bytes() == client.fetch_image(done.videos[0])
