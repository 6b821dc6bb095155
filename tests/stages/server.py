# A test server for load stages: it notes when each request arrived, samples its open connections every 250 ms, and, with `degrade`,
# answers slower and then with errors as concurrency rises: each request
# takes 2 ms x the requests in progress, and is a 500 when more than 12
# are. GET /__stats answers what it saw (not counted).
import http.server, socketserver, json, sys, time, threading
degrade = len(sys.argv) > 1 and sys.argv[1] == "degrade"
lock = threading.Lock()
st = {"requests": 0, "times": [], "open": 0, "samples": [], "busy": 0}

def sampler():
    while True:
        with lock:
            st["samples"].append([time.time(), st["open"]])
        time.sleep(0.25)

threading.Thread(target=sampler, daemon=True).start()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def setup(self):
        super().setup()
        with lock:
            st["open"] += 1
    def finish(self):
        with lock:
            st["open"] -= 1
        super().finish()
    def do_GET(self):
        if self.path == "/__stats":
            with lock:
                body = json.dumps(st).encode()
            return self.answer(200, body)
        now = time.time()
        with lock:
            st["requests"] += 1
            st["times"].append(now)
            st["busy"] += 1
            busy = st["busy"]
        status = 200
        if degrade:
            time.sleep(0.002 * busy)
            status = 500 if busy > 12 else 200
        with lock:
            st["busy"] -= 1
        self.answer(status, b"ok")
    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

# By hand: python3 tests/stages/server.py degrade 8080 (the tests add
# their own serving loop on port 0 after this file).
if len(sys.argv) > 2:
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 1024
    S(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
