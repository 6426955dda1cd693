"""The API reference documents every public method of every resource, from its real signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async import _raw as raw
from odirouter_async.llm import chat, models, responses
from odirouter_async.queue import resource as queue
from odirouter_async.videos import resource as videos

ROOT = Path(__file__).resolve().parents[2]
RESOURCES: tuple[type[Any], ...] = (
    chat.Completions,
    chat.Chat,
    responses.Responses,
    models.Models,
    queue.Queue,
    videos.Videos,
)


@pytest.fixture(scope="module")
def page(docs_site: Path) -> str:
    """The built reference/resources page (``mkdocs build --strict``)."""
    return (docs_site / "reference" / "resources" / "index.html").read_text()


def _public_methods(cls: type[Any]) -> list[str]:
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
    ]


def _section(html: str, anchor: str) -> str:
    """The HTML from ``anchor``'s heading to the next documented object."""
    start = html.index(f'id="{anchor}"')
    following = re.search(r'id="odirouter_async\.resources\.[^"]+"', html[start + len(anchor) + 5 :])
    end = start + len(anchor) + 5 + following.start() if following else len(html)
    return html[start:end]


def test_every_resource_method_is_documented_with_its_parameters(page: str) -> None:
    """Each public method of each resource has its entry, and each of its parameters is named there."""
    missing = []
    for cls in RESOURCES:
        for name in _public_methods(cls):
            anchor = f"{cls.__module__}.{cls.__qualname__}.{name}"
            if f'id="{anchor}"' not in page:
                missing.append(anchor)
                continue
            value = vars(cls)[name]
            if isinstance(value, property):
                continue
            section = _section(page, anchor)
            for param in list(inspect.signature(value).parameters)[1:]:
                if param not in section:
                    missing.append(f"{anchor}({param})")
    assert not missing, missing


def test_main_calls_are_there(page: str) -> None:
    """The calls users reach for first, and the queue.map options, are in the reference."""
    for anchor in (
        "llm.chat.Completions.create",
        "llm.chat.Completions.stream",
        "llm.responses.Responses.create",
        "llm.responses.Responses.retrieve",
        "llm.responses.Responses.cancel",
        "queue.resource.Queue.map",
        "queue.resource.Queue.submit",
        "videos.resource.Videos.wait",
        "llm.models.Models.list",
    ):
        assert f'id="odirouter_async.{anchor}"' in page, anchor
    queue_map = _section(page, "odirouter_async.queue.resource.Queue.map")
    assert "journal" in queue_map and "progress" in queue_map


def test_every_raw_response_call_is_documented(page: str) -> None:
    """Every namespace and method under client.with_raw_response has its entry."""
    client = odr.AsyncOdiRouter(api_key="sk-docs", base_url="http://127.0.0.1:9")
    missing = []
    stack: list[Any] = [client.with_raw_response]
    while stack:
        namespace = stack.pop()
        for attr, value in vars(namespace).items():
            anchor = f"{raw.__name__}.{type(namespace).__name__}.{attr}"
            if f'id="{anchor}"' not in page:
                missing.append(anchor)
            if type(value).__module__ == raw.__name__:
                stack.append(value)
    assert not missing, missing
