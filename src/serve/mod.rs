//! `blast serve`: load tests through an HTTP API, one run at a time.
//! `cmd::serve` starts it and passes in what it needs of `cmd` (the `find`
//! search, the open-file preflight), since serve importing `cmd` would loop
//! back. A run itself goes to the engine as `cmd::run`'s does (`runner`:
//! `engine::run`, and `INTERRUPT` to stop it; `api`: the io_uring probe).
//!
//! A hyper server on a current-thread tokio runtime answers the API; each
//! run goes on blast's usual engine in a thread of its own (`runner`), and
//! its seconds reach `/events` readers through `events`. Requests become
//! runs through the CLI's own flags and `Config` (`api`), and the history
//! lives on disk (`store`). Every answer is JSON (or the file asked for);
//! an error is `{"error": ..., "field": ...}` with its status, never a
//! dropped connection.
//!
//! Security: the server listens on loopback unless a token is set; with a
//! token every call needs `Authorization: Bearer TOKEN` (compared in
//! constant time, `token`). Before that, every head passes `guard` (sizes,
//! a `Host` that names this server, no cross-site change, JSON bodies), and
//! `gate` bounds the connections, bodies and event streams kept open; a
//! head and a body each have 10 s to arrive. `--allow-target` and the
//! `--max-*` caps bound what a caller can ask. No CORS headers are sent, so
//! browsers on other origins cannot read the answers. The web UI at `/`
//! (`ui`) also takes the token as `?token=`, since a browser opening a page
//! sends no header. Files go out in chunks from disk (`download`).

pub mod api;
mod download;
pub mod events;
pub mod gate;
pub mod guard;
mod intake;
mod metrics;
mod reply;
pub mod runner;
pub mod store;
pub mod token;
pub mod ui;

use api::{Limits, Refusal};
use gate::{Gate, Held};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use reply::{answer, no_run, refuse, Body};
use runner::{FindFn, Job, Preflight, Slot};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use token::same;

/// How long `DELETE` waits for the stopped run's report.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// How long a caller has to send a request's head (the body's limit is
/// `intake::BODY_READ`): a caller that trickles holds a connection no
/// longer than this.
pub const HEAD_READ: Duration = Duration::from_secs(10);

/// `blast serve`'s settings, checked by `cmd::serve`.
pub struct Options {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub token: Option<String>,
    pub limits: Limits,
    /// `--allow-host`: the names this server answers to besides its own.
    pub hosts: guard::Hosts,
    /// `--max-api-connections`: connections kept open at once (`gate`).
    pub max_api_connections: usize,
    /// Checks each run's settings against the process before it starts.
    pub preflight: Preflight,
    /// `blast find`'s search, for `POST /find`.
    pub find: FindFn,
    /// Set (by a signal) when the server is to stop: the run going on is
    /// stopped and recorded first.
    pub shutdown: &'static AtomicBool,
}

struct State {
    store: Arc<Store>,
    slot: Arc<Slot>,
    token: Option<String>,
    limits: Limits,
    hosts: guard::Hosts,
    gate: Arc<Gate>,
    preflight: Preflight,
    find: FindFn,
}

/// Bind, print the address on stdout's first line, and serve until
/// `opts.shutdown` is set.
pub fn run(opts: Options) -> std::io::Result<()> {
    let store = Arc::new(Store::open(&opts.data_dir)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = Arc::new(State {
        store,
        slot: Arc::new(Slot::default()),
        token: opts.token,
        limits: opts.limits,
        hosts: opts.hosts,
        gate: Gate::new(opts.max_api_connections),
        preflight: opts.preflight,
        find: opts.find,
    });
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "http://{addr}")?;
            out.flush()?;
        }
        eprintln!(
            "blast serve: listening on http://{addr}, history in {}{}",
            opts.data_dir.display(),
            if state.token.is_some() {
                ", token required"
            } else {
                ""
            }
        );
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = tick.tick() => {
                    if opts.shutdown.load(Ordering::SeqCst) {
                        wind_down(&state).await;
                        return Ok(());
                    }
                    continue;
                }
            };
            let (stream, _) = match accepted {
                Ok(c) => c,
                // Out of files or similar: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::spawn(serve_connection(state.clone(), stream));
        }
    })
}

