"""``RawResponse`` and ``raw_method``: a resource call returning its HTTP answer with its result.

The building block of ``client.with_raw_response`` (``_raw.py``) and of the resources'
own ``with_raw_response`` namespaces (``client.chat.completions.with_raw_response``, openai's other
spelling); it imports no resource, so every resource may use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Generic, ParamSpec, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy

from .capture import capturing

__all__ = ("RawResponse", "raw_method")

_T = TypeVar("_T")
_P = ParamSpec("_P")


class RawResponse(Generic[_T]):
    """A call's result with its HTTP answer: ``headers``, ``status_code``, ``x_request_id``, ``parse()``.

    Attributes:
        headers: the response headers as sent, case-insensitive
            (``headers["X-RateLimit-Remaining-Requests"]``).
        status_code: the HTTP status of the answer.
        x_request_id: the exchange's ``X-Request-Id`` (the gateway's echo, else the one sent).
        url: the URL that answered (never the request headers: they carry the key).
    """

    __slots__ = ("_parsed", "headers", "status_code", "url", "x_request_id")

    def __init__(
        self,
        parsed: _T,
        *,
        headers: CIMultiDictProxy[str],
        status_code: int,
        x_request_id: str | None,
        url: str,
    ) -> None:
        self._parsed = parsed
        self.headers = headers
        self.status_code = status_code
        self.x_request_id = x_request_id
        self.url = url

    def parse(self) -> _T:
        """The typed result the call returns without ``with_raw_response`` (a stream for ``stream=True``)."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<RawResponse status_code={self.status_code} x_request_id={self.x_request_id!r}>"


_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


def raw_method(method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[RawResponse[_T]]]:
    """``method`` (a resource method returning an awaitable) returning a ``RawResponse`` instead."""

    @wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        with capturing() as exchange:
            result = await method(*args, **kwargs)
        return RawResponse(
            result,
            headers=exchange.headers if exchange.headers is not None else _NO_HEADERS,
            status_code=exchange.status,
            x_request_id=exchange.x_request_id,
            url=exchange.url,
        )

    return call
