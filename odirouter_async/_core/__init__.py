"""The pure core: bytes, bodies and times in, decisions out.  No aiohttp, anyio or asyncio."""