/// One connection, once it has a place under `--max-api-connections`: a
/// head within `HEAD_READ`, at most `guard::MAX_HEAD` of it, and the calls.
async fn serve_connection(state: Arc<State>, mut stream: tokio::net::TcpStream) {
    let Some(place) = state.gate.admit(&mut stream).await else {
        return;
    };
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let place = Arc::new(place);
    let held = place.clone();
    let svc = hyper::service::service_fn(move |req| {
        held.headed();
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, local, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // A caller that never finishes its head (or sends no next one) is
        // let go.
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_READ)
        // Heads over the limits `guard` names are cut here.
        .max_header_size(guard::MAX_HEAD)
        .max_buf_size(guard::MAX_HEAD + (16 << 10))
        .serve_connection(TokioIo::new(stream), svc);
    // A newcomer may take the place while no head has come (`gate`).
    tokio::select! {
        _ = conn => {}
        _ = place.evicted.notified() => {}
    }
}

/// Stop the run going on, if any, and wait for its record.
async fn wind_down(state: &State) {
    let Some(c) = state.slot.current() else {
        eprintln!("blast serve: stopped");
        return;
    };
    if let Some(live) = state.slot.stop(&c.id) {
        let _ = tokio::time::timeout(STOP_WAIT, live.wait()).await;
    }
    eprintln!("blast serve: stopped, and run {} with it (recorded)", c.id);
}

async fn handle(state: &Arc<State>, local: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    let (head, body) = req.into_parts();
    if let Err(r) = guard::check(&head, local, &state.hosts) {
        return refuse(&r);
    }
    let given = head
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, t)| t.trim());
    // The web UI: a browser cannot send the header when it opens a page,
    // so `/` takes the token in its query too (see `ui`).
    if head.uri.path() == "/" {
        if head.method != Method::GET {
            return not_allowed(&head.method, "/");
        }
        let query = head.uri.query().unwrap_or("");
        return ui::serve(state.token.as_deref(), given, query);
    }
    if let Some(token) = &state.token {
        if !same(given.as_bytes(), token.as_bytes()) {
            let mut r = refuse(&Refusal::new(
                401,
                None,
                "missing or wrong token: send Authorization: Bearer TOKEN",
            ));
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let path = head.uri.path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = head.method.clone();
    match (&method, parts.as_slice()) {
        (&Method::POST, ["benchmark"]) => post(state, &head, body, api::Mode::Run).await,
        (&Method::POST, ["find"]) => post(state, &head, body, api::Mode::Find).await,
        (&Method::GET, ["benchmarks"]) => list(state),
        (&Method::GET, ["metrics"]) => metrics::answer(&state.slot, &head),
        (&Method::GET, ["benchmarks", id]) => show(state, id),
        (&Method::DELETE, ["benchmarks", id]) => stop(state, id).await,
        (&Method::GET, ["benchmarks", id, "events"]) => events(state, id),
        (&Method::GET, ["benchmarks", id, file]) => {
            download::download(&state.store, id, file).await
        }
        (
            _,
            ["benchmark"]
            | ["find"]
            | ["metrics"]
            | ["benchmarks"]
            | ["benchmarks", _]
            | ["benchmarks", _, _],
        ) => not_allowed(&method, &path),
        _ => refuse(&Refusal::new(
            404,
            None,
            format!("no such endpoint: {path}"),
        )),
    }
}

/// `POST /benchmark` (a run) or `POST /find` (a search).
async fn post(state: &Arc<State>, head: &Parts, body: Incoming, mode: api::Mode) -> Response<Body> {
    let wait = match api::wait_of(head.uri.query().unwrap_or("")) {
        Ok(w) => w,
        Err(r) => return refuse(&r),
    };
    let body = match intake::read_body(&state.gate, head, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let checked = match api::check(&body, &state.limits, mode) {
        Ok(c) => c,
        Err(r) => return refuse(&r),
    };
    // Before building (which resolves the target and encodes the request
    // for good): a second run is refused here.
    if let Some(c) = state.slot.current() {
        return busy(&c.id);
    }
    let limits = state.limits.clone();
    let find = state.find;
    let built = tokio::task::spawn_blocking(move || {
        let built = checked.build(&limits)?;
        let job = match built {
            api::Built::Run(cfg) => Job::Run(cfg),
            api::Built::Find(f) => Job::Find(f, find),
        };
        Ok((job, checked.request))
    })
    .await;
    let (job, request) = match built {
        Ok(Ok(a)) => a,
        Ok(Err(r)) => return refuse(&r),
        Err(_) => return refuse(&Refusal::new(500, None, "the request could not be checked")),
    };
    // `-c` must fit under the open-file limit, as the CLI checks it.
    if let Err(e) = (state.preflight)(&job.config().load) {
        let field = ["connections", "num_workers"]
            .into_iter()
            .find(|f| request.get(f).is_some())
            .unwrap_or("num_workers");
        return refuse(&Refusal::bad(field, e.to_string()));
    }
    let started = runner::start(&state.slot, &state.store, job, &request);
    let current = match started {
        Ok(Ok(c)) => c,
        Ok(Err(running)) => return busy(&running),
        Err(e) => {
            return refuse(&Refusal::new(
                500,
                None,
                format!("cannot start the run: {e}"),
            ))
        }
    };
    if !wait {
        return answer(
            202,
            &json!({"id": current.id, "status_url": status_url(&current.id)}),
        );
    }
    current.live.wait().await;
    match current.live.outcome() {
        Some((true, doc)) => answer(200, &doc),
        // Nothing could be measured: the target's failure, not the call's.
        Some((false, err)) => answer(
            502,
            &json!({"error": err["error"], "field": null, "id": current.id, "status": "failed"}),
        ),
        None => refuse(&Refusal::new(500, None, "the run ended without an outcome")),
    }
}

/// 409: run `running` holds the one slot.
fn busy(running: &str) -> Response<Body> {
    answer(
        409,
        &json!({
            "error": format!("run {running} is going on: one run at a time"),
            "field": null,
            "id": running,
            "status_url": status_url(running),
        }),
    )
}

fn status_url(id: &str) -> String {
    format!("/benchmarks/{id}")
}

fn list(state: &State) -> Response<Body> {
    let runs: Vec<Value> = state
        .store
        .list()
        .into_iter()
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default().to_string();
            json!({
                "id": id,
                "kind": m["kind"],
                "status": m["status"],
                "url": m["url"],
                "created_at": m["created_at"],
                "finished_at": m["finished_at"],
                "summary": m["summary"],
                "status_url": status_url(&id),
            })
        })
        .collect();
    answer(200, &json!({ "benchmarks": runs }))
}

