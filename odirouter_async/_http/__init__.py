"""The one HTTP request path: ``requester`` (the Protocols the floors above use), ``transport``
(headers from ``headers``, the pool from ``pool``, spans from ``tracing``), bounded responses
(``response``), multipart bodies, atomic downloads."""
