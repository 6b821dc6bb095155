//! What one lane (an HTTP/1.1 connection's task, or an HTTP/2 stream lane:
//! `Kept`) keeps for a scenario's
//! sequences when they capture values or keep cookies: the values captured
//! in the current run of a sequence, the cookie jar, and the buffer a
//! spliced request is rendered into. The response it reads is the one the
//! connection collects for checks (`collect::Collected`). Every buffer is
//! the lane's and reused, so in steady state a request costs no allocation
//! (a JSON capture parses the body, which does).
//!
//! A lane exists only when the mix captures or keeps cookies (`Mix::lanes`):
//! every other run writes its pre-encoded requests as before.

use super::collect::Collected;
use super::mix::{Mix, Variant};
use crate::proto::check::{LazyJson, Response};
use crate::proto::cookie::Jar;
use crate::proto::h1::spliced::{split, target_of};
use crate::proto::h2::H2Request;
use bytes::Bytes;
use std::time::Instant;

/// Most header lines read back from a kept response head.
const MAX_HEADERS: usize = 100;

/// One lane's state.
pub struct Lane {
    values: Vec<Vec<u8>>,
    /// The rendered request (when `prepare` says so).
    pub out: Vec<u8>,
    /// The target of the request in flight (cookies' default path).
    path: Vec<u8>,
    jar: Option<Jar>,
}

impl Lane {
    pub fn new(mix: &Mix) -> Lane {
        Lane {
            values: vec![Vec::new(); mix.slots],
            out: Vec::new(),
            path: Vec::new(),
            jar: mix.cookies.then(Jar::new),
        }
    }

    /// Whether the response to `v` must be kept (captures, or cookies).
    #[inline]
    pub fn collects(&self, v: &Variant) -> bool {
        self.jar.is_some() || v.flow.as_ref().is_some_and(|f| !f.captures.is_empty())
    }

    /// Whether a capture of `v` reads the response's body (json, regex);
    /// the head is kept whenever the lane reads a response (cheap), the
    /// body only then, so cookies alone copy no body.
    pub fn reads_body(&self, v: &Variant) -> bool {
        let caps = v.flow.as_ref().map_or(&[][..], |f| f.captures.as_slice());
        caps.iter().any(|c| c.1.needs_body())
    }

    /// Before `v` is written at `now`: begin a run if it begins one, and
    /// render it into `out` when it is not written as encoded (captured
    /// values, or cookies to send). True: write `out`.
    pub fn prepare(&mut self, v: &Variant, now: Instant) -> bool {
        let flow = v.flow.as_deref();
        if flow.is_some_and(|f| f.starts_run) {
            self.values.iter_mut().for_each(Vec::clear);
            if let Some(j) = &mut self.jar {
                j.clear();
            }
        }
        let spliced = flow.and_then(|f| f.spliced.as_ref());
        let cookies = self.jar.is_some();
        let Lane {
            values,
            out,
            path,
            jar,
            ..
        } = self;
        let value = |i: usize| values.get(i).map_or(&[][..], Vec::as_slice);
        let jar = jar.as_ref().filter(|j| !j.is_empty());
        out.clear();
        match (spliced, jar) {
            (None, None) => {
                if cookies {
                    // The default path of a cookie set by this response.
                    path.clear();
                    path.extend_from_slice(&v.bytes[target_of(&v.bytes)]);
                }
                false
            }
            (Some(s), jar) => {
                let t = s.render_head(value, out);
                path.clear();
                path.extend_from_slice(&out[t]);
                if let Some(j) = jar {
                    j.header_into(std::str::from_utf8(path).unwrap_or("/"), now, out);
                }
                s.render_rest(value, out);
                true
            }
            (None, Some(j)) => {
                let (head, body) = split(&v.bytes);
                path.clear();
                path.extend_from_slice(&head[target_of(head)]);
                out.extend_from_slice(head);
                j.header_into(std::str::from_utf8(path).unwrap_or("/"), now, out);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(body);
                true
            }
        }
    }

