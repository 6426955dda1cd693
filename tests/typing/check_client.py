"""Type check: client construction, options, models, the error tree (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing_extensions import assert_type

import odirouter_async as odr


async def client_lifecycle() -> None:
    """Construction with every kind of option, ``with_options``, ``async with`` and ``aclose``."""
    client = odr.AsyncOdiRouter(
        api_key="k",
        base_url="http://127.0.0.1:8080",
        timeout=odr.Timeout(read=30, connect=5),
        max_retries=3,
        limits=odr.Limits(),
        default_headers={"x-team": "a"},
        allow_insecure_http=True,
        polling=odr.PollingOptions(),
    )
    fast = client.with_options(timeout=10, max_retries=0)
    assert_type(fast, odr.AsyncOdiRouter)
    assert_type(client.is_closed, bool)
    await client.aclose()
    async with odr.AsyncOdiRouter(timeout=None) as c:
        assert_type(c, odr.AsyncOdiRouter)
        models = await c.models.list()
        assert_type(models, odr.ModelList)
        ids: list[str] = [m.id for m in models.data]
        print(ids)


async def conventions() -> None:
    """openai-python's spellings: ``close()``, ``async for`` over a list call, plain dicts."""
    client = odr.AsyncOdiRouter()
    async for model in client.models.list():
        assert_type(model, odr.Model)
    completion = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    plain: dict[str, object] = completion.to_dict()
    also = odr.to_dict(completion)
    print(plain, also)
    await client.close()


async def errors(client: odr.AsyncOdiRouter) -> None:
    """The error tree: what each ``except`` clause gives."""
    try:
        await client.models.list()
    except odr.RateLimitError as e:
        retry_after: float | None = e.retry_after
        status: int = e.status_code
        traced: str | None = e.x_request_id
        headers: dict[str, str] = e.headers
        print(retry_after, status, e.body, headers, traced)
    except odr.APIStatusError as e:
        code: str | None = e.code
        print(code, e.error_type, e.message)
    except odr.APITimeoutError as e:
        assert_type(e, odr.APITimeoutError)
    except odr.APIConnectionError as e:
        assert_type(e, odr.APIConnectionError)
    except odr.StreamError as e:
        print(e.body)
    except odr.JobFailed as e:
        job_id: str | None = e.request_id
        call_id: str | None = e.x_request_id
        print(e.error, e.error_type, e.endpoint, job_id, call_id)
    except odr.OdiRouterError as e:
        msg: str = e.message
        print(msg)
