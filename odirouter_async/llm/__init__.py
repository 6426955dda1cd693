"""Chat completions, the Responses API and ``GET /v1/models``: requests, SSE streams, helpers.

Pure: ``stream_decode`` (SSE events from ``http.sse`` -> typed chunks), the stream
protocols (``stream_protocol``, ``chat_protocol``, ``responses_protocol``, ``stream_resume``),
``chat_quirks``, the accumulators (``chat_state``, ``responses_state``) and ``strict_schema``.
Shell: the resources (``chat``, ``responses``, ``models``), ``stream`` (the open body read
chunk by chunk), the ``.stream()`` helpers (``chat_stream``, ``responses_stream``, ``helper``),
``resume`` and ``structured`` (``.parse``).
"""
