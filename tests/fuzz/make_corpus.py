#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (committed; run this again
only to change them). Each seed is a case worth starting from, named for what
it exercises. The ids and digests are those of the fixtures the targets build
at start-up (fuzz_rpc.cpp, fuzz_import.cpp, fuzz_http.cpp)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# The fixture photos of fuzz_rpc (fuzz_support.cpp makes them the same way
# every run); STOFLOW_FUZZ_TRACE=1 on a products.get seed prints them.
FRONT_PNG = "4ceab85067950921e11ca39b756858b5cb3e0dbee83ee11dba33b45d076206c9"
BACK_JPG = "8ebe8e5840eab7b0568e5dc002b6d1ee077305c9d9eaed8ba4f6a7782c9b299c"


def write(target, name, data):
    path = os.path.join(HERE, "corpus", target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def frame(body):
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return struct.pack("<I", len(body)) + body


def req(rid, method, params=None):
    message = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


def ok(task_id, result, **extra):
    params = {"task_id": task_id, "success": True, "http_status": 200, "result": result}
    params.update(extra)
    return params


def rpc_corpus():
    hello = req(1, "hello", {"client": "stoflow-extension", "version": "0.1.0",
                             "browser": "chrome", "platforms": ["vinted"]})
    write("rpc", "hello", hello)
    # The whole publication of product 1 (queue 1) and the legacy etsy step
    # (task 2), with the photos read as the extension reads them.
    write("rpc", "full-publication", b"".join([
        hello,
        req(2, "tasks.list", {"limit": 10}),
        req(3, "blobs.read", {"blob": FRONT_PNG, "offset": 0, "length": 524288}),
        req(4, "tasks.result", ok(1, {"id": 1001, "url": "https://images.example/1001"}, attempt=1)),
        req(5, "tasks.result", ok(2, {"ok": True})),
        req(6, "tasks.list"),
        req(7, "blobs.read", {"blob": BACK_JPG, "offset": 1024, "length": 100}),
        req(8, "tasks.result", ok(3, {"photo": {"id": "1002", "url": "u"}})),
        req(9, "tasks.list"),
        req(10, "tasks.result", ok(4, {"draft": {"id": 5005, "status": "draft"}})),
        req(11, "tasks.list"),
        req(12, "tasks.result", ok(5, {"item": {"id": 9006, "url": "https://www.vinted.fr/items/9006"}})),
        req(13, "queues.get", {"queue_id": 1}),
        req(14, "listings.list", {"product_id": 1}),
    ]))
    # Failures of every kind: retry, session expired (pause), resume, rate
    # limit, refusal (fatal), then a seller retry.
    write("rpc", "failures-pause-resume-retry", b"".join([
        req(1, "tasks.list"),
        req(2, "tasks.result", {"task_id": 1, "success": False, "http_status": 503,
                                "error_message": "Service Unavailable"}),
        req(3, "tasks.list"),
        req(4, "tasks.result", {"task_id": 1, "success": False, "http_status": 401,
                                "result": {"code": 100}}),
        req(5, "queues.resume", {"queue_id": 1}),
        req(6, "tasks.list"),
        req(7, "tasks.result", {"task_id": 1, "success": False, "http_status": 429,
                                "retry_after": 0.25, "error_kind": "rate_limited"}),
        req(8, "tasks.list"),
        req(9, "tasks.result", {"task_id": 2, "success": False, "error_kind": "refused",
                                "error_message": "path leaves the origin"}),
        req(10, "tasks.result", {"task_id": 2, "success": False, "http_status": 0}),
        req(11, "queues.retry", {"queue_id": 1}),
        req(12, "queues.list", {"status": "processing", "platform": "vinted", "limit": 5}),
    ]))
    # A report sent twice, and one naming an earlier attempt.
    write("rpc", "repeated-and-stale-reports", b"".join([
        req(1, "tasks.list"),
        req(2, "tasks.result", {"task_id": 1, "success": False, "http_status": 500}),
        req(3, "tasks.list"),
        req(4, "tasks.result", ok(1, {"id": 77}, attempt=1)),
        req(5, "tasks.result", ok(1, {"id": 77}, attempt=1)),
        req(6, "tasks.result", ok(1, {"id": 78}, attempt=2)),
        req(7, "tasks.result", ok(999, {"id": 1})),
    ]))
    write("rpc", "publish-cancel-products", b"".join([
        req(1, "products.publish", {"platform": "vinted", "product_id": 2}),
        req(2, "products.publish", {"platform": "vinted", "product_id": 2}),
        req(3, "products.publish", {"platform": "vinted", "product_id": 3}),
        req(4, "products.publish", {"platform": "ebay", "product_id": 1}),
        req("s", "products.publish", {"platform": "vinted", "product_id": 9223372036854775807}),
        req(6, "queues.cancel", {"queue_id": 1}),
        req(7, "tasks.result", ok(1, {"id": 1})),
        req(8, "queues.retry", {"queue_id": 1}),
        req(9, "products.list", {"limit": 1000, "after_id": 0}),
        req(10, "products.get", {"product_id": 1}),
        req(11, "queues.list"),
    ]))
    # The generic form of publish, and a result that leases the next step.
    write("rpc", "operations-enqueue-lease-next", b"".join([
        req(1, "operations.enqueue", {"platform": "vinted", "operation": "publish_product",
                                      "product_id": 2, "params": {}}),
        req(2, "operations.enqueue", {"platform": "vinted", "operation": "delist", "product_id": 1}),
        req(3, "tasks.list"),
        req(4, "tasks.result", ok(1, {"id": 11}, attempt=1, lease_next=True)),
        req(5, "tasks.result", ok(1, {"id": 11}, attempt=1, lease_next=True)),
        req(6, "queues.list", {"before_id": 2, "limit": 1}),
        req(7, "listings.list", {"platform": "vinted", "status": "pending", "limit": 1, "after_id": 0}),
    ]))
    write("rpc", "blobs-read-edges", b"".join([
        req(1, "blobs.read", {"blob": FRONT_PNG, "offset": 100000, "length": 1}),
        req(2, "blobs.read", {"blob": FRONT_PNG, "offset": 0, "length": 524289}),
        req(3, "blobs.read", {"blob": FRONT_PNG.upper(), "offset": 0, "length": 1}),
        req(4, "blobs.read", {"blob": "0" * 64, "offset": 0, "length": 1}),
        req(5, "blobs.read", {"blob": "../../etc/passwd", "offset": 0, "length": 1}),
        req(6, "blobs.read", {"blob": FRONT_PNG, "offset": -1, "length": 1}),
    ]))
    # The envelope's refusals, one message each.
    envelope = [
        b"", b"{not json", b"\"\xc3\x28\"", b"[1,2]", b"42", b"null",
        b'{"jsonrpc":"2.0","method":"hello"}',
        b'{"jsonrpc":"2.0","id":{},"method":"hello"}',
        b'{"jsonrpc":"2.0","id":1.5,"method":"hello"}',
        b'{"jsonrpc":"2.0","id":null,"method":"hello"}',
        b'{"jsonrpc":"1.0","id":1,"method":"hello"}',
        b'{"id":1,"method":"hello"}',
        b'{"jsonrpc":"2.0","id":1,"method":7}',
        b'{"jsonrpc":"2.0","id":1,"method":"nope"}',
        b'{"jsonrpc":"2.0","id":1,"method":"tasks.list","params":[1]}',
        b'{"jsonrpc":"2.0","id":1,"method":"tasks.list","params":{"limit":"ten"}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tasks.list","params":{"limit":0}}',
        b'{"jsonrpc":"2.0","id":18446744073709551615,"method":"hello"}',
        b'{"jsonrpc":"2.0","id":-9223372036854775808,"method":"hello"}',
        b'{"jsonrpc":"2.0","id":"\\ud83e\\udde3","method":"hello"}',
        b'{"jsonrpc":"2.0","id":"\\ud800","method":"hello"}',
        b'{"jsonrpc":"2.0","id":1,"result":{}}',
        b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}',
        b'{"jsonrpc":"2.0","id":1,"id":2,"method":"hello"}',
        b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"hello"}',
    ]
    write("rpc", "envelope-refusals", b"".join(frame(m) for m in envelope))
    write("rpc", "report-params-out-of-range", b"".join([
        req(1, "tasks.list"),
        req(2, "tasks.result", {"task_id": 1, "success": True, "http_status": 99}),
        req(3, "tasks.result", {"task_id": 1, "success": True, "http_status": 600}),
        req(4, "tasks.result", {"task_id": 1, "success": False, "retry_after": 86401}),
        req(5, "tasks.result", {"task_id": 1, "success": False, "retry_after": -1}),
        req(6, "tasks.result", {"task_id": 1, "success": "yes"}),
        req(7, "tasks.result", {"task_id": 1, "success": True, "attempt": 0}),
        req(8, "tasks.result", {"task_id": 0, "success": True}),
        req(9, "tasks.result", {"task_id": 1, "success": True, "http_status": 200,
                                "result": "not an object"}),
        req(10, "tasks.result", {"task_id": 1, "success": True, "http_status": 204, "result": {}}),
    ]))
    # Nesting just inside the limit (stored and served back), then just over.
    deep_ok = "[" * 120 + "]" * 120
    deep_bad = "[" * 129 + "]" * 129
    write("rpc", "nesting-limits", b"".join([
        req(1, "tasks.list"),
        frame(('{"jsonrpc":"2.0","id":2,"method":"tasks.result","params":{"task_id":1,'
               '"success":true,"result":{"id":5,"deep":' + deep_ok + '}}}').encode()),
        req(3, "queues.get", {"queue_id": 1}),
        frame(('{"jsonrpc":"2.0","id":4,"method":"hello","params":{"x":' + deep_bad + '}}').encode()),
        frame(('{"jsonrpc":"2.0","id":5,"method":"hello","params":{"x":"' + "[" * 300 + '"}}').encode()),
    ]))
    # Framing: a header cut short, a body cut short, length 0, a frame over
    # the 64 MiB limit (its body skipped unread) and one just at it.
    write("rpc", "frame-truncated-header", b"\x10\x00")
    write("rpc", "frame-truncated-body", struct.pack("<I", 100) + b'{"jsonrpc":"2.0"')
    write("rpc", "frame-zero-length", struct.pack("<I", 0) + hello)
    write("rpc", "frame-oversize", struct.pack("<I", 64 * 1024 * 1024 + 1) + b"x" * 64)
    write("rpc", "frame-max-length", hello + struct.pack("<I", 0xFFFFFFFF) + hello)
    write("rpc", "frames-back-to-back", hello * 3 + req(2, "tasks.list", {"limit": 1}))


