"""A resource method's parameters -> its request: the per-call options and the JSON body.

Every resource method takes the same per-call options (``extra_headers``, ``extra_query``,
``extra_body``, ``timeout``, ``max_retries``, ``x_request_id``); the generated chat and Responses
methods also take their request fields by name.  The methods hand their ``locals()`` here instead
of spelling each name again: ``request_options`` picks the options a method has, ``request_body``
the fields that were given (``NOT_GIVEN`` left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._config import NOT_GIVEN, OPTION_NAMES, RequestOptions

__all__ = ("OPTION_NAMES", "request_body", "request_options")


def request_options(given: Mapping[str, Any]) -> RequestOptions:
    """The ``RequestOptions`` of a method's parameters (its ``locals()``): the options it has."""
    return RequestOptions.of_params(given)


def request_body(
    head: dict[str, Any], given: Mapping[str, Any], fields: Iterable[str], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """``head``, then each of ``fields`` that ``given`` holds a value for, then the ``extra`` keywords."""
    for name in fields:
        value = given[name]
        if value is not NOT_GIVEN:
            head[name] = value
    head.update(extra)
    return head
