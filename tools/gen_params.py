"""Regenerate the chat / Responses parameter lists from ``odirouter_async/resources/_params.py``.

Every ``# <params:KIND>`` ... ``# </params:KIND>`` block in ``resources/chat.py`` and
``resources/responses.py`` is rewritten with the fields of ``KIND`` (``chat`` or ``responses``)
followed by the per-call options and ``**extra_fields: Any``.  ``python tools/gen_params.py``
writes the files; ``--check`` exits 1 when one is out of date (``tests/unit/test_generated_params.py``
runs the same check).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from odirouter_async.resources._params import CHAT_PARAMS, OPTION_PARAMS, RESPONSES_PARAMS  # noqa: E402

FILES = (ROOT / "odirouter_async/resources/chat.py", ROOT / "odirouter_async/resources/responses.py")
LISTS = {"chat": CHAT_PARAMS, "responses": RESPONSES_PARAMS}
BLOCK = re.compile(r"(?P<indent>[ ]*)# <params:(?P<kind>\w+)>\n.*?(?P=indent)# </params:(?P=kind)>\n", re.S)


def _block(match: re.Match[str]) -> str:
    indent, kind = match["indent"], match["kind"]
    lines = [f"{indent}# <params:{kind}>"]
    lines += [f"{indent}{name}: {rest}," for name, rest in (*LISTS[kind], *OPTION_PARAMS)]
    lines += [f"{indent}**extra_fields: Any,", f"{indent}# </params:{kind}>"]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """``text`` with every parameter block regenerated."""
    return BLOCK.sub(_block, text)


def stale() -> list[Path]:
    """The files whose blocks differ from what ``render`` gives."""
    return [path for path in FILES if render(path.read_text()) != path.read_text()]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        out = stale()
        for path in out:
            print(f"{path.relative_to(ROOT)} is out of date: run python tools/gen_params.py")
        return 1 if out else 0
    for path in FILES:
        path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
