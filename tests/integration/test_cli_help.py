"""The ``odirouter`` tool as a new user meets it: ``--help`` everywhere, one error format,
``--allow-insecure-http``, base URLs ending in ``/v1``, the TLS emulator's trust hint, and the
emulator imported only by the commands that run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fresh_cli import FreshCli
from thread_emulator import threaded_emulator

from odirouter_async import AsyncOdiRouter
from odirouter_async._config import DEFAULT_CONCURRENCY
from odirouter_async.cli import main
from odirouter_async.testing import Emulator

COMMANDS = [
    [],
    ["demo"],
    ["models"],
    ["chat"],
    ["run"],
    ["batch"],
    ["emulator"],
    ["videos"],
    ["videos", "create"],
    ["videos", "retrieve"],
    ["videos", "list"],
    ["videos", "delete"],
    ["videos", "download"],
]
ERROR_LINE = re.compile(r"^odirouter: error: \S")


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread and loop; the environment points the CLI at it."""
    with threaded_emulator(Emulator(job_duration=0.1, job_jitter=0.0, echo=True), monkeypatch) as e:
        yield e


def _help(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "odirouter")
def test_help_is_clean_and_shows_defaults(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every --help exits 0, has no raw backticks or dest-style placeholders, and shows defaults."""
    text = _help(command, capsys)
    assert "`" not in text
    usage = text.split("\n\n", 1)[0]
    assert "VIDEOS_" not in usage
    for option, metavar in re.findall(r"--([a-z][a-z-]*) ([A-Z][A-Z_]*)", usage):  # argparse's dest default
        assert "_" not in metavar or metavar != option.upper().replace("-", "_"), usage
    assert "(default: " in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_help_texts_a_user_needs(capsys: pytest.CaptureFixture[str]) -> None:
    """demo lists all its steps; batch and emulator show their real defaults; emulator has no --base-url."""
    demo = _help(["demo"], capsys)
    assert "Steps:" in demo and "4. print a summary" in demo
    assert re.search(r"--images N\s+images to generate \(default: 12\)", demo)
    batch = _help(["batch"], capsys)
    assert re.search(rf"--concurrency N\s+jobs at once \(default: {DEFAULT_CONCURRENCY}\)", batch)
    emulator = _help(["emulator"], capsys)
    assert "--base-url" not in emulator and "--allow-insecure-http" not in emulator
    assert re.search(r"--port PORT\s+API port \(0: any free port\) \(default: 8080\)", emulator)
    assert "SSL_CERT_FILE" in emulator
    create = _help(["videos", "create"], capsys)
    assert re.search(r"--prompt PROMPT\s+what the video shows", create)
    assert re.search(r"--model MODEL\s+video model \(default: sora-2\)", create)


def test_batch_default_concurrency_is_the_sdk_default() -> None:
    """batch's --concurrency default is the one constant (also queue.map's)."""
    from odirouter_async.cli import build_parser

    args = build_parser().parse_args(["batch", "nano_banana_2", "in.jsonl", "--out", "o"])
    assert args.concurrency == DEFAULT_CONCURRENCY == 64


def test_errors_of_different_commands_share_one_format(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Usage errors, configuration errors, job failures and videos errors: `odirouter: error: ...`."""
    seen: list[tuple[int, str]] = []

    def error_of(argv: list[str]) -> None:
        code = main(argv)
        last = capsys.readouterr().err.strip().splitlines()[-1]
        seen.append((code, last))

    error_of(["batch", "nano_banana_2"])  # argparse: missing arguments
    error_of(["run", "nano_banana_2", "--json", "{not json"])
    arguments = json.dumps({"prompt": "x", "_emu": {"fail": "VALIDATION_ERROR"}})
    error_of(["run", "nano_banana_2", "--json", arguments])  # the job fails on the gateway
    error_of(["videos", "retrieve", "video_missing"])  # the gateway answers 404
    error_of(["videos", "download", "video_x", "--out", str(tmp_path / "v.mp4"), "--base-url", "ftp://x"])
    monkeypatch.delenv("ODIROUTER_API_KEY")
    error_of(["models"])
    assert [code for code, _ in seen] == [2, 2, 1, 1, 2, 2]
    for _, line in seen:
        assert ERROR_LINE.match(line), line
    assert "VALIDATION_ERROR" in seen[2][1] and "ODIROUTER_API_KEY is not set" in seen[5][1]


