"""The agent registry: every rule it states, a valid call per agent, and the derived names."""

from __future__ import annotations

import pytest

from weshop_nb import contract

URL = "https://cdn.test/garment.png"
ORIGINAL = {"originalImage": URL}

VALID = {
    "aimodel": (
        {
            "generatedContent": "freeCreation",
            "maskType": "autoApparelSegment",
            "textDescription": "street",
            "batchCount": 1,
        },
        ORIGINAL,
    ),
    "virtualtryon": (
        {"generateVersion": "bananaPro", "descriptionType": "auto", "aspectRatio": "2:3", "imageSize": "2K"},
        {**ORIGINAL, "fashionModelImage": URL, "locationImage": URL, "taskName": "tryon"},
    ),
    "aiproduct": ({"generatedContent": "referToOrigin", "maskType": "autoSubjectSegment", "locationId": 10}, ORIGINAL),
    "aipose": ({"textDescription": "arms up", "generateVersion": "pro", "batchCount": 16}, ORIGINAL),
    "expandimage": ({"targetWidth": 4096, "targetHeight": 2048, "fillLeft": 0, "fillTop": 0}, ORIGINAL),
    "removeBG": ({"maskType": "autoSubjectSegment", "backgroundHex": "#FFaa00"}, ORIGINAL),
    "kling": (
        {"textDescription": "slow pan", "modelName": "Kling_2_6", "duration": "10s", "generateAudio": True},
        {"images": [URL]},
    ),
    "ai-ghost-mannequin-generator": ({"aspectRatio": "auto", "imageSize": "4K", "batchCount": 1}, {"images": [URL]}),
    "flat-lay": (
        {"textDescription": "folded, top view", "modelName": "nano", "aspectRatio": "21:9"},
        {"images": [URL], "originalImage": URL},
    ),
    "ai-clothes-changer": ({"textDescription": "image 1 wearing image 2"}, {"images": [URL, URL]}),
    "outfit-generator": ({}, {"images": [URL]}),
    "ai-photoshoot": (
        {"modelName": "nano", "aspectRatio": "21:9", "imageSize": "2K", "textDescription": "sitting"},
        {"images": [URL, URL], "originalImage": URL},
    ),
}
TWO = {"images": [URL, URL]}


def messages(agent, params, inputs=None, **kw) -> list[str]:
    return [str(p) for p in contract.check(agent, params, inputs, **kw)]


def the_problem(agent, params, inputs=None, **kw) -> contract.Problem:
    problems = contract.check(agent, params, inputs, **kw)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_registry_lists_the_twelve_agents_at_v1() -> None:
    assert contract.agents() == [
        "aimodel",
        "virtualtryon",
        "aiproduct",
        "aipose",
        "expandimage",
        "removeBG",
        "kling",
        "ai-ghost-mannequin-generator",
        "flat-lay",
        "ai-clothes-changer",
        "outfit-generator",
        "ai-photoshoot",
    ]
    assert {s.version for s in contract.REGISTRY.values()} == {"v1.0"}
    assert [n for n, s in contract.REGISTRY.items() if s.output == "video"] == ["kling"]


@pytest.mark.parametrize("agent", list(VALID))
def test_a_valid_call_per_agent(agent) -> None:
    params, inputs = VALID[agent]
    assert messages(agent, params, inputs) == []
    contract.validate(agent, params, inputs)  # does not raise


def test_the_official_clients_image_copy_in_params_is_accepted() -> None:
    params, _ = VALID["aimodel"]
    assert messages("aimodel", {**params, "images": [URL]}, ORIGINAL) == []
    assert messages("kling", {"textDescription": "x", "images": [URL]}, {"originalImage": URL}) == []


