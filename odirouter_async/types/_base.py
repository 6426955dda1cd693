"""Base classes every wire type derives from.

``WireModel``: a msgspec Struct that tolerates unknown fields (msgspec skips them), takes keyword
arguments only and omits unset defaults when encoded.

``TopLevel``: a result returned by a call (``ChatCompletion``, ``Response``, ``JobResult`` ...).
It has a ``__dict__`` so the SDK can attach the raw JSON and the HTTP request id without those
being wire fields: ``obj.raw`` is the whole JSON body as a dict (decoded lazily, once), and
``obj.x_request_id`` the ``X-Request-Id`` of the HTTP exchange that produced it.

Every wire object converts to plain Python values with ``obj.to_dict()`` (or
``odirouter_async.to_dict(obj)`` for lists and anything else).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

__all__ = ("TopLevel", "WireModel", "attach_raw", "attach_raw_item", "to_dict")

_json_decode = msgspec.json.decode


class WireModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A JSON object on the wire; unknown fields are tolerated."""

    def to_dict(self) -> dict[str, Any]:
        """This object as plain Python values (dicts, lists, str, numbers, None), unset fields omitted."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


def to_dict(obj: Any) -> Any:
    """Any result, event or list of them as plain Python values (``msgspec.to_builtins``).

    Structs become dicts (fields left at their default omitted), lists stay lists; the fields
    the gateway sent that the SDK does not model are in ``result.raw`` (whole bodies) instead.
    """
    return msgspec.to_builtins(obj)


class TopLevel(WireModel, dict=True):
    """A whole response body: keeps its raw JSON (``.raw``) and HTTP request id."""

    @property
    def raw(self) -> Any:
        """The whole JSON body as received, decoded into plain Python objects."""
        d = self.__dict__
        if "_raw_obj" not in d:
            raw = d.get("_raw_bytes")
            try:
                d["_raw_obj"] = _json_decode(raw) if raw is not None else msgspec.to_builtins(self)
            except (msgspec.DecodeError, RecursionError):  # decoded typed, so only on a deep stack
                d["_raw_obj"] = msgspec.to_builtins(self)
        return d["_raw_obj"]

    @property
    def raw_bytes(self) -> bytes | None:
        """The body bytes as received (``None`` for objects the SDK assembled itself)."""
        raw: bytes | None = self.__dict__.get("_raw_bytes")
        return raw

    @property
    def x_request_id(self) -> str | None:
        """The ``X-Request-Id`` of the HTTP exchange that produced this object."""
        rid: str | None = self.__dict__.get("_x_request_id")
        return rid


T = TypeVar("T", bound=TopLevel)
S = TypeVar("S", bound=msgspec.Struct)


def attach_raw(obj: T, raw: bytes | None, x_request_id: str | None, raw_obj: Any = None) -> T:
    """Attach the raw body and HTTP request id to a freshly decoded top-level object.

    ``raw_obj``: the body already decoded into plain objects (a lenient decode had it), kept as
    ``.raw`` so it is not decoded again.  This module is the only writer of these attributes.
    """
    d = obj.__dict__
    d["_raw_bytes"] = raw
    d["_x_request_id"] = x_request_id
    if raw_obj is not None:
        d["_raw_obj"] = raw_obj
    return obj


def attach_raw_item(obj: S, raw_obj: Any) -> S:
    """Keep the JSON an item inside a body was coerced from (a ``dict=True`` Struct: ``.raw``)."""
    obj.__dict__["_raw_obj"] = raw_obj
    return obj
