"""Sharding: every launch spreads its executions over tasks of at most 20, never two alike on one."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from weshop_nb import History, WeShopClient, emulator
from weshop_nb.notebook.widgets._studio import Studio
from weshop_nb.work._launch import plan_shards
from weshop_nb.work._session import Session

from .conftest import API_KEY


@pytest.mark.parametrize("seed", range(6))
def test_plan_is_the_fewest_shards_under_both_rules(seed) -> None:
    rng = random.Random(seed)
    keys = [f"k{rng.randrange(rng.choice([3, 40, 400]))}" for _ in range(rng.choice([1, 19, 20, 21, 57, 300]))]
    shards = plan_shards(keys, capacity=20)
    count = max(shards) + 1
    assert count == max(math.ceil(len(keys) / 20), max(Counter(keys).values()))  # no more than either rule needs
    sizes = Counter(shards)
    assert max(sizes.values()) <= 20 and max(sizes.values()) - min(sizes.values()) <= 1
    assert len(set(zip(shards, keys, strict=True))) == len(keys)  # no key twice on one shard


def test_plan_edges() -> None:
    assert plan_shards([]) == []
    assert plan_shards(["a"] * 20) == list(range(20))  # 20 copies: 20 shards of one
    assert plan_shards([f"k{n}" for n in range(20)]) == [0] * 20  # fits: one shard


def test_the_magic_shards_a_sweep_and_everything_downstream_follows(ip, make_image, tmp_path, monkeypatch) -> None:
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    with emulator.serve(api_key=API_KEY, latency=0.3, seed=2) as emu:
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
        # 22 distinct executions: more than one task holds. (A prompt written twice is now collapsed,
        # said in one line; copies on purpose are --repeat: tests/test_launch_messages.py.)
        prompts = "\n---\n".join([f"look {n}" for n in range(11)])
        before = emu.stats()
        ip.run_cell(
            f'%%weshop run --image {photo} --name spring --location "Sunny Beach" --location "White Studio" '
            f"--batch 1 --wait -o run\n{prompts}"
        )
        after = emu.stats()
    run = ip.user_ns["run"]
    assert len(run.items) == 22 and run.counts()["success"] == 22
    by_task: dict[str, list] = {}
    for item in run.items:
        by_task.setdefault(item.job.task.id, []).append(item)
    assert len(by_task) == 2 and after["tasks_created"] - before["tasks_created"] == 2
    assert after["uploads"] - before["uploads"] == 1  # the shard's task reuses the uploaded URL
    for items in by_task.values():
        keys = [tuple(sorted(item.execution.params.items())) for item in items]
        assert len(items) <= 20 and len(set(keys)) == len(keys)
    assert after["executions_created"] - before["executions_created"] == 22
    for watcher in run.watchers:
        assert watcher.execution_queries == 0 and watcher.task_queries <= watcher.ticks
    assert after["requests"]["query"] - before["requests"].get("query", 0) == sum(w.task_queries for w in run.watchers)
    frame = run.to_frame()
    assert frame["task_id"].nunique() == 2 and set(frame["task_name"]) == {"spring"}
    stored = History().executions(source=emu.base_url)
    assert len(stored) == 22 and stored["task_id"].nunique() == 2 and set(stored["task_name"]) == {"spring"}


def test_a_task_given_by_the_user_keeps_every_execution(ip, emu, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
    task = client.create_task(originalImage=f"{emu.base_url}/files/uploads/garment.png")
    ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
    body = "\n---\n".join(f"p{n}" for n in range(22))
    ip.run_cell(f"%%weshop run --task {task.id} --batch 1 --wait -o run\n{body}")
    run = ip.user_ns["run"]
    assert {item.job.task.id for item in run.items} == {task.id} and run.counts()["success"] == 22
    (watcher,) = run.watchers
    assert watcher.execution_queries >= 2  # outside the window: asked for by id


def test_the_studio_shards_too(emu, make_image, tmp_path) -> None:
    session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
    studio = Studio(session, start_dir=str(tmp_path))
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    studio.source.choose_path(str(photo))
    studio.choices.prompts.value = "\n---\n".join(f"p{n}" for n in range(21))
    studio.choices.batch.value = 1
    run = studio.launch()
    try:
        assert run is not None and len({item.job.task.id for item in run.items}) == 2
        run.wait(timeout=30)
        assert run.counts()["success"] == 21
    finally:
        session.close()
