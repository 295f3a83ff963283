"""`vidvault serve`: the web API and page (:mod:`vidvault.web`) under uvicorn."""

from __future__ import annotations

import argparse
import ipaddress

from ..errors import InvalidArgumentError
from .args import open_store, with_store


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..web import app

    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidArgumentError("give both --tls-cert and --tls-key, or neither")
    if args.tls_cert is None and not _loopback(args.host) and not args.plain_http:
        raise InvalidArgumentError(
            f"--host {args.host} is reachable from other machines and grant tokens would cross the network "
            "in the clear; give --tls-cert PEM --tls-key PEM (or --plain-http behind a TLS proxy)")
    with open_store(args, operator="vidvault-serve") as store:
        scheme = "https" if args.tls_cert else "http"
        print(f"vidvault: serving {args.store} at {scheme}://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
        uvicorn.run(app(store), host=args.host, port=args.port, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                    log_level="warning", access_log=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("serve", help="footage in the browser: the web API and page (vidvault.web)"))
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8080)
    sp.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate chain")
    sp.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    sp.add_argument("--plain-http", action="store_true",
                    help="allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)")
    sp.set_defaults(func=cmd_serve)
