"""Fake Casper peers for tests that run a script synchronously (spawnSync):
they answer from this separate process while the test's own event loop is
blocked.

    python3 fake_peers.py ANSWERS.json REQUEST_LOG

ANSWERS.json: {"port": 0 or a port, "peers": {"127.0.0.2": {"status": 200,
"contentType": "application/json", "body": "..."}, ...}}. Every peer listens on
its loopback address and the same port (the first bound picks it when 0).
Prints the port on stdout once all listen; appends "host path" to REQUEST_LOG
for every request. Loopback addresses only.
"""

import http.server
import json
import sys
import threading

answers_file, request_log = sys.argv[1], sys.argv[2]
with open(answers_file, encoding="utf-8") as f:
    config = json.load(f)
lock = threading.Lock()


def handler_for(host, answer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            with lock, open(request_log, "a", encoding="utf-8") as log:
                log.write(f"{host} {self.path}\n")
            body = answer["body"].encode("utf-8")
            self.send_response(answer.get("status", 200))
            self.send_header("Content-Type", answer.get("contentType", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


port = config.get("port", 0)
servers = []
for host, answer in config["peers"].items():
    if not host.startswith("127."):
        sys.exit(f"fake peers listen on loopback only, not {host}")
    server = http.server.ThreadingHTTPServer((host, port), handler_for(host, answer))
    port = server.server_address[1]
    servers.append(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(port, flush=True)
threading.Event().wait()
