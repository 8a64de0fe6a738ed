"""The history store: a real SQLite file, reopened, shared, migrated, damaged."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import warnings

import pandas as pd
import pytest

from weshop_nb import WeShopClient, emulator
from weshop_nb.config import home_dir
from weshop_nb.service._errors import HistoryError
from weshop_nb.work._history import History, default_history
from weshop_nb.work._history_schema import MIGRATIONS
from weshop_nb.work._jobs import sweep
from weshop_nb.work._launch import launch

from .conftest import API_KEY, kernel_dies_mid_run, on_both_stores


def _sweep(client: WeShopClient, image: bytes, prompts=("red", "blue")):
    task = client.create_task(originalImage=client.upload_image(image), taskName="history test")
    info = client.agent_info()
    locations = [info.location("Sunny Beach"), info.location("White Studio")]
    run = launch(client, sweep(task, list(prompts), locations, [None], batchCount=2), poll_interval=0.1)
    return task, run.wait(timeout=30)


@on_both_stores
def test_everything_the_client_sees_is_recorded(client, emu, make_image) -> None:
    _task, run = _sweep(client, make_image())
    frame = History().executions()
    assert len(frame) == 4
    assert set(frame["execution_id"]) == {e.id for e in run.executions}
    assert (frame["status"] == "success").all() and (frame["n_images"] == 2).all()
    assert set(frame["location_name"]) == {"Sunny Beach", "White Studio"}  # names from agent info
    assert set(frame["task_name"]) == {"history test"} and set(frame["source"]) == {emu.base_url}
    assert str(frame["executed_at"].dtype).startswith("datetime64")
    assert str(frame["location_id"].dtype) == "Int64" and str(frame["status"].dtype) == "category"
    assert str(frame["execution_id"].dtype) == "string"
    images = History().images()
    assert len(images) == 8 and list(images["slot"].unique()) == [0, 1]
    assert images["image"].str.startswith(emu.base_url).all()


@on_both_stores
def test_filters(client, make_image) -> None:
    task, _run = _sweep(client, make_image(), prompts=("a red coat", "blue jeans"))
    other = client.create_task(originalImage=client.upload_image(make_image(color="red")))
    client.wait(client.execute(other.id, {"textDescription": "#fail"}).id, poll_interval=0.1, raise_on_failure=False)
    history = History()
    assert len(history.executions()) == 5
    assert len(history.executions(task=task.id)) == 4
    assert len(history.executions(status="failed")) == 1
    assert len(history.executions(text="RED COAT")) == 2
    assert len(history.executions(limit=2)) == 2
    assert len(history.executions(since="2000-01-01", until="2999-01-01")) == 5
    assert len(history.executions(since="2999-01-01")) == 0
    assert history.executions(limit=1)["execution_id"].iloc[0] == history.executions()["execution_id"].iloc[-1]


@on_both_stores
def test_a_run_killed_half_way_keeps_what_it_saw(make_image, tmp_path) -> None:
    picture = tmp_path / "garment.png"
    picture.write_bytes(make_image())
    with emulator.serve(api_key=API_KEY, latency=60) as emu:
        kernel_dies_mid_run(emu.base_url, str(picture), 3)
        frame = History().executions()  # reopened from a new process
        assert len(frame) == 3 and set(frame["status"]) <= {"pending", "running"}
        assert len(History().unfinished()) == 3


def _env() -> dict:
    import os

    return {**os.environ, "WESHOP_NB_HOME": str(home_dir())}


@on_both_stores
def test_two_writers_at_once(make_image) -> None:
    writer = textwrap.dedent(
        """
        import sys
        from weshop_nb.work._history import History
        from weshop_nb.service._models import Execution
        history = History()
        for n in range(150):
            history.record_executions([Execution(id=f"{sys.argv[1]}-{n}", status="running", params={}, executed_at=None,
                                                 results=(), task_id="t")], "http://writer")
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", writer, name], env=_env()) for name in ("a", "b")]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    assert len(History().executions(source="http://writer")) == 300


