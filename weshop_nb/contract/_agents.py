"""The agents, written once: what each reads, accepts and returns (all version ``v1.0``).

Sources: the service's API reference, its parameter table for aimodel and aipose, and the
facts gathered about the agent-runs API (WeShop's public CLI and skills references; the
catalogue agents and kling's last frame as WeShop's CLI 0.2.22 sends them). A
value, range or rule is here only when one of them states it; where they are silent, so
is the registry (for instance nothing limits ``imageSize`` to bananaPro, it is only
*required* there).
"""

from __future__ import annotations

from ._spec import (
    AgentSpec,
    AllowedWhen,
    AtLeastOne,
    AtMostOne,
    AtMostWhen,
    ImageInput,
    OnlyWith,
    Param,
    RequiredWhen,
)

VERSION = "v1.0"

MASK_TYPES = (
    "autoApparelSegment",
    "autoUpperApparelSegment",
    "autoLowerApparelSegment",
    "autoSubjectSegment",
    "autoHumanSegment",
    "inverseAutoHumanSegment",
    "custom",
)
SUBJECT_MASKS = ("autoSubjectSegment", "custom")
GENERATED_CONTENT = ("freeCreation", "referToOrigin")
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
KLING_MODELS = ("Kling_3_0", "Kling_2_6", "Kling_2_5_Turbo", "Kling_2_1_Master", "Kling_2_1")
KLING_3_DURATIONS = tuple(f"{s}s" for s in range(3, 16))
KLING_DURATIONS = ("5s", "10s")
IMAGE_SIZES = ("1K", "2K", "4K")
#: The catalogue agents' shapes: ``auto`` follows the source picture's.
CATALOGUE_RATIOS = ("auto", "1:1", "2:3", "3:2", "4:3", "3:4", "16:9", "9:16", "21:9")
PHOTOSHOOT_MODELS = ("qwen", "firered", "nano")

# Shared pieces. The image-reading agents take ``originalImage``; the official client also
# repeats it as ``images: [url]`` (in params), so that list of one is known everywhere.
_ORIGINAL = ImageInput("originalImage", required=True, doc="the source image")
_MIRROR = ImageInput(
    "images", multiple=True, max_count=1, doc="the official client's copy of originalImage", copy_of="originalImage"
)
_BATCH = Param(
    "batchCount",
    "int",
    minimum=1,
    maximum=16,
    doc="results per execution (references disagree on the default, 1 or 4: send it)",
)
_PROMPT = Param("textDescription", doc="the prompt")
_NEGATIVE = Param("negTextDescription", doc="what to avoid")
_MODE = Param(
    "generatedContent",
    "enum",
    required=True,
    required_v1=False,
    choices=GENERATED_CONTENT,
    doc="freeCreation, or referToOrigin to stay close to the source",
)
_MASK_URL = Param("customMaskUrl", pattern="url", doc="URL of a PNG mask, transparent where editable")
_LOCATION = Param("locationId", "int", doc="an id from agent info locations")


def _mask(choices: tuple[str, ...]) -> Param:
    return Param(
        "maskType", "enum", required=True, required_v1=False, choices=choices, doc="which part of the source is kept"
    )


AIMODEL = AgentSpec(
    "aimodel",
    VERSION,
    "Model photos: keep the garment, change model and scene.",
    inputs=(_ORIGINAL, _MIRROR),
    params=(
        _MODE,
        _mask(MASK_TYPES),
        _PROMPT,
        _LOCATION,
        Param("fashionModelId", "int", doc="an id from agent info fashionModels"),
        _NEGATIVE,
        Param(
            "pose",
            "enum",
            choices=("originalImagePose", "referenceImagePose", "freePose"),
            default="originalImagePose",
            doc="pose control",
        ),
        _MASK_URL,
        Param("customMask", doc="a base64 PNG mask without the data-URI prefix (instead of customMaskUrl)"),
        _BATCH,
    ),
    rules=(
        AtLeastOne(("textDescription", "locationId", "fashionModelId")),
        RequiredWhen(("customMaskUrl", "customMask"), "maskType", ("custom",)),
        OnlyWith("customMaskUrl", "maskType", ("custom",)),
        OnlyWith("customMask", "maskType", ("custom",)),
    ),
)

