"""A git server over HTTP for e2e tests: `git http-backend` behind basic authentication.

    python3 git_http_server.py --root DIR --token TOKEN

Serves the repositories under DIR on a free port of 127.0.0.1 (printed as the first line of
stdout) to clients that send `Authorization: basic base64("x-access-token:" + TOKEN)`, the
header BuildKit's GIT_AUTH_TOKEN secret makes; anyone else gets 401. Only what a clone or
fetch needs (GET and POST to git's smart HTTP endpoints).
"""

import argparse
import base64
import http.server
import os
import subprocess
import sys


def handler(root, token):
    expected = base64.b64encode(("x-access-token:" + token).encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.backend()

        def do_POST(self):
            self.backend()

        def backend(self):
            scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "basic" or credentials != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
            }
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), handler(args.root, args.token)
    )
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
