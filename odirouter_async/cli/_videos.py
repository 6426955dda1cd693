"""``odirouter videos ...``: the videos subcommands of the command-line tool.

::

    odirouter videos create --prompt TEXT [--model sora-2] [--seconds 4] [--size 720x1280]
                            [--input-reference PATH] [--field KEY=VALUE ...]
                            [--wait] [--out clip.mp4] [--variant video]
                            [--timeout SECONDS] [--poll-interval SECONDS]
    odirouter videos retrieve ID
    odirouter videos list [--limit N] [--after ID] [--order asc|desc]
    odirouter videos delete ID
    odirouter videos download ID --out PATH [--variant video]

The CLI package calls :func:`add_parser` with its subparsers and awaits :func:`run` with the
parsed namespace (every option here has a ``videos_`` destination, so nothing clashes with the
tool's global options; ``func`` is set to :func:`run` as well).  The client comes from
``ODIROUTER_API_KEY`` / ``ODIROUTER_BASE_URL`` (a ``base_url`` attribute, the tool's
``--base-url``, wins when set).  Results go to stdout as JSON (the gateway's
own body); progress (``<id> <status> <n>%``) and messages go to stderr.  Exit codes: 0 success,
1 the gateway or the video failed (or timed out), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

import msgspec

from .._client import AsyncOdiRouter
from .._exceptions import OdiRouterError
from ..types.videos import Video
from ._common import cli_words, describe_error

__all__ = ("add_parser", "run")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _field(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _trailing_options() -> argparse.ArgumentParser:
    """The tool's ``--base-url`` / ``-v`` also after the action (``videos list --base-url URL``)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="the gateway's base URL (default: $ODIROUTER_BASE_URL or https://odirouter.ai)",
    )
    p.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=argparse.SUPPRESS,
        help="allow a plain http:// base URL to a non-loopback host",
    )
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log requests")
    return p


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``videos`` and its subcommands to the tool's ``add_subparsers()`` object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "videos",
        help="Sora-style videos: create, wait, download",
        description="Sora-style videos: create one (and wait for it and download it), show, list, "
        "delete or download a video. Results are printed as JSON on stdout; progress on stderr.",
    )
    parser.set_defaults(func=run, videos_action=None)
    sub = parser.add_subparsers(dest="videos_action", metavar="ACTION")
    common = [_trailing_options()]

    def actions_add(name: str, summary: str) -> argparse.ArgumentParser:
        action: argparse.ArgumentParser = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            parents=common,
            formatter_class=parser.formatter_class,
        )
        return action

    create = actions_add("create", "start a video (optionally wait and download it)")
    create.add_argument(
        "--prompt", dest="videos_prompt", required=True, metavar="PROMPT", help="what the video shows"
    )
    create.add_argument("--model", dest="videos_model", default="sora-2", metavar="MODEL", help="video model")
    create.add_argument(
        "--seconds", dest="videos_seconds", metavar="SECONDS", help="clip length, e.g. 4, 8, 12"
    )
    create.add_argument("--size", dest="videos_size", metavar="WxH", help="e.g. 720x1280, 1280x720")
    create.add_argument(
        "--input-reference",
        dest="videos_input_reference",
        type=Path,
        metavar="PATH",
        help="an image the video starts from",
    )
    create.add_argument(
        "--field",
        dest="videos_fields",
        type=_field,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other form field, sent as given (repeatable)",
    )
    create.add_argument("--wait", dest="videos_wait", action="store_true", help="wait until it completes")
    create.add_argument(
        "--out", dest="videos_out", type=Path, metavar="PATH", help="download it here (implies --wait)"
    )
    create.add_argument(
        "--variant", dest="videos_variant", default="video", metavar="VARIANT", help="what --out downloads"
    )
    create.add_argument(
        "--timeout",
        dest="videos_timeout",
        type=_positive,
        metavar="SECONDS",
        help="give up waiting after SECONDS",
    )
    create.add_argument(
        "--poll-interval",
        dest="videos_poll_interval",
        type=_positive,
        metavar="SECONDS",
        help="seconds between status checks (default: adaptive)",
    )

    retrieve = actions_add("retrieve", "show a video")
    retrieve.add_argument("videos_id", metavar="ID", help="the video id")

    listing = actions_add("list", "list videos (one page)")
    listing.add_argument("--limit", dest="videos_limit", type=int, metavar="N", help="videos per page")
    listing.add_argument("--after", dest="videos_after", metavar="ID", help="start after this video id")
    listing.add_argument(
        "--order", dest="videos_order", choices=("asc", "desc"), help="sort by creation time"
    )

    delete = actions_add("delete", "delete a video")
    delete.add_argument("videos_id", metavar="ID", help="the video id")

    download = actions_add("download", "download a completed video's content")
    download.add_argument("videos_id", metavar="ID", help="the video id")
    download.add_argument(
        "--out", dest="videos_out", type=Path, required=True, metavar="PATH", help="where to save it"
    )
    download.add_argument(
        "--variant",
        dest="videos_variant",
        default="video",
        metavar="VARIANT",
        help="video, thumbnail or spritesheet",
    )
    return parser