@pytest.mark.parametrize(
    ("agent", "params", "inputs", "rule", "text"),
    [
        # at least one of
        ("aimodel", {"generatedContent": "freeCreation", "maskType": "custom", "customMaskUrl": URL}, None,
         "at_least_one", "at least one of textDescription, locationId or fashionModelId"),
        ("aiproduct", {"generatedContent": "freeCreation", "maskType": "autoSubjectSegment", "textDescription": " "},
         None, "at_least_one", "at least one of textDescription or locationId"),
        # required, with the parameter's meaning
        ("aipose", {}, None, "required", "textDescription is required for aipose: describe the pose"),
        ("virtualtryon", {"descriptionType": "auto"}, None, "required", "generateVersion is required"),
        ("expandimage", {"targetWidth": 100}, None, "required", "targetHeight is required"),
        ("kling", {}, None, "required", "textDescription is required for kling"),
        # required when X=V
        ("virtualtryon", {"generateVersion": "weshopPro", "descriptionType": "custom"}, None,
         "required_when", "descriptionType=custom needs textDescription"),
        ("virtualtryon", {"generateVersion": "bananaPro", "descriptionType": "auto"}, None,
         "required_when", "generateVersion=bananaPro needs imageSize"),
        ("aimodel", {"generatedContent": "freeCreation", "maskType": "custom", "textDescription": "x"}, None,
         "required_when", "maskType=custom needs customMaskUrl or customMask"),
        ("removeBG", {"maskType": "custom"}, None, "required_when", "maskType=custom needs customMaskUrl"),
        ("aiproduct", {"generatedContent": "freeCreation", "maskType": "custom", "locationId": 1}, None,
         "required_when", "maskType=custom needs customMaskUrl"),
        # only with X in {...}
        ("virtualtryon", {"generateVersion": "weshopFlash", "descriptionType": "auto", "aspectRatio": "1:1"}, None,
         "only_with", "aspectRatio is only used with generateVersion weshopPro or bananaPro, not weshopFlash"),
        ("aimodel", {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "textDescription": "x",
                     "customMaskUrl": URL}, None, "only_with", "customMaskUrl is only used with maskType custom"),
        ("kling", {"textDescription": "x", "modelName": "Kling_2_1", "generateAudio": "true"}, None,
         "only_with", "generateAudio is only used with modelName Kling_3_0 or Kling_2_6, not Kling_2_1"),
        # allowed values that depend on another parameter (the default model counts)
        ("kling", {"textDescription": "x", "duration": "16s"}, None, "allowed_when",
         "duration '16s' is not allowed with modelName Kling_3_0; use one of: 3s, 4s"),
        ("kling", {"textDescription": "x", "modelName": "Kling_2_5_Turbo", "duration": "3s"}, None,
         "allowed_when", "use one of: 5s, 10s"),
        # at most one of
        ("removeBG", {"maskType": "autoSubjectSegment", "backgroundHex": "#ffffff", "backgroundId": 3}, None,
         "at_most_one", "give backgroundHex or backgroundId, not both"),
        # ranges name the bound and by how much
        ("expandimage", {"targetWidth": 5000, "targetHeight": 800}, None, "range",
         "targetWidth 5000 is out of range (1 to 4096): over the maximum 4096 by 904"),
        ("expandimage", {"targetWidth": 800, "targetHeight": 0}, None, "range", "under the minimum 1 by 1"),
        ("expandimage", {"targetWidth": 800, "targetHeight": 800, "fillLeft": -5}, None, "range",
         "fillLeft -5 is out of range: under the minimum 0 by 5"),
        ("aipose", {"textDescription": "x", "batchCount": 17}, None, "range",
         "batchCount 17 is out of range (1 to 16): over the maximum 16 by 1"),
        # patterns
        ("removeBG", {"maskType": "autoSubjectSegment", "backgroundHex": "fff"}, None, "pattern",
         "backgroundHex 'fff' is not #rrggbb"),
        ("removeBG", {"maskType": "custom", "customMaskUrl": "mask.png"}, None, "pattern",
         "customMaskUrl 'mask.png' is not an http(s) URL"),
        ("kling", {"textDescription": "x", "duration": "five"}, None, "pattern", "duration 'five' is not seconds"),
        # kinds
        ("aimodel", {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "locationId": "12"},
         None, "type", "locationId must be an integer, got str '12'"),
        ("aipose", {"textDescription": "x", "batchCount": True}, None, "type", "batchCount must be an integer"),
        ("aipose", {"textDescription": 5}, None, "type", "textDescription must be a string, got int"),
        ("kling", {"textDescription": "x", "generateAudio": "yes"}, None, "type",
         "generateAudio must be true or false"),
        # unknown values list the allowed ones
        ("virtualtryon", {"generateVersion": "turbo", "descriptionType": "auto"}, None, "choice",
         "generateVersion 'turbo' is not allowed; use one of: weshopFlash, weshopPro, bananaPro"),
        ("aiproduct", {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "locationId": 1}, None,
         "choice", "use one of: autoSubjectSegment, custom"),
        ("kling", {"textDescription": "x", "modelName": "Kling_9"}, None, "choice", "Kling_2_1_Master"),
        # unknown keys are named
        ("aipose", {"textDescription": "x", "colour": "red", "alpha": 1}, None, "unknown",
         "Unknown parameter(s) for aipose: alpha, colour"),
        # images: count, shape, requiredness, unknown inputs
        ("kling", {"textDescription": "x"}, {"images": [URL, URL, URL]}, "count",
         "kling takes 1 or 2 images in images (the first frame, then optionally the last frame), got 3"),
        ("kling", {"textDescription": "x", "images": [URL] * 3}, None, "count", "1 or 2 images in images"),
        ("kling", {"textDescription": "x"}, {"images": []}, "required", "images needs at least one image URL"),
        ("aimodel", {**VALID["aimodel"][0], "images": [URL, URL]}, ORIGINAL, "count",
         "aimodel takes at most 1 image in images, got 2"),
        # a last frame is refused with Kling_2_1_Master (from params or from inputs)
        ("kling", {"textDescription": "x", "modelName": "Kling_2_1_Master"}, TWO, "at_most_when",
         "kling takes at most 1 image in images with modelName Kling_2_1_Master (the first frame only, no last "
         "frame), got 2"),
        ("kling", {"textDescription": "x", "modelName": "Kling_2_1_Master", "images": [URL, URL]}, None,
         "at_most_when", "with modelName Kling_2_1_Master"),
        # the catalogue agents: exactly 1 or exactly 2 pictures, in order
        ("ai-clothes-changer", {}, {"images": [URL]}, "count",
         "ai-clothes-changer takes exactly 2 images in images (the person first, then the garment), got 1."),
        ("ai-clothes-changer", {}, {"images": [URL] * 3}, "count", "takes exactly 2 images in images"),
        ("ai-clothes-changer", {}, {"images": []}, "required",
         "images needs exactly 2 image URLs (the person first, then the garment) for ai-clothes-changer"),
        ("ai-clothes-changer", {}, {"originalImage": URL}, "required",
         "images is required for ai-clothes-changer (a list of exactly 2 http(s) image URLs: the person first, "
         "then the garment)"),
        ("ai-photoshoot", {}, {"images": [URL]}, "count",
         "ai-photoshoot takes exactly 2 images in images (the character first, then the scene reference), got 1."),
        ("ai-ghost-mannequin-generator", {}, TWO, "count",
         "ai-ghost-mannequin-generator takes exactly 1 image in images (the garment (worn or on a hanger)), got 2."),
        ("outfit-generator", {}, TWO, "count", "outfit-generator takes exactly 1 image in images (the person), got 2"),
        ("flat-lay", {"textDescription": "x"}, TWO, "count", "flat-lay takes exactly 1 image in images"),
        ("outfit-generator", {}, {"images": ["person.png"]}, "type", "images[0] must be an http(s) image URL"),
        # the catalogue agents' parameters
        ("flat-lay", {}, {"images": [URL]}, "required", "textDescription is required for flat-lay"),
        ("flat-lay", {"textDescription": "x", "aspectRatio": "auto"}, None, "choice",
         "aspectRatio 'auto' is not allowed; use one of: 1:1, 2:3"),
        ("flat-lay", {"textDescription": "x", "modelName": "qwen"}, None, "choice", "use one of: nano2, nano"),
        ("ai-ghost-mannequin-generator", {"imageSize": "8K"}, None, "choice", "use one of: 1K, 2K, 4K"),
        ("ai-clothes-changer", {"aspectRatio": "1:1"}, TWO, "unknown",
         "Unknown parameter(s) for ai-clothes-changer: aspectRatio. Known: batchCount, textDescription"),
        ("outfit-generator", {"modelName": "nano"}, None, "unknown", "Known: batchCount, textDescription"),
        ("ai-photoshoot", {"aspectRatio": "21:9"}, TWO, "allowed_when",
         "aspectRatio '21:9' is not allowed with modelName qwen; use one of: auto, 1:1"),
        ("ai-photoshoot", {"modelName": "firered", "aspectRatio": "21:9"}, TWO, "allowed_when",
         "aspectRatio '21:9' is not allowed with modelName firered"),
        ("ai-photoshoot", {"imageSize": "2K"}, TWO, "only_with",
         "imageSize is only used with modelName nano, not qwen"),
        ("ai-photoshoot", {"modelName": "firered", "imageSize": "1K"}, TWO, "only_with",
         "imageSize is only used with modelName nano, not firered"),
        ("ai-photoshoot", {"batchCount": 0}, TWO, "range", "batchCount 0 is out of range (1 to 16)"),
        ("kling", {"textDescription": "x"}, {"images": URL}, "type", "images must be a list of http(s) image URLs"),
        ("kling", {"textDescription": "x"}, {"originalImage": URL}, "required", "images is required for kling"),
        ("aipose", {"textDescription": "x"}, {}, "required", "originalImage is required for aipose"),
        ("aipose", {"textDescription": "x"}, {"originalImage": "/tmp/a.png"}, "type", "http(s) image URL"),
        ("aipose", {"textDescription": "x"}, {**ORIGINAL, "garment": URL}, "unknown",
         "Unknown input(s) for aipose: garment"),
        ("aipose", {"textDescription": "x"}, {**ORIGINAL, "taskName": 3}, "type", "taskName must be a string"),
    ],
)  # fmt: skip
def test_each_rule_names_itself(agent, params, inputs, rule, text) -> None:
    problem = the_problem(agent, params, inputs)
    assert problem.rule == rule
    assert text in problem.message, problem.message


