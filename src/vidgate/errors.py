"""vidgate's exceptions: one root, three kinds of failure.

    VidgateError
    ├── RequestError                 the caller's mistake, raised before any I/O
    │   ├── ValidationError          the request breaks the model's capabilities (carries every Problem)
    │   ├── UnknownModelError        no catalog entry for that name (carries suggestions)
    │   ├── ImageError               an image input cannot be read, decoded or accepted
    │   ├── BadValueError            an argument outside its range (a limit of 0, a negative lease...)
    │   └── ConfigurationError       something the caller must configure first
    │       └── MissingCredentialsError   names the exact environment variable to set
    ├── TransportError               the provider could not be reached (DNS, connect, reset, timeout)
    ├── ProviderHTTPError            the provider answered with an HTTP error
    │   ├── AuthenticationError      401 / 403
    │   ├── RateLimitError           429 (retry_after is set when the provider said so)
    │   ├── ContentPolicyError       the provider refused the input as unsafe (e.g. Zhipu 1301)
    │   ├── QuotaExceededError       out of quota or balance (e.g. Zhipu 1304 / 1113)
    │   └── ProviderServerError      5xx
    ├── ProtocolError                the provider answered 2xx with a body we cannot understand
    ├── DownloadError                the result could not be fetched or verified
    └── JobFailedError               raised by ``generate()`` when the job ends failed/cancelled/expired

A generation that fails is a job *state* (``Job.error``), not an exception; only the convenience
``generate()`` turns a final failed job into ``JobFailedError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidgate.problems import PYTHON, Surface

if TYPE_CHECKING:
    from vidgate.problems import Problem
    from vidgate.types import Job


class VidgateError(Exception):
    """Root of every error vidgate raises. ``job`` is the job it concerns, where there is one (e.g. a create
    that failed: the job as recorded — pending, unknown or failed)."""

    job: Job | None = None


class RequestError(VidgateError):
    """The caller asked for something vidgate will not send. Nothing reached a provider."""


class ValidationError(RequestError):
    """The request does not fit the model's capabilities. ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem], model: str = "") -> None:
        self.problems = list(problems)
        self.model = model
        super().__init__(self.render())

    def render(self, surface: Surface = PYTHON) -> str:
        """The message with each suggestion in the caller's words (CLI flags, Python arguments, HTTP fields)."""
        where = f" for {self.model}" if self.model else ""
        lines = [f"The request{where} has {len(self.problems)} problem(s):"]
        lines += [f"  - {p.explain(surface)}" for p in self.problems]
        return "\n".join(lines)


class BadValueError(RequestError, ValueError):
    """An argument outside what the call accepts (also a ``ValueError``). The message names it and what is allowed."""


class UnknownModelError(RequestError):
    def __init__(self, name: str, suggestions: list[str], known: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        self.known = known
        super().__init__(self.worded())

    def worded(self, listing: str = "Run `vidgate models`") -> str:
        """The message, naming how the caller lists the models (a gateway says ``GET /v1/models``)."""
        hint = f" Did you mean {' or '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        return f"Unknown model {self.name!r}.{hint} {listing} to list the {len(self.known)} known models."


class ImageError(RequestError):
    """An image input could not be used; the message names the image (index and source)."""


class ConfigurationError(RequestError):
    pass


class MissingCredentialsError(ConfigurationError):
    def __init__(self, provider: str, env_var: str) -> None:
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"No API key for provider {provider!r}. Set the environment variable {env_var} "
            f"(or pass api_key=... / --api-key). Nothing was sent."
        )


class TransportError(VidgateError):
    """No usable answer: the host could not be reached, the connection broke, timed out, or the response's
    framing was wrong. ``not_sent`` is True when no connection was made, so the request surely never left."""

    def __init__(self, provider: str, message: str, *, not_sent: bool = False) -> None:
        self.provider = provider
        self.not_sent = not_sent
        super().__init__(f"{provider}: {message}")


class ProviderHTTPError(VidgateError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        provider: str,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        error_code: str | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.message = message
        self.code = code
        # vidgate's ErrorCode value when the dialect could map the provider's own code (``code``)
        self.error_code = error_code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        detail = f" (code {code})" if code else ""
        rid = f" [request id {request_id}]" if request_id else ""
        super().__init__(f"{provider} answered HTTP {status_code}{detail}: {message}{rid}")


class AuthenticationError(ProviderHTTPError):
    pass


class RateLimitError(ProviderHTTPError):
    pass


class ProviderServerError(ProviderHTTPError):
    pass


class ContentPolicyError(ProviderHTTPError):
    """The provider refused the request's content (prompt or images) at submit."""


class QuotaExceededError(ProviderHTTPError):
    """The account is out of quota or balance: retrying will not help until it is topped up."""


class ProtocolError(VidgateError):
    """A 2xx answer whose body does not match the dialect's documented shape."""

    def __init__(self, provider: str, message: str, body: Any = None) -> None:
        self.provider = provider
        self.body = body
        super().__init__(f"{provider}: {message}")


class DownloadError(VidgateError):
    pass


class JobFailedError(VidgateError):
    job: Job

    def __init__(self, job: Job) -> None:
        self.job = job
        err = job.error
        reason = f"{err.code}: {err.message}" if err else job.status.value
        meaning = ""
        if err is not None and err.meaning and err.meaning not in err.message:  # the provider's words stay verbatim
            meaning = f"\n  Meaning ({err.code}): {err.meaning}."
        super().__init__(f"Job {job.id} ({job.model}) ended {job.status.value}: {reason}{meaning}")