    /// The response to `v` is complete (its `head` bytes and `body` as
    /// the connection kept them): store its cookies and take its captures.
    /// Err: the `check` detail of the first capture that found nothing
    /// (the rest of the run is then not sent).
    pub fn absorb<'v>(
        &mut self,
        v: &'v Variant,
        status: u16,
        head: &[u8],
        body: &[u8],
        now: Instant,
    ) -> Result<(), &'v str> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        let hs: &[httparse::Header] = match parsed.parse(head) {
            Ok(httparse::Status::Complete(_)) => parsed.headers,
            _ => &[],
        };
        if let Some(jar) = &mut self.jar {
            let path = std::str::from_utf8(&self.path).unwrap_or("/");
            for h in hs
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
            {
                if let Ok(c) = std::str::from_utf8(h.value) {
                    jar.store(c, path, now);
                }
            }
        }
        let Some(flow) = v.flow.as_deref().filter(|f| !f.captures.is_empty()) else {
            return Ok(());
        };
        let r = Response::new(status, &hs, body);
        let json = LazyJson::new(body);
        for (slot, cap, missing) in &flow.captures {
            match cap.extract_with(&r, &json) {
                Some(val) => {
                    let into = &mut self.values[*slot];
                    into.clear();
                    into.extend_from_slice(val.as_bytes());
                }
                None => return Err(missing),
            }
        }
        Ok(())
    }
}

impl Lane {
    /// Before a stream of `v` (`req`, its template): its request, rendered
    /// when the lane splices values or sends cookies, and whether the lane
    /// reads its response (then `collected` keeps it, after a `begin` for
    /// checks when `checked`). None: the rendered request is not valid.
    pub fn stream(
        &mut self,
        v: &Variant,
        req: &H2Request,
        collected: &mut Collected,
        checked: bool,
        max: usize,
    ) -> Option<((http::Request<()>, Bytes), bool)> {
        let pair = if self.prepare(v, Instant::now()) {
            req.render(&self.out)?
        } else {
            (req.head(), req.body.clone())
        };
        let reads = self.collects(v);
        if reads {
            collected.keep_for_lane(checked, self.reads_body(v), max);
        }
        Some((pair, reads))
    }
}

/// What an HTTP/2 stream lane keeps of a response: for its request's
/// checks, and for its `Lane` (captured values, cookies) when the mix
/// keeps them (`Mix::lanes`).
#[derive(Default)]
pub struct Kept {
    pub body: Collected,
    pub headers: Option<http::HeaderMap>,
    pub lane: Option<Box<Lane>>,
    /// The lane reads the response in flight.
    pub lane_reads: bool,
}

