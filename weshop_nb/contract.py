"""The service contract's parameter tables, written once.

From ``reference/aimodel-params.md``: the agents and versions, and the keys and values
an execution of each accepts. Plain data with no imports, so both sides can use it: the
client and the magic check input locally with it, and the emulator enforces it.
"""

AGENTS = {"aimodel": ("v1.0",), "aipose": ("v1.0",)}

MASK_TYPES = (
    "autoApparelSegment",
    "autoUpperApparelSegment",
    "autoLowerApparelSegment",
    "autoSubjectSegment",
    "autoHumanSegment",
    "inverseAutoHumanSegment",
    "custom",
)
GENERATED_CONTENT = ("freeCreation", "referToOrigin")
POSES = ("originalImagePose", "referenceImagePose", "freePose")
GENERATE_VERSIONS = ("lite", "pro")
BATCH_RANGE = (1, 16)

AIMODEL_KEYS = (
    "generatedContent",
    "maskType",
    "customMaskUrl",
    "textDescription",
    "negTextDescription",
    "locationId",
    "fashionModelId",
    "pose",
    "batchCount",
)
AIPOSE_KEYS = ("textDescription", "generateVersion", "batchCount")
