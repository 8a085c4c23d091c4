"""The emulator's own reading of the provider documents: every model it serves and the limits it enforces.

Transcribed by hand from the reference notes in ``shared/reference/`` (file and section in each ``src``);
nothing here is imported or copied programmatically from ``vidgate.catalog``, the dialects or the engine
(an import-linter contract forbids it), so a mistake in vidgate's catalog is not echoed back: the test
``tests/integration/test_emulator_vs_catalog.py`` compares the two field by field.

Reference keys used in ``src``:
  SEED    seed-relay-api.md (the relay docs the user pasted: apifox project 3868318)
  RELAY   relay-platforms.md (§2 Sora on /v2, §4.1 Veo on /v2, §6 Zhipu pass-through)
  CORE    core-providers.md (§1 OpenAI, §2 Veo on the Gemini API, §3 Zhipu)
  G2026   google-2026.md (§1 Veo on Vertex, §2 Interactions API / Gemini Omni)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmuModel:
    """One model as the emulator enforces it. ``None`` limits mean: the documents state none, none enforced."""

    model: str
    dialect: str
    family: str = ""
    durations: tuple[float, ...] = ()  # discrete allowed values; () with duration_range None: no duration field
    duration_range: tuple[float, float] | None = None  # inclusive (min, max) when the document gives a range
    default_duration: float = 8.0  # what the emulator renders when the request names none
    aspect_ratios: tuple[str, ...] = ()  # () = the model takes no aspect ratio
    resolutions: tuple[str, ...] = ()  # () = the model takes no resolution
    hd: bool = False
    min_images: int = 0
    max_images: int | None = 0  # None = several allowed, no documented maximum
    image_roles: frozenset[str] = frozenset()  # first_frame, last_frame, reference
    max_videos: int = 0
    prompt_max_chars: int | None = None
    prompt_max_tokens: int | None = None
    latency_s: float = 120.0  # typical time to a finished video (drives the emulated queue/render time)
    src: dict[str, str] = field(default_factory=dict)  # fact name -> where it is written

    @property
    def takes_duration(self) -> bool:
        return bool(self.durations) or self.duration_range is not None


def _index(*models: EmuModel) -> dict[str, EmuModel]:
    return {m.model: m for m in models}


# ---------------------------------------------------------------- relay /v2/videos/generations

RELAY_V2 = "relay-unified"
_SORA_SRC = {
    "model": "SEED 'Create: POST /v2/videos/generations' model enum sora-2, sora-2-pro",
    "durations": 'SEED duration enum string "10","15","25"; \'25 only for sora-2-pro\'; model enum: '
    "sora-2-pro ('supports hd, 15s'); chat models: -portrait-15s is 'pro, 15 s'. So 15 s is read as "
    "sora-2-pro only (RELAY §2.2 '支持hd、15s')",
    "aspect_ratios": 'SEED aspect_ratio enum "16:9" | "9:16"',
    "hd": "SEED hd boolean, 'sora-2-pro only'",
    "images": "SEED images: array, URL or base64, 'several allowed'; no maximum documented",
    "prompt": "SEED/RELAY §2.2 document no prompt length limit",
    "latency": "SEED timing guidance: 10 s ≈ 1–3 min; 15 s adds ≈ 2 min",
}
_VEO_SRC = {
    "model": "RELAY §4.1 model enum (docs.yutoai.net api-343590061), image-to-video page (api-343632235), "
    "fast-token 统一标准格式 list (veo2-pro-components, veo3-frames, veo3.1-fast, veo3.1-4k, veo3.1-pro-4k)",
    "durations": "RELAY §4.1: no duration field on any Veo page (fixed ~8 s, inference from absence)",
    "aspect_ratios": 'RELAY §4.1: aspect_ratio "16:9"|"9:16", \'aspect_ratio only for veo3 family\' '
    "(veo3.x read as part of the veo3 family)",
    "images": "RELAY §4.1 (fast-token): *-frames first/last frame, veo2-fast-frames ≤2, veo3-pro-frames 1 "
    "(first frame only), *-components ≤3; I2V page: images[] required; veo3.1 '自适应首帧和文生' = text or "
    "first frame; other ids: text only (not on the image-to-video page)",
    "prompt": "RELAY §4.1 documents no prompt limit",
}


def _sora(model: str, durations: tuple[float, ...], hd: bool, latency: float) -> EmuModel:
    return EmuModel(
        model=model, dialect=RELAY_V2, family="sora", durations=durations, default_duration=10.0,
        aspect_ratios=("16:9", "9:16"), hd=hd, max_images=None, image_roles=frozenset({"first_frame", "reference"}),
        latency_s=latency, src=_SORA_SRC,
    )  # fmt: skip


def _veo(model: str, images: tuple[int, int | None] = (0, 0), latency: float = 90.0) -> EmuModel:
    lo, hi = images
    if model.endswith("-components"):
        roles = frozenset({"reference"})
    elif model.endswith("-frames") and hi != 1:
        roles = frozenset({"first_frame", "last_frame"})
    else:
        roles = frozenset({"first_frame"}) if hi else frozenset()
    return EmuModel(
        model=model, dialect=RELAY_V2, family="veo", default_duration=8.0,
        aspect_ratios=("16:9", "9:16") if model.startswith("veo3") else (),
        min_images=lo, max_images=hi, image_roles=roles, latency_s=latency, src=_VEO_SRC,
    )  # fmt: skip


RELAY_V2_MODELS = _index(
    _sora("sora-2", (10.0,), hd=False, latency=120.0),
    _sora("sora-2-pro", (10.0, 15.0, 25.0), hd=True, latency=180.0),
    _veo("veo3"),
    _veo("veo3-fast", latency=60.0),
    _veo("veo3-pro"),
    _veo("veo3-pro-frames", (1, 1)),
    _veo("veo3-fast-frames", (1, 2), latency=60.0),
    _veo("veo3-frames", (1, 2)),
    _veo("veo2"),
    _veo("veo2-fast", latency=60.0),
    _veo("veo2-pro"),
    _veo("veo2-fast-frames", (1, 2), latency=60.0),
    _veo("veo2-fast-components", (1, 3), latency=60.0),
    _veo("veo2-pro-components", (1, 3)),
    _veo("veo3.1", (0, 1)),
    _veo("veo3.1-fast", (0, 1), latency=60.0),
    _veo("veo3.1-pro", (0, 1)),
    _veo("veo3.1-components", (1, 3)),
    _veo("veo3.1-4k", (0, 1), latency=180.0),
    _veo("veo3.1-pro-4k", (0, 1), latency=240.0),
)

# ---------------------------------------------------------------- relay /v1/videos ("Sora2官方格式", reverse group)

RELAY_V1_SECONDS = {"sora-2": ("10", "15"), "sora-2-pro": ("10", "15", "25")}
RELAY_V1_SRC = {
    "seconds": "SEED '/v1/videos' seconds: reverse group 'only 10, 15, 25 (25 sora-2-pro)'",
    "sizes": "SEED '/v1/videos' size: 1280x720, 720x1280 (default), 1792x1024 and 1024x1792 '(1080p, sora-2-pro only)'",
    "images": "SEED '/v1/videos' input_reference: file (reference image); the relay states no size-match rule",
}
RELAY_V1_SIZES = {
    "sora-2": ("1280x720", "720x1280"),
    "sora-2-pro": ("1280x720", "720x1280", "1792x1024", "1024x1792"),
}
RELAY_V1_IMAGE_MUST_MATCH_SIZE = False  # SEED says nothing; OpenAI's rule (CORE §1.3) is not assumed

# ---------------------------------------------------------------- relay chat format

RELAY_CHAT_MODELS = frozenset(
    {
        "sora_video2",
        "sora_video2-portrait",
        "sora_video2-landscape",
        "sora_video2-portrait-hd",
        "sora_video2-portrait-15s",
        "sora_video2-portrait-hd-15s",
    }
)
RELAY_CHAT_SRC = (
    "SEED 'Chat-compatible video': sora_video2-portrait, -landscape, -portrait-hd, -portrait-15s (pro, 15 s), "
    "-portrait-hd-15s; base sora_video2. No landscape hd / 15 s names on the seed relay."
)

# ---------------------------------------------------------------- relay Zhipu pass-through (/cogvideox/v4)

RELAY_ZHIPU_MODELS = ("cogvideox-3",)
RELAY_ZHIPU_SRC = "RELAY §6: GPTBest keeps Zhipu's native shape under /cogvideox/v4 (CogVideoX pages api-200374941)"

# ---------------------------------------------------------------- Google: Interactions API (Gemini Omni)

OMNI = "google-interactions"
OMNI_MODELS = _index(
    EmuModel(
        model="gemini-omni-1.2-flash",
        dialect=OMNI,
        family="gemini-omni",
        duration_range=(3.0, 15.0),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("360p", "720p", "1080p", "4k"),
        max_images=6,
        image_roles=frozenset({"first_frame", "last_frame", "reference"}),
        max_videos=3,
        prompt_max_tokens=131072,
        latency_s=60.0,
        src={
            "model": "G2026 timeline 2026-11-10 (REL-3.1 'Add gemini-omni-1.2-flash')",
            "durations": "G2026 §2 limits: 1.2 '3–15 s, 360p–4K (VTX-VID)'",
            "resolutions": "G2026 §2 response_format.resolution 360p|720p|1080p|4k; 1.2 '360p–4K (VTX-VID)'",
            "aspect_ratios": "G2026 §2 response_format.aspect_ratio 16:9|9:16; 1.2 '16:9/9:16 (3P Vercel)'",
            "images": "G2026 §2: 1.2 '≤6 reference images' [3P Vercel]",
            "videos": "G2026 §2: preview model card '≤3 videos per prompt' (VTX-OMNIP)",
            "prompt": "G2026 §2: 131,072 input tokens (VTX-OMNIP, preview model card)",
        },
    ),
    EmuModel(
        model="gemini-omni-1.1-flash",
        dialect=OMNI,
        family="gemini-omni",
        duration_range=(3.0, 10.0),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("360p", "720p", "1080p", "4k"),
        max_images=3,
        image_roles=frozenset({"first_frame", "last_frame", "reference"}),
        max_videos=3,
        prompt_max_tokens=131072,
        latency_s=60.0,
        src={
            "model": "G2026 timeline 2026-08-27 (3P apidog, dev.to)",
            "durations": "G2026 §2: 1.1 '3–10 s' [3P]",
            "resolutions": "G2026 §2: 1.1 '360p/720p(default)/1080p/4k' [3P]",
            "aspect_ratios": "G2026 §2 response_format.aspect_ratio 16:9|9:16 (W-3.6 videoresponseformat.py)",
            "images": "G2026 §2: 1.1 'first frame / first+last frame, ≤3 reference images' [3P]",
            "videos": "G2026 §2: 1.1 '≤3 reference videos of ≤3 s each' [3P]",
            "prompt": "G2026 §2: 131,072 input tokens (VTX-OMNIP)",
        },
    ),
)

# ---------------------------------------------------------------- Google: Veo 3.1 GA on Vertex

VERTEX = "google-vertex-veo"
_VERTEX_SRC = {
    "model": "G2026 §1 'Remaining: veo-3.1-generate-001 and veo-3.1-fast-generate-001' (VTX-VER)",
    "durations": 'CORE §2.3 \'Veo 3.1 / 3.1 Fast ...: "4", "6", "8"\' (same model family on Vertex, CORE §2.10)',
    "aspect_ratios": "CORE §2.3 aspectRatio '16:9' (default) or '9:16' — all models",
    "resolutions": "CORE §2.3 'Veo 3.1: 720p (default), 1080p (8 s only), 4k (8 s only)'",
    "images": "CORE §2.4: image (first frame) + lastFrame; referenceImages 'Veo 3.1 only, up to three images' "
    "(no source excludes 3.1 Fast)",
    "prompt": "CORE §2.5 '1,024 tokens (Veo 3.1, 3.1 Fast, 3, 3 Fast)'",
}
VERTEX_MODELS = _index(
    *(
        EmuModel(
            model=m,
            dialect=VERTEX,
            family="veo",
            durations=(4.0, 6.0, 8.0),
            aspect_ratios=("16:9", "9:16"),
            resolutions=("720p", "1080p", "4k"),
            max_images=3,
            image_roles=frozenset({"first_frame", "last_frame", "reference"}),
            prompt_max_tokens=1024,
            latency_s=lat,
            src=_VERTEX_SRC,
        )
        for m, lat in (("veo-3.1-generate-001", 90.0), ("veo-3.1-fast-generate-001", 60.0))
    )
)

# ---------------------------------------------------------------- Google: legacy Gemini API Veo (predictLongRunning)

LEGACY = "google-veo-legacy"


def _legacy(
    model: str,
    durations: tuple[float, ...],
    resolutions: tuple[str, ...],
    roles: frozenset[str],
    latency: float,
    src: dict[str, str],
) -> EmuModel:
    return EmuModel(
        model=model, dialect=LEGACY, family="veo", durations=durations, aspect_ratios=("16:9", "9:16"),
        resolutions=resolutions, max_images=3 if "reference" in roles else len(roles), image_roles=roles,
        prompt_max_tokens=1024 if not model.startswith("veo-2") else None, latency_s=latency, src=src,
    )  # fmt: skip


_FRAMES_REFS = frozenset({"first_frame", "last_frame", "reference"})
_LEGACY_31 = {
    "model": "CORE §2.2 model codes (G-VEO-2603)",
    "durations": 'CORE §2.3 \'Veo 3.1 / 3.1 Fast and Veo 3 / 3 Fast: "4", "6", "8"\'',
    "resolutions": "CORE §2.3 'Veo 3.1: 720p (default), 1080p, 4k'",
    "images": "CORE §2.4 image + lastFrame; referenceImages 'Veo 3.1 only, up to three'",
    "prompt": "CORE §2.5 1,024 tokens",
}
_LEGACY_LITE = {
    **_LEGACY_31,
    "model": "CORE §2.2 'veo-3.1-lite-generate-preview (720p/1080p only, no 4k)' [unverified third-party code]",
    "resolutions": "CORE §2.2 '720p/1080p only, no 4k' [unverified]",
}
_LEGACY_3 = {
    "model": "CORE §2.2 model codes (G-VEO-2603)",
    "durations": 'CORE §2.3 Veo 3 / 3 Fast: "4", "6", "8"',
    "resolutions": "CORE §2.3 Veo 3: parameter table 720p/1080p/4k vs feature table '720p & 1080p (16:9 only)' "
    "(discrepancy); the emulator takes the feature table",
    "images": "CORE §2.3 personGeneration 'Veo 3: T2V ..., I2V ...' (image-to-video = first frame); "
    "lastFrame / referenceImages are 'Veo 3.1 only' (CORE §2.4)",
    "prompt": "CORE §2.5 1,024 tokens",
}
_LEGACY_2 = {
    "model": "CORE §2.2 model codes (G-VEO-2603)",
    "durations": 'CORE §2.3 \'Veo 2: "5", "6", "8"\'',
    "resolutions": "CORE §2.3 'Veo 2: unsupported (720p fixed)'",
    "images": "CORE §2.3 Veo 2 I2V (first frame); references 'Veo 3.1 only' on the Gemini API",
    "prompt": "CORE §2.5 Veo 2 'N/A'",
}
LEGACY_MODELS = _index(
    _legacy("veo-3.1-generate-preview", (4.0, 6.0, 8.0), ("720p", "1080p", "4k"), _FRAMES_REFS, 90.0, _LEGACY_31),
    _legacy("veo-3.1-fast-generate-preview", (4.0, 6.0, 8.0), ("720p", "1080p", "4k"), _FRAMES_REFS, 60.0, _LEGACY_31),
    _legacy("veo-3.1-lite-generate-preview", (4.0, 6.0, 8.0), ("720p", "1080p"), _FRAMES_REFS, 60.0, _LEGACY_LITE),
    _legacy("veo-3.0-generate-001", (4.0, 6.0, 8.0), ("720p", "1080p"), frozenset({"first_frame"}), 90.0, _LEGACY_3),
    _legacy(
        "veo-3.0-fast-generate-001", (4.0, 6.0, 8.0), ("720p", "1080p"), frozenset({"first_frame"}), 60.0, _LEGACY_3
    ),
    _legacy("veo-2.0-generate-001", (5.0, 6.0, 8.0), (), frozenset({"first_frame"}), 90.0, _LEGACY_2),
)

# ---------------------------------------------------------------- typical latencies of the other dialects

# Seconds to a finished video, only to time the emulated jobs. OpenAI: CORE §1.5 gives none; the relay's
# SEED guidance (10 s ≈ 1–3 min) is used for Sora everywhere, longer for pro. Zhipu: CORE §3.3 gives none.
SORA_LATENCY_S = {"sora-2": 120.0, "sora-2-pro": 180.0}
ZHIPU_LATENCY_S = 120.0


def sora_latency(model: str) -> float:
    return SORA_LATENCY_S["sora-2-pro" if model.startswith("sora-2-pro") else "sora-2"]


# ---------------------------------------------------------------- what the finished videos look like

# Frame rates, audio and output sizes the emulator renders (emulator/render.py), per family.
# fps: Veo "24 fps fixed for all" (CORE §2.3; fps is a Vertex-only parameter). Omni: gemini-omni-flash-preview
# "24 fps" (G2026 §2, CL 06-30), assumed for 1.1/1.2 too [choice]. Sora: no source states a frame rate (CORE
# §1.2 lists no fps field) — 30 fps is the emulator's choice [unconfirmed]. CogVideoX: the request's fps,
# default 30 (CORE §3.2). Vidu: none stated — 24 [choice].
VEO_FPS = 24
OMNI_FPS = 24
SORA_FPS = 30
ZHIPU_FPS = 30
VIDU_FPS = 24
# Audio: Sora "clips with audio" (CORE §1.2, OAI-GUIDE Overview); Veo 3/3.1 "natively generates audio … always
# on", Veo 2 silent (CORE §2.3); Omni "always produces native audio" (G2026 §2, OMNI-DOC); Vertex: the request's
# generateAudio (G2026 §1 parameters; absent read as on for Veo 3.x [choice]); Zhipu: with_audio, default
# false (CORE §3.2).
SORA_AUDIO = True
OMNI_AUDIO = True


def veo_audio(model: str) -> bool:
    """Veo 3 and 3.1 (any host, any spelling: veo3, veo3.1-fast, veo-3.1-generate-001) make sound; Veo 2 not."""
    return not model.replace("-", "").startswith("veo2")


def sora_size(aspect_ratio: str, hd: bool, duration: float) -> str:
    """The relay's /v2 sora output: 720p (SEED '/v1/videos' size: 1280x720 / 720x1280 '720p'); ``hd`` on
    sora-2-pro gives the 1792x1024-class size SEED lists as sora-2-pro's '1080p' [inference: the /v2 page
    says only 'hd'], except at 25 s where 'HD 不起作用' (RELAY §2.2)."""
    portrait = aspect_ratio == "9:16"
    if hd and duration != 25:
        return "1024x1792" if portrait else "1792x1024"
    return "720x1280" if portrait else "1280x720"


def relay_veo_resolution(model: str, upsample: bool) -> str:
    """Relay Veo ids: ``*-4k`` are 4K (RELAY §4.1 fast-token list: veo3.1-4k, veo3.1-pro-4k); otherwise 720p,
    1080p with ``enable_upsample`` ('返回 1080p 视频', RELAY §4.1)."""
    if model.endswith("-4k"):
        return "4k"
    return "1080p" if upsample else "720p"
