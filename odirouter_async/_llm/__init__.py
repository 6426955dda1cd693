"""Open SSE streams of chat completions and Responses, and their ``.stream()`` helpers."""
