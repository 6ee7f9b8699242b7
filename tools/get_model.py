#!/usr/bin/env python3
"""Gets the stories260K model (llama2.c checkpoint + tokenizer) into DEST.

  1. TPLM_MODEL_BASE_URL unset and ../shared/models/stories260K beside the
     repository: copy from there (checked).
  2. else download BASE/stories260K/{stories260K.bin,tok512.bin}, BASE being
     TPLM_MODEL_BASE_URL or karpathy's tinyllamas on the Hugging Face hub,
     with a progress display; each file's sha256 must match, otherwise the
     partial file is removed and the exit code is 1.

usage: tools/get_model.py DEST      (prints DEST's absolute path when done)
"""
import hashlib
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request

HUB = "https://huggingface.co/karpathy/tinyllamas/resolve/main"
# From ../shared/models/stories260K/README.md.
FILES = {
    "stories260K.bin": "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
    "tok512.bin": "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312",
}
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SHARED = os.path.join(REPO, "..", "shared", "models", "stories260K")


class GetError(Exception):
    pass


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified(path: str, want: str) -> bool:
    return os.path.isfile(path) and sha256(path) == want


def show(name: str, done: int, total: int, t0: float) -> None:
    rate = done / max(time.time() - t0, 1e-3) / 1024
    if total > 0:
        bar = "#" * int(30 * done / total)
        sys.stderr.write(f"\r  {name}: [{bar:<30}] {done}/{total} bytes {rate:.0f} KiB/s")
    else:
        sys.stderr.write(f"\r  {name}: {done} bytes {rate:.0f} KiB/s")
    sys.stderr.flush()


def download(url: str, dest: str, want: str) -> None:
    part = dest + ".part"
    name = os.path.basename(dest)
    try:
        try:
            resp = urllib.request.urlopen(url, timeout=30)
        except urllib.error.HTTPError as e:
            raise GetError(f"the server answered HTTP {e.code} for {url}: the file is not there "
                           f"(check TPLM_MODEL_BASE_URL)")
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise GetError(f"cannot reach {url} ({reason}): are you offline? Copy stories260K.bin "
                           f"and tok512.bin into {os.path.dirname(dest)} by hand, or set "
                           f"TPLM_MODEL_BASE_URL to a mirror")
        total = int(resp.headers.get("Content-Length") or 0)
        t0, done, h = time.time(), 0, hashlib.sha256()
        with resp, open(part, "wb") as f:
            while True:
                try:
                    chunk = resp.read(1 << 16)
                except (socket.timeout, ConnectionError, OSError) as e:
                    raise GetError(f"the download of {url} broke off after {done} bytes ({e})")
                if not chunk:
                    break
                f.write(chunk)
                h.update(chunk)
                done += len(chunk)
                show(name, done, total, t0)
        sys.stderr.write("\n")
        if total and done != total:
            raise GetError(f"{url}: got {done} of {total} bytes; try again")
        got = h.hexdigest()
        if got != want:
            raise GetError(f"sha256 mismatch for {name} from {url}: got {got}, expected {want}. "
                           f"The file is corrupt or not the published one; it was removed")
        os.replace(part, dest)
    finally:
        if os.path.exists(part):
            os.remove(part)


def get(dest: str) -> None:
    os.makedirs(dest, exist_ok=True)
    base = os.environ.get("TPLM_MODEL_BASE_URL")
    use_shared = base is None and os.path.isdir(SHARED)
    base = (base or HUB).rstrip("/")
    for name, want in FILES.items():
        out = os.path.join(dest, name)
        if verified(out, want):
            print(f"get_model: {out} is present (sha256 ok)", file=sys.stderr)
            continue
        if use_shared:
            src = os.path.join(SHARED, name)
            if not verified(src, want):
                raise GetError(f"{src} does not have the published sha256 {want}")
            if os.path.abspath(src) != os.path.abspath(out):
                shutil.copyfile(src, out)
            print(f"get_model: copied {src}", file=sys.stderr)
            continue
        url = f"{base}/stories260K/{name}"
        print(f"get_model: downloading {url}", file=sys.stderr)
        download(url, out, want)
    # The SentencePiece model is not published beside the checkpoint; copy it when we have it.
    tok_model = os.path.join(SHARED, "tok512.model")
    if os.path.isfile(tok_model) and not os.path.exists(os.path.join(dest, "tok512.model")):
        shutil.copyfile(tok_model, os.path.join(dest, "tok512.model"))


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: get_model.py DEST", file=sys.stderr)
        return 2
    dest = os.path.abspath(sys.argv[1])
    try:
        get(dest)
    except GetError as e:
        print(f"\nget_model: error: {e}", file=sys.stderr)
        return 1
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
