"""Structured outputs: a type in, a strict JSON schema out, the model's JSON back into the type.

- ``output_format(T)``: the ``OutputFormat`` of a ``msgspec.Struct`` (or any type msgspec can
  describe whose schema is an object: ``TypedDict``, dataclass), a pydantic model (duck-typed:
  ``model_json_schema``/``model_validate_json``) or a plain JSON-schema dict.  It holds the strict
  schema (``llm.strict_schema``), the ``name`` and the decoder; built once per type (cached).
- ``function_tool(T, name=..., description=...)``: a strict function tool whose parameters are
  ``T``'s schema; a ``FunctionTool`` is a plain chat-shaped tool dict (usable anywhere a tool dict
  is) that remembers ``T``, so ``parse`` results get ``parsed_arguments``.
- ``parse_chat_completion`` / ``parse_response``: fill ``parsed`` / ``output_parsed`` and
  ``parsed_arguments`` of a decoded result; JSON that does not decode raises ``ContentParseError``
  (``LengthFinishReasonError`` when the generation was cut by the token limit), with the text.
- ``ParsedChatCompletionStream`` / ``ParsedResponseStream``: the ``.stream(...)`` helpers whose
  final object is parsed once, at the end: nothing is added to the per-chunk path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast

import msgspec

from .._exceptions import ContentParseError, LengthFinishReasonError
from ..types._base import TopLevel
from ..types.chat import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion
from ..types.responses import (
    ParsedResponse,
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)
from .chat_stream import ChatCompletionStream
from .helper import StreamManager
from .responses_stream import ResponseStream
from .stream import AsyncStream, ResponseStreamItem
from .strict_schema import StrictSchemaError, schema_name, to_strict_json_schema

__all__ = (
    "FunctionTool",
    "OutputFormat",
    "ParsedChatCompletionStream",
    "ParsedChatCompletionStreamManager",
    "ParsedResponseStream",
    "ParsedResponseStreamManager",
    "function_tool",
    "output_format",
    "parse_chat_completion",
    "parse_response",
)

T = TypeVar("T")
_any_decode = msgspec.json.decode


@dataclass(frozen=True)
class OutputFormat(Generic[T]):
    """A strict JSON schema and the decoder of the type it was made from."""

    name: str
    schema: dict[str, Any]
    decode: Callable[[str], T]
    description: str | None = None
    #: A format sent as given (``{"type": "json_object"}``) instead of a strict schema.
    given: Mapping[str, Any] | None = None

    def chat_param(self) -> dict[str, Any]:
        """The chat ``response_format`` value."""
        if self.given is not None:
            return dict(self.given)
        spec: dict[str, Any] = {"name": self.name, "schema": self.schema, "strict": True}
        if self.description:
            spec["description"] = self.description
        return {"type": "json_schema", "json_schema": spec}

    def responses_param(self) -> dict[str, Any]:
        """The Responses ``text.format`` value."""
        if self.given is not None:
            return dict(self.given)
        fmt: dict[str, Any] = {
            "type": "json_schema",
            "name": self.name,
            "schema": self.schema,
            "strict": True,
        }
        if self.description:
            fmt["description"] = self.description
        return fmt


def output_format(fmt: type[T] | Mapping[str, Any], name: str | None = None) -> OutputFormat[T]:
    """The ``OutputFormat`` of a type or a JSON-schema dict (``StrictSchemaError`` if strict mode
    cannot express it).  A dict may also be a whole ``{"type": "json_schema", ...}`` format, or
    ``{"type": "json_object"}`` (sent as given; the reply decoded as JSON)."""
    if isinstance(fmt, Mapping):
        return cast("OutputFormat[T]", _dict_format(fmt, name))
    built: OutputFormat[T] = _type_format(cast("type[Any]", fmt))
    if name is not None and name != built.name:
        built = OutputFormat(schema_name(name), built.schema, built.decode, built.description)
    return built


def _dict_format(fmt: Mapping[str, Any], name: str | None) -> OutputFormat[Any]:
    if fmt.get("type") == "json_object":  # JSON mode: no schema, any JSON object back
        return OutputFormat(schema_name(name or "json_object"), {}, _decode_any, given=fmt)
    if fmt.get("type") == "json_schema":  # a whole format: chat's nested or the Responses' flat shape
        spec = fmt.get("json_schema", fmt)
        schema = to_strict_json_schema(spec.get("schema") or {})
        return OutputFormat(schema_name(name or spec.get("name") or "response"), schema, _decode_any)
    title = fmt.get("title")
    label = name or (title if isinstance(title, str) else "response")
    return OutputFormat(schema_name(label), to_strict_json_schema(fmt), _decode_any)


def _decode_any(text: str) -> Any:
    return _any_decode(text)


_FORMATS: dict[Any, OutputFormat[Any]] = {}


def _type_format(tp: type[Any]) -> OutputFormat[Any]:
    """``tp``'s format, built once per type."""
    found = _FORMATS.get(tp)
    if found is None:
        found = _FORMATS[tp] = _build_format(tp)
    return found


