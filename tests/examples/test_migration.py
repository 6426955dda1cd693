"""The migration tables (README "Coming from openai-python" / "Coming from fal-client", and
docs/migrating.md) say what is true: each right-hand side runs as written against the emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
HI = [{"role": "user", "content": "hi"}]
LONG = {"prompt": "slow", "_emu": {"duration": 60}}


def _rows(text: str) -> list[str]:
    """The table rows of the two "Coming from" / "From" sections of a Markdown file."""
    rows: list[str] = []
    for section in re.split(r"^## ", text, flags=re.M):
        if re.match(r"(Coming from|From) (openai-python|fal-client)", section):
            rows += [line for line in section.splitlines() if line.startswith("| ")]
    return rows


def test_docs_and_readme_tables_are_the_same() -> None:
    """docs/migrating.md holds exactly the README's two migration tables (edit both together)."""
    readme = _rows((ROOT / "README.md").read_text())
    docs = _rows((ROOT / "docs" / "migrating.md").read_text())
    assert len(readme) > 20
    assert docs == readme


def test_test_files_named_in_the_docs_exist() -> None:
    """Every ``tests/...py`` file that README.md or docs/ names as the proof of a claim exists."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = {m for page in pages for m in re.findall(r"tests/[\w/]+\.py", page.read_text())}
    assert named
    assert sorted(n for n in named if not (ROOT / n).exists()) == []


def test_the_known_openai_conventions_are_in_the_table() -> None:
    """close()/aclose(), async iteration of list calls, dict conversion and error headers are listed."""
    table = "\n".join(_rows((ROOT / "README.md").read_text()))
    for promise in (
        "client.close()",
        "aclose()",
        "async for model in client.models.list()",
        "to_dict",
        ".headers",
    ):
        assert promise in table, promise


async def test_openai_rows_client_lifecycle_and_config(
    env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Env vars, a trailing /v1, close() as well as aclose(), with_options, Timeout(read=, connect=)."""
    monkeypatch.setenv("ODIROUTER_BASE_URL", env.url + "/v1")
    client = odr.AsyncOdiRouter(max_retries=2, timeout=odr.Timeout(read=600, connect=10))
    assert client.base_url == env.url
    view = client.with_options(max_retries=0)
    await view.models.list()
    await client.close()
    assert client.is_closed
    other = odr.AsyncOdiRouter()
    await other.aclose()
    assert other.is_closed


async def test_openai_rows_calls_results_and_dicts(env: Emulator) -> None:
    """create, streams, the helpers, Responses, models (awaited and async-iterated), to_dict, x_request_id."""
    async with odr.AsyncOdiRouter() as client:
        completion = await client.chat.completions.create(
            model="gpt-4.1",
            messages=HI,
            extra_headers={"x-a": "1"},
            extra_query={"q": "1"},
            extra_body={"user": "u"},
            x_request_id="trace-1",
        )
        assert isinstance(completion, odr.ChatCompletion) and completion.x_request_id == "trace-1"
        assert odr.to_dict(completion) == completion.to_dict()
        assert (
            odr.to_dict(completion)["choices"][0]["message"]["content"]
            == completion.choices[0].message.content
        )
        assert completion.raw["id"] == completion.id
        stream = await client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        async with stream:
            chunks = [chunk async for chunk in stream]
        assert chunks and all(isinstance(c, odr.ChatCompletionChunk) for c in chunks)
        async with client.chat.completions.stream(model="gpt-4.1", messages=HI) as s:
            text = "".join([t async for t in s.text_deltas()])
            final = await s.get_final_completion()
        assert text == final.choices[0].message.content
        response = await client.responses.create(model="gpt-4.1", input="hi")
        assert response.output_text
        deltas = []
        async with client.responses.stream(model="gpt-4.1", input="hi") as rs:
            async for event in rs:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
        assert "".join(deltas) == (await rs.get_final_response()).output_text
        models = await client.models.list()
        ids = [m.id async for m in client.models.list()]
        assert ids == [m.id for m in models.data] and "gpt-4.1" in ids


