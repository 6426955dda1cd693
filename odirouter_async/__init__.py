"""odirouter_async: the async-first SDK for the OdiRouter Model API."""

from __future__ import annotations

from ._client import AsyncOdiRouter as AsyncOdiRouter
from ._config import (
    NOT_GIVEN as NOT_GIVEN,
    Limits as Limits,
    NotGiven as NotGiven,
    Timeout as Timeout,
)
from ._exceptions import (
    APIConnectionError as APIConnectionError,
    APIStatusError as APIStatusError,
    APITimeoutError as APITimeoutError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    ConflictError as ConflictError,
    InsecureURLError as InsecureURLError,
    InsufficientBalanceError as InsufficientBalanceError,
    InternalServerError as InternalServerError,
    JobCancelled as JobCancelled,
    JobError as JobError,
    JobFailed as JobFailed,
    JobTimeout as JobTimeout,
    NotFoundError as NotFoundError,
    OdiRouterError as OdiRouterError,
    PermissionDeniedError as PermissionDeniedError,
    RateLimitError as RateLimitError,
    ResponseValidationError as ResponseValidationError,
    SSEProtocolError as SSEProtocolError,
    StreamError as StreamError,
    StreamEventError as StreamEventError,
    StreamInterrupted as StreamInterrupted,
    UnprocessableEntityError as UnprocessableEntityError,
)
from ._retry import RetryPolicy as RetryPolicy

__version__ = "0.1.0"

__all__ = (
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncOdiRouter",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InsecureURLError",
    "InsufficientBalanceError",
    "InternalServerError",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "Limits",
    "NotFoundError",
    "NotGiven",
    "OdiRouterError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "SSEProtocolError",
    "StreamError",
    "StreamEventError",
    "StreamInterrupted",
    "Timeout",
    "UnprocessableEntityError",
    "__version__",
)
