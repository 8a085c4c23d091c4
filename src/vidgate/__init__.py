"""vidgate: one interface to generate AI videos through many providers, never losing a job.

from vidgate import Client
with Client() as client:
    job = client.generate("a lighthouse at dawn", model="sora-2", duration=10, out="lighthouse.mp4")
"""

from vidgate.catalog import Catalog, ModelSpec, Problem, check, fit, load_catalog, validate
from vidgate.client import AsyncClient, Client, ProviderSettings, Route, Submission
from vidgate.engine.endpoints import EndpointMismatchError
from vidgate.engine.polling import PollPolicy, next_delay
from vidgate.errors import (
    AuthenticationError,
    BadValueError,
    ConfigurationError,
    DownloadError,
    ImageError,
    JobFailedError,
    MissingCredentialsError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    RateLimitError,
    RequestError,
    TransportError,
    UnknownModelError,
    ValidationError,
    VidgateError,
)
from vidgate.types import (
    Asset,
    Character,
    ErrorCode,
    ImageInput,
    ImageRole,
    Job,
    JobError,
    JobStatus,
    Shot,
    VideoProbe,
    VideoRequest,
)

__version__ = "0.1.0"

__all__ = [
    "Asset",
    "AsyncClient",
    "AuthenticationError",
    "BadValueError",
    "Catalog",
    "Character",
    "Client",
    "ConfigurationError",
    "DownloadError",
    "EndpointMismatchError",
    "ErrorCode",
    "ImageError",
    "ImageInput",
    "ImageRole",
    "Job",
    "JobError",
    "JobFailedError",
    "JobStatus",
    "MissingCredentialsError",
    "ModelSpec",
    "PollPolicy",
    "Problem",
    "ProtocolError",
    "ProviderHTTPError",
    "ProviderServerError",
    "ProviderSettings",
    "RateLimitError",
    "RequestError",
    "Route",
    "Shot",
    "Submission",
    "TransportError",
    "UnknownModelError",
    "ValidationError",
    "VideoProbe",
    "VideoRequest",
    "VidgateError",
    "__version__",
    "check",
    "fit",
    "load_catalog",
    "next_delay",
    "validate",
]
