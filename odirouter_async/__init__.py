"""odirouter_async: the async-first SDK for the OdiRouter Model API."""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
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
    "NotFoundError",
    "OdiRouterError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "SSEProtocolError",
    "StreamError",
    "StreamEventError",
    "StreamInterrupted",
    "UnprocessableEntityError",
    "__version__",
)