async def test_openai_row_status_error_has_headers(emu: Emulator) -> None:
    """APIStatusError carries .status_code, .headers (the response's), .body and .x_request_id."""
    emu.faults.add("models", status=429, headers={"Retry-After": "7"}, times=1)
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, max_retries=0) as client:
        with pytest.raises(odr.RateLimitError) as info:
            await client.models.list(x_request_id="trace-2")
    err = info.value
    assert isinstance(err, odr.APIStatusError)
    assert err.status_code == 429 and err.headers["retry-after"] == "7"
    assert err.x_request_id == "trace-2" and err.body is not None


async def test_openai_row_videos(emu: Emulator, tmp_path: Path) -> None:
    """videos.create, videos.wait(video.id) and videos.download_content(video.id, path)."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        video = await client.videos.create(model="sora-2", prompt="a wave", seconds="4", size="720x1280")
        video = await client.videos.wait(video.id)
        await client.videos.download_content(video.id, tmp_path / "clip.mp4")
    assert video.status == "completed" and (tmp_path / "clip.mp4").stat().st_size > 0


async def test_fal_rows(env: Emulator, tmp_path: Path) -> None:
    """run, on_update, updates(), submit/status/result/cancel, queue.job, map, download, JobFailed."""
    async with odr.AsyncOdiRouter() as client:
        result = await client.queue.run("nano_banana_2", {"prompt": "a red apple"})
        assert result.raw["outputs"][0]["url"] == result.outputs[0].url
        assert await client.queue.download(result, tmp_path)
        seen: list[odr.StatusUpdate] = []
        assert await client.queue.run("nano_banana_2", {"prompt": "x"}, on_update=seen.append)
        followed = await client.queue.submit("nano_banana_2", {"prompt": "x"})
        updates = [update async for update in followed.updates()]
        assert (await followed.result()).outputs
        assert seen[-1].status == updates[-1].status == "COMPLETED"
        job = await client.queue.submit("nano_banana_2", {"prompt": "x"})
        status = await job.status(logs=True)
        assert status.status in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
        assert (await job.status(logs=True)).logs  # fal's with_logs=True: the runner's lines
        again = client.queue.job("nano_banana_2", job.request_id)
        assert (await again.result()).outputs
        slow = await client.queue.submit("nano_banana_2", LONG)
        await slow.cancel()
        with pytest.raises(odr.JobCancelled):
            await slow.result()
        async with client.queue.map(
            "nano_banana_2", [{"prompt": "a"}, {"prompt": "b"}], concurrency=64
        ) as results:
            done = [d async for d in results]
        assert sorted(d.index for d in done) == [0, 1] and all(d.error is None for d in done)
        with pytest.raises(odr.JobFailed) as failed:
            await client.queue.run("nano_banana_2", {"prompt": "x", "_emu": {"fail": "VALIDATION_ERROR"}})
        assert failed.value.error_type == "VALIDATION_ERROR" and failed.value.request_id


async def test_fal_row_wait_timeout_leaves_the_job_running(env: Emulator) -> None:
    """queue.run(wait_timeout=) raises JobTimeout and does not cancel the job unless asked."""
    async with odr.AsyncOdiRouter() as client:
        with pytest.raises(odr.JobTimeout) as info:
            await client.queue.run("nano_banana_2", LONG, wait_timeout=0.3)
    assert not env.jobs[info.value.request_id].cancelled


async def test_openai_rows_structured_outputs(env: Emulator) -> None:
    """parse(response_format=Struct), responses.parse(text_format=), function_tool + parsed_arguments."""
    import msgspec

    class City(msgspec.Struct):
        city: str

    async with odr.AsyncOdiRouter() as client:
        completion = await client.chat.completions.parse(
            model="gpt-4.1", messages=[{"role": "user", "content": "in Oslo"}], response_format=City
        )
        assert completion.choices[0].message.parsed == City(city="Oslo")
        response = await client.responses.parse(model="gpt-4.1", input="in Lima", text_format=City)
        assert response.output_parsed == City(city="Lima")
        tool = odr.function_tool(City, name="weather")
        called = await client.chat.completions.parse(
            model="gpt-4.1", messages=[{"role": "user", "content": "weather in Hobart"}], tools=[tool]
        )
        (call,) = called.choices[0].message.tool_calls or []
        assert call.function.parsed_arguments == City(city="Hobart")
        plain = await client.responses.create(model="gpt-4.1", input="weather in Kyoto", tools=[tool])
        (item,) = [i for i in plain.output if i.type == "function_call"]
        assert item.arguments == '{"city":"Kyoto"}'