class _Progress:
    """Prints ``<id> <status> <n>%`` to stderr when it changes (one line, redrawn on a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.open_line = False

    def __call__(self, video: Video) -> None:
        pct = int(video.progress) if video.progress is not None else 0
        text = f"{video.id} {video.status} {pct}%"
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self.open_line = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False


def _emit(raw: object) -> None:
    sys.stdout.write(msgspec.json.encode(raw).decode() + "\n")
    sys.stdout.flush()


async def _create(client: AsyncOdiRouter, args: argparse.Namespace) -> int:
    extra = dict(args.videos_fields)
    if args.videos_seconds is not None:
        extra["seconds"] = args.videos_seconds
    if args.videos_size is not None:
        extra["size"] = args.videos_size
    if args.videos_input_reference is not None:
        extra["input_reference"] = args.videos_input_reference
    video = await client.videos.create(model=args.videos_model, prompt=args.videos_prompt, **extra)
    out: Path | None = args.videos_out
    if not (args.videos_wait or out is not None):
        _emit(video.raw)
        return EXIT_OK
    progress = _Progress(sys.stderr)
    try:
        video = await client.videos.wait(
            video,
            wait_timeout=args.videos_timeout,
            poll_interval=args.videos_poll_interval,
            on_progress=progress,
        )
    finally:
        progress.end()
    _emit(video.raw)
    if out is not None:
        await _download(client, video.id, out, args.videos_variant)
    return EXIT_OK


async def _download(client: AsyncOdiRouter, video_id: str, out: Path, variant: str) -> None:
    path = await client.videos.download_content(video_id, out, variant=variant, overwrite=True)
    print(f"saved {path} ({path.stat().st_size} bytes)", file=sys.stderr)


async def _dispatch(client: AsyncOdiRouter, args: argparse.Namespace) -> int:
    action = args.videos_action
    videos = client.videos
    if action == "create":
        return await _create(client, args)
    if action == "retrieve":
        _emit((await videos.retrieve(args.videos_id)).raw)
    elif action == "list":
        page = {"limit": args.videos_limit, "after": args.videos_after, "order": args.videos_order}
        _emit((await videos.list(**{k: v for k, v in page.items() if v is not None})).raw)
    elif action == "delete":
        _emit((await videos.delete(args.videos_id)).raw)
    elif action == "download":
        await _download(client, args.videos_id, args.videos_out, args.videos_variant)
    return EXIT_OK


def _usage_problem(args: argparse.Namespace) -> str | None:
    action = getattr(args, "videos_action", None)
    if action is None:
        return "choose an action: create, retrieve, list, delete or download"
    ref = getattr(args, "videos_input_reference", None)
    if action == "create" and ref is not None and not Path(ref).is_file():
        return f"--input-reference: no such file: {ref}"
    limit = getattr(args, "videos_limit", None)
    if action == "list" and limit is not None and limit < 1:
        return "--limit must be at least 1"
    return None


def _fail(message: str, code: int) -> int:
    print(f"odirouter: error: {message}", file=sys.stderr)  # the tool's one format (``_common``)
    return code


async def run(args: argparse.Namespace) -> int:
    """Run one ``odirouter videos`` command; returns the exit code (0, 1 or 2)."""
    problem = _usage_problem(args)
    if problem is not None:
        return _fail(f"videos: {problem}", EXIT_USAGE)
    try:
        client = AsyncOdiRouter(
            base_url=getattr(args, "base_url", None) or None,
            allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
        )
    except (OdiRouterError, ValueError) as exc:
        return _fail(cli_words(str(exc)), EXIT_USAGE)
    async with client:
        try:
            return await _dispatch(client, args)
        except OdiRouterError as exc:
            return _fail(describe_error(exc), EXIT_FAILED)
        except ValueError as exc:  # a caller mistake found before any request (e.g. a bad video id)
            return _fail(str(exc), EXIT_USAGE)
        except OSError as exc:
            return _fail(str(exc), EXIT_FAILED)