def import_corpus():
    vinted = {"catalog_id": 1839, "brand_id": 53, "size_id": 207, "status_id": 2,
              "color_ids": [9], "package_size_id": 2}
    good = {"title": "Levi's 501", "description": "Worn twice.", "price_cents": 2790,
            "currency": "eur", "images": ["photos/front.png", "photos/back.jpg"], "vinted": vinted}

    def seed(name, value):
        if isinstance(value, str):
            value = value.encode()
        elif not isinstance(value, bytes):
            value = json.dumps(value, indent=1, ensure_ascii=False).encode()
        write("import", name, value)

    seed("valid-two-products.json", [
        good,
        {"title": "Scarf \U0001f9e3", "price_cents": 0, "images": ["photos/label.webp",
         "photos/link.png", "photos/export.jpg"], "sku": "S-1", "notes": {"shelf": 3},
         "id": 7, "created_at": "2020-01-01"},
    ])
    seed("valid-empty.json", [])
    seed("valid-minimal.json", [{"title": "x", "price_cents": 1}])
    seed("not-an-array.json", {"products": [good]})
    seed("not-json.json", "[{\"title\": \"a\", ")
    seed("invalid-utf8.json", b'[{"title": "\xc3\x28", "price_cents": 1}]')
    refusals = [
        {"title": "", "price_cents": 1},
        {"title": 5, "price_cents": 1},
        {"title": "a", "price_cents": -1},
        {"title": "a", "price_cents": 12.5},
        {"title": "a", "price_cents": 18446744073709551615},
        {"title": "a", "price_cents": 1, "currency": "EURO"},
        {"title": "a", "price_cents": 1, "description": 4},
        {"title": "a", "price_cents": 1, "images": "photos/front.png"},
        {"title": "a", "price_cents": 1, "images": [""]},
        {"title": "a", "price_cents": 1, "images": ["photos/front.png"] * 21},
        {"title": "a", "price_cents": 1, "vinted": [1]},
    ]
    for i, product in enumerate(refusals):
        seed(f"refused-field-{i + 1:02d}.json", [good, product])
    for name, path in [("missing", "photos/nope.png"), ("directory", "photos/folder.png"),
                       ("empty", "photos/empty.png"), ("not-an-image", "notes.txt"),
                       ("dangling-link", "photos/dangling.png"), ("absolute", "/etc/hostname"),
                       ("traversal", "../catalogue/photos/front.png"),
                       ("url", "https://images.example/p/1.jpg?size=big#x"),
                       ("bad-url", "http://[::1")]:
        seed(f"photo-{name}.json", [{"title": "a", "price_cents": 1, "images": [path]}])
    seed("nesting-over-limit.json", '[{"title": "a", "price_cents": 1, "x": ' + "[" * 200 + "]" * 200 + "}]")
    seed("nesting-at-limit.json", '[{"title": "a", "price_cents": 1, "x": ' + "[" * 126 + "]" * 126 + "}]")
    seed("duplicate-keys.json", '[{"title": "a", "title": "b", "price_cents": 1}]')