impl Kept {
    /// `Lane::absorb` for the response to `v` over HTTP/2: its headers as
    /// a head's lines (one allocation, as h2 makes per stream anyway).
    /// Some: the `check` detail of a capture that found nothing. `now`
    /// reads the clock only for a lane that reads (cookie expiry).
    pub fn absorb<'v>(
        &mut self,
        v: &'v Variant,
        status: u16,
        now: impl FnOnce() -> Instant,
    ) -> Option<&'v str> {
        let lane = self.lane.as_deref_mut().filter(|_| self.lane_reads)?;
        let mut head = format!("HTTP/1.1 {status} -\r\n").into_bytes();
        for (name, value) in self.headers.iter().flatten() {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        lane.absorb(v, status, &head, &self.body.body, now()).err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::FlowStep;
    use crate::engine::mix::{Entry, RequestName, RowOrder, Step, Think};
    use crate::proto::capture::Capture;
    use crate::proto::h1::spliced::Spliced;

    fn variant(bytes: &str, flow: Option<FlowStep>) -> Variant {
        Variant {
            bytes: bytes.as_bytes().into(),
            head: false,
            h2: None,
            flow: flow.map(Box::new),
            checks: None,
        }
    }

    fn mix(variants: Vec<Variant>, cookies: bool) -> Mix {
        let n = variants.len() as u32;
        let mut m = Mix::new(
            (0..n)
                .map(|i| RequestName {
                    name: format!("s{i}"),
                    method: "GET".into(),
                })
                .collect(),
            variants,
            vec![Entry {
                weight: 1,
                steps: (0..n)
                    .map(|i| Step {
                        name: i as u16,
                        first: i,
                        count: 1,
                    })
                    .collect(),
            }],
            Think::None,
            RowOrder::RoundRobin,
        )
        .unwrap();
        m.cookies = cookies;
        m
    }

    #[test]
    fn captures_flow_into_the_next_request_and_a_new_run_forgets_them() {
        let login = FlowStep {
            captures: vec![(
                0,
                Capture::parse("token", "json /access_token").unwrap(),
                "capture token: json /access_token not found".into(),
            )],
            starts_run: true,
            slots: 1,
            ..FlowStep::default()
        };
        let api = FlowStep {
            spliced: Spliced::compile(
                b"GET /api HTTP/1.1\r\nAuthorization: Bearer {{token}}\r\n\r\n",
                &["token"],
            ),
            slots: 1,
            ..FlowStep::default()
        };
        let m = mix(
            vec![
                variant("POST /login HTTP/1.1\r\n\r\n", Some(login)),
                variant("GET /api HTTP/1.1\r\n\r\n", Some(api)),
            ],
            false,
        );
        let mut lane = Lane::new(&m);
        let now = Instant::now();
        assert!(!lane.prepare(&m.variants[0], now));
        assert!(lane.collects(&m.variants[0]) && !lane.collects(&m.variants[1]));
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        let body = br#"{"access_token":"t-1"}"#;
        assert_eq!(lane.absorb(&m.variants[0], 200, head, body, now), Ok(()));
        assert!(lane.prepare(&m.variants[1], now));
        assert_eq!(
            lane.out,
            b"GET /api HTTP/1.1\r\nAuthorization: Bearer t-1\r\n\r\n"
        );
        // A new run: the login finds nothing this time.
        assert!(!lane.prepare(&m.variants[0], now));
        assert_eq!(
            lane.absorb(&m.variants[0], 200, head, b"{}", now),
            Err("capture token: json /access_token not found")
        );
        assert!(lane.prepare(&m.variants[1], now));
        assert_eq!(
            lane.out,
            b"GET /api HTTP/1.1\r\nAuthorization: Bearer \r\n\r\n"
        );
    }

    #[test]
    fn a_failed_capture_skips_the_rest_of_its_run_only() {
        let m = mix(
            (0..3)
                .map(|i| variant(&format!("GET /{i} HTTP/1.1\r\n\r\n"), None))
                .collect(),
            false,
        );
        let mut ch = crate::engine::mix::Chooser::new(1, 0);
        let mut c = crate::engine::mix::Cursor::default();
        assert_eq!(m.next(&mut c, &mut ch).name, 0);
        let mut skipped = Vec::new();
        m.skip_rest(&mut c, |n| skipped.push(n));
        assert_eq!(skipped, [1, 2]);
        assert_eq!(m.next(&mut c, &mut ch).name, 0, "a new run");
        m.next(&mut c, &mut ch);
        m.next(&mut c, &mut ch);
        // At the end of a run there is nothing left to skip.
        m.skip_rest(&mut c, |n| skipped.push(n));
        assert_eq!(skipped, [1, 2]);
    }

    #[test]
    fn cookies_go_back_and_a_new_run_clears_them() {
        let first = FlowStep {
            starts_run: true,
            ..FlowStep::default()
        };
        let m = mix(
            vec![
                variant("GET /login HTTP/1.1\r\nHost: h\r\n\r\n", Some(first)),
                variant("POST /a/b HTTP/1.1\r\nHost: h\r\n\r\nxy", None),
            ],
            true,
        );
        let mut lane = Lane::new(&m);
        let now = Instant::now();
        assert!(!lane.prepare(&m.variants[0], now));
        assert!(lane.collects(&m.variants[1]));
        let head = b"HTTP/1.1 200 OK\r\nSet-Cookie: session=s1; Path=/\r\n\r\n";
        assert_eq!(lane.absorb(&m.variants[0], 200, head, b"", now), Ok(()));
        assert!(lane.prepare(&m.variants[1], now));
        assert_eq!(
            lane.out,
            b"POST /a/b HTTP/1.1\r\nHost: h\r\nCookie: session=s1\r\n\r\nxy"
        );
        assert!(!lane.prepare(&m.variants[0], now), "a new run starts empty");
    }

    #[test]
    fn over_http2_the_lane_takes_cookies_from_a_header_map() {
        let first = FlowStep {
            starts_run: true,
            ..FlowStep::default()
        };
        let m = mix(
            vec![
                variant("GET /login HTTP/1.1\r\nHost: h\r\n\r\n", Some(first)),
                variant("GET /a HTTP/1.1\r\nHost: h\r\n\r\n", None),
            ],
            true,
        );
        let mut kept = Kept {
            lane: Some(Box::new(Lane::new(&m))),
            lane_reads: true,
            ..Kept::default()
        };
        let now = Instant::now();
        let lane = kept.lane.as_deref_mut().unwrap();
        assert!(!lane.prepare(&m.variants[0], now));
        let mut hs = http::HeaderMap::new();
        hs.append("set-cookie", "session=s1; Path=/".parse().unwrap());
        kept.headers = Some(hs);
        assert_eq!(kept.absorb(&m.variants[0], 200, || now), None);
        let lane = kept.lane.as_deref_mut().unwrap();
        assert!(lane.prepare(&m.variants[1], now));
        assert_eq!(
            lane.out,
            b"GET /a HTTP/1.1\r\nHost: h\r\nCookie: session=s1\r\n\r\n"
        );
    }
}