fn show(state: &State, id: &str) -> Response<Body> {
    let Some(mut meta) = state.store.meta(id) else {
        return no_run(id);
    };
    if let Some(live) = state.slot.live_of(id) {
        let points = live.points();
        meta["progress"] = json!({"seconds": points.len(), "last": points.last()});
    }
    meta["result"] = state.store.result(id).unwrap_or(Value::Null);
    let base = status_url(id);
    meta["links"] = json!({
        "events": format!("{base}/events"),
        "result": format!("{base}/result.json"),
        "report_html": format!("{base}/report.html"),
        "stats_csv": format!("{base}/stats.csv"),
        "stats_history_csv": format!("{base}/stats_history.csv"),
        "hlog": format!("{base}/run.hlog"),
    });
    answer(200, &meta)
}

async fn stop(state: &Arc<State>, id: &str) -> Response<Body> {
    if state.store.meta(id).is_none() {
        return no_run(id);
    }
    if let Some(live) = state.slot.stop(id) {
        // The engine ends within a second of the flag; the files follow.
        let _ = tokio::time::timeout(STOP_WAIT, live.wait()).await;
    }
    show(state, id)
}

fn events(state: &State, id: &str) -> Response<Body> {
    let Some(permit) = state.gate.take(gate::Kind::Stream) else {
        return refuse(&Refusal::new(
            503,
            None,
            format!(
                "{} event streams are open, this server's most: try again later",
                state.gate.cap(gate::Kind::Stream)
            ),
        ));
    };
    let body = match state.slot.live_of(id) {
        Some(live) => live.subscribe(),
        None => {
            let Some(meta) = state.store.meta(id) else {
                return no_run(id);
            };
            match state.store.result(id) {
                Some(doc) => {
                    // A run's seconds, or a search's steps.
                    let points = (doc["timeline"].as_array())
                        .or(doc["steps"].as_array())
                        .cloned()
                        .unwrap_or_default();
                    events::replay(&points, true, &doc)
                }
                None => events::replay(&[], false, &json!({"id": id, "error": meta["error"]})),
            }
        }
    };
    let mut r = Response::new(Held { body, permit }.boxed());
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 405, with the `Allow` header a client (and RFC 9110) needs.
fn not_allowed(method: &Method, path: &str) -> Response<Body> {
    let mut r = refuse(&Refusal::new(
        405,
        None,
        format!("{method} is not allowed on {path}"),
    ));
    if let Some(allow) = api::allow_of(path) {
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
    }
    r
}
