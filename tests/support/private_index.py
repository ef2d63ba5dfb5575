#!/usr/bin/env python3
"""A password-protected package index for the e2e tests (standard library only).

Serves one package, `secret-pkg` 1.0 (a pure-Python wheel made on start), as a PEP 503 simple
index under /simple/, and the wheel under /files/. Every request needs HTTP basic auth with the
given user and password; anything else gets 401. Listens on 127.0.0.1 (the builds reach it with
host networking), prints the port on the first line of stdout, and logs each request with its
auth verdict on stderr.

    private_index.py --user USER --password PASSWORD [--port 0] [--value TEXT]
"""

import argparse
import base64
import hashlib
import http.server
import io
import sys
import zipfile

NAME, VERSION = "secret-pkg", "1.0"
WHEEL = f"secret_pkg-{VERSION}-py3-none-any.whl"


def make_wheel(value: str) -> bytes:
    files = {
        "secret_pkg/__init__.py": f"VALUE = {value!r}\n".encode(),
        f"secret_pkg-{VERSION}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
        ).encode(),
        f"secret_pkg-{VERSION}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: private_index.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record_path = f"secret_pkg-{VERSION}.dist-info/RECORD"
    record.append(f"{record_path},,")
    files[record_path] = ("\n".join(record) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--value", default="from the private index")
    args = ap.parse_args()
    wheel = make_wheel(args.value)
    sha = hashlib.sha256(wheel).hexdigest()
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
            self.answer(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self.answer(body=True)

        def answer(self, body: bool) -> None:
            authorized = self.headers.get("Authorization") == expected
            sys.stderr.write(f"{self.command} {self.path} authorized={authorized}\n")
            if not authorized:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = self.path.split("?")[0]
            if path.rstrip("/") in ("/simple/secret-pkg", "/simple/secret_pkg"):
                content = (
                    f'<!DOCTYPE html><html><body><a href="/files/{WHEEL}#sha256={sha}">{WHEEL}</a>'
                    "</body></html>\n"
                ).encode()
                kind = "text/html"
            elif path == f"/files/{WHEEL}":
                content, kind = wheel, "application/octet-stream"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
