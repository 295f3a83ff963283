"""`vidvault serve` as its own process on loopback: real HTTP with uvicorn,
byte ranges, ffprobe reading the served MP4 over HTTP, and the refusal to
serve tokens in the clear beyond loopback; HTTPS with --tls-cert/--tls-key."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pytest

import vidvault

from helpers import NS, T0
from web_support import CAMERA, bearer, footage_store, grant, samples, served


@pytest.fixture(scope="module")
def server(tmp_path_factory, clip):
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("serve") / "store"
    store = footage_store(path, key, clip)
    token = grant(store, "officer.qian", ["view_raw"])
    stored = [f.data for f in store.read(CAMERA, T0, T0 + 5 * NS)]
    store.close()
    with served(path, key) as base:
        yield base, token, stored, path, key


def test_raw_view_over_real_http_with_ranges_and_ffprobe(server):
    base, token, stored, _, _ = server
    url = f"{base}/api/cameras/{CAMERA}/view.mp4?" + urlencode({"start": T0, "end": T0 + 5 * NS, "raw": 1})
    with httpx.Client(headers=bearer(token), timeout=60) as http:
        whole = http.get(url)
        assert whole.status_code == 200 and samples(whole.content) == stored
        size = len(whole.content)
        for a, b in [(0, 0), (size // 3, size // 3 + 4095), (size - 1, size - 1)]:
            part = http.get(url, headers={"Range": f"bytes={a}-{b}"})
            assert part.status_code == 206 and part.content == whole.content[a : b + 1]
            assert part.headers["content-range"] == f"bytes {a}-{b}/{size}"
        link = http.post(f"{base}/api/media-urls", json={"camera": CAMERA, "start": str(T0),
                                                          "end": str(T0 + 5 * NS), "raw": True}).json()["url"]
    # ffprobe reads the signed URL itself (seeking with byte ranges, no Authorization header).
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                            "stream=codec_name,nb_read_packets", "-of", "csv=p=0", base + link],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == f"h264,{len(stored)}"


def test_the_openapi_description_is_served(server):
    base = server[0]
    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    assert {"/api/cameras", "/api/cameras/{camera}/timeline", "/api/cameras/{camera}/view.mp4",
            "/api/media-urls"} <= set(doc["paths"])


def test_serve_refuses_plain_http_beyond_loopback(server):
    _, _, _, path, key = server
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "serve", str(path), "--host", "0.0.0.0"],
                       env={"VIDVAULT_KEY": key.hex(), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "--tls-cert" in r.stderr


def _self_signed(directory):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_serve_over_tls(tmp_path, clip):
    key = vidvault.generate_key()
    path = tmp_path / "store"
    store = footage_store(path, key, clip)
    token = grant(store, "officer.qian", ["view_redacted"])
    store.close()
    cert, pem_key = _self_signed(tmp_path)
    only_cert = subprocess.run([sys.executable, "-m", "vidvault.cli", "serve", str(path), "--tls-cert", str(cert)],
                               env={"VIDVAULT_KEY": key.hex(), "PATH": "/usr/bin:/bin"}, capture_output=True,
                               text=True, timeout=60)
    assert only_cert.returncode == 2 and "--tls-key" in only_cert.stderr
    with served(path, key, "--tls-cert", str(cert), "--tls-key", str(pem_key)) as base:
        https = base.replace("http://", "https://")
        r = httpx.get(f"{https}/api/cameras", headers=bearer(token), verify=str(cert), timeout=30)
        assert r.status_code == 200 and {c["id"] for c in r.json()} >= {CAMERA}
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{base}/api/cameras", headers=bearer(token), timeout=10)  # no plain HTTP beside it
