#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Connection-level clients for tests/sh/gateway_limits.sh; each prints one JSON line.
#
#   trickle  --port P --cacert F [--every 0.5] [--max-s 10]
#       slowloris: a TLS connection sends a request line and then one header byte every
#       --every seconds; reports after how many seconds (from connect) the server cut it.
#   slowkeep --port P --cacert F [--requests 3] [--spread 1.2]
#       a slow but legitimate client: on one keep-alive connection, each GET /healthz is sent
#       in pieces spread over --spread seconds, then its answer read; reports the statuses.
#   hold     --port P --cacert F --n N [--go FILE] [--handshake-s 20]
#       opens N TLS connections at once and holds them; prints {"held": K, ...} on a line of
#       its own, waits until FILE exists, then sends GET /healthz on every held connection and
#       reports how many were answered 200.
import argparse, json, os, select, socket, ssl, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["trickle", "slowkeep", "hold"])
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cacert", required=True)
ap.add_argument("--every", type=float, default=0.5)
ap.add_argument("--max-s", type=float, default=10)
ap.add_argument("--requests", type=int, default=3)
ap.add_argument("--spread", type=float, default=1.2)
ap.add_argument("--n", type=int, default=100)
ap.add_argument("--go")
ap.add_argument("--handshake-s", type=float, default=20)
args = ap.parse_args()

HOST = "127.0.0.1"
ctx = ssl.create_default_context(cafile=args.cacert)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3


def tls_connect(timeout=10):
    s = socket.create_connection((HOST, args.port), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname=HOST)


def closed(s):
    """True when the server ended the connection (EOF, reset or TLS error) or sent something."""
    if not s.pending() and not select.select([s], [], [], 0)[0]:
        return False
    try:
        s.setblocking(False)
        data = s.recv(4096)
        return True if data == b"" else "answered: %r" % data[:80]
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ssl.SSLError):
        return True
    finally:
        s.setblocking(True)


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    clen = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    while len(rest) < clen:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(head.split(b" ", 2)[1])


def trickle():
    t0 = time.monotonic()
    s = tls_connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nX-Slow: ")
    sent = 0
    while time.monotonic() - t0 < args.max_s:
        time.sleep(args.every)
        c = closed(s)
        if c:
            return {"cut_after_s": round(time.monotonic() - t0, 2), "bytes": sent, "how": str(c)}
        try:
            s.sendall(b"a")
            sent += 1
        except (OSError, ssl.SSLError) as e:
            return {"cut_after_s": round(time.monotonic() - t0, 2), "bytes": sent, "how": str(e)}
    return {"cut_after_s": None, "bytes": sent, "open_after_s": round(time.monotonic() - t0, 2)}


def slowkeep():
    t0 = time.monotonic()
    s = tls_connect()
    req = b"GET /healthz HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nUser-Agent: slow-but-fine\r\n\r\n"
    pieces = 6
    step = (len(req) + pieces - 1) // pieces
    statuses = []
    try:
        for _ in range(args.requests):
            for i in range(0, len(req), step):
                s.sendall(req[i:i + step])
                time.sleep(args.spread / pieces)
            statuses.append(read_response(s))
    except (OSError, ssl.SSLError) as e:
        statuses.append(str(e))
    return {"statuses": statuses, "seconds": round(time.monotonic() - t0, 2)}


def hold():
    conns, lock, failed = [], threading.Lock(), []
    t0 = time.monotonic()

    def opener(k):
        for _ in range(k):
            try:
                s = tls_connect(timeout=args.handshake_s)
                with lock:
                    conns.append(s)
            except (OSError, ssl.SSLError) as e:
                with lock:
                    failed.append(type(e).__name__)

    nth = min(args.n, 64)  # few connections per thread: a handshake that waits delays no other
    ths = [threading.Thread(target=opener, args=(args.n // nth + (i < args.n % nth),)) for i in range(nth)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    print(json.dumps({"held": len(conns), "failed": len(failed), "errors": sorted(set(failed)),
                      "seconds": round(time.monotonic() - t0, 2)}), flush=True)
    if args.go:
        while not os.path.exists(args.go):
            time.sleep(0.05)
    ok = 0
    for s in conns:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n\r\n")
        except (OSError, ssl.SSLError):
            pass
    for s in conns:
        try:
            s.settimeout(10)
            ok += read_response(s) == 200
        except (OSError, ssl.SSLError):
            pass
        s.close()
    return {"answered_200": ok}


import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
print(json.dumps({"trickle": trickle, "slowkeep": slowkeep, "hold": hold}[args.mode]()), flush=True)
