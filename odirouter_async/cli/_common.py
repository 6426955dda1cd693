"""What every ``odirouter`` command shares: exit codes, the client from the environment, running a
command with clean Ctrl-C handling, and turning errors into one-line messages.

Exit codes: ``0`` success; ``1`` the gateway or a job failed (the message names the request id);
``2`` bad usage or configuration (argparse uses 2 as well); ``130`` interrupted by Ctrl-C;
``143`` stopped by SIGTERM (``kill``, ``docker stop``, systemd: the same clean stop as Ctrl-C).

Ctrl-C: the first SIGINT cancels the command's cancel scope, so ``finally`` blocks and shielded
clean-ups (journal flush, remote cancels) still run; a second SIGINT raises ``KeyboardInterrupt``
at once.

Errors: every message has ONE format, ``odirouter: error: <message>`` on stderr (argparse's
usage errors too, through :class:`Parser`).  Whatever escapes a command -- also from inside a
task group (an exception group is unwrapped to its first real error) -- becomes ONE line on
stderr and an exit code, never a traceback (``-v`` shows it).  ``JournalError`` and other SDK
errors exit 1; a full disk or another ``OSError`` exits 1; a closed stdout/stderr pipe
(``BrokenPipeError``) exits 1 with a message on stderr if stderr still works (output the user
asked for was lost: not a success).
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, Final, NoReturn, TextIO

import anyio
import msgspec

from .._client import AsyncOdiRouter
from .._config import PollingOptions
from .._exceptions import APIStatusError, InsecureURLError, JobError, OdiRouterError
from ..queue.history import default_history_path

__all__ = (
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "HelpFormatter",
    "Parser",
    "UsageError",
    "describe_error",
    "error_json",
    "make_client",
    "parse_json_object",
    "run_command",
    "run_command_async",
    "warn",
)

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
#: ``kill`` / ``docker stop`` / systemd (SIGTERM): the same clean stop as Ctrl-C, 128 + 15.
EXIT_TERMINATED: Final = 143

_DICT: Final = msgspec.json.Decoder(dict[str, Any])
_encode: Final = msgspec.json.Encoder().encode


class UsageError(Exception):
    """Bad arguments or configuration: reported as ``odirouter: error: ...``, exit code 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; every option with a real default shows ``(default: X)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or not (action.option_strings or action.nargs in ("?", "*"))
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with the tool's one error format: ``odirouter: error: <message>``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"odirouter: error: {message}\n")


def warn(message: str, *, file: TextIO | None = None) -> None:
    """Print a message for the user on stderr."""
    print(message, file=file or sys.stderr, flush=True)


