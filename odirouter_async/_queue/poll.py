"""The one poll of the wait pipeline (I/O shell): ``PollTarget`` (what is waited for, as data) and
``run_poll`` (the GETs a poll needs, fed to the target's pure interpreter).

A target names the remote resource: its scheduler key, the endpoint label whose durations are
learned together, the requester (the client view) its GETs go through, its URLs by ``Ask``
(``PRIMARY``: a job's ``response_url`` or a video's URL; ``STATUS``: a job's ``status_url``),
its age and an optional fixed spacing (``every``).  Its interpreter (``_core/job_poll.JobPoll``,
``_core/video_state.VideoWatch``) says which URL to GET, reads each answer and returns the
``PollResult``; this module sends the GETs and nothing else.  Every status is returned to the
interpreter (``ok_statuses`` covers 3xx-5xx), without the transport's retries: the scheduler's
backoff is the retry.  A transport error (connection, timeout) is fed as such.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from .._config import RequestOptions
from .._core.observation import Answer, Ask, PollResult, error_result
from .._exceptions import OdiRouterError
from .._http.download import bind_downloads
from ..types.queue import JobResult

if TYPE_CHECKING:
    from .._http.transport import Transport

__all__ = ("POLL_OPTIONS", "Interpreter", "PollTarget", "run_poll")

#: Every poll GET: no transport retries (the schedule backs off), 30 s per request.
POLL_OPTIONS: Final = RequestOptions(max_retries=0, timeout=30.0)
_ANY_STATUS: Final = frozenset(range(300, 600))
_MAX_STEPS: Final = 4  # a poll is at most a status GET and a response GET (and a spare)
_LOGS: Final[Mapping[str, str]] = {"logs": "1"}


class Interpreter(Protocol):
    """A resource kind's pure poll interpreter (``JobPoll``, ``VideoWatch``)."""

    def start(self) -> Ask:
        """A poll begins: the URL to GET first."""
        ...

    def feed(self, ask: Ask, answer: Answer, now: float) -> Ask | PollResult:
        """An answer: the next URL to GET, or the poll's result."""
        ...

    def feed_error(self, ask: Ask, exc: OdiRouterError) -> Ask | PollResult:
        """The GET failed before an answer."""
        ...


@dataclass(eq=False, slots=True)
class PollTarget:
    """One remote job as the scheduler holds it: data, no callbacks."""

    key: Hashable
    label: str
    requester: Transport
    urls: Mapping[Ask, str]
    interpreter: Interpreter
    age: float | None = 0.0
    #: poll every this many seconds (a fixed spacing), else the adaptive schedule
    every: float | None = None
    #: ``?logs=1`` on status GETs (a waiter follows the job's updates)
    logs: bool = False


async def run_poll(target: PollTarget) -> PollResult:
    """One poll of ``target``: its GETs, each answer fed to its interpreter (never raises an SDK error)."""
    interp = target.interpreter
    ask = interp.start()
    for _ in range(_MAX_STEPS):
        query = _LOGS if target.logs and ask is Ask.STATUS else None
        try:
            resp = await target.requester.request(
                "GET", target.urls[ask], query=query, options=POLL_OPTIONS, ok_statuses=_ANY_STATUS
            )
        except OdiRouterError as exc:
            step = interp.feed_error(ask, exc)
        else:
            answer = Answer(resp.status, resp.headers, resp.content, resp.request_id, resp.url)
            step = interp.feed(ask, answer, time.time())
        if isinstance(step, PollResult):
            if isinstance(step.value, JobResult):  # result.download(dir) through this requester
                bind_downloads(step.value, target.requester)
            return step
        ask = step
    return error_result(OdiRouterError(f"the poll of {target.key!r} did not settle"))  # cannot happen