VIRTUALTRYON = AgentSpec(
    "virtualtryon",
    VERSION,
    "Put a garment on a generated model.",
    inputs=(
        ImageInput("originalImage", required=True, doc="the garment (Figure 1)"),
        ImageInput("fashionModelImage", doc="a person the model should resemble (Figure 2)"),
        ImageInput("locationImage", doc="a background reference (Figure 3)"),
        _MIRROR,
    ),
    params=(
        Param(
            "generateVersion",
            "enum",
            required=True,
            choices=("weshopFlash", "weshopPro", "bananaPro"),
            doc="weshopFlash (fast), weshopPro (high quality) or bananaPro",
        ),
        Param("descriptionType", "enum", required=True, choices=("auto", "custom"), doc="auto or custom prompt"),
        Param("textDescription", doc="the prompt; Figure 1 = garment, Figure 2 = model, Figure 3 = location"),
        Param("aspectRatio", "enum", choices=ASPECT_RATIOS, doc="shape of the result"),
        Param("imageSize", "enum", choices=("1K", "2K", "4K"), doc="resolution"),
        _BATCH,
    ),
    rules=(
        RequiredWhen(("textDescription",), "descriptionType", ("custom",)),
        OnlyWith("aspectRatio", "generateVersion", ("weshopPro", "bananaPro")),
        RequiredWhen(("imageSize",), "generateVersion", ("bananaPro",)),
    ),
)

AIPRODUCT = AgentSpec(
    "aiproduct",
    VERSION,
    "Product still life: keep the product, change the background.",
    inputs=(_ORIGINAL, _MIRROR),
    params=(_MODE, _mask(SUBJECT_MASKS), _PROMPT, _LOCATION, _NEGATIVE, _MASK_URL, _BATCH),
    rules=(
        AtLeastOne(("textDescription", "locationId")),
        RequiredWhen(("customMaskUrl",), "maskType", ("custom",)),
        OnlyWith("customMaskUrl", "maskType", ("custom",)),
    ),
)

AIPOSE = AgentSpec(
    "aipose",
    VERSION,
    "Change the pose, keep the garment.",
    inputs=(_ORIGINAL, _MIRROR),
    params=(
        Param("textDescription", required=True, doc="describe the pose"),
        Param("generateVersion", "enum", choices=("lite", "pro"), default="lite", doc="lite (fast) or pro"),
        _BATCH,
    ),
)

EXPANDIMAGE = AgentSpec(
    "expandimage",
    VERSION,
    "Enlarge the canvas and fill the new area.",
    inputs=(_ORIGINAL, _MIRROR),
    params=(
        Param("targetWidth", "int", required=True, minimum=1, maximum=4096, doc="canvas width in pixels"),
        Param("targetHeight", "int", required=True, minimum=1, maximum=4096, doc="canvas height in pixels"),
        Param("fillLeft", "int", minimum=0, doc="left offset of the original in the canvas (default centred)"),
        Param("fillTop", "int", minimum=0, doc="top offset of the original in the canvas (default centred)"),
        _BATCH,
    ),
)

REMOVEBG = AgentSpec(
    "removeBG",
    VERSION,
    "Remove the background, or replace it with a colour.",
    inputs=(_ORIGINAL, _MIRROR),
    params=(
        _mask(SUBJECT_MASKS),
        Param("backgroundHex", pattern="#rrggbb", doc="background colour, e.g. #ffffff"),
        Param("backgroundId", "int", doc="an id from agent info backgrounds"),
        _MASK_URL,
        _BATCH,
    ),
    rules=(
        AtMostOne(("backgroundHex", "backgroundId")),
        RequiredWhen(("customMaskUrl",), "maskType", ("custom",)),
        OnlyWith("customMaskUrl", "maskType", ("custom",)),
    ),
)

_FIRST_COPY = ImageInput("originalImage", doc="the official client's copy of images[0]", copy_of="images")

KLING = AgentSpec(
    "kling",
    VERSION,
    "Video from a first frame, an optional last frame and a prompt.",
    inputs=(
        ImageInput(
            "images",
            required=True,
            multiple=True,
            min_count=1,
            max_count=2,
            doc="the first frame, then optionally the last frame",
            places=("the first frame", "the last frame"),
        ),
        _FIRST_COPY,
    ),
    params=(
        Param("textDescription", required=True, doc="the motion or scene"),
        Param("modelName", "enum", choices=KLING_MODELS, default="Kling_3_0", doc="the Kling model"),
        Param("duration", pattern="seconds", default="5s", doc="length, e.g. 5s"),
        Param("generateAudio", "bool", doc="add sound (Kling_3_0 and Kling_2_6)"),
        _BATCH,
    ),
    rules=(
        AllowedWhen("duration", "modelName", ("Kling_3_0",), KLING_3_DURATIONS),
        AllowedWhen("duration", "modelName", KLING_MODELS[1:], KLING_DURATIONS),
        OnlyWith("generateAudio", "modelName", ("Kling_3_0", "Kling_2_6")),
        AtMostWhen("images", 1, "modelName", ("Kling_2_1_Master",), doc="the first frame only, no last frame"),
    ),
    output="video",
)