def test_every_problem_is_reported_at_once() -> None:
    params = {"generateVersion": "weshopFlash", "descriptionType": "custom", "aspectRatio": "5:4", "x": 1}
    with pytest.raises(contract.ParamsError) as caught:
        contract.validate("virtualtryon", params, {})
    rules = sorted(p.rule for p in caught.value.problems)
    assert rules == ["choice", "required", "required_when", "unknown"]
    assert "virtualtryon: " in str(caught.value) and "originalImage is required" in str(caught.value)


def test_v1_leaves_aimodels_mask_and_mode_optional() -> None:
    assert messages("aimodel", {"textDescription": "x"}, api="v1") == []
    assert {p.key for p in contract.check("aimodel", {"textDescription": "x"})} == {"generatedContent", "maskType"}


def test_unknown_agents_pass_through() -> None:
    assert contract.spec("nano-banana") is None
    assert contract.check("nano-banana", {"anything": object()}) == []
    contract.validate("nano-banana", {"anything": 1})


def test_not_an_object() -> None:
    assert messages("aipose", ["x"]) == ["params is required and must be an object."]
    assert messages("aipose", {"textDescription": "x"}, ["x"]) == ["input must be an object."]


def test_spec_reading_api() -> None:
    kling = contract.spec("kling")
    assert kling.defaults() == {"modelName": "Kling_3_0", "duration": "5s"}
    assert kling.input("images").max_count == 2 and kling.input("images").min_count == 1
    assert kling.input("images").multiple and kling.input("originalImage").copy_of == "images"
    assert kling.param("generateAudio").kind == "bool"
    assert contract.spec("expandimage").param("targetWidth").maximum == 4096
    tryon = contract.spec("virtualtryon")
    assert [i.name for i in tryon.inputs if i.required] == ["originalImage"]
    assert [r.describe() for r in tryon.rules] == [
        "textDescription required when descriptionType is custom",
        "aspectRatio only with generateVersion weshopPro or bananaPro",
        "imageSize required when generateVersion is bananaPro",
    ]
    with pytest.raises(ValueError, match="kind"):
        contract.Param("x", "float")


