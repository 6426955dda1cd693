"""ChatCompletionAccumulator: choices, tool calls, reasoning, usage, errors, O(1) per chunk."""

from __future__ import annotations

from typing import Any

import msgspec

from odirouter_async.llm.chat_state import ChatCompletionAccumulator
from odirouter_async.types._base import attach_raw
from odirouter_async.types.chat import ChatCompletion, ChatCompletionChunk

_decode = msgspec.json.Decoder(ChatCompletionChunk).decode


def mk(choices: list[dict[str, Any]] | None = None, **top: Any) -> ChatCompletionChunk:
    """A decoded chunk (raw bytes attached, as the stream decoder does)."""
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m", **top}
    body["choices"] = choices or []
    raw = msgspec.json.encode(body)
    return attach_raw(_decode(raw), raw, None)


def delta(index: int = 0, finish_reason: str | None = None, logprobs: Any = None, **d: Any) -> dict[str, Any]:
    """One choice entry of a chunk."""
    return {"index": index, "delta": d, "finish_reason": finish_reason, "logprobs": logprobs}


def tc(
    index: int | None = None, id: str | None = None, name: str | None = None, args: str | None = None
) -> Any:
    """One tool-call fragment (``index`` omitted when None, as Mistral does)."""
    frag: dict[str, Any] = {"function": {"name": name, "arguments": args}}
    if index is not None:
        frag["index"] = index
    if id is not None:
        frag["id"] = id
        frag["type"] = "function"
    return frag


def run(*chunks: ChatCompletionChunk) -> ChatCompletionAccumulator:
    """An accumulator fed these chunks."""
    acc = ChatCompletionAccumulator()
    for c in chunks:
        acc.add(c)
    return acc


def calls(acc: ChatCompletionAccumulator, index: int = 0) -> list[tuple[Any, ...]]:
    """(index, id, name, arguments) of the final tool calls of one choice."""
    choice = next(c for c in acc.final().choices if c.index == index)
    return [(t.index, t.id, t.function.name, t.function.arguments) for t in choice.message.tool_calls or []]


def test_text_and_final_shape() -> None:
    """Content fragments join once; the final object is a ``chat.completion``."""
    acc = run(
        mk([delta(role="assistant", content="")]),
        mk([delta(content="Hel")]),
        mk([delta(content="lo")]),
        mk([delta(finish_reason="stop")]),
    )
    final = acc.final(x_request_id="rq")
    assert isinstance(final, ChatCompletion)
    assert final.object == "chat.completion"
    assert (final.id, final.model, final.created) == ("c1", "m", 7)
    assert final.choices[0].message.content == "Hello"
    assert final.choices[0].message.role == "assistant"
    assert final.choices[0].finish_reason == "stop"
    assert final.x_request_id == "rq"
    assert final.raw["choices"][0]["message"]["content"] == "Hello"


def test_top_level_from_first_non_empty_chunk() -> None:
    """Azure's empty first chunk does not blank id/model/created."""
    acc = run(
        mk([], id="", model="", created=0, object=""),
        mk([delta(content="x")], id="real", model="gpt", created=5, system_fingerprint="fp"),
        mk([delta(content="y")], id="other", model="other", created=9),
    )
    final = acc.final()
    assert (final.id, final.model, final.created, final.system_fingerprint) == ("real", "gpt", 5, "fp")


def test_usage_last_non_null_and_raw_extras() -> None:
    """Usage is the last non-null one; ``usage_raw`` keeps provider extras exactly."""
    u1 = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    u2 = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7, "cost": 0.5, "weird_extra": [1]}
    acc = run(mk([delta(content="a")], usage=u1), mk([], usage=u2), mk([delta(content="b")], usage=None))
    assert acc.usage is not None
    assert (acc.usage.total_tokens, acc.usage.cost) == (7, 0.5)
    assert acc.usage_raw == u2
    assert acc.final().usage == acc.usage


def test_no_usage() -> None:
    """Without any usage, usage and usage_raw are None."""
    acc = run(mk([delta(content="a")]))
    assert acc.usage is None
    assert acc.usage_raw is None