# -- the catalogue agents (weshop-cli 0.2.22): pictures as ``images``, the first copied --


def _pictures(*places: str) -> tuple[ImageInput, ImageInput]:
    """``images``: exactly one picture per place, in order; and the official client's copy of the first."""
    doc = places[0] if len(places) == 1 else ", then ".join([f"{places[0]} first", *places[1:]])
    images = ImageInput(
        "images", required=True, multiple=True, min_count=len(places), max_count=len(places), doc=doc, places=places
    )
    return images, _FIRST_COPY


def _ratio(choices: tuple[str, ...], default: str | None) -> Param:
    return Param("aspectRatio", "enum", choices=choices, default=default, doc="shape of the result")


_SIZE = Param("imageSize", "enum", choices=IMAGE_SIZES, default="1K", doc="resolution")

GHOST_MANNEQUIN = AgentSpec(
    "ai-ghost-mannequin-generator",
    VERSION,
    "Ghost mannequin: the garment alone, hollow and three-dimensional, on white.",
    inputs=_pictures("the garment (worn or on a hanger)"),
    params=(
        Param("textDescription", doc="instructions (the official client sends a long default of its own)"),
        _ratio(CATALOGUE_RATIOS, "1:1"),
        _SIZE,
        _BATCH,
    ),
)

FLAT_LAY = AgentSpec(
    "flat-lay",
    VERSION,
    "Flat lay: the garment laid flat, seen from above.",
    inputs=_pictures("the garment, or a photo of it worn"),
    params=(
        Param("textDescription", required=True, doc="how to lay it out (no default)"),
        Param("modelName", "enum", choices=("nano2", "nano"), default="nano2", doc="the image model"),
        _SIZE,
        _ratio(ASPECT_RATIOS, "1:1"),
        _BATCH,
    ),
)

CLOTHES_CHANGER = AgentSpec(
    "ai-clothes-changer",
    VERSION,
    "Clothes changer: the person of the first picture in the garment of the second.",
    inputs=_pictures("the person", "the garment"),
    params=(
        Param("textDescription", doc="the prompt; call the pictures image 1 and image 2 (a default is sent if none)"),
        _BATCH,
    ),
)

OUTFIT_GENERATOR = AgentSpec(
    "outfit-generator",
    VERSION,
    "Outfit generator: a new complete outfit, same face, body, pose and background.",
    inputs=_pictures("the person"),
    params=(Param("textDescription", doc="the style of the outfit"), _BATCH),
)

PHOTOSHOOT = AgentSpec(
    "ai-photoshoot",
    VERSION,
    "Photoshoot: the person of a character photo in the scene of a reference picture.",
    inputs=_pictures("the character", "the scene reference"),
    params=(
        Param("modelName", "enum", choices=PHOTOSHOOT_MODELS, default="qwen", doc="the image model"),
        _ratio(CATALOGUE_RATIOS, "auto"),
        # Its default (1K) holds with nano only, and it is sent with nano only: so no
        # default here, or every call with qwen or firered would carry it.
        Param("imageSize", "enum", choices=IMAGE_SIZES, doc="resolution, with nano only (1K when not given)"),
        Param("textDescription", doc="pose, accessories"),
        _BATCH,
    ),
    rules=(
        AllowedWhen("aspectRatio", "modelName", ("qwen", "firered"), CATALOGUE_RATIOS[:-1]),
        OnlyWith("imageSize", "modelName", ("nano",)),
    ),
)

REGISTRY: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AIMODEL,
        VIRTUALTRYON,
        AIPRODUCT,
        AIPOSE,
        EXPANDIMAGE,
        REMOVEBG,
        KLING,
        GHOST_MANNEQUIN,
        FLAT_LAY,
        CLOTHES_CHANGER,
        OUTFIT_GENERATOR,
        PHOTOSHOOT,
    )
}
