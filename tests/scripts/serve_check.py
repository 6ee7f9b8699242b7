#!/usr/bin/env python3
"""Checks of `tplm serve` over HTTP (run by tests/scripts/test_serve*.sh).

  serve_check.py http   TPLM MODEL TOKENIZER   16 concurrent greedy streams equal `tplm run`
                                               alone; every bad request gets its 4xx while
                                               streams run; a dropped client frees its slot;
                                               a full server answers 429
  serve_check.py openai TPLM MODEL TOKENIZER   the official openai client, unchanged
  serve_check.py mpi    TPLM MODEL TOKENIZER   the server under mpirun -np 2

Exit 0 all passed, 1 a check failed, 77 skipped (the reason printed)."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

FAILURES = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


class Server:
    """tplm serve on a free port; stopped (SIGTERM) on exit."""

    def __init__(self, argv, launcher=()):
        self.log = open(f"/tmp/tplm-serve-check-{os.getpid()}-{time.monotonic_ns()}.log", "w+")
        self.proc = subprocess.Popen(list(launcher) + argv + ["--port", "0"], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise SystemExit(f"FAILED: tplm serve exited {self.proc.returncode}:\n{self.text()}")
            m = re.search(r"listening on http://[0-9.]+:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.1)
        if self.port is None:
            self.stop()
            raise SystemExit("FAILED: tplm serve did not start within 120 s:\n" + self.text())

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                check(False, "tplm serve stopped within 30 s of SIGTERM")
        return self.proc.returncode

    def request(self, method, path, body=None, raw=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        out = r.status, r.read().decode()
        c.close()
        return out

    def metrics(self):
        _, text = self.request("GET", "/metrics")
        return {m.group(1): float(m.group(2))
                for m in re.finditer(r"^(tplm_\w+) ([0-9.eE+-]+)$", text, re.M)}

    def stream(self, body, timeout=120):
        """POST a streamed completion; returns (status, text, finish_reason, usage)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            return r.status, r.read().decode(), None, None
        text, finish, usage, done = "", None, None, False
        for line in r:
            line = line.decode().rstrip("\n")
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                done = True
                break
            j = json.loads(data)
            if "error" in j:
                return 500, data, None, None
            if j.get("usage"):
                usage = j["usage"]
            for ch in j["choices"]:
                text += ch.get("text", "")
                finish = ch.get("finish_reason") or finish
        c.close()
        return (200 if done else 599), text, finish, usage


