"""``ChatCompletionAccumulator``: chat stream chunks in, one ``ChatCompletion`` out (pure).

O(1) amortised work per chunk: fragments are appended to lists and joined once, in
``final()``; nothing is re-parsed or rebuilt per chunk, so megabytes of tool-call arguments
cost the same per chunk as a short text.  Per choice ``index`` (``n > 1`` streams interleave
choices; "choice 0" is the choice whose ``index`` is 0, not the first array element):

- ``content``, ``refusal``: concatenated string fragments (``null`` skipped);
- reasoning: per delta ``reasoning_content``, else ``reasoning`` (gateways use either);
- tool calls, in first-seen order, grouped by ``index``; ``id``, ``type`` and ``name`` are the
  first non-empty values, ``arguments`` the concatenation of string fragments (``null`` skipped,
  Writer).  A fragment without ``index`` (Mistral) is matched by ``id``, or continues the
  previous call when it has no ``id`` either.  A fragment whose ``index`` is taken by a call
  with a *different* non-empty ``id`` starts a new call (some gateways give every parallel
  call index 0); the corpus has no such stream, the reference rule is silent on it;
- ``finish_reason``: the last non-null one; ``logprobs``: ``content``/``refusal`` lists extended.

Top level: ``id``, ``model``, ``created``, ``system_fingerprint``, ``service_tier`` from the
first chunk where they are non-empty (Azure's first chunk has none); ``usage`` is the last
non-null one; chunks with an ``error`` member are recorded in ``errors`` (raising is the
chat protocol's decision: ``chat_protocol``).
"""

from __future__ import annotations

from typing import Any

from ..types._base import attach_raw
from ..types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDeltaToolCall,
    CompletionUsage,
    Function,
)

__all__ = ("ChatCompletionAccumulator",)


class _ToolCall:
    __slots__ = ("args", "id", "index", "name", "type")

    def __init__(self, index: int | None) -> None:
        self.index = index
        self.id = ""
        self.type = ""
        self.name = ""
        self.args: list[str] = []


class _Choice:
    __slots__ = (
        "by_id",
        "by_index",
        "calls",
        "content",
        "finish_reason",
        "last_call",
        "logprobs",
        "reasoning",
        "reasoning_key",
        "refusal",
        "role",
    )

    def __init__(self) -> None:
        self.role: str | None = None
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_key: str | None = None
        self.calls: list[_ToolCall] = []
        self.by_index: dict[int, _ToolCall] = {}
        self.by_id: dict[str, _ToolCall] = {}
        self.last_call: _ToolCall | None = None
        self.finish_reason: str | None = None
        self.logprobs: dict[str, list[Any]] | None = None

    def add_tool_calls(self, fragments: list[ChoiceDeltaToolCall]) -> None:
        for frag in fragments:
            call = self._call_for(frag)
            fid = frag.id
            if fid and not call.id:
                call.id = fid
                self.by_id.setdefault(fid, call)
            if frag.type and not call.type:
                call.type = frag.type
            fn = frag.function
            if fn is not None:
                if fn.name and not call.name:
                    call.name = fn.name
                if fn.arguments:
                    call.args.append(fn.arguments)
            self.last_call = call

    def _call_for(self, frag: ChoiceDeltaToolCall) -> _ToolCall:
        index, fid = frag.index, frag.id
        if index is not None:
            call = self.by_index.get(index)
            if call is not None and not (fid and call.id and fid != call.id):
                return call
        elif fid:
            found = self.by_id.get(fid)
            if found is not None:
                return found
        elif self.last_call is not None:
            return self.last_call
        call = _ToolCall(index)
        self.calls.append(call)
        if index is not None:
            self.by_index[index] = call
        return call

    def add_logprobs(self, logprobs: Any) -> None:
        if not isinstance(logprobs, dict):
            return
        for key in ("content", "refusal"):
            items = logprobs.get(key)
            if isinstance(items, list) and items:
                if self.logprobs is None:
                    self.logprobs = {}
                self.logprobs.setdefault(key, []).extend(items)

    def message(self) -> ChatCompletionMessage:
        reasoning = "".join(self.reasoning) or None
        tool_calls = [
            ChatCompletionMessageToolCall(
                id=c.id,
                type=c.type or "function",
                function=Function(name=c.name, arguments="".join(c.args)),
                index=c.index,
            )
            for c in self.calls
        ]
        return ChatCompletionMessage(
            role=self.role or "assistant",
            content="".join(self.content) if self.content else None,
            refusal="".join(self.refusal) or None,
            tool_calls=tool_calls or None,
            reasoning_content=reasoning if self.reasoning_key == "reasoning_content" else None,
            reasoning=reasoning if self.reasoning_key == "reasoning" else None,
        )