def test_older_names_derive_from_the_registry() -> None:
    assert {name: (contract.spec(name).version,) for name in ("aimodel", "aipose")} == {
        "aimodel": ("v1.0",),
        "aipose": ("v1.0",),
    }
    assert contract.BATCH_RANGE == (1, 16)
    assert contract.spec("aimodel").param("maskType").choices == contract.MASK_TYPES
    assert contract.POSES[0] == contract.spec("aimodel").param("pose").default == "originalImagePose"
    assert contract.spec("aipose").param("generateVersion").choices == ("lite", "pro")
    aimodel_keys = contract.spec("aimodel").param_names
    assert set(aimodel_keys) >= {"textDescription", "locationId", "fashionModelId", "pose", "batchCount"}
    assert contract.spec("aipose").param_names == ("textDescription", "generateVersion", "batchCount")


def test_the_contract_imports_only_the_standard_library() -> None:
    import ast
    import pathlib
    import sys

    folder = pathlib.Path(contract.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in sys.stdlib_module_names | {"__future__"}, (path, node.module)
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1, (path, node.module)  # only siblings inside the contract


def test_the_catalogue_agents_as_the_reference_states_them() -> None:
    for name in ("ai-ghost-mannequin-generator", "flat-lay", "ai-clothes-changer", "outfit-generator", "ai-photoshoot"):
        found = contract.spec(name)
        images, copy = found.inputs
        assert (images.name, images.required, images.multiple, copy.name, copy.copy_of) == (
            "images",
            True,
            True,
            "originalImage",
            "images",
        )
        assert images.min_count == images.max_count == len(images.places)
        assert found.output == "image" and found.version == "v1.0"
        assert found.param("batchCount").minimum == 1 and found.param("batchCount").maximum == 16
    assert contract.spec("ai-clothes-changer").input("images").places == ("the person", "the garment")
    assert contract.spec("ai-photoshoot").input("images").places == ("the character", "the scene reference")
    assert contract.spec("ai-ghost-mannequin-generator").defaults() == {"aspectRatio": "1:1", "imageSize": "1K"}
    assert contract.spec("flat-lay").defaults() == {"modelName": "nano2", "imageSize": "1K", "aspectRatio": "1:1"}
    # imageSize's 1K holds with nano only: recorded in words, not as a default every call would carry.
    assert contract.spec("ai-photoshoot").defaults() == {"modelName": "qwen", "aspectRatio": "auto"}
    assert contract.spec("ai-ghost-mannequin-generator").param("aspectRatio").choices[0] == "auto"
    assert "auto" not in contract.spec("flat-lay").param("aspectRatio").choices
    assert [p.name for p in contract.spec("ai-clothes-changer").params] == ["textDescription", "batchCount"]
    assert [p.name for p in contract.spec("outfit-generator").params] == ["textDescription", "batchCount"]
    assert [r.describe() for r in contract.spec("ai-photoshoot").rules] == [
        "aspectRatio one of auto, 1:1, 2:3, 3:2, 4:3, 3:4, 16:9, 9:16 with modelName qwen or firered",
        "imageSize only with modelName nano",
    ]
    assert contract.spec("flat-lay").rules == ()  # none stated, none invented


def test_klings_last_frame() -> None:
    assert messages("kling", {"textDescription": "x"}, {"images": [URL, URL]}) == []
    for model in ("Kling_3_0", "Kling_2_6", "Kling_2_5_Turbo", "Kling_2_1"):
        assert messages("kling", {"textDescription": "x", "modelName": model}, {"images": [URL, URL]}) == []
    assert messages("kling", {"textDescription": "x", "modelName": "Kling_2_1_Master"}, {"images": [URL]}) == []
    rule = contract.spec("kling").rules[-1]
    assert rule.describe() == (
        "at most 1 image in images with modelName Kling_2_1_Master (the first frame only, no last frame)"
    )
    # A broken list is named once, by its own problem, not again by the rule.
    problems = contract.check("kling", {"textDescription": "x", "modelName": "Kling_2_1_Master"}, {"images": [URL] * 3})
    assert [p.rule for p in problems] == ["count"]
