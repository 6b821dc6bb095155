//! `Transfer-Encoding: gzip` beside a Content-Length: RFC 9112 §6.3 says
//! the body runs to the server's close, and blast now reads it so. Against
//! a raw Python server that answers each request that way and closes: every
//! response is counted once, with every byte it sent, and no error.

use crate::support::python::LoggedPyServer;
use crate::support::{have, run};

/// One request per connection: the head is logged, the answer framed by
/// `Transfer-Encoding: gzip` (a final coding other than chunked) with a
/// Content-Length that is shorter than the body, then the close.
const GZIP_TO_CLOSE: &str = r#"
import http.server, socketserver, json, sys, threading
LOG = open(sys.argv[1], "a")
LOCK = threading.Lock()
class H(socketserver.BaseRequestHandler):
    def handle(self):
        got = b""
        while b"\r\n\r\n" not in got:
            b = self.request.recv(4096)
            if not b:
                return
            got += b
        with LOCK:
            LOG.write(json.dumps({"line": got.split(b"\r\n")[0].decode()}) + "\n")
            LOG.flush()
        self.request.sendall(RESPONSE)
RESPONSE = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
            + b"0123456789" * 10)
"#;

const RESPONSE_LEN: u64 = 63 + 100;

#[test]
fn gzip_transfer_coding_runs_to_the_close() {
    if !have("python3", which_python(), "no python3 here") {
        return;
    }
    let srv = LoggedPyServer::start(GZIP_TO_CLOSE, "te-gzip");
    let url = format!("http://127.0.0.1:{}/", srv.server.port);
    let r = run(&["-n", "20", "-c", "2", "-t", "1", "--json", &url]);
    let j = r.ok_json();
    let logged = srv.log().len() as u64;
    assert_eq!(logged, 20, "{j}");
    assert_eq!(j["requests"], 20, "{j}");
    assert_eq!(j["errors"]["parse"], 0, "{j}");
    assert_eq!(j["errors"]["read"], 0, "{j}");
    assert_eq!(j["status_codes"]["200"], 20, "{j}");
    assert_eq!(j["bytes_read"], 20 * RESPONSE_LEN, "{j}");
}

fn which_python() -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success())
}
