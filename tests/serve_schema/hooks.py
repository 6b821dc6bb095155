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
