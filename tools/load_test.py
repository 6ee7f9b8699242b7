#!/usr/bin/env python3
"""A bounded load test of an OpenAI-compatible server (tplm serve, llama.cpp's server).

  tools/load_test.py --url http://127.0.0.1:8080 --requests 500 --concurrency 32 \\
      --max-tokens 32 [--pid PID] [--model NAME] [--stream-every 2] [--json]

Sends --requests completions, --concurrency at a time (every --stream-every'th one
streamed), with prompts from a fixed list, temperature 0. Prints the errors
(anything but a complete 200), the generated tokens per second over the whole
run (usage.completion_tokens summed / wall time), latency percentiles, and with
--pid the server's resident memory (VmRSS) after the warm-up (the first
--concurrency requests) and at the end. Exit 1 when any request failed."""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

PROMPTS = ["Once upon a time", "The cat sat on the mat and", "Lily wanted to go to the park",
           "One day, a big dog", "Tom and Sue went to the beach", "The sun was hot and",
           "A little bird sang", "Mom said it was time to", "There was a boy named Tim who",
           "The old tree in the garden", "She saw a red ball", "In the middle of the night"]


def rss_kib(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def one_request(url, model, prompt, max_tokens, stream, timeout):
    """(ok, completion_tokens, seconds, error)."""
    u = urllib.parse.urlparse(url)
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
    if model:
        body["model"] = model
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        c.request("POST", "/v1/completions", body=json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            return False, 0, time.monotonic() - t0, f"HTTP {r.status}: {r.read()[:200]!r}"
        if not stream:
            j = json.loads(r.read())
            return True, j["usage"]["completion_tokens"], time.monotonic() - t0, None
        tokens, done = None, False
        for line in r:
            line = line.decode().strip()
            if line == "data: [DONE]":
                done = True
                break
            if line.startswith("data: "):
                j = json.loads(line[6:])
                if j.get("usage"):
                    tokens = j["usage"]["completion_tokens"]
        c.close()
        if not done or tokens is None:
            return False, 0, time.monotonic() - t0, "stream ended without usage or [DONE]"
        return True, tokens, time.monotonic() - t0, None
    except Exception as e:  # noqa: BLE001 - every failure counts as an error
        return False, 0, time.monotonic() - t0, repr(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--model", default="")
    ap.add_argument("--stream-every", type=int, default=2, help="0: none streamed")
    ap.add_argument("--pid", type=int, default=0, help="the server's pid, for its VmRSS")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = ap.parse_args()
    if a.requests < 1 or a.concurrency < 1 or a.max_tokens < 1:
        ap.error("--requests, --concurrency and --max-tokens must be >= 1")

    lock = threading.Lock()
    next_i = [0]
    results = []
    rss_warm = [None]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                if i >= a.requests:
                    return
                next_i[0] += 1
            stream = a.stream_every > 0 and i % a.stream_every == 0
            r = one_request(a.url, a.model, PROMPTS[i % len(PROMPTS)], a.max_tokens, stream,
                            a.timeout)
            with lock:
                results.append(r)
                if len(results) == a.concurrency and rss_warm[0] is None:
                    rss_warm[0] = rss_kib(a.pid)

    rss_start = rss_kib(a.pid)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    rss_end = rss_kib(a.pid)

    errors = [r[3] for r in results if not r[0]]
    tokens = sum(r[1] for r in results)
    lat = sorted(r[2] for r in results if r[0])
    out = {
        "requests": len(results), "concurrency": a.concurrency, "max_tokens": a.max_tokens,
        "errors": len(errors), "wall_s": round(wall, 3), "completion_tokens": tokens,
        "tokens_per_s": round(tokens / wall, 2) if wall > 0 else 0,
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p95_s": round(lat[int(0.95 * (len(lat) - 1))], 3) if lat else None,
        "rss_start_mib": round(rss_start / 1024, 1) if rss_start else None,
        "rss_after_warmup_mib": round(rss_warm[0] / 1024, 1) if rss_warm[0] else None,
        "rss_end_mib": round(rss_end / 1024, 1) if rss_end else None,
    }
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
