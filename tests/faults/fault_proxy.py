"""An HTTP proxy in front of an S3-compatible server that injects faults.

    python fault_proxy.py --listen 127.0.0.1:PORT --upstream http://127.0.0.1:9000 \
        --fail 0.05 --drop 0.02 --latency-ms 0 --seed 1 --stats stats.json

Each request is, at random: answered with 503 SlowDown (`--fail`), cut off (`--drop`: for
requests the connection is closed before any answer; for GET answers with a body, half of the
body is sent and then the connection is closed), or forwarded unchanged. `--latency-ms` delays
every request (`--log FILE` records each one). Counts of each outcome are written to `--stats` as JSON after every request.
Signatures pass through untouched (the Host header is kept).
"""

import argparse
import http.client
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>injected fault: please reduce your request rate</Message></Error>"
)


class State:
    def __init__(self, args):
        self.args = args
        self.random = random.Random(args.seed)
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "forwarded": 0, "failed_503": 0, "dropped_before_answer": 0, "dropped_mid_body": 0}

    def draw(self):
        with self.lock:
            self.counts["requests"] += 1
            return self.random.random()

    def count(self, key):
        with self.lock:
            self.counts[key] += 1
            if self.args.stats:
                with open(self.args.stats, "w") as f:
                    json.dump(self.counts, f)


def make_handler(state, upstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: without this, Nagle's algorithm and the client's
        # delayed ACK add ~40 ms to many answers, which would swamp an injected latency.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if state.args.latency_ms:
                time.sleep(state.args.latency_ms / 1000)
            if state.args.log:
                with state.lock, open(state.args.log, "a") as log:
                    log.write(f"{time.monotonic():.3f} {self.command} {self.path}\n")
            draw = state.draw()
            if draw < state.args.fail:
                state.count("failed_503")
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOW_DOWN)))
                self.end_headers()
                self.wfile.write(SLOW_DOWN)
                return
            cut = draw < state.args.fail + state.args.drop
            if cut and self.command != "GET":
                state.count("dropped_before_answer")
                self.close_connection = True
                self.connection.shutdown(2)
                return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            connection.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                    self.send_header(key, value)
            # A HEAD answer has no body but the length of the object.
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if cut and len(data) > 1:
                state.count("dropped_mid_body")
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            state.count("forwarded")
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--fail", type=float, default=0.0)
    parser.add_argument("--drop", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stats")
    parser.add_argument("--log", help="append one line per request: time, method, path")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), make_handler(State(args), urlsplit(args.upstream)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
