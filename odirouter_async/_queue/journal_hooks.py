"""``JournalHooks``: the journal plugged into ``client.queue.map`` (resumable batches).

For each input the map asks ``before_submit``; the answer depends on the input's journal entry
(key: its content key, ``InputKeys`` -- arguments hash and occurrence count, never its position,
so an edited input list resumes without paying for anything already submitted):

=================  ============================================================================
no entry           record the intent durably, then submit with ``X-Request-Id`` =
                   ``journal.request_id_for(key)``
``submitted``      re-attach: wait for that job (nothing is submitted, nothing paid twice)
``done``           replay the stored raw result body through the live path's decoder (no request)
``failed``         replay the stored error -- or, with ``retry_failed``, submit a new attempt
``cancelled``      this client cancelled the job (cancel-on-exit): submit a new attempt
``intent``         uncertain (an earlier run died mid-submit): an outcome with
                   :class:`UncertainSubmit` -- or, with ``resubmit_uncertain``, submit again with
                   the *same* request id, so a gateway that deduplicates can
=================  ============================================================================

``after_submit`` records the job's id and URLs; ``finished`` records the outcome before the
caller sees it.  A submit that failed is recorded according to what the error proves: refused
by the gateway (4xx other than 408/409/429), or refused by the SDK before sending -> ``failed``
(retrying the same input would fail the same way); never sent (connect error) or pushed back
(429, 503) -> the intent is dropped, so a resume submits it; anything else (timeout after the
body left, 5xx, a broken answer) -> left as an intent: uncertain.  A ``JobTimeout`` of the map
leaves the job ``submitted`` (it may still finish; a resume re-attaches).  A job the map
cancelled on the way out (the gateway accepted the cancel) is recorded ``cancelled``.  A submit
whose 2xx answer is unusable (``ResponseValidationError``: no usable request id) created a job
nobody can find: left as an intent, uncertain -- never ``failed``, so ``retry_failed`` cannot
pay for it twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._core.job_answers import decide_response
from .._core.jobstate import CancelOutcome, Succeeded
from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    JobCancelled,
    JobError,
    JobFailed,
    JobTimeout,
    ResponseValidationError,
    UncertainSubmit,
)
from ..types._base import attach_raw
from ..types.queue import JobResult
from .jobs import Job, job_urls
from .journal import Entry, InputKeys, Journal, JournalError
from .map import MapHooks, MapOutcome
from .scheduler import ClientClosedError

if TYPE_CHECKING:
    from .._http.requester import ClientHandle

__all__ = ("JournalHooks", "UncertainSubmit", "error_payload", "submit_created_no_job")

_encode: Final = msgspec.json.Encoder().encode
_ANY: Final = msgspec.json.Decoder()
_NO_JOB_STATUSES: Final = frozenset({429, 503})
_AMBIGUOUS_4XX: Final = frozenset({408, 409})


def error_payload(exc: BaseException) -> bytes:
    """An error as the JSON stored in the journal: message, type, error_type, ids, status."""
    body: dict[str, Any] = {"error": getattr(exc, "message", None) or str(exc), "type": type(exc).__name__}
    for name in ("request_id", "x_request_id", "error_type", "status_code", "endpoint"):
        value = getattr(exc, name, None)
        if value is not None:
            body[name] = value
    return _encode(body)


def submit_created_no_job(exc: BaseException) -> bool | None:
    """What a failed submit proves: ``True`` refused for good, ``False`` not started, ``None`` unknown.

    ``True``: the gateway or the SDK refused the input (4xx other than 408/409/429, ``ValueError``,
    ``TypeError``); ``False``: the request never left or was pushed back (connect error, 429,
    503); ``None``: a job may exist (a ``ResponseValidationError``: the gateway answered 2xx,
    but not with a usable job id).
    """
    if isinstance(exc, ResponseValidationError):
        return None
    if isinstance(exc, (ValueError, TypeError)):
        return True
    if isinstance(exc, APIStatusError):
        if exc.status_code in _NO_JOB_STATUSES:
            return False
        if 400 <= exc.status_code < 500 and exc.status_code not in _AMBIGUOUS_4XX:
            return True
        return None
    if isinstance(exc, APIConnectionError) and not exc.sent:
        return False
    return None


def _final(outcome: MapOutcome) -> bool:
    error = outcome.error
    if error is None:
        return True
    if outcome.request_id is None:  # the submit failed
        return submit_created_no_job(error) is True
    if isinstance(error, (JobTimeout, ClientClosedError)):
        return False  # the job may still finish: a resume re-attaches
    return isinstance(error, (JobError, APIStatusError))


def _replay_result(payload: bytes, request_id: str | None) -> JobResult:
    """A stored result body decoded exactly as the live path decodes a 200 of ``.../response``."""
    decision = decide_response(200, payload)  # never raises: a body it cannot read is Unusable
    if isinstance(decision, Succeeded) and decision.result is not None:
        return decision.result
    return attach_raw(JobResult(request_id=request_id), payload, None)


class JournalHooks(MapHooks):
    """Make a ``map`` resumable with a :class:`Journal` (see the module docstring).

    Args:
        journal: an open ``Journal`` (the caller closes it), or a path (opened at the start of
            the map and closed at its end).
        client: the client the map runs on (replayed results can ``download()``).
        positions: the index recorded for each map input (default: its position in
            ``inputs``); informational only (messages), keys never depend on it.
        keys: the content key of each map input (``Journal.keys_for`` of the whole input list);
            default: assigned by ``InputKeys`` in input order.  The CLI passes the keys of the
            whole file, so that skipping finished inputs never changes occurrence counts.
        resubmit_uncertain: submit uncertain inputs again (same request id) instead of failing
            them with :class:`UncertainSubmit`.
        retry_failed: submit inputs whose stored outcome is a failure again (a new attempt).

    Attributes:
        uncertain: entries found uncertain at the start (before any resubmission).
        replayed / reattached / submitted: how the inputs were served so far.
        cancelled: jobs this map cancelled on the gateway (recorded ``cancelled``).
    """

    def __init__(
        self,
        journal: Journal | str | os.PathLike[str],
        *,
        client: ClientHandle,
        positions: Sequence[int] | None = None,
        keys: Sequence[str] | None = None,
        resubmit_uncertain: bool = False,
        retry_failed: bool = False,
    ) -> None:
        self._journal = journal if isinstance(journal, Journal) else None
        self._path = None if isinstance(journal, Journal) else journal
        self._client = client
        self._positions = positions
        self._given_keys = keys
        self._input_keys = InputKeys()
        self._job_keys: dict[str, str] = {}  # request id -> key of the jobs not finished yet
        self._running: set[str] = set()  # request ids of jobs submitted / re-attached, not ended
        self.resubmit_uncertain = resubmit_uncertain
        self.retry_failed = retry_failed
        self._entries: dict[str, Entry] = {}
        self._keys: dict[int, str] = {}
        self._replays: set[int] = set()
        self.uncertain: list[Entry] = []
        self.replayed = self.reattached = self.submitted = self.cancelled_jobs = 0

    @property
    def journal(self) -> Journal:
        """The journal (open once the map started)."""
        if self._journal is None:
            raise JournalError("the journal is opened when the map starts")
        return self._journal

    def key_of(self, index: int) -> str | None:
        """The journal key of map input ``index`` (known from its ``before_submit`` on)."""
        return self._keys.get(index)

    @property
    def running_jobs(self) -> int:
        """Jobs submitted or re-attached by this map that neither ended nor were cancelled."""
        return len(self._running)

    def is_replay(self, index: int) -> bool:
        """Whether the outcome of input ``index`` came from the journal, not from the gateway."""
        return index in self._replays

    # -- MapHooks ---------------------------------------------------------------------------

    async def start(self, endpoint: str) -> None:
        """Open the journal (if given as a path), check its endpoint, load its entries."""
        if self._journal is None:
            assert self._path is not None
            self._journal = await Journal.open(self._path, endpoint=endpoint)
        elif self._journal.endpoint != endpoint:
            raise JournalError(
                f"the journal {self._journal.path} is for endpoint {self._journal.endpoint!r}, "
                f"not {endpoint!r}"
            )
        self._entries = await self._journal.load()
        self.uncertain = self._journal.uncertain()

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        """Decide from the journal: a request id to submit with, a job to re-attach, or a replay."""
        journal = self.journal
        # Before any await: keys are assigned in input order (occurrence counts).
        position = self._positions[index] if self._positions is not None else index
        arguments = dict(input) if isinstance(input, Mapping) and not isinstance(input, dict) else input
        key, digest = self._input_keys.next(arguments)
        if self._given_keys is not None:
            key = self._given_keys[index]
        self._keys[index] = key
        entry = self._entries.pop(key, None)
        attempt = 1
        id_key = key
        if entry is not None:
            id_key = entry.legacy_key or key
            if entry.state == "submitted" and entry.request_id:
                self.reattached += 1
                job = self._reattach(entry)
                self._job_keys[job.request_id] = key
                self._running.add(job.request_id)
                return job
            if entry.state == "done" or (entry.state == "failed" and not self.retry_failed):
                self.replayed += 1
                self._replays.add(index)
                return self._replay(index, input, entry)
            if entry.state == "intent" and not self.resubmit_uncertain:
                self._replays.add(index)
                return MapOutcome(index, input, None, None, self._uncertain_error(entry))
            attempt = entry.attempt + (entry.state in ("failed", "cancelled"))
        await journal.record_intents([(key, position, digest)])
        self.submitted += 1
        return journal.request_id_for(id_key, attempt)

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        """Record the job's id and URLs (batched, not awaited)."""
        key = self._keys[index]
        self._job_keys[job.request_id] = key
        self._running.add(job.request_id)
        urls: tuple[str | None, ...] = (job.status_url, job.response_url, job.cancel_url)
        if urls == job_urls(self._client.requester.base_url, self.journal.endpoint, job.request_id):
            urls = (None, None, None)  # the documented URLs: derived again on re-attach, not stored
        self.journal.record_submitted(key, job.request_id, *urls)

    async def cancelled(self, job: Job, outcome: CancelOutcome | None) -> None:
        """The map cancelled ``job`` on its way out: record ``cancelled`` if the gateway accepted."""
        key = self._job_keys.pop(job.request_id, None)
        if outcome is not CancelOutcome.REQUESTED:
            return
        self._running.discard(job.request_id)
        if key is not None:
            self.cancelled_jobs += 1
            self.journal.record_cancelled(key)

    async def finished(self, outcome: MapOutcome) -> None:
        """Record a final outcome (batched); leave non-final ones for the resume."""
        key = self._keys.pop(outcome.index, None)
        if outcome.request_id is not None:
            self._running.discard(outcome.request_id)
            if not isinstance(outcome.error, JobTimeout):  # a timed-out job may still be cancelled
                self._job_keys.pop(outcome.request_id, None)
        if key is None or outcome.index in self._replays:
            return
        journal = self.journal
        error = outcome.error
        if error is None:
            result = outcome.result
            assert result is not None
            journal.record_outcome(key, True, result.raw_bytes or _encode(result.raw))
        elif outcome.request_id is None and submit_created_no_job(error) is False:
            journal.discard_intent(key)
        elif _final(outcome):
            journal.record_outcome(key, False, error_payload(error))

    def is_final(self, outcome: MapOutcome) -> bool:
        """Whether the journal holds (or now records) ``outcome`` as the input's last word.

        False for outcomes a rerun changes: uncertain inputs, submits that created no job for a
        transient reason, timeouts of jobs that may still finish.
        """
        if outcome.index in self._replays:
            return not isinstance(outcome.error, UncertainSubmit)
        return _final(outcome)

    async def stop(self) -> None:
        """Flush; close the journal if this object opened it."""
        journal = self._journal
        if journal is None:
            return
        if self._path is not None:
            await journal.close()
        else:
            await journal.flush()

    # -- helpers ----------------------------------------------------------------------------

    def _reattach(self, entry: Entry) -> Job:
        assert entry.request_id is not None
        endpoint = self.journal.endpoint
        status_url, response_url, cancel_url = job_urls(
            self._client.requester.base_url, endpoint, entry.request_id
        )
        mono = None
        if entry.submitted_at is not None:
            mono = time.monotonic() - max(0.0, time.time() - entry.submitted_at)
        return Job(
            self._client,
            endpoint,
            entry.request_id,
            status_url=entry.status_url or status_url,
            response_url=entry.response_url or response_url,
            cancel_url=entry.cancel_url or cancel_url,
            submitted_at=entry.submitted_at,
            submitted_mono=mono,
        )

    def _replay(self, index: int, input: Any, entry: Entry) -> MapOutcome:
        payload = entry.outcome or b"{}"
        if entry.state == "done":
            result = _replay_result(payload, entry.request_id)
            return MapOutcome(index, input, entry.request_id, result, None)
        return MapOutcome(index, input, entry.request_id, None, self._stored_error(entry, payload))

    def _stored_error(self, entry: Entry, payload: bytes) -> JobError:
        try:
            body = _ANY.decode(payload)
        except msgspec.DecodeError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        cls = JobCancelled if body.get("type") == "JobCancelled" else JobFailed
        return cls(
            str(body.get("error") or "the job failed (recorded by an earlier run)"),
            request_id=entry.request_id,
            endpoint=self.journal.endpoint,
            error=body.get("error"),
            error_type=body.get("error_type"),
            status=body,
        )

    def _uncertain_error(self, entry: Entry) -> UncertainSubmit:
        return UncertainSubmit(
            f"input {entry.index} may have been submitted by an earlier run that stopped before "
            "recording the job id; not resubmitted (resubmit_uncertain=True / --resubmit-uncertain "
            "submits it again and may pay twice)",
            request_id=self.journal.request_id_for(entry.legacy_key or entry.key, entry.attempt),
            endpoint=self.journal.endpoint,
        )