def make_client(args: argparse.Namespace, *, polling: PollingOptions | None = None) -> AsyncOdiRouter:
    """The client from ``ODIROUTER_API_KEY``, ``--base-url`` / ``ODIROUTER_BASE_URL`` and
    ``--allow-insecure-http``."""
    if not os.environ.get("ODIROUTER_API_KEY"):
        raise UsageError(
            "ODIROUTER_API_KEY is not set. Export your key, or try `odirouter demo` "
            "(runs offline on the embedded emulator) or `odirouter emulator`."
        )
    try:
        polling = polling or PollingOptions(history=default_history_path())  # warm starts
        return AsyncOdiRouter(
            base_url=getattr(args, "base_url", None) or None,
            allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
            polling=polling,
        )
    except InsecureURLError as exc:
        raise UsageError(cli_words(str(exc))) from None
    except (OdiRouterError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def cli_words(message: str) -> str:
    """An SDK message with its Python argument names replaced by the CLI's flags."""
    return message.replace("pass allow_insecure_http=True", "pass --allow-insecure-http").replace(
        "base_url must", "the base URL must"
    )


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, or a ``UsageError`` naming ``what``."""
    try:
        return _DICT.decode(text)
    except msgspec.ValidationError:
        raise UsageError(f'{what} must be a JSON object, like \'{{"prompt": "a cat"}}\'') from None
    except msgspec.DecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None


def describe_error(exc: BaseException) -> str:
    """One line for the user: what failed, the gateway's words, the request id."""
    if isinstance(exc, APIStatusError):
        text = f"{type(exc).__name__}: the gateway answered HTTP {exc.status_code}: {exc.message}"
        if exc.hint:  # the URL of a 404, where a refused key came from
            text += f" ({exc.hint.replace('check base_url /', 'check --base-url /')})"
    elif isinstance(exc, JobError):
        kind = type(exc).__name__
        text = f"{kind}: {exc.message}"
        if exc.error_type:
            text += f" [{exc.error_type}]"
    elif isinstance(exc, OdiRouterError):
        text = f"{type(exc).__name__}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    for name in ("request_id", "x_request_id"):  # the queue job's id, the call's X-Request-Id
        value = getattr(exc, name, None)
        if value:
            text += f" ({name}={value})"
    return text


def error_json(exc: BaseException) -> bytes:
    """The error as JSON (journal outcome / results line): message, type, error_type, ids."""
    body: dict[str, Any] = {"error": describe_error(exc), "type": type(exc).__name__}
    for name in ("request_id", "x_request_id", "error_type", "status_code", "endpoint"):
        value = getattr(exc, name, None)
        if value is not None:
            body[name] = value
    return _encode(body)


Command = Callable[[argparse.Namespace], Awaitable[int]]


async def _guarded(command: Command, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    code = EXIT_INTERRUPTED
    stopped_by: list[int] = []
    with anyio.CancelScope() as scope:

        def on_signal(signum: int) -> None:
            if signum == signal.SIGTERM:
                warn("\nodirouter: terminated (SIGTERM); stopping cleanly (a second one aborts at once)")
            else:
                warn("\nodirouter: interrupted; stopping cleanly (press Ctrl-C again to abort at once)")
            loop.remove_signal_handler(signum)  # the next one acts as if no handler was set
            stopped_by.append(signum)
            scope.cancel()

        installed: list[int] = []

        def install(signum: int) -> None:
            try:
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
                pass

        install(signal.SIGINT)
        install(signal.SIGTERM)
        try:
            code = await command(args)
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
    if scope.cancel_called:
        return EXIT_TERMINATED if stopped_by[:1] == [signal.SIGTERM] else EXIT_INTERRUPTED
    return code


def _group_type() -> type[BaseException] | None:
    group: type[BaseException] | None = getattr(builtins, "BaseExceptionGroup", None)
    if group is None:  # Python 3.10: anyio's backport
        try:
            from exceptiongroup import BaseExceptionGroup as group  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ImportError:
            return None
    return group


_GROUP: Final = _group_type()


def unwrap_error(exc: BaseException) -> BaseException:
    """The first error inside (nested) exception groups that is not a cancellation."""
    while _GROUP is not None and isinstance(exc, _GROUP):
        inner: tuple[BaseException, ...] = getattr(exc, "exceptions", ())
        if not inner:
            break
        real = [e for e in inner if not isinstance(e, asyncio.CancelledError)]  # the loop is gone
        exc = (real or list(inner))[0]
    return exc


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Run an async command to completion and map what escapes it to an exit code."""
    try:
        return asyncio.run(_guarded(command, args))
    except BaseException as exc:
        return _escaped(exc, args)


async def run_command_async(command: Command, args: argparse.Namespace) -> int:
    """:func:`run_command` on the running event loop (the tests run the CLI on their own loop)."""
    try:
        return await _guarded(command, args)
    except BaseException as exc:
        return _escaped(exc, args)


def _escaped(exc: BaseException, args: argparse.Namespace) -> int:
    """The exit code of what escaped a command (re-raised when it is not ours to handle)."""
    error = unwrap_error(exc)
    verbose = bool(getattr(args, "verbose", False))
    if verbose and not isinstance(error, (KeyboardInterrupt, UsageError, BrokenPipeError)):
        traceback.print_exception(exc)
    code = exit_code(error)
    if code is None:
        raise exc
    return code


def exit_code(exc: BaseException) -> int | None:
    """Report ``exc`` in one line on stderr; its exit code (``None``: not ours to handle)."""
    try:
        raise exc
    except KeyboardInterrupt:
        warn("odirouter: aborted")
        return EXIT_INTERRUPTED
    except UsageError as error:
        _say(f"odirouter: error: {error}")
        return EXIT_USAGE
    except OdiRouterError as error:  # JournalError included
        _say(f"odirouter: error: {describe_error(error)}")
        return EXIT_FAILED
    except BrokenPipeError:  # the reader of stdout or stderr left: what we printed is lost
        _silence(sys.stdout)
        if not _say("odirouter: error: output pipe closed (broken pipe); output was lost"):
            _silence(sys.stderr)
        return EXIT_FAILED
    except (ValueError, TypeError) as error:  # the SDK refused an argument the user gave
        _say(f"odirouter: error: {error}")
        return EXIT_USAGE
    except OSError as error:  # a full disk (ENOSPC), permissions, ...
        where = f": {error.filename}" if error.filename else ""
        _say(f"odirouter: error: {error.strerror or error}{where}")
        return EXIT_FAILED
    except BaseException:
        return None


def _say(message: str) -> bool:
    """``warn``, but a broken stderr is not an error any more (returns whether it was printed)."""
    try:
        warn(message)
    except (OSError, ValueError):
        return False
    return True


def _silence(stream: TextIO) -> None:
    """Point ``stream`` at /dev/null, so that the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):
        pass
