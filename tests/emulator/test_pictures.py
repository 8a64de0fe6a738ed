"""The emulator's pictures: photograph-like weight and texture, what was asked, repeatable, cached."""

from __future__ import annotations

import io
import math
import statistics
import struct
import time
import zlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from PIL import Image, ImageStat

from weshop_nb import emulator
from weshop_nb.emulator import agent_pictures, catalogue, pictures
from weshop_nb.emulator._inset_png import SEAM, InsetPng, _Sums
from weshop_nb.emulator._spliced_png import PngParts, SplicedPng

from ..conftest import API_KEY
from .conftest import Raw
from .test_runs_api import Runs

TEAL = (0, 128, 128)
SCENES = {entry["name"]: entry for entry in catalogue.LOCATIONS}


def _flat_garment() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 800), TEAL).save(buffer, format="PNG")
    return buffer.getvalue()


def _render(**overrides: Any) -> bytes:
    beach = SCENES["Sunny Beach"]
    asked = {
        "source": _flat_garment(),
        "colors": beach["colors"],
        "scene": beach["name"],
        "model": "Amara",
        "prompt": "linen shirt, late afternoon",
        "slot": 0,
        "size": (768, 1024),
    }
    return pictures.render_result(**{**asked, **overrides})


def _open(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.convert("RGB")


def _patch(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    width, height = image.size
    return image.crop((round(left * width), round(top * height), round(right * width), round(bottom * height)))


def _rgb(color: str) -> tuple[int, ...]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def test_a_result_weighs_like_a_photograph_and_has_texture() -> None:
    data = _render()
    image = _open(data)
    assert image.size == (768, 1024)
    assert len(data) >= 150 * 1024, f"{len(data)} bytes: too flat to stand for a photograph"
    # The garment uploaded was one flat colour; on the model it has weave and grain.
    cloth = _patch(image, 0.44, 0.38, 0.56, 0.48)
    assert ImageStat.Stat(cloth.convert("L")).stddev[0] >= 2.0
    assert len(cloth.getcolors(1 << 16)) >= 100
    # A 32 px square of wall: a gradient alone would barely change across it.
    wall = image.crop((40, 200, 72, 232))
    assert ImageStat.Stat(wall.convert("L")).stddev[0] >= 1.5
    assert len(wall.getcolors(1 << 16)) >= 50


def test_a_result_shows_the_garment_scene_model_and_prompt() -> None:
    image = _open(_render())
    cloth = ImageStat.Stat(_patch(image, 0.44, 0.38, 0.56, 0.48)).mean
    assert math.dist(cloth, TEAL) < 45, cloth
    # The wall takes the scene's colours: each scene's is nearer its own palette.
    night = SCENES["Neon Street at Night"]
    night_image = _open(_render(colors=night["colors"], scene=night["name"]))
    for picture, own, other in ((image, "Sunny Beach", night["name"]), (night_image, night["name"], "Sunny Beach")):
        wall = ImageStat.Stat(_patch(picture, 0.05, 0.2, 0.2, 0.35)).mean
        assert math.dist(wall, _rgb(SCENES[own]["colors"][0])) < math.dist(wall, _rgb(SCENES[other]["colors"][0]))
    # The model's skin follows the model: another model, another face.
    face = ImageStat.Stat(_patch(image, 0.47, 0.11, 0.53, 0.14)).mean
    other_face = ImageStat.Stat(_patch(_open(_render(model="Kenji")), 0.47, 0.11, 0.53, 0.14)).mean
    assert math.dist(face, other_face) > 10
    # The caption: a dark band with white text at the foot of the picture.
    band = _patch(image, 0, 0.82, 1, 1).convert("L")
    assert ImageStat.Stat(band).mean[0] < 60
    assert band.getextrema()[1] >= 240


def test_a_result_is_repeatable_and_each_slot_is_its_own_shot() -> None:
    first = _render()
    assert _render() == first
    assert _render(slot=1) != first
    assert _render(prompt="wool coat") != first


def test_without_a_readable_source_a_shirt_is_drawn() -> None:
    for source in (None, b"not an image"):
        image = _open(_render(source=source))
        assert image.size == (768, 1024)
        cloth = _patch(image, 0.4, 0.35, 0.6, 0.45)
        assert len(cloth.getcolors(1 << 16)) >= 100  # stripes and weave, not the backdrop


def test_the_cache_draws_each_key_once_and_keeps_to_its_bytes() -> None:
    cache = pictures.PictureCache(max_bytes=25)
    drawn: list[str] = []

    def draw(key: str) -> bytes:
        drawn.append(key)
        return key.encode() * 10

    assert cache.get_or_draw("a", lambda: draw("a")) == b"a" * 10
    assert cache.get_or_draw("a", lambda: draw("a")) == b"a" * 10
    cache.get_or_draw("b", lambda: draw("b"))
    cache.get_or_draw("a", lambda: draw("a"))  # a is now the most recent
    cache.get_or_draw("c", lambda: draw("c"))  # 30 bytes: b, the oldest, goes
    assert len(cache) == 2
    cache.get_or_draw("a", lambda: draw("a"))
    cache.get_or_draw("b", lambda: draw("b"))
    assert drawn == ["a", "b", "c", "b"]
    cache.get_or_draw("big", lambda: b"x" * 100)  # larger than the bound: kept alone
    assert len(cache) == 1


def test_the_emulator_draws_a_result_once_however_often_it_is_fetched(monkeypatch) -> None:
    calls: list[int] = []
    real = pictures.result_parts  # what the emulator draws a result with

    def counted(**kwargs: Any) -> PngParts:
        calls.append(kwargs["slot"])
        return real(**kwargs)

    monkeypatch.setattr(pictures, "result_parts", counted)
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        raw = Raw(emu.base_url)
        body = {"taskId": raw.task(), "params": {"textDescription": "x", "batchCount": 1}}
        execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
        url = raw.ok(raw.post("/agent/task/query", {"executionId": execution_id}))["executions"][0]["result"][0]
        fetched = [requests.get(url["image"], timeout=10) for _ in range(3)]
    assert [r.headers["Content-Type"] for r in fetched] == ["image/png"] * 3
    assert fetched[0].content == fetched[1].content == fetched[2].content
    assert calls == [0]


def test_a_plain_background_thumbnail_has_no_scene_in_it() -> None:
    def grey(picture: bytes, top: float) -> float:
        # Patches as far above the centre as below it darken alike under the vignette.
        return ImageStat.Stat(_patch(_open(picture).convert("L"), 0.4, top, 0.6, top + 0.1)).mean[0]

    plain = pictures.render_thumbnail("Light Grey", ("#e6e6e6", "#e6e6e6"), plain=True)
    assert abs(grey(plain, 0.45) - 0xE6) < 8
    assert abs(grey(plain, 0.25) - grey(plain, 0.65)) < 6
    scene = pictures.render_thumbnail("Light Grey", ("#e6e6e6", "#e6e6e6"))
    assert grey(scene, 0.25) - grey(scene, 0.65) > 15  # a scene: the floor is in shadow


def test_the_emulator_draws_a_clip_once_however_often_it_is_fetched(monkeypatch, emu) -> None:
    calls: list[int] = []
    real = agent_pictures.render_video

    def counted(emulator_: Any, record: Any, slot: int) -> bytes:
        calls.append(slot)
        return real(emulator_, record, slot)

    monkeypatch.setattr(agent_pictures, "render_video", counted)
    runs = Runs(emu.base_url)
    body = {
        "agent": {"name": "kling", "version": "v1.0"},
        "input": {"images": ["https://cdn.test/a.png"]},
        "params": {"textDescription": "slow pan", "batchCount": 1},
    }
    data, _ = runs.wait(runs.ok(runs.post("/runs", body))["executionId"])
    video = data["executions"][-1]["result"][0]["video"]
    fetched = [requests.get(video, timeout=10) for _ in range(3)]
    assert [r.status_code for r in fetched] == [200] * 3
    assert fetched[0].content == fetched[2].content
    assert calls == [0]


def test_results_are_distinct_photograph_weight_pngs_that_differ_only_in_their_caption() -> None:
    # Executions of a sweep differ in prompt, scene or model; pictures of a batch in slot.
    first, second = _render(prompt="linen shirt, dusk", agent="aimodel"), _render(prompt="linen shirt, noon")
    assert first != second
    for data in (first, second):
        assert len(data) >= 512 * 1024, f"{len(data)} bytes: lighter than the service's pictures"
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # chunk checksums and the zlib stream's end
    one, other = _open(first), _open(second)
    assert one.size == (768, 1024)
    # The photograph is shared (drawn once); the caption band names each result.
    assert _patch(one, 0, 0, 1, 0.8).tobytes() == _patch(other, 0, 0, 1, 0.8).tobytes()
    assert _patch(one, 0, 0.81, 1, 1).tobytes() != _patch(other, 0, 0.81, 1, 1).tobytes()


def test_a_batch_of_four_shows_four_shots() -> None:
    shots = [_patch(_open(_render(slot=slot)), 0, 0, 1, 0.8).tobytes() for slot in range(4)]
    assert len(set(shots)) == 4


def test_a_result_after_its_photograph_is_drawn_costs_a_few_milliseconds() -> None:
    _render(prompt="warm-up")
    cpu = []
    for n in range(15):
        started = time.thread_time()
        _render(prompt=f"a prompt {n}")
        cpu.append(time.thread_time() - started)
    # About 2 ms on a quiet machine (80 ms when each picture was drawn whole); bound loose for busy ones.
    assert statistics.median(cpu) < 0.025, cpu


def test_a_spliced_png_is_its_head_above_its_tail() -> None:
    head = Image.effect_noise((64, 40), 60).convert("RGB")
    tail = Image.new("RGB", (64, 9), (200, 10, 30))
    tail.paste((0, 255, 0), (5, 2, 20, 6))
    picture = _open(SplicedPng(head, 9).png(tail))
    assert picture.size == (64, 49)
    assert picture.crop((0, 0, 64, 40)).tobytes() == head.tobytes()
    assert picture.crop((0, 40, 64, 49)).tobytes() == tail.tobytes()


def test_the_emulator_counts_cpu_per_picture_served(emu) -> None:
    raw = Raw(emu.base_url)
    body = {"taskId": raw.task(), "params": {"textDescription": "x", "batchCount": 2}}
    execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = raw.ok(raw.post("/agent/task/query", {"executionId": execution_id}))["executions"][0]
        if view["status"] == "Success":
            break
        time.sleep(0.05)
    for result in view["result"]:
        assert requests.get(result["image"], timeout=10).status_code == 200
    stats = raw.get("/_emulator/stats").json()
    assert stats["pictures_served"] == 2
    assert stats["picture_cpu_ms"]["max"] >= stats["picture_cpu_ms"]["median"] > 0


def test_the_photographs_are_drawn_while_the_execution_runs(emu, monkeypatch) -> None:
    drawn: list[int] = []
    real = pictures._draw_scene

    def counted(*args: Any, **kwargs: Any) -> Any:
        drawn.append(kwargs["pose"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pictures, "_draw_scene", counted)
    monkeypatch.setattr(pictures, "_shots", OrderedDict())  # none kept from other tests
    raw = Raw(emu.base_url)
    body = {"taskId": raw.task(), "params": {"textDescription": "x", "locationId": 6000401, "batchCount": 4}}
    raw.ok(raw.post("/agent/task/execute", body))
    deadline = time.monotonic() + 10
    while raw.get("/_emulator/stats").json()["drawing_ahead_cpu_s"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(drawn) == [0, 1]  # two poses, each also served mirrored: four shots
    assert raw.get("/_emulator/stats").json()["pictures_served"] == 0


def test_an_execution_whose_pictures_are_due_is_drawn_when_asked_not_ahead(emu) -> None:
    # The drawer is behind (a catalogue launches faster than it draws): by the time it takes
    # an execution up, its first picture is due and may be asked for; drawing it then too
    # would double the work.
    app, raw = emu.emulator, Raw(emu.base_url)
    body = {"taskId": raw.task(), "params": {"textDescription": "x", "locationId": 6000401, "batchCount": 4}}
    execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
    deadline = time.monotonic() + 10
    while app.stats()["drawing_ahead_cpu_s"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # drawn ahead while it runs, as every new execution is
    record = app.store.executions[execution_id]
    record.accepted_at -= 60  # now long finished: as if the drawer only now took it up
    before = app.stats()["drawing_ahead_cpu_s"]
    app.draw_ahead(record)
    deadline = time.monotonic() + 10
    while app.stats()["drawing_ahead_skipped"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.stats()["drawing_ahead_skipped"] == 1
    assert app.stats()["drawing_ahead_cpu_s"] == before


def test_a_new_garment_asked_for_by_a_whole_batch_at_once_is_encoded_once(monkeypatch) -> None:
    made: list[int] = []
    real = InsetPng.inset

    def counted(self: InsetPng, piece: Image.Image, x: int) -> Any:
        made.append(x)
        time.sleep(0.05)  # long enough for the batch's other requests to arrive meanwhile
        return real(self, piece, x)

    monkeypatch.setattr(InsetPng, "inset", counted)
    monkeypatch.setattr(pictures, "_garments", OrderedDict())
    garment = _solid((12, 34, 56))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda slot: _render(source=garment, slot=slot), range(4)))
    assert len(made) == 1  # opaque: one inset serves every shot


# -- the catalogue agents and kling's last frame: each result shows what the agent did --

RED, BLUE, GREEN, SKY = (200, 30, 40), (30, 60, 200), (40, 150, 60), (110, 180, 235)


def _solid(color: tuple[int, int, int], size: tuple[int, int] = (640, 800)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(runs: Runs, data: bytes) -> str:
    response = requests.post(
        f"{runs.base}/openapi/agent/assets/images",
        files={"image": ("p.png", data, "image/png")},
        headers={"Authorization": runs.key},
        timeout=10,
    )
    return runs.ok(response)["image"]


def _result(runs: Runs, agent: str, images: list[bytes], **params: Any) -> tuple[Image.Image, dict]:
    urls = [_upload(runs, data) for data in images]
    body = {
        "agent": {"name": agent, "version": "v1.0"},
        "input": {"images": urls},
        "params": {**params, "batchCount": 1},
    }
    data, _ = runs.wait(runs.ok(runs.post("/runs", body))["executionId"])
    result = data["executions"][-1]["result"][0]
    fetched = requests.get(result.get("image") or result["videoPoster"], timeout=10)
    assert fetched.status_code == 200
    return _open(fetched.content), result


def _near(pixel: tuple[int, ...], color: tuple[int, int, int], within: int = 60) -> bool:
    return all(abs(a - b) <= within for a, b in zip(pixel, color, strict=False))


def _mean(image: Image.Image, box: tuple[float, float, float, float]) -> tuple[int, ...]:
    return tuple(round(v) for v in ImageStat.Stat(_patch(image, *box)).mean)


def test_a_ghost_mannequin_is_the_garment_alone_on_white(emu) -> None:
    picture, _ = _result(Runs(emu.base_url), "ai-ghost-mannequin-generator", [_solid(RED)], aspectRatio="4:3")
    assert picture.size == (1024, 768)  # the aspectRatio asked for
    assert min(_mean(picture, (0.02, 0.3, 0.1, 0.5))) > 190  # white paper, no scene
    assert _near(_mean(picture, (0.45, 0.35, 0.55, 0.5)), RED)  # the garment in the middle
    assert not _near(_mean(picture, (0.45, 0.03, 0.55, 0.07)), (222, 184, 160), 30)  # no one's head above it


def test_a_flat_lay_is_the_garment_on_a_table_top(emu) -> None:
    picture, _ = _result(Runs(emu.base_url), "flat-lay", [_solid(BLUE)], textDescription="folded")
    assert picture.size == (1024, 1024)  # its default 1:1
    assert _near(_mean(picture, (0.42, 0.4, 0.58, 0.55)), BLUE)
    edge = _mean(picture, (0.01, 0.4, 0.05, 0.6))
    assert min(edge) > 120 and not _near(edge, BLUE)  # a pale table around it


def test_a_clothes_changer_keeps_picture_1_and_dresses_it_in_picture_2(emu) -> None:
    runs = Runs(emu.base_url)
    picture, _ = _result(runs, "ai-clothes-changer", [_solid(GREEN, (600, 900)), _solid(RED)])
    assert picture.size == (683, 1024)  # the person's picture's shape
    assert _near(_mean(picture, (0, 0, 0.1, 0.5)), GREEN)  # picture 1 kept around the person
    assert _near(_mean(picture, (0.4, 0.35, 0.6, 0.5)), RED)  # wearing the garment of picture 2
    swapped, _ = _result(runs, "ai-clothes-changer", [_solid(RED, (600, 900)), _solid(GREEN)])
    assert _near(_mean(swapped, (0, 0, 0.1, 0.5)), RED) and _near(_mean(swapped, (0.4, 0.35, 0.6, 0.5)), GREEN)


def test_an_outfit_is_new_and_follows_the_prompt(emu) -> None:
    runs = Runs(emu.base_url)
    casual, _ = _result(runs, "outfit-generator", [_solid(GREEN, (600, 900))], textDescription="casual")
    formal, _ = _result(runs, "outfit-generator", [_solid(GREEN, (600, 900))], textDescription="formal")
    assert _near(_mean(casual, (0, 0, 0.1, 0.5)), GREEN)  # the person's picture kept
    assert not _near(_mean(casual, (0.4, 0.35, 0.6, 0.5)), GREEN, 20)  # in something new
    assert _mean(casual, (0.3, 0.3, 0.7, 0.6)) != _mean(formal, (0.3, 0.3, 0.7, 0.6))


def test_a_photoshoot_puts_the_person_of_picture_1_in_the_scene_of_picture_2(emu) -> None:
    runs = Runs(emu.base_url)
    picture, result = _result(
        runs, "ai-photoshoot", [_solid(RED, (600, 900)), _solid(SKY, (900, 600))], modelName="nano", aspectRatio="16:9"
    )
    assert picture.size == (1024, 576) and "lastFrame" not in result
    assert _near(_mean(picture, (0, 0, 0.15, 0.4)), SKY)  # the scene
    assert _near(_mean(picture, (0.47, 0.45, 0.53, 0.55)), RED)  # the person standing in it
    assert _near(_mean(picture, (0.85, 0.1, 1, 0.4)), SKY)  # only there: cut out, not pasted whole


def test_klings_last_frame_ends_the_clip_and_is_served_as_a_still(emu) -> None:
    runs = Runs(emu.base_url)
    _, one = _result(runs, "kling", [_solid(RED)], textDescription="pan")
    assert set(one) == {"status", "video", "videoPoster"}  # no last frame given, none returned
    poster, two = _result(runs, "kling", [_solid(RED), _solid(SKY, (900, 600))], textDescription="pan")
    last = requests.get(two["lastFrame"], timeout=10)
    assert last.status_code == 200 and last.headers["Content-Type"] == "image/png"
    still = _open(last.content)
    assert _near(_mean(still, (0.1, 0.1, 0.9, 0.5)), SKY)  # the picture it was given
    assert not _near(_mean(poster, (0.1, 0.1, 0.9, 0.5)), SKY)  # the poster is the first frame
    clip = Image.open(io.BytesIO(requests.get(two["video"], timeout=10).content))
    clip.seek(clip.n_frames - 1)
    assert _near(_mean(clip.convert("RGB"), (0.1, 0.1, 0.9, 0.5)), SKY)  # the clip ends on it
    assert requests.get(one["videoPoster"].replace("/results/", "/frames/"), timeout=10).status_code == 404


def test_a_catalogue_photograph_is_drawn_once_and_captioned_per_result(emu, monkeypatch) -> None:
    runs = Runs(emu.base_url)
    calls: list[int] = []
    real = agent_pictures._DRAWINGS["flat-lay"]
    monkeypatch.setitem(agent_pictures._DRAWINGS, "flat-lay", lambda *a: calls.append(a[2]) or real(*a))
    url = _upload(runs, _solid((90, 20, 120)))
    body = {"agent": {"name": "flat-lay", "version": "v1.0"}, "input": {"images": [url]}}
    body["params"] = {"textDescription": "spread out", "batchCount": 4}
    data, _ = runs.wait(runs.ok(runs.post("/runs", body))["executionId"])
    fetched = [requests.get(r["image"], timeout=10).content for r in data["executions"][-1]["result"]]
    assert len(set(fetched)) == 4  # four results, each its own caption (and 3 and 4 mirrored)
    assert sorted(calls) == [0, 1]  # two drawings for the batch, however often fetched
    first, mirrored = _open(fetched[0]), _open(fetched[2])
    band = 0.8
    assert (
        _patch(first, 0, 0, 1, band).transpose(Image.Transpose.FLIP_LEFT_RIGHT).tobytes()
        == _patch(mirrored, 0, 0, 1, band).tobytes()
    )


def test_an_inset_png_decodes_to_exactly_the_picture_composed() -> None:
    scene = Image.effect_noise((64, 50), 60).convert("RGB")
    head = InsetPng(scene, (10, 40), 9)
    tail = Image.new("RGB", (64, 9), (1, 2, 3))
    for piece in (Image.new("RGBA", (20, 25), (200, 10, 30, 255)), Image.new("RGBA", (20, 30), (0, 200, 0, 128))):
        inset = head.inset(piece, 17)
        data = b"".join(head.parts(inset, 17, tail))
        # The pixels' zlib stream, from every IDAT chunk: zlib checks the Adler-32 put together from sums.
        stream, at = b"", 8
        while at < len(data):
            (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
            stream += data[at + 8 : at + 8 + length] if kind == b"IDAT" else b""
            at += 12 + length
        assert len(zlib.decompress(stream)) == 59 * (1 + 64 * 3)
        edges = piece.copy()  # an opaque piece's side columns are the seam; else the scene shows there
        for column in (0, piece.width - 1):
            edges.paste((*SEAM, 255) if inset.anywhere else (0, 0, 0, 0), (column, 0, column + 1, piece.height))
        composed = Image.new("RGB", (64, 59))
        composed.paste(scene, (0, 0))
        composed.paste(edges, (17, 10), edges)
        composed.paste(tail, (0, 50))
        assert _open(data).tobytes() == composed.tobytes()


def test_two_garments_on_one_scene_share_it_and_each_shows_its_own_colour() -> None:
    coral = (240, 110, 90)
    buffer = io.BytesIO()
    Image.new("RGB", (700, 900), coral).save(buffer, format="PNG")
    teal, other = _open(_render()), _open(_render(source=buffer.getvalue()))
    assert math.dist(ImageStat.Stat(_patch(teal, 0.44, 0.38, 0.56, 0.48)).mean, TEAL) < 45
    assert math.dist(ImageStat.Stat(_patch(other, 0.44, 0.38, 0.56, 0.48)).mean, coral) < 45
    # The scene and model, drawn once: the same pixels beside and above the garment.
    for box in ((0, 0, 1, 0.2), (0, 0.2, 0.2, 0.6), (0.8, 0.2, 1, 0.6)):
        assert _patch(teal, *box).tobytes() == _patch(other, *box).tobytes()


def test_adler_sums_join_as_the_checksum_of_the_joined_bytes() -> None:
    first, second = bytes(range(256)) * 300, b"\xff" * 70000 + b"grain"
    joined = _Sums.of(first).then(_Sums.of(second))
    assert joined.adler() == zlib.adler32(first + second)
    assert _Sums.of(second).adler(zlib.adler32(first)) == zlib.adler32(first + second)


def test_a_result_is_a_few_idat_chunks_so_a_client_reads_it_like_any_png() -> None:
    # Pillow's reader spends Python per chunk: a chunk per row part (~1,250) cost a client
    # 45 % more CPU per picture. The caption's chunk is the picture's own; the rest are kept.
    for source in (_flat_garment(), None):
        data = _render(source=source, prompt="a prompt of its own")
        kinds, at = [], 8
        while at < len(data):
            length, kind = struct.unpack(">I4s", data[at : at + 8])
            kinds.append(kind)
            at += 12 + length
        assert at == len(data) and kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
        assert 1 <= kinds.count(b"IDAT") <= 4, kinds.count(b"IDAT")
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # every chunk's CRC-32, the kept ones included