def test_migration_from_schema_one(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        old.execute(
            "INSERT INTO executions (source, execution_id, task_id, status, executed_at, prompt, location_id, n_images,"
            " images, first_seen, last_seen) VALUES ('http://old', 'e1', 't1', 'success', '2025-01-02 03:04:05',"
            " 'kept', 6000372, 1, 'http://old/1.png', 0, 0)"
        )
    history = History(path)
    frame = history.executions()
    assert history.schema_version == len(MIGRATIONS) == 3
    assert frame.loc[0, "prompt"] == "kept" and frame.loc[0, "images"] == ["http://old/1.png"]
    assert pd.isna(frame.loc[0, "location_name"])  # no names known yet
    history.record("agent_info", _info_with_studio(), "http://old")  # the v2 table works on the migrated file
    assert History(path).executions().loc[0, "location_name"] == "White Studio"
    History(path).rate("e1", 4)  # the v3 tables work on the migrated file
    assert list(History(path).ratings()["stars"]) == [4]


def _info_with_studio():
    from weshop_nb.service._catalogue import AgentInfo

    raw = {"locations": [{"id": 6000372, "name": "White Studio"}], "fashionModels": []}
    return AgentInfo.from_api(raw, agent_name="aimodel", agent_version="v1.0")


def test_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer weshop_nb"):
        History(path).executions()


def test_corrupt_file_is_a_clear_error_and_never_breaks_the_client(client, make_image) -> None:
    path = home_dir() / "history.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match=r"cannot be used .*Move the file aside"):
        History(path).executions()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = client.create_task(originalImage=client.upload_image(make_image()))  # still works
        client.get_task(task.id)
    assert task.id
    assert any("could not record" in str(w.message) for w in caught)


def test_a_full_database_is_not_called_damaged(tmp_path) -> None:
    history = History(tmp_path / "capped.sqlite3")
    history.record_task(_task(), "x")
    # SQLite's own SQLITE_FULL, as on a full disk: this connection may not grow the file.
    pages = history.sql("PRAGMA page_count")[0][0]
    history.sql(f"PRAGMA max_page_count = {pages}")
    big = _task(init_params={"taskName": "x" * 200_000})
    with pytest.raises(HistoryError) as caught:
        history.record_task(big, "x")
    assert caught.value.reason == "full"
    assert "is full" in str(caught.value) and "Move the file aside" not in str(caught.value)
    assert History(tmp_path / "capped.sqlite3").task_ids(source="x") == ["t"]  # intact


def test_a_read_only_database_is_not_called_damaged(tmp_path) -> None:
    path = tmp_path / "kept.sqlite3"
    History(path).record_task(_task(), "x")
    history = History(path)
    # SQLite's own SQLITE_READONLY, as for a file on a read-only mount: this connection may not write.
    history.sql("PRAGMA query_only = ON")
    with pytest.raises(HistoryError) as caught:
        history.record_task(_task(id="t2"), "x")
    assert caught.value.reason == "read_only"
    assert "is read-only" in str(caught.value) and "Move the file aside" not in str(caught.value)


def test_locked_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "locked.sqlite3"
    History(path).executions()  # create it
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked"):
            History(path, timeout=0.2).record_task(_task(), "x")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _task(**fields):
    from weshop_nb.service._models import Task

    return Task(**{"id": "t", "agent_name": "aimodel", "agent_version": "v1.0", "init_params": {}, **fields})


def test_no_api_key_in_the_database_bytes(client, make_image) -> None:
    _sweep(client, make_image())
    default_history().close()  # fold the WAL into the main file
    for path in home_dir().glob("history.sqlite3*"):
        assert API_KEY.encode() not in path.read_bytes()


@on_both_stores
def test_sync_merges_without_duplicates(emu, make_image, monkeypatch) -> None:
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
    task = client.create_task(originalImage=client.upload_image(make_image()))
    monkeypatch.setenv("WESHOP_NB_HISTORY", "off")  # executions made while not recording
    for n in range(3):
        client.execute(task.id, {"textDescription": f"unseen {n}"})
    monkeypatch.delenv("WESHOP_NB_HISTORY")
    history = History()
    assert len(history.executions(task=task.id)) == 0
    assert history.sync(client) == 3
    assert history.sync(client) == 3
    assert len(history.executions(task=task.id)) == 3
    client.delete_task(task.id)
    assert history.task_ids(source=emu.base_url) == []


@on_both_stores
def test_compare_lays_pictures_out_by_parameters(client, make_image) -> None:
    _sweep(client, make_image(), prompts=("<b>bold</b> prompt", "plain"))
    comparison = History().compare("prompt, location_name", fetch=client.fetch_image)
    assert comparison.table.shape == (2, 2)
    assert list(comparison.table.columns) == ["Sunny Beach", "White Studio"]
    assert all(len(cell) == 2 for cell in comparison.table.to_numpy().ravel())
    page = comparison._repr_html_()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("data:image/webp;base64,") == 8
    one = History().compare(["location_name"], fetch=client.fetch_image)
    assert one.table.shape == (2, 1)
    with pytest.raises(ValueError, match="compare by one or two of"):
        History().compare("nonsense")


@on_both_stores
def test_a_comparison_reads_what_it_shows_and_its_frame_has_every_column(client, make_image) -> None:
    _sweep(client, make_image(), prompts=("first", "second"))
    history = History()
    comparison = history.compare("prompt")
    # The table is built from a few columns; the frame of its pictures has all of them.
    assert "negative_prompt" not in comparison.executions.columns
    assert list(comparison.to_frame().columns) == ["prompt", *(c for c in history.images().columns if c != "prompt")]
    assert len(comparison.to_frame()) == len(history.images()) == 8
    _sweep(client, make_image(), prompts=("third",))  # the history grows after the comparison is made
    assert set(comparison.to_frame()["prompt"]) == {"first", "second"}
    with pytest.raises(TypeError, match="unexpected filters: colour"):
        history.compare("prompt", colour="red")


@on_both_stores
def test_thumbnails_outlive_the_emulator(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        client.wait(client.execute(task.id, {"textDescription": "x", "batchCount": 1}).id, poll_interval=0.1)
        History().compare("prompt")._repr_html_()  # fetched while the emulator runs
    page = History().compare("prompt")._repr_html_()  # the emulator is gone; the disk cache is not
    assert page.count("data:image/webp;base64,") == 1


@on_both_stores
def test_magic_history_and_compare(ip, make_image, tmp_path) -> None:
    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 0.3")
    ip.run_cell(f"%%weshop run --image {garment} --location 6000372 --location 6000401 --wait -o r\none\n---\ntwo")
    ip.run_cell("df = %weshop history")
    assert len(ip.user_ns["df"]) == 4
    ip.run_cell("few = %weshop history --status success --text one --limit 1")
    assert len(ip.user_ns["few"]) == 1
    ip.run_cell("synced = %weshop history --sync")
    assert len(ip.user_ns["synced"]) == 4
    ip.run_cell("c = %weshop compare --by prompt,location_name")
    assert ip.user_ns["c"].table.shape == (2, 2)
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="compare by one or two"):
        ip.run_cell("%weshop compare --by prompt,location_name,pose")
    assert json.dumps(list(ip.user_ns["df"].columns))
