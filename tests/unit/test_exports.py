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


TYPES_MODULES = ("chat", "chat_events", "responses", "response_events", "models", "queue", "videos")


def test_types_package_exports_every_public_type() -> None:
    """``odirouter_async.types`` re-exports every public type of its modules (decoders excepted)."""
    import importlib

    from odirouter_async import types

    assert isinstance(types.__all__, tuple) and len(set(types.__all__)) == len(types.__all__)
    for name in types.__all__:
        assert hasattr(types, name), name
    for mod_name in TYPES_MODULES:
        module = importlib.import_module(f"odirouter_async.types.{mod_name}")
        # decoders (DECODER constants, decode_* functions) stay in their modules
        public = {n for n in module.__all__ if not n.isupper() and not n.startswith("decode_")}
        missing = public - set(types.__all__)
        assert not missing, f"types.{mod_name}: {sorted(missing)} not in odirouter_async.types"
        for name in public:
            assert getattr(types, name) is getattr(module, name)


def test_root_and_types_export_the_same_objects() -> None:
    """A type exported from both ``odirouter_async`` and ``odirouter_async.types`` is one object."""
    from odirouter_async import types

    shared = set(odr.__all__) & set(types.__all__)
    assert {"ChatCompletion", "Response", "UnknownEvent", "JobResult", "ChatContentDeltaEvent"} <= shared
    for name in shared:
        assert getattr(odr, name) is getattr(types, name), name
