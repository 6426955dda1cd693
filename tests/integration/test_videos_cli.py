"""``odirouter videos ...`` (``cli/_videos.py``): parsed arguments run against the emulator."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from video_variant_fixtures import emu, video_variant

from odirouter_async.cli._videos import add_parser, run
from odirouter_async.testing import Emulator, file_bytes

pytestmark = pytest.mark.anyio

__all__ = ("emu", "video_variant")  # the imported fixtures, parametrized over every video variant


def parse(*argv: str) -> argparse.Namespace:
    """Parse ``odirouter videos <argv>`` with a parser built the way the CLI package builds it."""
    parser = argparse.ArgumentParser(prog="odirouter")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["videos", *argv])


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The CLI's client is configured from the environment to talk to the emulator."""
    monkeypatch.setenv("ODIROUTER_API_KEY", emu.api_key)
    monkeypatch.setenv("ODIROUTER_BASE_URL", emu.url)
    return emu


async def test_create_wait_out(env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """create --wait --out uploads, waits with progress on stderr, saves the mp4 and exits 0."""
    ref = tmp_path / "first.png"
    ref.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
    out = tmp_path / "clips" / "clip.mp4"
    args = parse(
        "create", "--model", "sora-2", "--prompt", "a fox", "--seconds", "4", "--size", "720x1280",
        "--input-reference", str(ref), "--field", "style=noir", "--wait", "--out", str(out),
    )  # fmt: skip
    assert args.func is run
    assert await run(args) == 0
    captured = capsys.readouterr()
    video = json.loads(captured.out)
    assert video["status"] == "completed"
    assert out.read_bytes() == file_bytes(f"{video['id']}_video", "mp4", 4096)
    assert f"{video['id']} completed 100%" in captured.err
    assert "saved" in captured.err
    seen = env.videos[video["id"]]
    assert seen.fields["style"] == "noir"
    assert seen.input_reference_bytes == 1008


async def test_create_with_poll_interval(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """--poll-interval waits at a fixed interval instead of through the scheduler."""
    assert await run(parse("create", "--prompt", "p", "--wait", "--poll-interval", "0.02")) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


async def test_create_without_wait(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --wait the new video is printed at once."""
    assert await run(parse("create", "--prompt", "p")) == 0
    video = json.loads(capsys.readouterr().out)
    assert video["id"] in env.videos
    assert video["status"] not in ("completed", "failed")


async def test_failed_video_exits_1(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed video is exit code 1 with the reason on stderr."""
    assert await run(parse("create", "--prompt", "make it fail", "--wait")) == 1
    err = capsys.readouterr().err
    assert "JobFailed" in err
    assert "Video generation failed" in err


async def test_usage_errors_exit_2(
    env: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing input file, no action or no API key is exit code 2 and sends nothing."""
    assert await run(parse("create", "--prompt", "p", "--input-reference", str(tmp_path / "no.png"))) == 2
    assert "no such file" in capsys.readouterr().err
    assert await run(parse()) == 2
    monkeypatch.delenv("ODIROUTER_API_KEY")
    assert await run(parse("list")) == 2
    assert "ODIROUTER_API_KEY" in capsys.readouterr().err
    assert env.stats.total == 0


@pytest.mark.parametrize("video_variant", ["openai"])  # nothing is sent: one variant is enough
@pytest.mark.parametrize("command", ["retrieve", "delete", "download"])
async def test_bad_video_id_exits_2(env: Emulator, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A video id that is not one path segment is a usage error (exit 2) and sends nothing."""
    extra = ("--out", "clip.mp4") if command == "download" else ()
    assert await run(parse(command, "..", *extra)) == 2
    assert "video_id '..' must not be '.' or '..'" in capsys.readouterr().err
    assert env.stats.total == 0


async def test_bad_field_is_an_argparse_error() -> None:
    """--field without '=' is rejected by the parser (exit code 2)."""
    with pytest.raises(SystemExit) as info:
        parse("create", "--prompt", "p", "--field", "novalue")
    assert info.value.code == 2


async def test_retrieve_list_download_delete(
    env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """retrieve, list, download and delete print the gateway's answers."""
    assert await run(parse("create", "--prompt", "p", "--wait")) == 0
    video_id = json.loads(capsys.readouterr().out)["id"]
    assert await run(parse("retrieve", video_id)) == 0
    assert json.loads(capsys.readouterr().out)["id"] == video_id
    assert await run(parse("list", "--limit", "5", "--order", "asc")) == 0
    assert [v["id"] for v in json.loads(capsys.readouterr().out)["data"]] == [video_id]
    thumb = tmp_path / "t.webp"
    assert await run(parse("download", video_id, "--out", str(thumb), "--variant", "thumbnail")) == 0
    assert thumb.read_bytes() == file_bytes(f"{video_id}_thumbnail", "webp", 1024)
    assert await run(parse("delete", video_id)) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] is True
    assert await run(parse("retrieve", video_id)) == 1
    assert "NotFoundError" in capsys.readouterr().err
