"""What an HTTP status means for the next step: one named set per question.  Pure, no I/O.

Every set of HTTP statuses the SDK decides on lives here, named for the question it answers
(``tests/unit/test_rules.py`` fails on a set of status codes defined anywhere else).  The sets
overlap on purpose: the same 409 is worth repeating a GET for, yet proves nothing about a submit.

====================  ==========================================  ===========================
name                  question (asked by)                         statuses
====================  ==========================================  ===========================
RETRY_REQUEST         retry a request that is safe to repeat?     408, 409, 429, any 5xx
                      (``retry.RetryPolicy``: GET, cancel, ...)
RETRY_PAID_REQUEST    retry a request that starts paid work?      429, 503: refused before
                      (``retry.RetryPolicy``, ``paid=True``)      the work began
KEEP_POLLING          does a poll's error leave the job to be     408, 409, 425, any 5xx
                      asked again? (``observe_error``,            (429 slows polling down,
                      ``job_state.ResponseGuard``,                see ``RATE_LIMITED``)
                      ``map_kinds.is_transient_failure``)
SUBMIT_MAYBE_CREATED  may a submit that failed with a 4xx have    408, 409 (any other 4xx,
                      made a job? (``map_kinds.submit_kind``)     and 503: no job made)
RESUME_STREAM         reconnect a background stream after a       408, 409, 429, any 5xx
                      refusal? (``llm/resume.py``)               (a reconnection is a GET)
JOB_GONE              is the job gone for good?                   404, 410
                      (``job_state.ResponseGuard``,
                      ``job_state.classify_cancel``)
CANCEL_ANSWERS        which answers to a job cancel are its       202, 400, 404, 405, 409,
                      outcome, not an error? (``Job.cancel``)     410, 422, 501
REDIRECTS             is the answer a redirect a download         301, 302, 303, 307, 308
                      follows? (``http/download.py``)
====================  ==========================================  ===========================

The predicates (``retry_request``, ``keeps_polling``, ``submit_made_no_job``, ``resume_stream``)
add the ranges ("any 5xx") so no caller writes ``>= 500`` next to a set.
"""

from __future__ import annotations

from typing import Final

__all__ = (
    "CANCEL_ANSWERS",
    "JOB_GONE",
    "KEEP_POLLING",
    "RATE_LIMITED",
    "REDIRECTS",
    "RESUME_STREAM",
    "RETRY_PAID_REQUEST",
    "RETRY_REQUEST",
    "SUBMIT_MAYBE_CREATED",
    "keeps_polling",
    "resume_stream",
    "retry_request",
    "submit_made_no_job",
)

#: Too many requests: retried, and for polls a signal to slow down (the poll budget), never an end.
RATE_LIMITED: Final = 429
#: 4xx worth repeating a request that is safe to repeat (besides every 5xx).
RETRY_REQUEST: Final = frozenset({408, 409, 429})
#: Statuses by which the gateway refused paid work before starting it (so a retry cannot pay twice).
RETRY_PAID_REQUEST: Final = frozenset({429, 503})
#: 4xx answers to a poll that say nothing about the job (besides every 5xx; 429 slows polling down).
KEEP_POLLING: Final = frozenset({408, 409, 425})
#: 4xx answers to a submit that may hide a created job (a timeout, a conflict: look again later).
SUBMIT_MAYBE_CREATED: Final = frozenset({408, 409})
#: 4xx answers to a stream's reconnection worth another try (besides every 5xx): a reconnection
#: is a GET, so the answer is ``RETRY_REQUEST``'s.
RESUME_STREAM: Final = RETRY_REQUEST
#: The job is gone: no later poll will find it.
JOB_GONE: Final = frozenset({404, 410})
#: Answers to ``PUT cancel_url`` that are the cancel's outcome, not an error (``classify_cancel``).
CANCEL_ANSWERS: Final = frozenset({202, 400, 404, 405, 409, 410, 422, 501})
#: Redirects a download follows by hand (the key kept only on the configured origin).
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


def retry_request(status: int, *, paid: bool) -> bool:
    """Whether an attempt that got ``status`` may be sent again (``paid``: it starts paid work)."""
    if paid:
        return status in RETRY_PAID_REQUEST
    return status in RETRY_REQUEST or status >= 500


def keeps_polling(status: int) -> bool:
    """Whether a poll's error status leaves the job to be asked again (429 aside: it slows down)."""
    return status >= 500 or status in KEEP_POLLING


def submit_made_no_job(status: int) -> bool:
    """Whether a submit answered with this error status provably made no job."""
    return status == 503 or (400 <= status < 500 and status not in SUBMIT_MAYBE_CREATED)


def resume_stream(status: int) -> bool:
    """Whether a refused reconnection of a background stream deserves another try."""
    return status >= 500 or status in RESUME_STREAM
