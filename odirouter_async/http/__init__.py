"""The one HTTP request path, shared by every feature slice.

Pure (no aiohttp, anyio or asyncio; checked by ``tests/unit/test_boundaries.py``): ``sse``
(bytes -> SSE events: streams and SSE-framed error bodies), ``retry`` (which attempts are
retried, and when), ``status_rules`` (every status set, one per question), ``request_id``
(which request id wins), ``urls`` (origins, path segments), ``error_body`` (error bodies ->
typed errors).  Shell: ``transport`` (one request with retries, headers from ``headers``, the
pool from ``pool``, spans from ``tracing``/``genai``), bounded responses (``response``),
``multipart`` bodies, atomic ``download``s, the raw-response ``capture``.
"""
