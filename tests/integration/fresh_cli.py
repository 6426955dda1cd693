"""``odirouter <command>`` in a fresh interpreter, many times from one process start.

What a command imports is only seen in an interpreter that has imported nothing else.  A server
process imports ``odirouter_async.cli`` and builds the parser once (what every command does
first: ``main`` always builds it), then forks one child per command: each child starts from that
state, runs the command and reports its exit code, whether ``aiohttp.web`` got loaded, and the
``odirouter_async.testing`` modules loaded.  What the parent loaded every command loads too, so a
module it pulled in would still show (the check cannot pass wrongly); one interpreter start and
one parser build instead of one per command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import TracebackType
from typing import Any

_SERVER = r"""
import contextlib, io, json, os, sys, traceback
from odirouter_async.cli import build_parser, main

build_parser()  # what every command does first (main builds the parser): done once, here

for line in sys.stdin:
    request = json.loads(line)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one command, then a report on the pipe
        os.close(read_end)
        os.environ.clear()
        os.environ.update(request["env"])
        try:
            sys.stdin = io.StringIO("hello")
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(request["argv"])
            loaded = sorted(m for m in sys.modules if m.startswith("odirouter_async.testing"))
            report = {"code": code, "web": "aiohttp.web" in sys.modules, "loaded": loaded}
            report.update(out=out.getvalue(), err=err.getvalue())
        except BaseException:
            report = {"error": traceback.format_exc()}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(report))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as result:
        report = result.read()
    os.waitpid(pid, 0)
    print(report or json.dumps({"error": "the child died"}), flush=True)
"""


class FreshCli:
    """The fork server; :meth:`run` one command in a fresh child."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[int, bool, set[str]]:
        """Exit code, ``aiohttp.web`` loaded, the ``odirouter_async.testing`` modules loaded."""
        report = self.report(argv, env)
        return int(report["code"]), bool(report["web"]), set(report["loaded"])

    def report(self, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
        """The child's whole report: also what the command printed (``out``, ``err``)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        self._proc.stdin.flush()
        report: dict[str, Any] = json.loads(self._proc.stdout.readline())
        assert "error" not in report, report["error"]
        return report

    def __enter__(self) -> FreshCli:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(30)
        self._proc.stdout.close()
