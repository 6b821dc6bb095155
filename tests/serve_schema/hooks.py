"""Schemathesis hooks for tests/serve_schema: the runs it starts go to the
test's own `blast target`.

A generated `url` is any string, and the description's examples name a
host of their own; both would only ever be refused (400 or 403), so no
accepted call, and no run, would be tested. Before each call, a body's
`url` that is a non-empty string becomes BLAST_SCHEMA_TARGET (the target's
URL, which the server's --allow-target lets through). Schemathesis
re-checks an edited case against the description, so a body that was
invalid elsewhere is still sent, and judged, as invalid.
"""

import os

import schemathesis

TARGET = os.environ["BLAST_SCHEMA_TARGET"]


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("url"), str) and body["url"]:
        body["url"] = TARGET


def _fit(body):
    """With BLAST_SCHEMA_FIT set (by hand, not in CI): bring a run body's
    numbers under the test server's caps, so that far more of the generated
    bodies start a run (each up to 2 s) and their other fields reach the
    engine."""
    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for k in ("qps", "rate"):
        if num(body.get(k)) and body[k] > 1000:
            body[k] = 500
    if "qps" not in body and "rate" not in body:
        body["qps"] = 200
    for k in ("duration", "warmup", "ramp_up"):
        if num(body.get(k)) and body[k] > 0.5:
            body[k] = 0.5
    for k in ("num_workers", "connections", "threads"):
        if num(body.get(k)) and body[k] > 4:
            body[k] = 2


@schemathesis.hook("before_call")
def fit_under_caps(context, case, kwargs):
    body = case.body
    if os.environ.get("BLAST_SCHEMA_FIT") and isinstance(body, dict) and case.path == "/benchmark":
        _fit(body)
