"""Every job operation, written once as a step generator (``vidgate.net.steps``) over ``Core``.

``Client`` runs them with the blocking driver, ``AsyncClient``, the worker and the gateway with the asyncio
one (``vidgate.net.drive``); neither client holds any logic of its own.
"""

from vidgate.engine.ops.manage import cancel, create_character, delete, list_videos, remix, remote_models
from vidgate.engine.ops.run import advance, generate, previews, refresh, save, status, step, wait
from vidgate.engine.ops.submit import create, prepare, progress_hook, resend, retry, send, submit

__all__ = [
    "advance",
    "cancel",
    "create",
    "create_character",
    "delete",
    "generate",
    "list_videos",
    "prepare",
    "previews",
    "progress_hook",
    "refresh",
    "remix",
    "remote_models",
    "resend",
    "retry",
    "save",
    "send",
    "status",
    "step",
    "submit",
    "wait",
]
