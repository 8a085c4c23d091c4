"""Failure reasons in plain words: one sentence per vidgate error code (and per final state without one).

The console shows the sentence first and the provider's own words (``error.message``) under it.
"""

from __future__ import annotations

from vidgate.types import ErrorCode

FAILURE_SENTENCES: dict[str, str] = {
    ErrorCode.content_policy_input: (
        "The provider refused to start because the prompt or an image breaks its content rules. "
        "Reword the prompt or change the images, then try again."
    ),
    ErrorCode.content_policy_output: (
        "The video was made, but the provider's review of the finished video blocked it, so nothing was "
        "delivered. Try a different prompt; describing the scene with less risky content usually helps."
    ),
    ErrorCode.invalid_request: (
        "The provider did not accept one of the request's values. Check the model's allowed values in the "
        "capability table and try again."
    ),
    ErrorCode.quota_exceeded: (
        "The provider account behind this gateway has run out of credit or quota. Ask the gateway's operator "
        "to top it up."
    ),
    ErrorCode.rate_limited: (
        "The provider is limiting how many videos can be made right now. Wait a minute and try again."
    ),
    ErrorCode.auth: (
        "The provider refused the gateway's credentials. Ask the gateway's operator to check the provider's API key."
    ),
    ErrorCode.provider_error: (
        "The provider failed while making the video. This is usually temporary: try again in a few minutes."
    ),
    ErrorCode.timeout: (
        "The video was not ready before the deadline, so vidgate stopped waiting for it. Try again, or pick a "
        "faster model or a shorter duration."
    ),
    ErrorCode.cancelled: "The job was cancelled before the video was finished.",
}
# Final states that carry no error code of their own.
STATE_SENTENCES: dict[str, str] = {
    "expired": FAILURE_SENTENCES[ErrorCode.timeout],
    "cancelled": FAILURE_SENTENCES[ErrorCode.cancelled],
    "failed": "The job failed. The provider's own words are below.",
    "unknown": (
        "vidgate could not tell whether the provider accepted this job (the connection broke while sending it). "
        "It is not sent again automatically, so you are never billed twice; ask the gateway's operator to "
        "reconcile it."
    ),
}


def failure_sentence(code: str | None, status: str = "failed") -> str:
    """The plain-words reason for a failed job with ``code`` (unknown codes get a generic sentence)."""
    if code and code in FAILURE_SENTENCES:
        return FAILURE_SENTENCES[code]
    if code:
        return f"The job failed (reason code {code}). The provider's own words are below."
    return STATE_SENTENCES.get(status, STATE_SENTENCES["failed"])
