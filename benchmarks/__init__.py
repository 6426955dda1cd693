"""Benchmarks against openai-python, fal-client and raw aiohttp (``python -m benchmarks``)."""
