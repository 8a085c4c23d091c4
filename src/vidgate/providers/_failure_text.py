"""Classify a provider's free-text failure reason (English or Chinese) into a ``JobError`` code.

Relays report failures as prose (``fail_reason``), so the code comes from wording. The text itself is
always kept verbatim in ``JobError.message`` and ``raw``.
"""

from __future__ import annotations

from vidgate.types import ErrorCode, JobError

_POLICY = (
    "违反", "政策", "违规", "审核", "敏感", "不安全", "不合规", "版权", "真人", "公众人物",
    "policy", "policies", "guardrail", "moderation", "safety", "violat", "sensitive", "inappropriate",
    "prohibited", "copyright", "third-party content", "public figure", "real person", "unsafe", "blocked",
    "content filter", "rai ",
)  # fmt: skip
_OUTPUT = ("输出", "生成的视频", "生成内容", "output", "generated video", "generated content", "similarity")
_INPUT = ("提示词", "输入", "图片", "上传", "prompt", "input", "image", "upload", "uploaded")
_QUOTA = ("quota", "余额", "额度", "insufficient", "balance", "欠费", "arrears")
_RATE = ("rate limit", "too many", "频率", "并发", "concurrency", "繁忙", "busy", "overload")
_TIMEOUT = ("timeout", "timed out", "超时")


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def classify_failure(reason: str | None, raw: object = None) -> JobError:
    """Map a free-text reason to a code. Content policy: output wording wins over input wording."""
    text = (reason or "").strip()
    low = text.lower()
    message = text or "the provider reported a failure without a reason"
    if _has(low, _POLICY):
        code = (
            ErrorCode.content_policy_output
            if _has(low, _OUTPUT) or not _has(low, _INPUT)
            else (ErrorCode.content_policy_input)
        )
        return JobError(code=code, message=message, retryable=False, raw=raw if raw is not None else reason)
    if _has(low, _QUOTA):
        return JobError(code=ErrorCode.quota_exceeded, message=message, retryable=False, raw=raw or reason)
    if _has(low, _RATE):
        return JobError(code=ErrorCode.rate_limited, message=message, retryable=True, raw=raw or reason)
    if _has(low, _TIMEOUT):
        return JobError(code=ErrorCode.timeout, message=message, retryable=True, raw=raw or reason)
    return JobError(code=ErrorCode.provider_error, message=message, retryable=True, raw=raw or reason)
