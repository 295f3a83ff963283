"""A fuzz of the web API from its own OpenAPI description (schemathesis):
whatever a client sends, with a valid token or without, the server answers
without a 500. Bounded examples per operation keep it short."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

import vidvault
from vidvault import media
from vidvault.web import app

from web_support import bearer, footage_store, grant

# schemathesis reads the description when the module is collected, so the
# store exists from then (in a temporary directory removed at exit).
_DIR = Path(tempfile.mkdtemp(prefix="vidvault-fuzz-"))
atexit.register(shutil.rmtree, _DIR, True)


def _clip(**kw):
    return media.encode_synthetic(_DIR / "clip.mp4", codec="h264", seed=3, fps=25, **kw)


STORE = footage_store(_DIR / "store", vidvault.generate_key(), _clip)
atexit.register(STORE.close)
TOKEN = grant(STORE, "fuzzer", ["view_raw", "export"], approver="chief.wu")
schema = schemathesis.openapi.from_asgi("/openapi.json", app(STORE))


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case):
    case.call_and_validate(headers=bearer(TOKEN), checks=[not_a_server_error])
    case.call_and_validate(checks=[not_a_server_error])  # and without a token
