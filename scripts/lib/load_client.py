"""Client half of scripts/load-test (standard library only)."""
import argparse
import http.client
import json
import random
import socket
import statistics
import sys
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def request(url, method, path, body, headers=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def health(url):
    status, body = request(url, "GET", "/health", None)
    assert status == 200, (status, body)
    return json.loads(body)


def disconnect_check(url, model, auth):
    """A client that reads one event of a stream and hangs up must stop its generation."""
    parts = urllib.parse.urlsplit(url)
    before = health(url).get("cancelledRows", 0)
    # No max_tokens: the server fills what is left of the context (works for any context length).
    body = json.dumps({"model": model, "stream": True, "temperature": 1,
                       "messages": [{"role": "user", "content": "tell me a long story"}]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in auth.items())
            + f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(head + body)
        first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first[:100]
    for _ in range(50):
        time.sleep(0.1)
        after = health(url).get("cancelledRows", 0)
        if after > before:
            return after - before
    return 0


def stream_benchmark(url, model, auth, clients, requests_per_client, max_tokens):
    """`clients` threads each send `requests_per_client` streamed chats one after another (so
    requests keep arriving while others run); returns time-to-first-token of every request and
    the completion tokens per second of the whole run (usage counts, not chunks)."""
    parts = urllib.parse.urlsplit(url)
    ttfts, tokens, failures = [], [], []
    lock = threading.Lock()

    def client(c):
        for r in range(requests_per_client):
            body = json.dumps({"model": model, "stream": True, "max_tokens": max_tokens, "temperature": 1,
                               "stream_options": {"include_usage": True},
                               "messages": [{"role": "user", "content": f"client {c} request {r}: go on"}]})
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
            start = time.perf_counter()
            first, used = None, 0
            try:
                conn.request("POST", "/v1/chat/completions", body=body,
                             headers={"Content-Type": "application/json", **auth})
                response = conn.getresponse()
                for line in response:
                    if not line.startswith(b"data: {"):
                        continue
                    chunk = json.loads(line[6:])
                    if chunk.get("usage"):
                        used = chunk["usage"]["completion_tokens"]
                    elif first is None and any(ch.get("delta", {}).get("content") for ch in chunk["choices"]):
                        first = time.perf_counter() - start
            except Exception as error:  # noqa: BLE001 - reported
                with lock:
                    failures.append(str(error))
            finally:
                conn.close()
            with lock:
                if first is not None:
                    ttfts.append(first)
                tokens.append(used)

    wall = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    return ttfts, sum(tokens), wall, failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--stream-clients", type=int, default=0,
                        help="only the streaming benchmark: this many concurrent clients")
    parser.add_argument("--stream-requests", type=int, default=4, help="streamed requests per client")
    args = parser.parse_args()

    auth = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    status, body = request(args.url, "GET", "/v1/models", None, auth)
    assert status == 200, (status, body)
    model = json.loads(body)["data"][0]["id"]

    def plan(i):
        """Request i: (name, method, path, body, expected status)."""
        kind = i % 10
        prompt = f"request {i}: tell me about number {random.randint(0, 999)}"
        chat = {"model": model, "max_tokens": args.max_tokens, "messages": [{"role": "user", "content": prompt}]}
        if kind in (0, 1, 2, 3):
            return "chat", "POST", "/v1/chat/completions", chat, 200
        if kind in (4, 5):
            return "chat-stream", "POST", "/v1/chat/completions", {**chat, "stream": True}, 200
        if kind in (6, 7):
            return "completion", "POST", "/v1/completions", {"model": model, "prompt": prompt,
                                                             "max_tokens": args.max_tokens, "n": 2}, 200
        if kind == 8:
            return "broken-json", "POST", "/v1/chat/completions", b'{"model": "x", "messages": [', 400
        return "wrong-type", "POST", "/v1/chat/completions", {**chat, "max_tokens": "many"}, 400

    if args.stream_clients > 0:
        before = health(args.url)
        ttfts, tokens, wall, failures = stream_benchmark(
            args.url, model, auth, args.stream_clients, args.stream_requests, args.max_tokens)
        after = health(args.url)
        ttfts.sort()
        p = lambda q: ttfts[min(len(ttfts) - 1, int(q * len(ttfts)))] * 1000
        steps = after.get("steps", 0) - before.get("steps", 0)
        print(f"stream benchmark: {args.stream_clients} clients x {args.stream_requests} requests, "
              f"max_tokens {args.max_tokens}: {wall:.1f} s, {tokens} completion tokens, "
              f"{tokens / wall:.1f} tokens/s")
        print(f"  time to first token: p50 {p(0.5):.0f} ms  p95 {p(0.95):.0f} ms  max {ttfts[-1] * 1000:.0f} ms"
              f"  (n={len(ttfts)})")
        if "steps" in after:
            print(f"  engine: {steps} decode steps, {tokens / max(steps, 1):.2f} tokens a step, "
                  f"largest batch {after['largestBatch']} rows")
        else:
            print(f"  engine: {after['batches'] - before['batches']} batches, "
                  f"largest batch {after['largestBatch']} rows")
        for failure in failures[:5]:
            print("   ", failure)
        sys.exit(1 if failures else 0)

    cancelled = disconnect_check(args.url, model, auth)
    print(f"disconnect check: {cancelled} row(s) stopped after the client hung up mid-stream"
          + ("" if cancelled else "  <-- FAILED (generation ran on; or the model replied before the hang-up)"))

    rss_before = rss_kib(args.pid)
    latencies = {}
    failures = []
    lock = threading.Lock()
    counter = iter(range(args.requests))

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            name, method, path, body, expected = plan(i)
            start = time.perf_counter()
            try:
                status, payload = request(args.url, method, path, body, auth)
                ok = status == expected
                if ok and expected == 200 and body.get("stream"):
                    ok = payload.rstrip().endswith(b"data: [DONE]")
                elif ok and expected != 200:
                    ok = "error" in json.loads(payload)
            except Exception as error:  # noqa: BLE001 - every failure is reported
                status, payload, ok = None, str(error).encode(), False
            elapsed = time.perf_counter() - start
            with lock:
                latencies.setdefault(name, []).append(elapsed)
                if not ok:
                    failures.append((i, name, status, payload[:200]))

    wall = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    rss_after = rss_kib(args.pid)
    status, _ = request(args.url, "GET", "/health", None)
    engine = health(args.url)

    total = sum(len(v) for v in latencies.values())
    print(f"{total} requests, concurrency {args.concurrency}, max_tokens {args.max_tokens}: "
          f"{wall:.1f} s, {total / wall:.1f} requests/s")
    for name, values in sorted(latencies.items()):
        values.sort()
        p = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000
        print(f"  {name:12s} n={len(values):4d}  p50 {p(0.5):7.1f} ms  p95 {p(0.95):7.1f} ms  "
              f"max {values[-1] * 1000:7.1f} ms  mean {statistics.mean(values) * 1000:7.1f} ms")
    print(f"  unexpected results: {len(failures)}")
    print(f"  engine: {engine['jobs']} jobs, {engine['rows']} rows in {engine['steps']} decode steps, "
          f"largest batch {engine['largestBatch']} rows, {engine['cancelledRows']} rows cancelled")
    for failure in failures[:10]:
        print("   ", failure)
    print(f"  server RSS: {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB after "
          f"({(rss_after - rss_before) / 1024:+.1f} MiB); health after: {status}")
    sys.exit(1 if failures or status != 200 or not cancelled else 0)


if __name__ == "__main__":
    main()