def test_n2_interleaved_choices() -> None:
    """``n=2`` chunks interleave; choice 0 is the one whose index is 0, not the first seen."""
    acc = run(
        mk([delta(1, content="B1")]),
        mk([delta(0, content="A1")]),
        mk([delta(1, content="B2", finish_reason="length")]),
        mk([delta(0, content="A2", finish_reason="stop")]),
    )
    assert acc.choice_indexes == [0, 1]
    assert (acc.text(0), acc.text(1)) == ("A1A2", "B1B2")
    assert (acc.finish_reason(0), acc.finish_reason(1)) == ("stop", "length")
    final = acc.final()
    assert [c.index for c in final.choices] == [0, 1]
    assert final.choices[1].message.content == "B1B2"


def test_finish_reason_last_non_null() -> None:
    """A later null finish_reason does not erase an earlier one."""
    acc = run(mk([delta(finish_reason="length")]), mk([delta(finish_reason=None)]))
    assert acc.finish_reason(0) == "length"


def test_refusal_and_empty_refusals() -> None:
    """Refusal fragments join; empty strings (Snowflake) give None."""
    assert run(mk([delta(refusal="I can't")]), mk([delta(refusal=" help")])).refusal(0) == "I can't help"
    acc = run(mk([delta(refusal="", content="4")]))
    assert acc.refusal(0) is None
    assert acc.final().choices[0].message.refusal is None


def test_reasoning_content_preferred_over_reasoning() -> None:
    """Per delta, ``reasoning_content`` wins over ``reasoning``; each lands in its own field."""
    acc = run(mk([delta(reasoning_content="a", reasoning="a")]), mk([delta(reasoning_content="b")]))
    assert acc.reasoning(0) == "ab"
    msg = acc.final().choices[0].message
    assert (msg.reasoning_content, msg.reasoning) == ("ab", None)
    acc = run(mk([delta(reasoning="x")]), mk([delta(reasoning=None)]), mk([delta(reasoning="y")]))
    msg = acc.final().choices[0].message
    assert (msg.reasoning_content, msg.reasoning) == (None, "xy")


def test_no_content_gives_none() -> None:
    """A tool-call-only message has ``content`` None."""
    acc = run(mk([delta(tool_calls=[tc(0, "id1", "f", "{}")])]))
    assert acc.final().choices[0].message.content is None
    assert acc.text(0) == ""


def test_tool_calls_grouped_by_index() -> None:
    """Fragments group by index; id/name first non-empty; arguments concatenated in order."""
    acc = run(
        mk([delta(tool_calls=[tc(0, "call_a", "get", "")])]),
        mk([delta(tool_calls=[tc(0, args='{"lo')])]),
        mk([delta(tool_calls=[tc(1, "call_b", "put", None)])]),
        mk([delta(tool_calls=[tc(0, args='c": 1}'), tc(1, args="{}")])]),
        mk([delta(finish_reason="tool_calls")]),
    )
    assert calls(acc) == [(0, "call_a", "get", '{"loc": 1}'), (1, "call_b", "put", "{}")]
    assert acc.final().choices[0].message.tool_calls[0].type == "function"  # type: ignore[index]


def test_null_argument_fragments_skipped() -> None:
    """Writer's ``arguments: null`` fragments are skipped, not turned into "None"."""
    acc = run(
        mk(
            [
                delta(
                    tool_calls=[
                        {
                            "index": 0,
                            "id": "w1",
                            "type": "function",
                            "function": {"name": "f", "arguments": None},
                        }
                    ]
                )
            ]
        ),
        mk(
            [
                delta(
                    tool_calls=[
                        {"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": "{"}}
                    ]
                )
            ]
        ),
        mk(
            [
                delta(
                    tool_calls=[
                        {"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": None}}
                    ]
                )
            ]
        ),
        mk([delta(tool_calls=[{"index": 0, "function": {"arguments": "}"}}])]),
    )
    assert calls(acc) == [(0, "w1", "f", "{}")]


def test_tool_call_without_index_matched_by_id() -> None:
    """Mistral: no index; a new id is a new call, a known id continues its call."""
    acc = run(
        mk([delta(tool_calls=[tc(None, "A", "f", '{"x":')])]),
        mk([delta(tool_calls=[tc(None, "B", "g", "{}")])]),
        mk([delta(tool_calls=[tc(None, "A", None, " 1}")])]),
    )
    assert calls(acc) == [(None, "A", "f", '{"x": 1}'), (None, "B", "g", "{}")]