def http_request(method, target, headers=None, body=b"", host="127.0.0.1:@PORT@", token=True):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    if token:
        lines.append("Authorization: Bearer @TOKEN@")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append("Content-Type: application/json")
    if body or (method == "POST" and "Content-Length" not in (headers or {})):
        # httplib 0.11 reads a POST without a length until the client closes.
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_corpus():
    # One request per seed: httplib 0.11 serves the first request of a read
    # and drops what was pipelined after it. "@PORT@" and "@TOKEN@" are
    # replaced by the server's port and token.
    r = http_request
    seeds = {
        "health": r("GET", "/api/health"),
        "products": r("GET", "/api/products?limit=5&after_id=0"),
        "product": r("GET", "/api/products/1"),
        "queues": r("GET", "/api/queues?status=queued&platform=vinted&product_id=1&limit=5"),
        "queue": r("GET", "/api/queues/1"),
        "listings": r("GET", "/api/listings?product_id=1"),
        "blob": r("GET", "/api/blobs/" + FRONT_PNG),
        "tasks-poll": r("GET", "/api/plugin/tasks?limit=2"),
        "task-result-success": r("POST", "/api/plugin/tasks/1/result", body={
            "success": True, "http_status": 200, "result": {"id": 1001, "url": "u"}}),
        "task-result-rate-limited": r("POST", "/api/plugin/tasks/1/result", body={
            "success": False, "http_status": 429, "retry_after": 1}),
        "publish-seed-endpoint": r("POST", "/api/vinted/publish", body={"product_id": 2}),
        "publish-other-platform": r("POST", "/api/etsy/publish", body={"product_id": 2}),
        "publish-many": r("POST", "/api/products/publish", body={
            "platform": "vinted", "product_ids": [2, 3, "x", 99]}),
        "queue-cancel": r("POST", "/api/queues/1/cancel"),
        "queue-retry": r("POST", "/api/queues/1/retry"),
        "queue-resume": r("POST", "/api/queues/1/resume"),
        "queue-id-too-large": r("POST", "/api/queues/99999999999999999999/cancel"),
        "import-url": r("POST", "/api/products/import", body={"products": [{
            "title": "t", "price_cents": 1, "images": ["https://images.example/a.jpg"]}]}),
        "import-local-path": r("POST", "/api/products/import", body=[{
            "title": "t", "price_cents": 1, "images": ["/etc/hostname"]}]),
        "import-no-photo": r("POST", "/api/products/import", body=[{"title": "t", "price_cents": 1}]),
        "login-code": r("POST", "/api/dashboard/login-codes"),
        "session-bad-code": r("POST", "/api/dashboard/session", body={"code": "not-a-code"},
                              token=False),
        "session-forged": r("GET", "/api/products", headers={"X-StoFlow-Session": "forged"},
                            token=False),
        "asset-root": r("GET", "/", token=False),
        "asset-app-js": r("GET", "/app.js", token=False),
        "asset-login": r("GET", "/login.html?code=x", token=False),
        "favicon": r("GET", "/favicon.ico", token=False),
        # What the screen refuses, and what httplib itself refuses.
        "refused-no-token": r("GET", "/api/queues", token=False),
        "refused-wrong-token": r("GET", "/api/queues", token=False,
                                 headers={"Authorization": "Bearer nope"}),
        "refused-foreign-host": r("GET", "/api/health", host="evil.example"),
        "refused-no-host": r("GET", "/api/health", host=None),
        "refused-two-hosts": r("GET", "/api/health", headers={"Host": "localhost:@PORT@"}),
        "refused-options": r("OPTIONS", "/api/health", headers={"Origin": "https://evil.example"}),
        "refused-chunked": r("POST", "/api/vinted/publish",
                             headers={"Transfer-Encoding": "chunked"}) +
        b"7\r\n{\"a\":1}\r\n0\r\n\r\n",
        "refused-compressed": r("POST", "/api/vinted/publish", body={"product_id": 2},
                                headers={"Content-Encoding": "gzip"}),
        "refused-huge-length": r("POST", "/api/vinted/publish",
                                 headers={"Content-Length": "99999999999"}),
        "refused-session-too-long": r("POST", "/api/dashboard/session", token=False,
                                      body={"code": "x" * 5000}),
        "refused-not-json": r("POST", "/api/vinted/publish", body=b"{not json"),
        "refused-deep-json": r("POST", "/api/vinted/publish", body=b"[" * 300),
        "refused-number-out-of-range": r("POST", "/api/vinted/publish", body=b'{"product_id": 1e400}'),
        "refused-id-as-string": r("POST", "/api/vinted/publish", body=b'{"product_id": "1"}'),
        "refused-task-id": r("POST", "/api/plugin/tasks/abc/result", body=b"{}"),
        "malformed-request-line": b"GET\r\n\r\n",
        "unknown-version": b"GET / HTTP/9.9\r\nHost: 127.0.0.1:@PORT@\r\n\r\n",
        "http-1.0-absolute-uri": b"GET http://127.0.0.1:@PORT@/api/health HTTP/1.0\r\n"
        b"Host: 127.0.0.1:@PORT@\r\nAuthorization: Bearer @TOKEN@\r\n\r\n",
        "percent-encoded-path": r("GET", "/api/%70roducts/%31?limit=%35"),
        "header-without-colon": b"GET /api/health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
        "unfinished-body": r("POST", "/api/vinted/publish",
                             headers={"Content-Length": "40"}) + b'{"product_id":',
    }
    for name, data in seeds.items():
        write("http", name, data)