def test_plain_http_to_a_remote_host_names_the_flag(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """http:// to a non-loopback host is refused naming --allow-insecure-http; with it the CLI works."""
    # 0.0.0.0 is not a loopback address for the SDK, yet Linux connects it to this machine.
    remote = emu.url.replace("127.0.0.1", "0.0.0.0")
    assert main(["models", "--base-url", remote]) == 2
    err = capsys.readouterr().err
    assert ERROR_LINE.match(err) and "--allow-insecure-http" in err and "allow_insecure_http" not in err
    assert main(["videos", "list", "--base-url", remote]) == 2
    assert "--allow-insecure-http" in capsys.readouterr().err
    assert main(["models", "--base-url", remote, "--allow-insecure-http"]) == 0
    assert "gpt-4.1" in capsys.readouterr().out.split()
    assert main(["videos", "list", "--base-url", remote, "--allow-insecure-http"]) == 0


def test_base_url_ending_in_v1_is_accepted_by_the_cli(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ODIROUTER_BASE_URL=.../v1 (what OpenAI users write) works for models, chat and a queue job."""
    monkeypatch.setenv("ODIROUTER_BASE_URL", emu.url + "/v1/")
    assert main(["models"]) == 0
    assert main(["chat", "hi there"]) == 0
    assert main(["run", "nano_banana_2", "--json", '{"prompt": "a"}']) == 0
    out = capsys.readouterr().out
    assert "gpt-4.1" in out and "You said: hi there" in out and '"outputs"' in out


@pytest.mark.anyio
async def test_client_base_url_ending_in_v1_works_for_chat_and_queue() -> None:
    """AsyncOdiRouter(base_url=emu.url + "/v1") reaches the LLM and the queue routes."""
    async with (
        Emulator(job_duration=0.05, job_jitter=0.0, echo=True) as emu,
        AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url + "/v1") as client,
    ):
        assert client.base_url == emu.url
        answer = await client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "ping"}]
        )
        assert answer.choices[0].message.content == "You said: ping"
        job = await client.queue.submit("nano_banana_2", {"prompt": "a"})
        result = await job.result()
        assert result.outputs
        assert emu.stats.count("chat") == 1 and emu.stats.count("queue.submit") == 1


def test_tls_emulator_prints_a_trust_hint_that_works(fresh: FreshCli, tmp_path: Path) -> None:
    """`emulator --tls` prints SSL_CERT_FILE=<CA>; with it exported, `odirouter models` trusts it
    (each `models` run in a fresh interpreter: forked before any TLS context exists)."""
    pytest.importorskip("trustme")
    command = [sys.executable, "-m", "odirouter_async", "emulator", "--tls", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(6)]
            url = lines[0].rsplit(" ", 1)[-1].strip()
            [hint] = [line for line in lines if "SSL_CERT_FILE=" in line]
            ca_path = hint.split("SSL_CERT_FILE=", 1)[1].strip()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ODIROUTER_", "SSL_CERT"))}
            env.update(ODIROUTER_API_KEY="emu-test-key", ODIROUTER_BASE_URL=url)
            untrusted = fresh.report(["models"], env)
            assert untrusted["code"] == 1 and ERROR_LINE.match(untrusted["err"]), untrusted["err"]
            env["SSL_CERT_FILE"] = ca_path
            trusted = fresh.report(["models"], env)
            assert trusted["code"] == 0, trusted["err"]
            assert "gpt-4.1" in trusted["out"].split()
        finally:
            server.terminate()
            server.communicate()


#: what a command that does not run the emulator may load of ``odirouter_async.testing``: the
#: package (its names are lazy) and the emulator's argparse options (the parser is built every run)
LIGHT_TESTING = {"odirouter_async.testing", "odirouter_async.testing._options"}


@pytest.fixture(scope="module")
def fresh() -> Iterator[FreshCli]:
    """Commands in fresh interpreters (forked from one start: tests/integration/fresh_cli.py)."""
    with FreshCli() as cli:
        yield cli


def _loaded_by(
    fresh: FreshCli, command: list[str], env: dict[str, str] | None = None
) -> tuple[int, bool, set[str]]:
    """Run ``odirouter <command>`` in a fresh interpreter: exit code, aiohttp.web loaded, testing modules."""
    return fresh.run(command, dict(os.environ) if env is None else env)


@pytest.mark.parametrize(
    "command",
    [[], ["demo"], ["models"], ["chat"], ["run"], ["batch"], ["videos"], ["videos", "list"], ["emulator"]],
    ids=lambda c: " ".join(c) or "odirouter",
)
def test_help_never_imports_the_emulator(fresh: FreshCli, command: list[str]) -> None:
    """Building the parser and --help of every command import no emulator module and no aiohttp.web."""
    code, web, loaded = _loaded_by(fresh, [*command, "--help"])
    assert code == 0
    assert not web and loaded <= LIGHT_TESTING, loaded


@pytest.mark.parametrize(
    "command",
    [
        ["models"],
        ["chat", "--model", "gpt-4.1"],
        ["run", "nano_banana_2", "--json", '{"prompt": "a red apple"}'],
        ["batch", "nano_banana_2", "{inputs}", "--out", "{out}", "-q"],
        ["videos", "list"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_commands_that_do_not_run_the_emulator_do_not_import_it(
    fresh: FreshCli, command: list[str], tmp_path: Path
) -> None:
    """Each command that talks to a gateway runs to exit 0 against one without importing the emulator."""
    (tmp_path / "in.jsonl").write_text('{"prompt": "one"}\n')
    places = {"{inputs}": str(tmp_path / "in.jsonl"), "{out}": str(tmp_path / "out")}
    argv = [places.get(a, a) for a in command]
    with threaded_emulator(Emulator(job_duration=0.05, job_jitter=0.0, video_duration=0.05)) as emu:
        env = {**os.environ, "ODIROUTER_API_KEY": emu.api_key, "ODIROUTER_BASE_URL": emu.url}
        code, web, loaded = _loaded_by(fresh, argv, env)
        assert code == 0
        assert not web and loaded <= LIGHT_TESTING, loaded
        assert emu.stats.total > 0  # it did talk to the gateway


def test_the_emulator_command_is_what_imports_it(fresh: FreshCli) -> None:
    """The check above can fail: ``emulator`` with a bad option value imports the emulator to run it."""
    code, _, loaded = _loaded_by(fresh, ["emulator", "--port", "0", "--job-duration", "-1"])
    assert code == 2
    assert "odirouter_async.testing._server" in loaded


def test_pytest_plugin_is_opt_in() -> None:
    """No pytest11 entry point: installing the SDK does not load the plugin into other projects."""
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert "[project.entry-points.pytest11]" not in pyproject  # tomllib: Python 3.11+ only
    conftest = (Path(__file__).parents[1] / "conftest.py").read_text()
    assert 'pytest_plugins = ["odirouter_async.testing.pytest_plugin"]' in conftest


def test_loading_the_pytest_plugin_imports_no_emulator() -> None:
    """Loading the plugin (a conftest's pytest_plugins) imports no emulator until a fixture runs."""
    script = (
        "import sys\n"
        "import odirouter_async.testing.pytest_plugin\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('odirouter_async.testing'))\n"
        "print('aiohttp.web' in sys.modules, ','.join(loaded))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    web, loaded = proc.stdout.split()
    assert web == "False", proc.stderr
    light = {
        "odirouter_async.testing",
        "odirouter_async.testing._fixture",
        "odirouter_async.testing.pytest_plugin",
    }
    assert set(loaded.split(",")) == light


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://gw.example/v1", "https://gw.example"),
        ("https://gw.example/v1/", "https://gw.example"),
        ("https://gw.example/proxy/v1", "https://gw.example/proxy"),
        ("https://gw.example", "https://gw.example"),
        ("https://gw.example/v10", "https://gw.example/v10"),
        ("https://v1", "https://v1"),
    ],
)
def test_trailing_v1_is_dropped_and_nothing_else(given: str, used: str) -> None:
    """Only a whole trailing /v1 path segment is dropped (a host named v1 or /v10 stays)."""
    client = AsyncOdiRouter(api_key="k", base_url=given)
    assert client.base_url == used
