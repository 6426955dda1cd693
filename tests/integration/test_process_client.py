"""The client at its edges: a half-built client's repr, base URLs read with stray whitespace."""

from __future__ import annotations

import pytest
from hostile_http import RawServer, http_response, writes

import odirouter_async as odr

pytestmark = pytest.mark.anyio

MODELS = b'{"object":"list","data":[]}'


def test_repr_of_a_half_built_client_does_not_raise() -> None:
    """A client whose __init__ raised InsecureURLError still has a repr (locals-capturing reporters)."""
    with pytest.raises(odr.InsecureURLError) as info:
        odr.AsyncOdiRouter(api_key="sk-half-built-0123", base_url="http://gateway.example.com")
    tb = info.value.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_name != "__init__":
        tb = tb.tb_next
    assert tb is not None
    half_built = tb.tb_frame.f_locals["self"]
    assert repr(half_built) == "AsyncOdiRouter(<not built>, api_key='***')"
    assert "sk-half-built-0123" not in repr(tb.tb_frame.f_locals)


@pytest.mark.parametrize("suffix", ["\n", "/\n", "/ ", " ", "/v1\n", "/v1/ ", "/v1/\r\n\t"])
async def test_base_url_with_stray_whitespace(suffix: str) -> None:
    """A base URL read with a newline or trailing spaces (with or without /v1) calls /v1/models."""
    async with (
        RawServer(writes(http_response(200, MODELS, headers={"Connection": "close"}))) as server,
        odr.AsyncOdiRouter(api_key="sk-x", base_url=" " + server.url + suffix) as client,
    ):
        assert client.base_url == server.url
        await client.models.list()
    assert [r.path for r in server.requests] == ["/v1/models"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/v 1", "http://127.0.0.1:1/a\nb", "http://127.0.0.1:1/\x00"]
)
def test_base_url_with_inner_whitespace_is_refused(url: str) -> None:
    """Whitespace or a control character inside the base URL is a clear InsecureURLError."""
    with pytest.raises(odr.InsecureURLError, match="space or control character"):
        odr.AsyncOdiRouter(api_key="sk-x", base_url=url)


def test_environment_base_url_with_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    """ODIROUTER_BASE_URL read from a file keeps its newline: it is dropped."""
    monkeypatch.setenv("ODIROUTER_BASE_URL", "https://gw.example.com/v1\n")
    client = odr.AsyncOdiRouter(api_key="sk-x")
    assert client.base_url == "https://gw.example.com"