def http_head_corpus():
    # Request heads as the screener cuts them (up to the first blank line).
    heads = {
        "get": "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
               "Authorization: Bearer abc\r\n\r\n",
        "post-with-length": "POST /api/vinted/publish HTTP/1.1\r\nHost: localhost:8765\r\n"
                            "Content-Type: application/json\r\nContent-Length: 16\r\n\r\n",
        "expect-continue": "POST /api/products/import HTTP/1.1\r\nexpect:  100-Continue \r\n"
                           "content-length:\t70000\t\r\n\r\n",
        "two-lengths": "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 500000\r\n\r\n",
        "length-not-a-number": "POST / HTTP/1.1\r\nContent-Length: +0x10, 7\r\n\r\n",
        "length-too-large": "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "length-negative": "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "folded-line": "GET / HTTP/1.1\r\nHost: a\r\n  b\r\nContent-Length : 3\r\n\r\n",
        "no-colon-empty-value": "GET / HTTP/1.1\r\nHost\r\nAuthorization:\r\n:\r\n\r\n",
        "no-request-line": "\r\n\r\n",
    }
    for name, text in heads.items():
        write("http_head", name, text.encode())


if __name__ == "__main__":
    rpc_corpus()
    import_corpus()
    http_corpus()
    http_head_corpus()