def alone(tplm, model, tok, prompt, n, launcher=()):
    """What `tplm run` gives this prompt alone (greedy): the completion and its tokens."""
    out = subprocess.run(list(launcher) + [tplm, "run", "-m", model, "--tokenizer", tok, "-p",
                                           prompt, "-n", str(n), "--temp", "0", "--json"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"FAILED: tplm run: {out.stderr}")
    j = json.loads(out.stdout)
    return j["completion"], len(j["generated_tokens"])


PROMPTS = ["Once upon a time", "The cat sat", "Lily wanted to", "One day, a big dog",
           "Tom and Sue went to the park", "The sun was", "A little bird", "Mom said",
           "There was a boy named Tim", "The tree", "She saw a", "In the garden",
           "The ball was red and", "He liked to play", "The fish", "At night, the moon"]


def concurrent_streams(srv, tplm, model, tok, prompts, n, launcher=()):
    want = {p: alone(tplm, model, tok, p, n, launcher) for p in prompts}
    got = {}

    def one(p):
        got[p] = srv.stream({"prompt": p, "max_tokens": n, "temperature": 0,
                             "stream_options": {"include_usage": True}})

    threads = [threading.Thread(target=one, args=(p,)) for p in prompts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    same = 0
    for p in prompts:
        status, text, finish, usage = got[p]
        ok = status == 200 and text == want[p][0] and usage is not None and \
            usage["completion_tokens"] == want[p][1]
        same += ok
        if not ok:
            print(f"  {p!r}: status {status}, got {text!r} ({usage}), alone {want[p]!r}")
    check(same == len(prompts),
          f"{len(prompts)} concurrent greedy streams: {same} equal their prompt alone")


def bad_requests_while_streaming(srv, tplm, model, tok):
    long_prompts = PROMPTS[:4]
    want = {p: alone(tplm, model, tok, p, 200) for p in long_prompts}
    got = {}

    def one(p):
        got[p] = srv.stream({"prompt": p, "max_tokens": 200, "temperature": 0})

    threads = [threading.Thread(target=one, args=(p,)) for p in long_prompts]
    for t in threads:
        t.start()
    too_long = " ".join(["once upon a time"] * 400)
    cases = [
        ("malformed JSON", "/v1/completions", '{"prompt": "x", ', 400),
        ("wrong type", "/v1/completions", json.dumps({"prompt": "x", "max_tokens": "ten"}), 400),
        ("unknown model", "/v1/completions", json.dumps({"prompt": "x", "model": "nope"}), 404),
        ("prompt longer than the context", "/v1/completions", json.dumps({"prompt": too_long}),
         400),
        ("max_tokens 0", "/v1/completions", json.dumps({"prompt": "x", "max_tokens": 0}), 400),
        ("max_tokens -3", "/v1/completions", json.dumps({"prompt": "x", "max_tokens": -3}), 400),
        ("n = 2", "/v1/completions", json.dumps({"prompt": "x", "n": 2}), 400),
        ("body over 1 MiB", "/v1/completions",
         json.dumps({"prompt": "x" * (1 << 20)}), 413),
        ("body over 2 MiB", "/v1/completions",
         json.dumps({"prompt": "x" * (3 << 20)}), 413),
        ("chat without messages", "/v1/chat/completions", json.dumps({"model": ""}), 400),
    ]
    for name, path, raw, status in cases:
        got_status, body = srv.request("POST", path, raw=raw)
        try:
            err = json.loads(body)["error"]
            shaped = isinstance(err["message"], str) and err["message"] and "type" in err
        except (ValueError, KeyError, TypeError):
            shaped = False
        check(got_status == status and shaped,
              f"{name}: HTTP {got_status} (want {status}) with an OpenAI error body")
    for t in threads:
        t.join()
    ok = all(got[p][0] == 200 and got[p][1] == want[p][0] for p in long_prompts)
    check(ok, "the 4 streams running meanwhile finished with the text they get alone")


def dropped_client_frees_slot(srv):
    before = srv.metrics()
    s = socket.create_connection(("127.0.0.1", srv.port))
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 480, "temperature": 0,
                       "stream": True})
    s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
    s.recv(256)  # the headers and the first chunk: the sequence runs
    s.close()
    deadline = time.time() + 10
    m = srv.metrics()
    while time.time() < deadline and (m.get("tplm_running_sequences", 1) != 0 or
                                      m.get("tplm_requests_cancelled_total", 0) <=
                                      before.get("tplm_requests_cancelled_total", 0)):
        time.sleep(0.05)
        m = srv.metrics()
    made = m["tplm_generation_tokens_total"] - before["tplm_generation_tokens_total"]
    check(m.get("tplm_requests_cancelled_total", 0) ==
          before.get("tplm_requests_cancelled_total", 0) + 1 and
          m["tplm_running_sequences"] == 0 and made < 480,
          f"a client that drops mid-stream frees its slot (cancelled, running 0, {made:.0f} of "
          "480 tokens made)")


def full_server_refuses(tplm, model, tok):
    """8 requests at once on 1 slot and no queue: one runs, the others that come while it
    runs get 429 (queue_full); none fails otherwise."""
    srv = Server([tplm, "serve", "-m", model, "--tokenizer", tok, "--slots", "1", "--queue", "0",
                  "--threads", "1"])
    try:
        results = []

        def one():
            status, text, _, _ = srv.stream({"prompt": "Once upon a time", "max_tokens": 480,
                                             "temperature": 0})
            code = json.loads(text)["error"]["code"] if status == 429 else None
            results.append((status, code))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = sum(r == (200, None) for r in results)
        full = sum(r == (429, "queue_full") for r in results)
        check(ok >= 1 and full >= 1 and ok + full == 8,
              f"8 requests at once on 1 slot, no queue: {ok} ran, {full} got 429 queue_full")
    finally:
        srv.stop()


