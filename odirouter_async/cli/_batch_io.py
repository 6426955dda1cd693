"""Files of ``odirouter batch``: the input JSONL, ``results.jsonl`` and output file names.

Inputs: one JSON object (the model's arguments) per line.  Blank lines are ignored; any other
line that is not a JSON object is *malformed*: reported as ``line N: <reason>`` and skipped, and
the batch goes on.  An input's journal key comes from its content (``Journal.keys_for``: the
arguments' hash and the occurrence count of identical lines), so inserting, deleting, reordering
or fixing lines never changes the keys of the others; ``index`` (line number minus one) is only
informational.

``results.jsonl``: one line per finished input, appended as inputs finish::

    {"index": 4, "line": 5, "key": "1f0c...-1", "attempt": 1, "request_id": "mmsu_...",
     "status": "ok", "error": null, "error_type": null,
     "outputs": ["outputs/000005_0.png"], "urls": ["https://..."]}

``status`` is ``ok`` or ``failed``; ``outputs`` are paths relative to the output directory (empty
with ``--no-download``).  A rerun reads the file first: inputs already there are not reported
again, and a last line cut short by a crash is removed.  A later ``attempt`` (``--retry-failed``)
appends a line while the batch runs; when the file is closed it is compacted (rewritten through a
temporary file and an atomic rename) to ONE line per input: the latest outcome.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import msgspec

from ..types.queue import JobOutput

__all__ = ("InputLine", "ResultsFile", "output_names", "read_inputs")

_BOM: Final = b"\xef\xbb\xbf"
_encode: Final = msgspec.json.Encoder().encode
_decode_any: Final = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class InputLine:
    """One well-formed input: its 1-based ``line``, ``index`` (informational) and ``arguments``."""

    line: int
    arguments: dict[str, Any]

    @property
    def index(self) -> int:
        """``line - 1`` (recorded for messages; the journal key does not depend on it)."""
        return self.line - 1


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def read_inputs(path: Path) -> tuple[list[InputLine], list[tuple[int, str]]]:
    """The well-formed inputs, and ``(line, reason)`` for each malformed line.

    Raises:
        OSError: the file cannot be read.
    """
    good: list[InputLine] = []
    bad: list[tuple[int, str]] = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            text = raw[len(_BOM) :] if number == 1 and raw.startswith(_BOM) else raw
            text = text.strip()
            if not text:
                continue
            try:
                value = _decode_any.decode(text)
            except msgspec.DecodeError as exc:
                bad.append((number, f"invalid JSON: {exc}"))
                continue
            if not isinstance(value, dict):
                bad.append((number, f"expected a JSON object of model arguments, got {_kind(value)}"))
                continue
            good.append(InputLine(number, value))
    return good, bad


def output_names(outputs: list[JobOutput], line: int) -> list[JobOutput]:
    """``outputs`` renamed ``{line:06d}_{i}{ext}`` (the extension of the gateway's name or URL)."""
    renamed = []
    for i, output in enumerate(outputs):
        source = output.file_name or (output.url or "").split("?", 1)[0].rsplit("/", 1)[-1]
        ext = os.path.splitext(source)[1] if not (output.url or "").startswith("data:") else ""
        if not ext.isascii() or len(ext) > 10 or not ext[1:].isalnum():
            ext = ""
        renamed.append(msgspec.structs.replace(output, file_name=f"{line:06d}_{i}{ext}"))
    return renamed


class ResultsFile:
    """``results.jsonl`` of one output directory (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.unreadable = 0

    def load(self) -> dict[str, tuple[int, str]]:
        """``key -> (attempt, status)`` of the lines already written (the last attempt wins).

        A last line without its newline (a crash mid-write) is cut off first.  A path that is not
        a regular file (``/dev/null``, a FIFO, ``/dev/full``...) is written to but never read.
        """
        if not self.path.is_file():
            return {}
        self._repair()
        seen: dict[str, tuple[int, str]] = {}
        for record in self._records():
            key, attempt, status = record.get("key"), record.get("attempt", 1), record.get("status")
            if not isinstance(key, str) or not isinstance(attempt, int) or not isinstance(status, str):
                self.unreadable += 1
                continue
            if key not in seen or seen[key][0] <= attempt:
                seen[key] = (attempt, status)
        return seen

    def _repair(self) -> None:
        with self.path.open("r+b") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def _records(self) -> Iterator[dict[str, Any]]:
        with self.path.open("rb") as f:
            for raw in f:
                try:
                    value = _decode_any.decode(raw)
                except msgspec.DecodeError:
                    self.unreadable += 1
                    continue
                if isinstance(value, dict):
                    yield value
                else:
                    self.unreadable += 1

    def append(self, record: dict[str, Any]) -> None:
        """Append one line and flush it to the OS (one ``write``: lines never interleave)."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(_encode(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (idempotent), then :meth:`compact` it."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.compact()

    def compact(self) -> int:
        """Keep one line per key: the latest attempt (the last line among equals); returns how
        many lines were dropped.  Lines without a readable key are kept as they are.

        Best effort: a regular file only; when the rewrite fails (full disk...) the file is left
        as it was (``load`` reads the latest attempt from it anyway).
        """
        if not self.path.is_file():
            return 0
        lines = self.path.read_bytes().splitlines(keepends=True)
        latest: dict[str, tuple[int, int]] = {}  # key -> (attempt, line number)
        keys: list[str | None] = []
        for number, raw in enumerate(lines):
            key: str | None = None
            try:
                value = _decode_any.decode(raw)
            except msgspec.DecodeError:
                value = None
            if isinstance(value, dict):
                k, attempt = value.get("key"), value.get("attempt", 1)
                if isinstance(k, str) and isinstance(attempt, int):
                    key = k
                    if k not in latest or latest[k][0] <= attempt:
                        latest[k] = (attempt, number)
            keys.append(key)
        keep = [
            raw
            for n, (raw, key) in enumerate(zip(lines, keys, strict=True))
            if key is None or latest[key][1] == n
        ]
        dropped = len(lines) - len(keep)
        if dropped:
            temporary = self.path.with_name(self.path.name + ".tmp")
            try:
                with temporary.open("wb") as f:
                    f.write(b"".join(keep))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temporary, self.path)
            except OSError:
                temporary.unlink(missing_ok=True)
                return 0
        return dropped