class ChatCompletionAccumulator:
    """Feed it every ``ChatCompletionChunk`` with ``add``; ``final()`` builds the completion."""

    def __init__(self) -> None:
        self._choices: dict[int, _Choice] = {}
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None
        self.usage: CompletionUsage | None = None
        self._usage_chunk: ChatCompletionChunk | None = None
        #: The ``error`` members of chunks that had one, in order.
        self.errors: list[Any] = []
        #: Chunks added so far.
        self.chunks = 0

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in (O(1) amortised)."""
        self.chunks += 1
        if not self.id and chunk.id:
            self.id = chunk.id
        if not self.model and chunk.model:
            self.model = chunk.model
        if not self.created and chunk.created:
            self.created = chunk.created
        if self.system_fingerprint is None and chunk.system_fingerprint:
            self.system_fingerprint = chunk.system_fingerprint
        if self.service_tier is None and chunk.service_tier:
            self.service_tier = chunk.service_tier
        choices = self._choices
        for choice in chunk.choices:
            state = choices.get(choice.index)
            if state is None:
                state = choices[choice.index] = _Choice()
            delta = choice.delta
            if delta.content is not None:
                state.content.append(delta.content)
            if delta.refusal:
                state.refusal.append(delta.refusal)
            if delta.reasoning_content is not None:
                if delta.reasoning_content:
                    state.reasoning.append(delta.reasoning_content)
                    state.reasoning_key = state.reasoning_key or "reasoning_content"
            elif delta.reasoning:
                state.reasoning.append(delta.reasoning)
                state.reasoning_key = state.reasoning_key or "reasoning"
            if delta.tool_calls:
                state.add_tool_calls(delta.tool_calls)
            if delta.role and state.role is None:
                state.role = delta.role
            if choice.finish_reason is not None:
                state.finish_reason = choice.finish_reason
            if choice.logprobs is not None:
                state.add_logprobs(choice.logprobs)
        if chunk.usage is not None:
            self.usage = chunk.usage
            self._usage_chunk = chunk
        if chunk.error:
            self.errors.append(chunk.error)

    # ------------------------------------------------------------------------------------------
    # Views (each joins once; call them at the end, not per chunk)

    @property
    def choice_indexes(self) -> list[int]:
        """The distinct choice indexes seen, sorted."""
        return sorted(self._choices)

    def text(self, index: int = 0) -> str:
        """The content of one choice so far (``""`` when none)."""
        state = self._choices.get(index)
        return "".join(state.content) if state else ""

    def refusal(self, index: int = 0) -> str | None:
        """The refusal of one choice, or ``None``."""
        state = self._choices.get(index)
        return ("".join(state.refusal) or None) if state else None

    def reasoning(self, index: int = 0) -> str | None:
        """The reasoning text of one choice, or ``None``."""
        state = self._choices.get(index)
        return ("".join(state.reasoning) or None) if state else None

    def finish_reason(self, index: int = 0) -> str | None:
        """The last non-null ``finish_reason`` of one choice."""
        state = self._choices.get(index)
        return state.finish_reason if state else None

    @property
    def usage_raw(self) -> Any:
        """The last ``usage`` object exactly as sent (provider extras included), or ``None``."""
        chunk = self._usage_chunk
        if chunk is None:
            return None
        raw = chunk.raw  # the bytes as received when the decoder attached them
        return raw.get("usage") if isinstance(raw, dict) else None

    def final(self, x_request_id: str | None = None) -> ChatCompletion:
        """The accumulated ``chat.completion`` (choices sorted by index)."""
        choices = [
            Choice(
                index=index,
                message=state.message(),
                finish_reason=state.finish_reason,
                logprobs=state.logprobs,
            )
            for index, state in sorted(self._choices.items())
        ]
        completion = ChatCompletion(
            id=self.id,
            object="chat.completion",
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
            service_tier=self.service_tier,
        )
        return attach_raw(completion, None, x_request_id)
