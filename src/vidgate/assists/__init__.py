"""Video assists: chat models around a generation — plan the shots, make the first frame, review the result.

The relay that serves the video routes also serves chat models (seed-relay-api.md "Other chat features"):
JSON-schema answers, image generation and editing (``gpt-4o-image``), video analysis (Gemini given the mp4's
URL) and Gemini's native ``:generateContent``. Their capabilities are catalog data
(``vidgate.catalog.chat_models``); a missing one is refused before any request.

    ask.py            what an assist asks (text, images, a video, a JSON schema) and the reply it gets
    openai_chat.py    sans-IO: POST /v1/chat/completions request and chat.completion answer
    gemini_native.py  sans-IO: POST /v1beta/models/{model}:generateContent request and answer
    answers.py        JSON and images out of an answer's text (fences, Markdown images, links, base64)
    answer_image.py   the picture an answer links to, fetched through the SSRF guard (capped, image/* only)
    plan.py           the storyboard a chat model proposes, checked and repaired against the video catalog
    frame.py          a generated image fitted to the target model's aspect ratio, size and byte limits
    review.py         the structured verdict and the video part sent for it (URL or bytes, never a path)
    run.py            the step generators Client / AsyncClient run (one request each, recorded per job)
"""

from vidgate.assists.frame import Frame
from vidgate.assists.plan import Plan, PlannedShot

__all__ = ["Frame", "Plan", "PlannedShot"]
