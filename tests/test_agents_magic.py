"""Every agent through ``%%weshop run``: rules refused before any request, sweeps over
``--param`` values, other images with ``--input``, ``--estimate``, the registry commands,
and the history's cost columns, on both APIs."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from weshop_nb import contract
from weshop_nb.work._plan import LaunchPlan


@pytest.fixture(params=["v1", "runs"])
def api(request, monkeypatch) -> str:
    monkeypatch.setenv("WESHOP_API", request.param)
    return request.param


@pytest.fixture
def demo(ip, api):
    ip.run_cell("%config WeShopMagics.poll_interval = 0.05")
    ip.run_cell("%weshop demo --latency 0.2 --seed 3")
    magics = ip.magics_manager.registry["WeShopMagics"]
    assert magics.client.api == api
    return magics


@pytest.fixture
def photos(make_image, tmp_path):
    garment, person = tmp_path / "garment.png", tmp_path / "person.png"
    garment.write_bytes(make_image(640, 800))
    person.write_bytes(make_image(600, 900, color="orange"))
    return garment, person


TRYON = "--agent virtualtryon --param generateVersion=weshopPro --param descriptionType=auto"
#: Each local rule, as a person would break it in the magic: (options, cell body, the words that say so).
LOCAL_RULES = {
    "custom description without text": (
        "--agent virtualtryon --param generateVersion=weshopPro --param descriptionType=custom",
        "",
        "descriptionType=custom needs textDescription.",
    ),
    "bananaPro without imageSize": (
        "--agent virtualtryon --param generateVersion=bananaPro --param descriptionType=auto",
        "",
        "generateVersion=bananaPro needs imageSize.",
    ),
    "aspectRatio with weshopFlash": (
        "--agent virtualtryon --param generateVersion=weshopFlash --param descriptionType=auto --param aspectRatio=3:4",
        "",
        "aspectRatio is only used with generateVersion weshopPro or bananaPro, not weshopFlash.",
    ),
    "aspectRatio with weshopFlash, in a sweep": (
        f"{TRYON} --param generateVersion=weshopFlash --param aspectRatio=3:4",
        "",
        "not weshopFlash (in the sweep: generateVersion=weshopFlash).",
    ),
    "targetWidth 5000": (
        "--agent expandimage --param targetWidth=5000 --param targetHeight=800",
        "",
        "targetWidth 5000 is out of range (1 to 4096): over the maximum 4096 by 904.",
    ),
    "targetWidth not a number": (
        "--agent expandimage --param targetWidth=wide --param targetHeight=800",
        "",
        "targetWidth must be an integer, got str 'wide'.",
    ),
    "backgroundHex not #rrggbb": (
        "--agent removeBG --param maskType=autoSubjectSegment --param backgroundHex=fff",
        "",
        "backgroundHex 'fff' is not #rrggbb.",
    ),
    "colour and preset background": (
        "--agent removeBG --param maskType=autoSubjectSegment --param backgroundHex=#ffffff --param backgroundId=1",
        "",
        "give backgroundHex or backgroundId, not both",
    ),
    "kling with three images": (
        "--agent kling --input images={garment} --input images={person}",
        "slow pan",
        "kling takes 1 or 2 images in images (the first frame, then optionally the last frame), got 3.",
    ),
    "kling last frame with Kling_2_1_Master": (
        "--agent kling --param modelName=Kling_2_1_Master --input images={person}",
        "slow pan",
        "kling takes at most 1 image in images with modelName Kling_2_1_Master (the first frame only, "
        "no last frame), got 2.",
    ),
    "clothes changer without the garment": (
        "--agent ai-clothes-changer",
        "",
        "ai-clothes-changer takes exactly 2 images in images (the person first, then the garment), got 1.",
    ),
    "photoshoot with three pictures": (
        "--agent ai-photoshoot --input images={person} --input images={garment}",
        "",
        "ai-photoshoot takes exactly 2 images in images (the character first, then the scene reference), got 3.",
    ),
    "ghost mannequin with two pictures": (
        "--agent ai-ghost-mannequin-generator --input images={person}",
        "",
        "ai-ghost-mannequin-generator takes exactly 1 image in images",
    ),
    "photoshoot 21:9 without nano": (
        "--agent ai-photoshoot --input images={person} --param aspectRatio=21:9",
        "",
        "aspectRatio '21:9' is not allowed with modelName qwen; use one of: auto, 1:1",
    ),
    "photoshoot imageSize without nano": (
        "--agent ai-photoshoot --input images={person} --param modelName=firered --param imageSize=2K",
        "",
        "imageSize is only used with modelName nano, not firered.",
    ),
    "flat lay without its prompt": (
        "--agent flat-lay",
        "",
        "textDescription is required for flat-lay: how to lay it out (no default).",
    ),
    "flat lay auto shape": (
        "--agent flat-lay --param aspectRatio=auto",
        "folded",
        "aspectRatio 'auto' is not allowed; use one of: 1:1",
    ),
    "outfit generator with a parameter it does not take": (
        "--agent outfit-generator --param modelName=nano",
        "casual",
        "Unknown parameter(s) for outfit-generator: modelName. Known: batchCount, textDescription.",
    ),
    "kling 20 seconds": (
        "--agent kling --param duration=20s",
        "pan",
        "duration '20s' is not allowed with modelName Kling_3_0",
    ),
    "kling audio that is not a flag": (
        "--agent kling --param generateAudio=maybe",
        "pan",
        "generateAudio must be true or false",
    ),
    "unknown value lists the allowed ones": (
        "--agent virtualtryon --param generateVersion=turbo --param descriptionType=auto",
        "",
        "generateVersion 'turbo' is not allowed; use one of: weshopFlash, weshopPro, bananaPro.",
    ),
    "unknown parameter lists the known ones": (
        "--agent removeBG --param maskType=autoSubjectSegment --param colour=red",
        "",
        "Unknown parameter(s) for removeBG: colour. Known: backgroundHex, backgroundId, batchCount",
    ),
    "unknown image": (
        f"{TRYON} --input backgroundImage={{person}}",
        "",
        "Unknown input(s) for virtualtryon: backgroundImage.",
    ),
    "one image given twice": (
        f"{TRYON} --input fashionModelImage={{person}} --input fashionModelImage={{garment}}",
        "",
        "fashionModelImage takes one image for virtualtryon, given 2 times.",
    ),
    "an option the agent does not take": (
        "--agent removeBG --location 6000372",
        "",
        "--location sets locationId, which removeBG does not take",
    ),
    "a prompt the agent does not take": (
        "--agent expandimage --param targetWidth=900 --param targetHeight=900",
        "wider",
        "a prompt sets textDescription, which expandimage does not take",
    ),
    "one parameter set twice": (
        f"{TRYON} --batch 2 --param batchCount=3",
        "",
        "batchCount is set by --batch and by --param; give it once.",
    ),
    "aiproduct with nothing to generate": (
        "--agent aiproduct --param maskType=autoSubjectSegment",
        "",
        "Nothing to generate: aiproduct needs at least one of textDescription or locationId "
        "(write a prompt, --location).",
    ),
    "aipose without its prompt": ("--agent aipose", "", "textDescription is required for aipose: describe the pose."),
    "an agent the registry does not know": (
        "--agent faceswap",
        "x",
        "Unknown agent faceswap v1.0; known: aimodel v1.0, virtualtryon v1.0",
    ),
}


@pytest.mark.parametrize("case", LOCAL_RULES)
def test_each_local_rule_is_refused_with_no_request(demo, ip, photos, case) -> None:
    options, body, words = LOCAL_RULES[case]
    garment, person = photos
    emu = demo.emulator
    before = dict(emu.stats()["requests"])
    line = f"weshop run --image {garment} {options.format(garment=garment, person=person)}"
    with pytest.raises(UsageError) as refused:
        ip.run_cell(f"%%{line}\n{body}" if body else f"%{line}")
    assert words in str(refused.value)
    assert emu.stats()["requests"] == before  # not an upload, not a catalogue read, nothing


def test_the_plan_names_each_rule() -> None:
    plan = LaunchPlan(
        agent="virtualtryon",
        param_values=[("generateVersion", ["weshopFlash"]), ("descriptionType", ["custom"]), ("aspectRatio", ["3:4"])],
        image="garment.png",
        input_pairs=[("images", "a.png"), ("images", "b.png")],
    )
    assert [(p.key, p.rule) for p in plan.problems()] == [
        ("images", "count"),
        ("textDescription", "required_when"),
        ("aspectRatio", "only_with"),
    ]
    assert LaunchPlan(agent="nope").problems()[0].rule == "unknown"
    assert LaunchPlan(prompts=["p"], batch=17).problems()[0].rule == "range"


def test_a_repeated_param_sweeps_with_prompts_and_locations(demo, ip, photos, api) -> None:
    garment, _ = photos
    ip.run_cell(
        f"%%weshop run --image {garment} --location 6000372 --location 'Sunny Beach' "
        "--param pose=freePose --param pose=originalImagePose --param pose=freePose --batch 1 --wait -o sweep\n"
        "on a terrace\n---\nat dusk"
    )
    run = ip.user_ns["sweep"]
    assert len(run.items) == 2 * 2 * 2  # prompts x locations x poses (a repeated value counts once)
    combos = {(e.params["textDescription"], e.params["locationId"], e.params["pose"]) for e in run.executions}
    assert len(combos) == 8 and {pose for _, _, pose in combos} == {"freePose", "originalImagePose"}
    assert run.done and all(item.status == "success" for item in run.items)
    assert len({item.job.task.id for item in run.items}) == (1 if api == "v1" else 8)  # a run is a task


def test_virtual_try_on_with_a_model_image_and_an_aspect_ratio_sweep(demo, ip, photos, api) -> None:
    garment, person = photos
    ip.run_cell(
        f"%weshop run --image {garment} --input fashionModelImage={person} {TRYON} "
        "--param aspectRatio=3:4 --param aspectRatio=9:16 --batch 1 --wait -o tryon"
    )
    run = ip.user_ns["tryon"]
    assert [e.params["aspectRatio"] for e in run.executions] == ["3:4", "9:16"]
    assert all(item.status == "success" for item in run.items)
    task = demo.client.get_task(run.items[0].job.task.id)
    base = demo.client.base_url
    assert task.init_params["originalImage"].startswith(base) and task.init_params["fashionModelImage"].startswith(base)
    assert task.init_params["fashionModelImage"] != task.init_params["originalImage"]  # both uploaded, each its own


def test_values_are_converted_by_the_registry_kinds(demo, ip, photos) -> None:
    garment, _ = photos
    ip.run_cell(
        f"%weshop run --image {garment} --agent expandimage --param targetWidth=1200 --param targetHeight=1000 "
        "--param fillLeft=0 --batch 1 --wait -o wide"
    )
    params = ip.user_ns["wide"].executions[0].params
    assert (params["targetWidth"], params["targetHeight"], params["fillLeft"]) == (1200, 1000, 0)
    ip.run_cell(
        f"%%weshop run --image {garment} --agent kling --param modelName=Kling_2_6 --param generateAudio=true "
        "--batch 1 --wait -o clip\nslow pan"
    )
    run = ip.user_ns["clip"]
    assert run.executions[0].params["generateAudio"] is True
    frame = run.to_frame()
    assert list(frame["media"]) == ["video"] and len(frame["videos"][0]) == 1


def test_two_pictures_in_order_with_image_then_input(demo, ip, photos, api) -> None:
    garment, person = photos
    ip.run_cell(
        f"%%weshop run --image {person} --agent ai-clothes-changer --input images={garment} --batch 1 --wait -o dressed"
        "\nimage 1 wearing image 2"
    )
    run = ip.user_ns["dressed"]
    assert [item.status for item in run.items] == ["success"]
    images = demo.client.get_task(run.items[0].job.task.id).init_params["images"]
    assert len(images) == 2 and len(set(images)) == 2  # the person, then the garment, each uploaded
    assert all(url.startswith(demo.client.base_url) for url in images)
    # kling with a last frame: the same two forms; its results carry their posters.
    ip.run_cell(
        f"%%weshop run --image {garment} --agent kling --input images={person} --param modelName=Kling_2_6 "
        "--batch 1 --wait -o clip\nturn to the camera"
    )
    clip = ip.user_ns["clip"]
    assert len(demo.client.get_task(clip.items[0].job.task.id).init_params["images"]) == 2
    assert list(clip.to_frame()["media"]) == ["video"]


def test_estimate_prints_the_whole_sweep_and_launches_nothing(demo, ip, photos, api) -> None:
    garment, _ = photos
    emu = demo.emulator
    line = f"%weshop run --image {garment} {TRYON} --param aspectRatio=3:4 --param aspectRatio=9:16 --batch 2"
    with capture_output() as captured:
        ip.run_cell(f"{line} --estimate -o cost")
    assert emu.stats()["executions_created"] == 0 and emu.stats()["tasks_created"] == 0
    estimate = ip.user_ns["cost"]
    if api == "runs":
        assert f"Estimate for 2 executions: {estimate.points} points in all" in captured.stdout
        ip.run_cell(f"{line} --wait -o launched")
        billed = ip.user_ns["launched"].to_frame()["power_consumption"]
        assert billed.sum() == estimate.points > 0
    else:
        assert estimate.points is None
        assert "the v1 API has no cost estimate" in captured.stdout
        assert emu.stats()["uploads"] == 0  # on v1 an estimate sends nothing at all


def test_the_history_sums_what_an_experiment_cost(demo, ip, photos, api) -> None:
    garment, _ = photos
    sweep = "--param generateVersion=lite --param generateVersion=pro"
    ip.run_cell(f"%%weshop run --image {garment} --agent aipose {sweep} --batch 1 --wait -o a\narms up")
    ip.run_cell(
        f"%weshop run --image {garment} --agent removeBG --param maskType=autoSubjectSegment --batch 2 --wait -o b"
    )
    ip.run_cell("h = %weshop history")
    frame = ip.user_ns["h"]
    assert sorted(frame["agent_name"]) == ["aipose", "aipose", "removeBG"]
    assert set(frame["media"]) == {"image"}
    if api == "runs":
        spent = int(frame["power_consumption"].sum())
        assert spent > 0 and int(frame["power_balance"].min()) == 100_000 - spent
    else:
        assert frame["power_consumption"].isna().all()  # the v1 API says nothing of points


def test_agents_and_help_agent_show_the_registry(ip) -> None:
    with capture_output() as captured:
        ip.run_cell("%weshop agents")
    for name in contract.agents():
        assert f"\n  {name} " in captured.stdout
    assert "video" in captured.stdout
    with capture_output() as captured:
        ip.run_cell("%weshop help removeBG")
    text = captured.stdout
    assert (
        "backgroundHex" in text
        and "text, like #rrggbb" in text
        and "at most one of backgroundHex or backgroundId" in text
    )
    with capture_output() as captured:
        ip.run_cell("%weshop help kling")
    assert "--image fills images" in captured.stdout and "one of Kling_3_0" in captured.stdout
    assert "images[1] the last frame (optional): --input images=PATH|URL" in captured.stdout
    assert "at most 1 image in images with modelName Kling_2_1_Master" in captured.stdout
    with capture_output() as captured:
        ip.run_cell("%weshop help ai-clothes-changer")
    text = captured.stdout
    assert "list of exactly 2: the person first, then the garment" in text
    assert "images[0] the person: --image" in text and "images[1] the garment: --input images=PATH|URL" in text
    with capture_output() as captured:
        ip.run_cell("%weshop help ai-photoshoot")
    assert (
        "16:9, 9:16, 21:9; default auto" in captured.stdout and "imageSize only with modelName nano" in captured.stdout
    )
    with capture_output() as captured:
        ip.run_cell("%weshop help run")
    assert "--param KEY=VALUE" in captured.stdout and "--estimate" in captured.stdout
    with pytest.raises(UsageError, match="No subcommand or agent 'faceswap'"):
        ip.run_cell("%weshop help faceswap")


def test_the_parameters_page_covers_every_agent() -> None:
    from pathlib import Path

    from weshop_nb import contract

    page = (Path(__file__).parent.parent / "docs" / "parameters.md").read_text()
    for name in contract.agents():
        found = contract.spec(name)
        assert f"## {name}:" in page, name
        section = page.split(f"## {name}:", 1)[1].split("\n## ", 1)[0]
        for key in (*found.param_names, *(i.name for i in found.inputs if i.name != "images" or name == "kling")):
            assert f"`{key}`" in section, (name, key)
