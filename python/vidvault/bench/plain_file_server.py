"""The baseline of `vidvault bench view`: one file served by the same server
stack as `vidvault serve` (uvicorn, Starlette's ``FileResponse`` with byte
ranges), no store, no decryption, no grant check.

    python -m vidvault.bench.plain_file_server FILE PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route


def app(path: str) -> Starlette:
    async def clip(_request):  # type: ignore[no-untyped-def]
        return FileResponse(path, media_type="video/mp4")

    return Starlette(routes=[Route("/clip.mp4", clip)])


if __name__ == "__main__":
    uvicorn.run(app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