def test_tool_call_without_index_or_id_continues_previous() -> None:
    """A fragment with neither index nor id continues the previous call."""
    acc = run(
        mk([delta(tool_calls=[tc(None, "A", "f", "{")])]), mk([delta(tool_calls=[tc(None, None, None, "}")])])
    )
    assert calls(acc) == [(None, "A", "f", "{}")]


def test_tool_call_first_fragment_without_anything() -> None:
    """A first fragment with neither index nor id still makes a call (nothing dropped)."""
    acc = run(mk([delta(tool_calls=[tc(None, None, "f", "{}")])]))
    assert calls(acc) == [(None, "", "f", "{}")]


def test_repeated_index_same_id_merges() -> None:
    """A provider repeating the id on every fragment of one call does not split it."""
    acc = run(mk([delta(tool_calls=[tc(0, "A", "f", "{")])]), mk([delta(tool_calls=[tc(0, "A", "f", "}")])]))
    assert calls(acc) == [(0, "A", "f", "{}")]


def test_repeated_index_with_new_id_starts_new_call() -> None:
    """Every parallel call at index 0 with its own id (some gateways): separate calls."""
    acc = run(
        mk([delta(tool_calls=[tc(0, "A", "f", '{"a": 1}'), tc(0, "B", "g", '{"b": 2}')])]),
        mk([delta(tool_calls=[tc(0, None, None, "")])]),
    )
    assert calls(acc) == [(0, "A", "f", '{"a": 1}'), (0, "B", "g", '{"b": 2}')]


def test_tool_calls_per_choice() -> None:
    """Tool calls of different choices stay apart."""
    acc = run(
        mk([delta(0, tool_calls=[tc(0, "A", "f", "1")])]), mk([delta(1, tool_calls=[tc(0, "B", "g", "2")])])
    )
    assert calls(acc, 0) == [(0, "A", "f", "1")]
    assert calls(acc, 1) == [(0, "B", "g", "2")]


def test_errors_recorded_not_raised() -> None:
    """A chunk's ``error`` member goes to ``errors``; its usage still counts."""
    usage = {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}
    acc = run(mk([delta(content="a")]), mk([], error={"code": 400, "message": "x"}, usage=usage))
    assert acc.errors == [{"code": 400, "message": "x"}]
    assert acc.usage is not None and acc.usage.total_tokens == 5
    assert acc.chunks == 2


def test_logprobs_extended() -> None:
    """``logprobs.content`` lists are extended across chunks."""
    lp1 = {"content": [{"token": "a", "logprob": -0.1}], "refusal": None}
    lp2 = {"content": [{"token": "b", "logprob": -0.2}]}
    acc = run(mk([delta(content="a", logprobs=lp1)]), mk([delta(content="b", logprobs=lp2)]))
    assert acc.final().choices[0].logprobs == {"content": lp1["content"] + lp2["content"]}


def test_megabytes_of_arguments_are_not_rejoined() -> None:
    """5 MB of argument fragments: correct result, and add() only appends (no re-join per chunk)."""
    piece = "x" * 1000
    n = 5000
    acc = ChatCompletionAccumulator()
    acc.add(mk([delta(tool_calls=[tc(0, "big", "f", '{"blob": "')])]))
    frag = mk([delta(tool_calls=[tc(0, None, None, piece)])])
    for _ in range(n):
        acc.add(frag)
    acc.add(mk([delta(tool_calls=[tc(0, None, None, '"}')], finish_reason="tool_calls")]))
    # Behaviour, not timing: the state holds the fragments themselves, un-joined.
    parts = acc._choices[0].calls[0].args
    assert len(parts) == n + 2
    decoded = frag.choices[0].delta.tool_calls[0].function.arguments  # type: ignore[index,union-attr]
    assert all(p is decoded for p in parts[1:-1])
    args = calls(acc)[0][3]
    assert len(args) == n * 1000 + len('{"blob": ""}')
    assert msgspec.json.decode(args)["blob"] == piece * n