def openai_client(srv, tplm, model, tok):
    try:
        import openai
    except ImportError:
        print("SKIPPED: the openai package is not installed (pip install -r tools/requirements.txt)")
        sys.exit(77)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{srv.port}/v1", api_key="none")
    model_id = client.models.list().data[0].id
    want, n = alone(tplm, model, tok, "Once upon a time", 24)
    r = client.completions.create(model=model_id, prompt="Once upon a time", max_tokens=24,
                                  temperature=0)
    check(r.choices[0].text == want and r.usage.completion_tokens == n and
          r.choices[0].finish_reason == "length", "openai: completions.create")
    text, finish = "", None
    for chunk in client.completions.create(model=model_id, prompt="Once upon a time",
                                           max_tokens=24, temperature=0, stream=True):
        for ch in chunk.choices:
            text += ch.text
            finish = ch.finish_reason or finish
    check(text == want and finish == "length", "openai: completions.create(stream=True)")
    try:
        client.completions.create(model="no-such-model", prompt="x")
        check(False, "openai: an unknown model raises NotFoundError")
    except openai.NotFoundError:
        check(True, "openai: an unknown model raises NotFoundError")
    try:
        client.completions.create(model=model_id, prompt="x", max_tokens=0)
        check(False, "openai: max_tokens 0 raises BadRequestError")
    except openai.BadRequestError:
        check(True, "openai: max_tokens 0 raises BadRequestError")


def openai_chat(srv, tplm, chat_model):
    """Chat through the openai client equals `tplm run` on the conversation
    rendered by hand with the fixture's template (<s>[INST] user [/INST])."""
    import openai
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{srv.port}/v1", api_key="none")
    model_id = client.models.list().data[0].id
    out = subprocess.run([tplm, "run", "-m", chat_model, "-p", "[INST] Tell me about a cat. [/INST]",
                          "--parse-special", "-n", "16", "--temp", "0", "--json"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"FAILED: tplm run: {out.stderr}")
    want = json.loads(out.stdout)["completion"]
    msgs = [{"role": "user", "content": "Tell me about a cat."}]
    r = client.chat.completions.create(model=model_id, messages=msgs, max_tokens=16,
                                       temperature=0)
    whole = r.choices[0].message.content
    check(r.choices[0].message.role == "assistant" and whole == want and
          r.usage.completion_tokens >= 1,
          "openai: chat.completions.create equals tplm run on the rendered conversation")
    text, role = "", None
    for chunk in client.chat.completions.create(model=model_id, messages=msgs, max_tokens=16,
                                                temperature=0, stream=True):
        for ch in chunk.choices:
            role = ch.delta.role or role
            text += ch.delta.content or ""
    check(role == "assistant" and text == want,
          "openai: chat.completions.create(stream=True) gives the same text")
    try:
        # The fixture's template raises on a role it does not know.
        client.chat.completions.create(model=model_id, messages=[
            {"role": "tool", "content": "a"}], max_tokens=4)
        check(False, "openai: a message the template refuses raises BadRequestError")
    except openai.BadRequestError as e:
        check("Unknown role" in str(e),
              "openai: a message the template refuses raises BadRequestError naming why")


def main():
    mode, tplm, model, tok = sys.argv[1:5]
    serve = [tplm, "serve", "-m", model, "--tokenizer", tok]
    if mode == "http":
        srv = Server(serve + ["--slots", "16", "--threads", "1"])
        try:
            concurrent_streams(srv, tplm, model, tok, PROMPTS, 40)
            bad_requests_while_streaming(srv, tplm, model, tok)
            dropped_client_frees_slot(srv)
        finally:
            rc = srv.stop()
            check(rc == 0, f"tplm serve exits 0 on SIGTERM (got {rc})")
        full_server_refuses(tplm, model, tok)
    elif mode == "openai":
        chat_model = sys.argv[5] if len(sys.argv) > 5 else None
        srv = Server(serve)
        try:
            openai_client(srv, tplm, model, tok)
        finally:
            srv.stop()
        if chat_model:
            srv = Server([tplm, "serve", "-m", chat_model])
            try:
                openai_chat(srv, tplm, chat_model)
            finally:
                srv.stop()
    elif mode == "mpi":
        launcher = ["mpirun", "--oversubscribe", "-np", "2"]
        srv = Server(serve + ["--slots", "4", "--threads", "1"], launcher)
        try:
            concurrent_streams(srv, tplm, model, tok, PROMPTS[:4], 32)
            status, _ = srv.request("POST", "/v1/completions", raw="{")
            check(status == 400, "a bad request under mpirun gets 400")
        finally:
            srv.stop()  # mpirun's own status after a signal is not 0: rank 0's word counts
            check("tplm serve: stopped" in srv.text(), "rank 0 stops cleanly on SIGTERM")
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(f"{len(FAILURES)} failed" if FAILURES else "all passed")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
