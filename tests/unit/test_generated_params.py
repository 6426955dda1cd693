"""The chat / Responses signatures are generated from one list (``llm/_params.py``)."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

from odirouter_async.llm._params import CHAT_FIELDS, CHAT_PARSE_PARAMS, OPTION_PARAMS, RESPONSES_FIELDS
from odirouter_async.llm.chat import Completions
from odirouter_async.llm.responses import Responses

ROOT = Path(__file__).resolve().parents[2]
#: ``parse`` and ``stream`` of chat declare ``response_format`` by hand (it may be a type).
CHAT_PARSE_FIELDS = tuple(name for name, _ in CHAT_PARSE_PARAMS)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_params", ROOT / "tools" / "gen_params.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_signatures_are_up_to_date() -> None:
    """tools/gen_params.py --check: every generated block matches _params.py (run it after an edit)."""
    gen = _generator()
    assert gen.stale() == []
    assert gen.main(["--check"]) == 0


def test_every_signature_is_a_generated_block() -> None:
    """Ten blocks per file (create: three overloads and the implementation; stream and parse:
    two overloads and the implementation each), none hand-written."""
    for name in ("chat.py", "responses.py"):
        text = (ROOT / "odirouter_async" / "llm" / name).read_text()
        assert len(re.findall(r"# <params:\w+>", text)) == 10, name
        assert text.count("**extra_fields: Any,") == 10, name


def test_a_stale_block_is_detected() -> None:
    """A hand edit inside a block is what render() undoes: the check would fail on it."""
    gen = _generator()
    text = (ROOT / "odirouter_async" / "llm" / "chat.py").read_text()
    edited = text.replace("        top_p: float | NotGiven | None = NOT_GIVEN,\n", "", 1)
    assert edited != text and gen.render(edited) == text


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        (Completions.create, CHAT_FIELDS),
        (Completions.stream, CHAT_PARSE_FIELDS),
        (Completions.parse, CHAT_PARSE_FIELDS),
        (Responses.create, RESPONSES_FIELDS),
        (Responses.stream, RESPONSES_FIELDS),
        (Responses.parse, RESPONSES_FIELDS),
    ],
)
def test_runtime_signatures_have_the_fields(method: object, fields: tuple[str, ...]) -> None:
    """inspect.signature shows every field and option as a keyword-only parameter, then **extra_fields."""
    params = inspect.signature(method).parameters  # type: ignore[arg-type]
    expected = [*fields, *(name for name, _ in OPTION_PARAMS), "extra_fields"]
    assert list(params)[-len(expected) :] == expected
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in expected[:-1])
