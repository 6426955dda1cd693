"""The flat public API: every name the design promises is importable from the package."""

from __future__ import annotations

import odirouter_async as odr

# From ../shared/design/public-api.md: names users, docs and outside checks rely on.
PROMISED = {
    "AsyncOdiRouter", "OdiRouterError", "APIConnectionError", "APITimeoutError", "APIStatusError",
    "BadRequestError", "AuthenticationError", "PermissionDeniedError", "InsufficientBalanceError",
    "NotFoundError", "ConflictError", "UnprocessableEntityError", "RateLimitError",
    "InternalServerError", "ResponseValidationError", "StreamError", "JobError", "JobFailed",
    "JobCancelled", "JobTimeout", "AsyncStream", "ChatCompletionChunk", "UnknownEvent", "ModelList",
    "QueueStatus", "JobResult", "Job", "Timeout",
}  # fmt: skip


def test_all_is_a_sorted_tuple_of_real_names() -> None:
    """__all__ is a tuple, every entry exists, and there are no duplicates."""
    assert isinstance(odr.__all__, tuple)
    assert len(set(odr.__all__)) == len(odr.__all__)
    for name in odr.__all__:
        assert hasattr(odr, name), name


def test_promised_names_are_public() -> None:
    """Every name of the public-API design is exported."""
    assert set(odr.__all__) >= PROMISED


def test_error_tree_shape() -> None:
    """The error classes sit where the design draws them."""
    assert issubclass(odr.APITimeoutError, odr.APIConnectionError)
    assert issubclass(odr.InsufficientBalanceError, odr.APIStatusError)
    for cls in (odr.JobFailed, odr.JobCancelled, odr.JobTimeout, odr.UncertainSubmit):
        assert issubclass(cls, odr.JobError)
    assert not issubclass(odr.JobCancelled, odr.JobFailed)
    for cls in (odr.StreamEventError, odr.StreamInterrupted, odr.SSEProtocolError):
        assert issubclass(cls, odr.StreamError)
    for cls in (odr.APIConnectionError, odr.APIStatusError, odr.StreamError, odr.JobError):
        assert issubclass(cls, odr.OdiRouterError)
