"""Wire dialects. Each module speaks one protocol, sans-IO; this registry maps catalog names to them."""

from vidgate.catalog.loader import register_dialects
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared
from vidgate.providers.dashscope import DashScope
from vidgate.providers.fal import Fal
from vidgate.providers.google_interactions import GoogleInteractions
from vidgate.providers.google_veo_legacy import GoogleVeoLegacy
from vidgate.providers.google_vertex import GoogleVertexVeo
from vidgate.providers.kling import Kling
from vidgate.providers.luma import LumaAgents, LumaDreamMachine
from vidgate.providers.minimax import MiniMax, MiniMaxV2
from vidgate.providers.openai_videos import OpenAIVideos
from vidgate.providers.openrouter import OpenRouter
from vidgate.providers.relay_chat import RelayChat
from vidgate.providers.relay_unified import RelayUnified
from vidgate.providers.replicate import Replicate
from vidgate.providers.runway import Runway
from vidgate.providers.seedance import Seedance
from vidgate.providers.xai import Xai
from vidgate.providers.zhipu import Zhipu

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        RelayUnified(),
        Zhipu(),
        OpenAIVideos(),
        GoogleInteractions(),
        GoogleVertexVeo(),
        GoogleVeoLegacy(),
        RelayChat(),
        OpenRouter(),
        Replicate(),
        Runway(),
        LumaAgents(),
        LumaDreamMachine(),
        Seedance(),
        DashScope(),
        Fal(),
        Kling(),
        MiniMax(),
        MiniMaxV2(),
        Xai(),
    )
}


register_dialects(DIALECTS)  # user catalog overlays naming another wire protocol are refused when loaded


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise KeyError(f"no dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None


__all__ = [
    "DIALECTS",
    "Connection",
    "Dialect",
    "Flow",
    "JobUpdate",
    "Prepared",
    "get_dialect",
]