def _build_format(tp: type[Any]) -> OutputFormat[Any]:
    name = schema_name(getattr(tp, "__name__", "response"))
    doc = getattr(tp, "__doc__", None)
    if hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate_json"):  # pydantic v2
        return OutputFormat(name, to_strict_json_schema(tp.model_json_schema()), tp.model_validate_json)
    try:
        raw_schema = msgspec.json.schema(tp)
        info = msgspec.inspect.type_info(tp)
    except (TypeError, ValueError) as exc:
        raise StrictSchemaError(f"{tp!r} has no JSON schema: {exc}") from None
    _time_formats(info, raw_schema, raw_schema.get("$defs") or {}, set())
    decoder = msgspec.json.Decoder(tp)
    is_struct = isinstance(tp, type) and issubclass(tp, msgspec.Struct)
    description = doc.strip() if isinstance(doc, str) and doc.strip() and is_struct else None
    schema = to_strict_json_schema(raw_schema, nullable_optional=False)
    return OutputFormat(name, schema, decoder.decode, description)


_TIME_FORMATS: Final = {msgspec.inspect.DateTimeType: "date-time", msgspec.inspect.TimeType: "time"}
_RECORDS: Final = (msgspec.inspect.StructType, msgspec.inspect.TypedDictType, msgspec.inspect.DataclassType)
_SEQUENCES: Final = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


def _time_formats(info: Any, node: Any, defs: Mapping[str, Any], seen: set[str]) -> None:
    """Add ``format`` (``date-time``/``time``) to ``node`` where ``info`` is a datetime or time
    (msgspec writes a bare ``string``, and the model would write any text the decoder refuses)."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref[len("#/$defs/") :]
        if name not in seen and name in defs:
            seen.add(name)
            _time_formats(info, defs[name], defs, seen)
        return
    fmt = _TIME_FORMATS.get(type(info))
    if fmt is not None:
        if node.get("type") == "string" and "format" not in node and info.tz is not False:
            node["format"] = fmt
    elif isinstance(info, _RECORDS):
        props = node.get("properties") or {}
        for field in info.fields:
            _time_formats(field.type, props.get(field.encode_name), defs, seen)
    elif isinstance(info, _SEQUENCES):
        _time_formats(info.item_type, node.get("items"), defs, seen)
    elif isinstance(info, msgspec.inspect.UnionType) and isinstance(node.get("anyOf"), list):
        members = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        options = [o for o in node["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(members) == 1 and len(options) == 1:  # Optional[X]: the one non-null option
            _time_formats(members[0], options[0], defs, seen)


class FunctionTool(dict[str, Any]):
    """A strict chat function tool made by ``function_tool`` (a plain dict on the wire).

    ``format`` decodes the tool's arguments; ``for_responses()`` is the same tool in the
    Responses API's flat shape (``responses.parse``/``stream`` convert it themselves).
    """

    format: OutputFormat[Any]

    def for_responses(self) -> dict[str, Any]:
        """The tool as the Responses API spells it (``name``/``parameters`` at the top level)."""
        return {"type": "function", **self["function"]}


def function_tool(
    params: type[Any] | Mapping[str, Any], *, name: str | None = None, description: str | None = None
) -> FunctionTool:
    """A strict function tool whose ``parameters`` are the schema of ``params`` (a Struct, a
    pydantic model or a JSON-schema dict); ``name`` defaults to the type's name, ``description``
    to its docstring.  ``parse`` results decode its calls' arguments into ``params``."""
    fmt: OutputFormat[Any] = output_format(params, name)
    spec: dict[str, Any] = {"name": fmt.name, "parameters": fmt.schema, "strict": True}
    desc = description if description is not None else fmt.description
    if desc:
        spec["description"] = desc
    tool = FunctionTool(type="function", function=spec)
    tool.format = fmt
    return tool


