"""A history a team shares on a real PostgreSQL server: the same answers, many writers, moving in, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._errors import HistoryError
from weshop_nb.service._models import Execution
from weshop_nb.work._history import History, default_history, use_history_url
from weshop_nb.work._jobs import sweep
from weshop_nb.work._judgement import rate
from weshop_nb.work._launch import launch

from . import _postgres
from .conftest import API_KEY

PROMPTS = ("golden hour", "plain studio")


@pytest.fixture
def pg_url(postgres: _postgres.Server) -> str:
    """A fresh database on the test server, its URL with the password."""
    return postgres.url(postgres.new_database())


def _fill(client: WeShopClient, image: bytes) -> None:
    """A sweep, a failure, two raters and a few blind judgements in the default history."""
    task = client.create_task(originalImage=client.upload_image(image), taskName="shared")
    info = client.agent_info()
    locations = [info.location("Sunny Beach"), info.location("White Studio")]
    launch(client, sweep(task, list(PROMPTS), locations, [None], batchCount=2), poll_interval=0.1).wait(timeout=30)
    client.wait(client.execute(task.id, {"textDescription": "#fail"}).id, poll_interval=0.1, raise_on_failure=False)
    history = History()
    for n, execution_id in enumerate(history.executions(status="success")["execution_id"]):
        rate(history, execution_id, 5 - n % 3, rater="ana")
        rate(history, execution_id, 2 + n % 2, picture=1, rater="ben")
    judging = history.judge(by="prompt", seed=3)
    for choice in ("left", "right", "tie"):
        judging.choose(choice)


def _frames(history: History, folder: os.PathLike[str], fetch) -> dict[str, pd.DataFrame]:
    saved = history.save(folder, fetch=fetch, progress=False)
    saved["path"] = [os.path.relpath(path, folder) for path in saved["path"]]
    return {
        "executions": history.executions(),
        "recent": history.executions(limit=3),
        "filtered": history.executions(status="success", text="golden", since="2000-01-01"),
        "images": history.images(),
        "ratings": history.ratings(),
        "ratings of ben": history.ratings(rater="ben"),
        "rank": history.rank("prompt"),
        "rank of ana": history.rank("prompt,location_name", rater="ana"),
        "pairwise": history.rank("prompt", method="pairwise"),
        "compare": history.compare("prompt, location_name").table,
        "save": saved,
        "unfinished": history.unfinished(),
    }


def test_the_same_answers_on_both_stores_and_copying_twice_copies_nothing_twice(
    client, make_image, pg_url, tmp_path
) -> None:
    _fill(client, make_image())
    home = History()
    assert home.path is not None and not home.shared
    copied = home.copy_to(pg_url)
    assert copied["executions"] == 5 and copied["ratings"] == 8 and copied["preferences"] == 3
    assert copied["tasks"] == 1 and copied["catalogue"] > 0 and copied["uploads"] >= 0
    again = home.copy_to(pg_url)
    assert again == dict.fromkeys(copied, 0)  # nothing copied twice
    shared = History(url=pg_url)
    assert shared.shared and shared.path is None and shared.schema_version == home.schema_version
    expected = _frames(home, tmp_path / "from_sqlite", client.fetch_image)
    found = _frames(shared, tmp_path / "from_postgres", client.fetch_image)
    for name, frame in expected.items():
        assert not frame.empty or name == "unfinished", name
        pd.testing.assert_frame_equal(found[name], frame, obj=name)  # values and dtypes
    assert set(found["ratings"]["rater"]) == {"ana", "ben"}


def test_many_writers_sweep_into_one_history_with_faults(make_image, pg_url, tmp_path) -> None:
    """The done-when test: two processes sweep at once, with faults; every execution once, in its final state."""
    picture = tmp_path / "garment.png"
    picture.write_bytes(make_image())
    writer = textwrap.dedent(
        """
        import sys, time
        from weshop_nb import WeShopClient
        from weshop_nb.work._history import History
        from weshop_nb.work._jobs import Job
        from weshop_nb.work._judgement import rate
        from weshop_nb.work._launch import launch
        base_url, picture, name, key = sys.argv[1:]
        client = WeShopClient(api_key=key, base_url=base_url, timeout=(2, 0.8))
        url = client.upload_image(open(picture, "rb").read())
        task = client.create_task(originalImage=url, taskName=name)
        prompts = ["golden hour", "plain studio"]
        # Each job's parameters differ (a reply lost to a fault is found again by them), two prompts to rank.
        params = [{"textDescription": prompts[n % 2], "negTextDescription": f"n{n}"} for n in range(16)]
        jobs = [Job(task, {**p, "batchCount": 1}) for p in params]
        run = launch(client, jobs, poll_interval=0.2, max_interval=0.6)
        run.wait(timeout=90)
        history = History()
        for attempt in range(20):  # the other writer's tasks too: the same rows written from both at once
            try:
                history.sync(client)
                break
            except Exception:  # a fault injected into a reply: sync does not retry by itself
                time.sleep(0.1)
        for execution in run.executions:
            if execution.status == "success":
                stars = 5 if execution.params["textDescription"] == prompts[0] else 2
                rate(history, execution.id, stars if name == "ana" else 6 - stars, rater=name)
        """
    )
    faults = {"faults": {"5xx": 0.08, "429": 0.08, "reset": 0.05, "badjson": 0.05}, "failure_rate": 0.15}
    with emulator.serve(api_key=API_KEY, latency=0.6, seed=13, **faults) as emu:
        env = {**os.environ, "WESHOP_NB_HISTORY_URL": pg_url}
        writers = [
            subprocess.Popen([sys.executable, "-c", writer, emu.base_url, str(picture), name, API_KEY], env=env)
            for name in ("ana", "ben")
        ]
        assert [w.wait(timeout=150) for w in writers] == [0, 0]
        created = dict(emu.emulator.store.executions)
        injected = emu.stats()["faults"]
    assert sum(injected.values()) > 0 and len(created) == 32  # each job started once
    history = History(url=pg_url)
    frame = history.executions()
    assert set(frame["execution_id"]) == set(created) and frame["execution_id"].is_unique  # every execution, once
    assert history.sql("SELECT COUNT(*) FROM executions")[0][0] == len(created)
    final = {e.id: ("failed" if e.fails else "success", 0 if e.fails else e.batch) for e in created.values()}
    states = zip(frame["status"].astype(str), frame["n_images"], strict=True)
    kept = dict(zip(frame["execution_id"], states, strict=True))
    assert kept == final  # each in its final state, none moved backwards
    pooled = history.rank("prompt")
    assert set(history.ratings()["rater"]) == {"ana", "ben"}
    assert pooled["n"].sum() == len(history.ratings()) == sum(1 for s, _ in final.values() if s == "success")
    by_ana, by_ben = history.rank("prompt", rater="ana"), history.rank("prompt", rater="ben")
    assert by_ana["prompt"].iloc[0] == "golden hour" and by_ben["prompt"].iloc[0] == "plain studio"
    assert by_ana["n"].sum() + by_ben["n"].sum() == pooled["n"].sum()


def test_a_newer_sighting_never_moves_an_execution_back_on_the_server(pg_url) -> None:
    history = History(url=pg_url)
    done = Execution(id="e", status="success", params={}, executed_at=None, results=(), task_id="t")
    early = Execution(id="e", status="running", params={}, executed_at=None, results=(), task_id="t")
    history.record_executions([done], "http://x")
    history.record_executions([early], "http://x")  # an older reply arriving late
    assert list(history.executions()["status"].astype(str)) == ["success"]


def test_new_columns_reach_an_existing_server_history(pg_url) -> None:
    History(url=pg_url).executions()
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:  # as a history made before posters were kept
        conn.execute("ALTER TABLE executions DROP COLUMN posters")
    frame = History(url=pg_url).executions()
    assert "posters" in frame.columns
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE weshop_schema SET version = 99")
    with pytest.raises(HistoryError, match="newer weshop_nb"):
        History(url=pg_url).executions()


def test_the_password_is_never_shown(pg_url, postgres) -> None:
    history = History(url=pg_url)
    history.executions()
    for shown in (repr(history), history.where, str(history.__dict__)):
        assert _postgres.PASSWORD not in shown
    assert "***" in repr(history)
    with pytest.raises(HistoryError) as caught:
        history.sql("SELECT no_such_column FROM executions")
    assert _postgres.PASSWORD not in str(caught.value) and "no_such_column" in str(caught.value)
    assert "LINE 1" not in str(caught.value)  # the reason, not the statement
    wrong = pg_url.replace(_postgres.PASSWORD, "not-the-password")
    with pytest.raises(HistoryError) as caught:
        History(url=wrong).executions()
    assert caught.value.reason == "login" and "PGPASSWORD" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no driver traceback
    missing = postgres.url("no_such_db")
    with pytest.raises(HistoryError) as caught:
        History(url=missing).executions()
    assert caught.value.reason == "no_database" and _postgres.PASSWORD not in str(caught.value)


def test_a_server_that_cannot_be_reached_says_so(postgres) -> None:
    closed = _postgres._free_port()
    with pytest.raises(HistoryError) as caught:
        History(url=f"postgresql://someone:pw-9@127.0.0.1:{closed}/db", timeout=2).record_executions([], "x")
    assert caught.value.reason == "unreachable" and "WESHOP_NB_HISTORY_URL" in str(caught.value)
    assert "pw-9" not in str(caught.value) and caught.value.__cause__ is None


def test_pgpassword_and_pgpass_give_the_password(postgres, monkeypatch, tmp_path) -> None:
    bare = postgres.bare_url(postgres.new_database())
    with pytest.raises(HistoryError) as caught:
        History(url=bare).executions()
    assert caught.value.reason == "login"
    monkeypatch.setenv("PGPASSWORD", _postgres.PASSWORD)
    assert History(url=bare).executions().empty
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres.port}:*:{_postgres.USER}:{_postgres.PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert History(url=bare).executions().empty


def test_the_setting_puts_every_table_on_the_server(client, make_image, pg_url, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_NB_HISTORY_URL", pg_url)
    task = client.create_task(originalImage=client.upload_image(make_image()))
    client.wait(client.execute(task.id, {"textDescription": "x", "batchCount": 1}).id, poll_interval=0.1)
    client.agent_info()
    assert default_history().shared and History().shared
    assert not (default_history().where.endswith(".sqlite3"))
    History().remember_upload(client.base_url, "ab12", "http://x/ab12.png")
    assert History(url=pg_url).known_upload(client.base_url, "ab12") == "http://x/ab12.png"
    counts = History(url=pg_url)._counts()
    assert counts["tasks"] == 1 and counts["executions"] == 1 and counts["uploads"] == 1 and counts["catalogue"] > 0


def test_the_magic_setting_and_copy_to(ip, make_image, pg_url, tmp_path, capsys) -> None:
    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 0.3")
    ip.run_cell(f"%%weshop run --image {garment} --location 6000372 --wait -o r\none\n---\ntwo")
    ip.run_cell(f"%weshop history --copy-to {pg_url}")
    assert "2 executions" in capsys.readouterr().out
    ip.run_cell(f"%weshop history --copy-to {pg_url}")
    assert "0 executions" in capsys.readouterr().out
    try:
        ip.run_cell(f"%config WeShopMagics.history_url = {json.dumps(pg_url)}")
        ip.run_cell("%config WeShopMagics")
        shown = capsys.readouterr().out
        assert "history_url" in shown and _postgres.PASSWORD not in shown
        assert default_history().shared
        ip.run_cell("df = %weshop history")
        assert len(ip.user_ns["df"]) == 2
        ip.run_cell(f"%%weshop run --image {garment} --wait -o r2\nthree")  # recorded on the server
        assert len(History(url=pg_url).executions()) == 3
    finally:
        use_history_url(None)
    assert not default_history().shared


def test_without_the_driver_the_setting_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(HistoryError, match=r"pip install 'weshop_nb\[postgres\]'") as caught:
        History(url="postgresql://ana:pw-1@db.example.com/team")
    assert caught.value.reason == "not_installed" and "pw-1" not in str(caught.value)


def test_a_write_held_up_by_another_is_a_clear_error(pg_url) -> None:
    import psycopg

    def seen(status: str) -> list[Execution]:
        return [Execution(id="e", status=status, params={}, executed_at=None, results=())]

    history = History(url=pg_url, timeout=0.3)
    history.record_executions(seen("running"), "x")
    with psycopg.connect(pg_url) as holder:  # another program holding the row in a long transaction
        holder.execute("SELECT * FROM executions FOR UPDATE")
        with pytest.raises(HistoryError) as caught:
            history.record_executions(seen("success"), "x")
        holder.rollback()
    assert caught.value.reason == "locked" and "try again" in str(caught.value)
    history.record_executions(seen("success"), "x")
    assert list(history.executions()["status"].astype(str)) == ["success"]  # the connection is usable again