def tool_formats(tools: Iterable[Mapping[str, Any]] | Any) -> dict[str, OutputFormat[Any]]:
    """The ``FunctionTool`` formats among ``tools``, by tool name."""
    if not isinstance(tools, Iterable):
        return {}
    return {t["function"]["name"]: t.format for t in tools if isinstance(t, FunctionTool)}


def responses_tools(tools: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``tools`` with every ``FunctionTool`` in the Responses shape."""
    return [t.for_responses() if isinstance(t, FunctionTool) else t for t in tools]


def _decode(fmt: OutputFormat[T], text: str, truncated: bool, rid: str | None, what: str) -> T:
    try:
        return fmt.decode(text)
    except Exception as exc:  # msgspec.DecodeError/ValidationError, pydantic's ValidationError
        if truncated:
            raise LengthFinishReasonError(
                f"{what} was cut by the token limit before its JSON was complete",
                content=text,
                finish_reason="length",
                x_request_id=rid,
            ) from None
        raise ContentParseError(
            f"{what} does not decode as {fmt.name!r}: {exc}", content=text, x_request_id=rid
        ) from None


def parse_chat_completion(
    completion: ParsedChatCompletion[T],
    fmt: OutputFormat[T] | None,
    tools: Mapping[str, OutputFormat[Any]],
) -> ParsedChatCompletion[T]:
    """Fill ``message.parsed`` of every choice and ``parsed_arguments`` of known tools (in place)."""
    rid = completion.x_request_id
    for choice in completion.choices:
        msg = choice.message
        truncated = choice.finish_reason == "length"
        if fmt is not None and msg.content is not None and not msg.refusal:
            msg.parsed = _decode(fmt, msg.content, truncated, rid, f"choice {choice.index}'s content")
        for call in msg.tool_calls or ():
            tool = tools.get(call.function.name)
            if tool is not None:
                args = call.function.arguments or "{}"
                what = f"the arguments of tool call {call.id!r}"
                call.function.parsed_arguments = _decode(tool, args, truncated, rid, what)
    return completion


def parse_response(
    response: ParsedResponse[T],
    fmt: OutputFormat[T] | None,
    tools: Mapping[str, OutputFormat[Any]],
) -> ParsedResponse[T]:
    """Fill ``output_parsed``, each ``output_text`` part's ``parsed`` and ``parsed_arguments``."""
    rid = response.x_request_id
    details = response.incomplete_details
    truncated = details is not None and details.reason == "max_output_tokens"
    for item in response.output:
        if isinstance(item, ResponseOutputMessage) and fmt is not None:
            for part in item.content:
                if isinstance(part, ResponseOutputText):
                    part.parsed = _decode(fmt, part.text, truncated, rid, "the output text")
                    if response.output_parsed is None:
                        response.output_parsed = part.parsed
        elif isinstance(item, ResponseFunctionToolCall):
            tool = tools.get(item.name)
            if tool is not None:
                what = f"the arguments of function call {item.call_id!r}"
                item.parsed_arguments = _decode(tool, item.arguments or "{}", truncated, rid, what)
    return response


_TP = TypeVar("_TP", bound=TopLevel)


def _retype(obj: TopLevel, cls: type[_TP]) -> _TP:
    """``obj`` converted to its ``Parsed*`` subclass, with the raw body and request id kept."""
    out = msgspec.convert(msgspec.to_builtins(obj), cls)
    out.__dict__.update(obj.__dict__)
    return out


def to_parsed_response(response: Response) -> ParsedResponse[Any]:
    """A ``Response`` as a ``ParsedResponse`` (nothing filled yet)."""
    return _retype(response, ParsedResponse)


def to_parsed_completion(completion: ChatCompletion) -> ParsedChatCompletion[Any]:
    """A ``ChatCompletion`` as a ``ParsedChatCompletion`` (nothing filled yet)."""
    return _retype(completion, ParsedChatCompletion)


# ----------------------------------------------------------------------------------------------
# Streams: the final object parsed once


class ParsedChatCompletionStream(ChatCompletionStream, Generic[T]):
    """A ``ChatCompletionStream`` whose ``get_final_completion()`` is a ``ParsedChatCompletion[T]``."""

    def __init__(
        self,
        stream: AsyncStream[ChatCompletionChunk],
        fmt: OutputFormat[T] | None,
        tools: Mapping[str, OutputFormat[Any]],
    ) -> None:
        super().__init__(stream)
        self._format = fmt
        self._tools = tools

    async def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read to the end; the accumulated completion with ``message.parsed`` filled."""
        completion = await super().get_final_completion()
        parsed: ParsedChatCompletion[T] = to_parsed_completion(completion)
        return parse_chat_completion(parsed, self._format, self._tools)


class ParsedChatCompletionStreamManager(StreamManager[ChatCompletionChunk, ParsedChatCompletionStream[T]]):
    """``async with client.chat.completions.stream(..., response_format=T) as s``."""

    def __init__(
        self,
        open_stream: Callable[[], Any],
        fmt: OutputFormat[T] | None,
        tools: Mapping[str, OutputFormat[Any]],
    ) -> None:
        super().__init__(open_stream)
        self._format = fmt
        self._tools = tools

    def _wrap(self, stream: AsyncStream[ChatCompletionChunk]) -> ParsedChatCompletionStream[T]:
        return ParsedChatCompletionStream(stream, self._format, self._tools)


class ParsedResponseStream(ResponseStream, Generic[T]):
    """A ``ResponseStream`` whose ``get_final_response()`` is a ``ParsedResponse[T]``."""

    def __init__(
        self,
        stream: AsyncStream[ResponseStreamItem],
        fmt: OutputFormat[T] | None,
        tools: Mapping[str, OutputFormat[Any]],
    ) -> None:
        super().__init__(stream)
        self._format = fmt
        self._tools = tools

    async def get_final_response(self) -> ParsedResponse[T]:
        """Read to the end; the terminal response with ``output_parsed`` filled."""
        response = await super().get_final_response()
        parsed: ParsedResponse[T] = to_parsed_response(response)
        return parse_response(parsed, self._format, self._tools)


class ParsedResponseStreamManager(StreamManager[ResponseStreamItem, ParsedResponseStream[T]]):
    """``async with client.responses.stream(..., text_format=T) as s``."""

    def __init__(
        self,
        open_stream: Callable[[], Any],
        fmt: OutputFormat[T] | None,
        tools: Mapping[str, OutputFormat[Any]],
    ) -> None:
        super().__init__(open_stream)
        self._format = fmt
        self._tools = tools

    def _wrap(self, stream: AsyncStream[ResponseStreamItem]) -> ParsedResponseStream[T]:
        return ParsedResponseStream(stream, self._format, self._tools)
