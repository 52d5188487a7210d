#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Load and abuse against a running vmseal-gateway on loopback, while a prober keeps making valid
# signed calls (GET /v1/domains, a fresh TLS connection each) and records their success and
# latency per phase. Phases: baseline; N concurrent TLS connections held open; garbage requests
# (random request lines, headers, signatures, bodies; flipped and replayed signatures);
# oversized everything; half-open TLS handshakes. Idle connections (TLS done, half a request,
# then silence), half-open handshakes and slowloris senders (a byte every 5 s) are opened after
# the concurrent phase and checked at the end: the server must have closed the idle and
# half-open ones by its connection timeout, and the slowloris senders by its request deadline. Every loop is bounded. Prints a JSON summary; exit 1
# when the gateway died, answered 2xx to an unsigned or bad call, or the prober's success rate fell below --min-success.
#
# usage: gateway_abuse.py --port P --cacert F --key VIEWER.key [--pid PID] [--scale small|full]
#                         [--json OUT] [--min-success 0.99] [--timeout-s 30]
import argparse, base64, json, os, random, resource, socket, ssl, sys, threading, time

from cryptography.hazmat.primitives import hashes, serialization

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cacert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--pid", type=int)
ap.add_argument("--scale", default="small", choices=["small", "full"])
ap.add_argument("--json")
ap.add_argument("--min-success", type=float, default=0.99)
ap.add_argument("--timeout-s", type=float, default=30, help="the gateway's connection timeout")
ap.add_argument("--seed", type=int, default=int(time.time()))
args = ap.parse_args()

FULL = args.scale == "full"
N_CONC = 1000 if FULL else 100
N_GARBAGE = 10000 if FULL else 600
N_IDLE = 200 if FULL else 20
N_HALFOPEN = 500 if FULL else 50
N_SLOW = 100 if FULL else 10
HOST = "127.0.0.1"
AUTH = "%s:%d" % (HOST, args.port)
rng = random.Random(args.seed)

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

priv = serialization.load_pem_private_key(open(args.key, "rb").read(), None)
der = priv.public_key().public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)
KEYID = hashes.Hash(hashes.SHA256())
KEYID.update(der)
KEYID = KEYID.finalize().hex()

ctx = ssl.create_default_context(cafile=args.cacert)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
nonce_lock = threading.Lock()
nonce_n = [0]


def nonce():
    with nonce_lock:
        nonce_n[0] += 1
        return "abuse-%d-%d-%d" % (os.getpid(), args.seed, nonce_n[0])


def signed_headers(method="GET", path="/v1/domains", query=None, n=None):
    created = int(time.time())
    params = ('("@method" "@authority" "@path" "@query");created=%d;expires=%d;nonce="%s";keyid="%s"'
              % (created, created + 60, n or nonce(), KEYID))
    base = ('"@method": %s\n"@authority": %s\n"@path": %s\n"@query": ?%s\n"@signature-params": %s'
            % (method, AUTH, path, query or "", params))
    sig = base64.b64encode(priv.sign(base.encode())).decode()
    return {"Signature-Input": "sig1=" + params, "Signature": "sig1=:%s:" % sig}


def tls_connect(timeout=10):
    s = socket.create_connection((HOST, args.port), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname=HOST)


def request_bytes(method, target, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + AUTH]
    lines += ["%s: %s" % kv for kv in headers.items()]
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def read_status(s, limit=1 << 20):
    """Status code of the response on s (reads headers and a Content-Length body), or None when
    the server closed the connection without one."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
        if len(buf) > limit:
            break
    head, _, rest = buf.partition(b"\r\n\r\n")
    try:
        code = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return -1, buf
    clen = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip() or 0)
    while len(rest) < clen:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return code, head + b"\r\n\r\n" + rest


# ---- the prober ----------------------------------------------------------------------------------
phase = ["baseline"]
probe = {}  # phase -> list of (ok, latency_s)
stop = threading.Event()


def prober():
    while not stop.is_set():
        ph = phase[0]
        t = time.monotonic()
        ok = False
        try:
            s = tls_connect(timeout=10)
            h = signed_headers()
            h["Connection"] = "close"
            s.sendall(request_bytes("GET", "/v1/domains", h))
            code, body = read_status(s)
            ok = code == 200 and b'"domains"' in body
            s.close()
        except (OSError, ssl.SSLError):
            ok = False
        probe.setdefault(ph, []).append((ok, time.monotonic() - t))
        time.sleep(0.02)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else 0


def alive():
    if not args.pid:
        return True
    try:
        os.kill(args.pid, 0)
        return True
    except OSError:
        return False


violations = []
report = {"scale": args.scale, "seed": args.seed}


def run_phase(name, fn):
    phase[0] = name
    t = time.monotonic()
    r = fn() or {}
    r["seconds"] = round(time.monotonic() - t, 1)
    report[name] = r
    if not alive():
        violations.append("gateway died during " + name)


# ---- long-lived abusers, opened first and judged last ----------------------------------------------
def client_hello_prefix():
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    return hello[: len(hello) // 2]


idle, halfopen, slow = [], [], []


def open_lingering():
    hello = client_hello_prefix()
    for _ in range(N_IDLE):  # TLS done, half a request line, then silence
        try:
            s = tls_connect()
            s.sendall(b"GET /v1/domains HTTP/1.1\r\nHost: ")
            s.settimeout(0)
            idle.append((s, time.monotonic()))
        except OSError:
            pass
    for i in range(N_HALFOPEN):  # half of a ClientHello, or nothing at all
        try:
            s = socket.create_connection((HOST, args.port), timeout=5)
            if i % 2:
                s.sendall(hello)
            s.setblocking(False)
            halfopen.append((s, time.monotonic()))
        except OSError:
            pass
    for _ in range(N_SLOW):  # slowloris: a header byte every few seconds
        try:
            s = tls_connect()
            s.sendall(b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        except OSError:
            pass


def trickle():
    while not stop.is_set():
        for s in list(slow):
            try:
                s.sendall(b"a")
            except OSError:
                slow.remove(s)
        stop.wait(5)


def closed_by_server(s, tls):
    """True when the peer closed s: EOF, a reset, an HTTP error answer (TLS sockets) or a TLS
    alert record (raw sockets in the middle of a handshake)."""
    try:
        s.setblocking(False)
        data = s.recv(4096)
        return data == b"" or (b"HTTP/1.1 4" in data if tls else data[:1] == b"\x15")
    except ssl.SSLWantReadError:
        return False
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
        return True


# ---- phases ----------------------------------------------------------------------------------------
def p_baseline():
    time.sleep(3)


def p_concurrent():
    conns, lock, failed = [], threading.Lock(), [0]

    def opener(n):
        for _ in range(n):
            try:
                s = tls_connect(timeout=20)
                with lock:
                    conns.append(s)
            except OSError:
                with lock:
                    failed[0] += 1

    ths = [threading.Thread(target=opener, args=(N_CONC // 8 + (i < N_CONC % 8),)) for i in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    held = len(conns)
    time.sleep(5)  # all of them open at once, while the prober works
    # then each sends one valid call on its own connection, all at once
    ok, lock2 = [0], threading.Lock()

    def user(batch):
        for s in batch:
            try:
                h = signed_headers()
                s.sendall(request_bytes("GET", "/v1/domains", h))
                code, _ = read_status(s)
                if code == 200:
                    with lock2:
                        ok[0] += 1
            except (OSError, ssl.SSLError):
                pass

    ths = [threading.Thread(target=user, args=(conns[i::8],)) for i in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for s in conns:
        s.close()
    return {"connections": N_CONC, "handshakes_ok": held, "handshakes_failed": failed[0],
            "calls_on_held_connections_ok": ok[0]}


def mutate(s):
    # Loop until the bytes differ in substance: an overwrite with the same byte, a deletion of
    # what was inserted, dropped base64 '=' padding or extra spaces (both allowed by RFC 8941)
    # leave a header equivalent to the valid one, which the gateway rightly accepts.
    orig = s.encode("latin-1", "replace")
    while True:
        b = bytearray(orig)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(4)
            i = rng.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] = rng.randrange(256)
            elif op == 1:
                b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op == 2 and b:
                del b[i:i + rng.randint(1, 8)]
            else:
                b[i:i] = rng.choice([b"(", b")", b'"', b";", b",", b"=", b":", b"\\", b"\x00", b"\xff"])
        def core(x):
            # libmicrohttpd 0.9.75 cuts a field value at its first NUL (RFC 9110 §5.5 asks to
            # refuse it or read it as a space; the gateway never sees the bytes, so it cannot):
            # a change that lies only after a NUL leaves the field the gateway reads as signed.
            x = x.split(b"\x00", 1)[0]
            return x.replace(b"\r", b"").replace(b"\n", b"").replace(b"=", b"").replace(b" ", b"")
        if core(bytes(b)) != core(orig):
            return bytes(b)


def garbage_request():
    kind = rng.randrange(7)
    if kind == 0:  # not HTTP at all
        return "noise", bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000))) + b"\r\n\r\n"
    if kind == 1:  # a valid signature, one byte of it flipped
        h = signed_headers()
        sig = bytearray(h["Signature"].encode())
        j = rng.randrange(6, len(sig) - 1)
        sig[j] = ord("A") if sig[j] != ord("A") else ord("B")
        h["Signature"] = sig.decode()
        return "flipped", request_bytes("GET", "/v1/domains", h)
    if kind == 2:  # a replayed signature
        h = signed_headers(n="replayed-nonce-%d" % args.seed)
        return "replay", request_bytes("GET", "/v1/domains", h)
    if kind == 3:  # mutated signature headers
        h = signed_headers()
        k = rng.choice(["Signature-Input", "Signature"])
        raw = request_bytes("GET", "/v1/domains", {})
        line = k.encode() + b": " + mutate(h[k]).replace(b"\r", b"").replace(b"\n", b"")
        other = "Signature" if k == "Signature-Input" else "Signature-Input"
        line2 = other.encode() + b": " + h[other].encode()
        return "mutated-sig", raw[:-2] + line + b"\r\n" + line2 + b"\r\n\r\n"
    if kind == 4:  # random headers
        hs = b"".join(bytes(rng.randrange(33, 127) for _ in range(rng.randint(1, 30))) + b": " +
                      bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
                      for _ in range(rng.randint(1, 40)))
        return "headers", b"GET /v1/domains HTTP/1.1\r\nHost: " + AUTH.encode() + b"\r\n" + hs + b"\r\n"
    if kind == 5:  # random method, target and body
        meth = rng.choice([b"GET", b"POST", b"DELETE", b"PUT", b"PATCH", b"OPTIONS", b"TRACE", b"G\x00T"])
        tgt = rng.choice([b"/v1/domains", b"/v1/domains/test/destroy", b"/v1/sign", b"/v1/audit?since=-1",
                          b"/%00", b"/../../etc/passwd", b"*", b"http://evil/x", b"/v1/domains/" + b"a" * 300])
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 4000)))
        return "method-body", (meth + b" " + tgt + b" HTTP/1.1\r\nHost: " + AUTH.encode() +
                               b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    h = signed_headers(method="POST", path="/v1/domains/test/start")  # body without digest
    return "body-no-digest", request_bytes("POST", "/v1/domains/test/start", h, b'{"x":1}')


def p_garbage():
    codes, lock, twoxx, closed = {}, threading.Lock(), [], [0]
    per = N_GARBAGE // 4

    def worker():
        s = None
        for _ in range(per):
            kind, raw = garbage_request()
            for attempt in range(2):
                try:
                    if s is None:
                        s = tls_connect(timeout=10)
                    s.sendall(raw)
                    code, _ = read_status(s)
                    break
                except (OSError, ssl.SSLError):
                    code = None
                    if s:
                        s.close()
                    s = None
            with lock:
                codes[code] = codes.get(code, 0) + 1
                if code is not None and 200 <= code < 300 and kind != "replay":
                    twoxx.append("%s %r" % (kind, raw[-700:]))
                if code is None:
                    closed[0] += 1
            if code is None or code >= 400:
                if s:
                    s.close()
                s = None
        if s:
            s.close()

    ths = [threading.Thread(target=worker) for _ in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    # exactly one replay may pass (the first use of that nonce)
    if twoxx:
        violations.append("2xx answers to garbage: %s" % twoxx[:10])
    return {"requests": per * 4, "status_codes": {str(k): v for k, v in sorted(codes.items(), key=str)},
            "closed_without_answer": closed[0]}


def p_oversized():
    big = lambda n: b"a" * n
    cases = [
        ("body 1 MiB + 1", b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: %d\r\n\r\n" % ((1 << 20) + 1) + big((1 << 20) + 1)),
        ("body 8 MiB", b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (8 << 20) + big(8 << 20)),
        ("chunked 4 MiB", b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
         b"".join(b"10000\r\n" + big(0x10000) + b"\r\n" for _ in range(64)) + b"0\r\n\r\n"),
        ("Content-Length 10^20", b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000000000000\r\n\r\nabc"),
        ("200 headers", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\n" +
         b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n"),
        ("one 64 KiB header", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nX-Big: " + big(64 << 10) + b"\r\n\r\n"),
        ("one 1 MiB header", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nX-Big: " + big(1 << 20) + b"\r\n\r\n"),
        ("100 KiB path", b"GET /" + big(100 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("Signature-Input 1000 components", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nSignature-Input: sig1=(" +
         b" ".join(b'"x-%d"' % i for i in range(1000)) + b");keyid=\"k\"\r\nSignature: sig1=:AAAA:\r\n\r\n"),
        ("Signature 500 labels", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nSignature-Input: " +
         b", ".join(b"s%d=()" % i for i in range(500)) + b"\r\nSignature: " +
         b", ".join(b"s%d=:AAAA:" % i for i in range(500)) + b"\r\n\r\n"),
        ("signature 64 KiB of base64", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nSignature-Input: sig1=();keyid=\"k\"\r\n"
         b"Signature: sig1=:" + base64.b64encode(big(6000)) + b":\r\n\r\n"),
        ("nested inner lists", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\nSignature-Input: sig1=" + b"(" * 4000 + b"\r\n\r\n"),
        ("query 8 KiB", b"GET /v1/audit?" + b"&".join(b"a%d=%d" % (i, i) for i in range(1000)) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("1000 pipelined requests", b"GET /v1/domains HTTP/1.1\r\nHost: x\r\n\r\n" * 1000),
    ]
    out = {}
    for name, raw in cases:
        try:
            s = tls_connect(timeout=40)
            try:
                s.sendall(raw)
            except OSError:
                pass  # the server may close before reading it all
            try:
                code, _ = read_status(s)
            except (OSError, ssl.SSLError):
                code = None
            s.close()
        except (OSError, ssl.SSLError) as e:
            code = "connect failed: %s" % e
        out[name] = code if code is not None else "closed"
        if isinstance(code, int) and 200 <= code < 300:
            violations.append("oversized %s: %d" % (name, code))
    return out


def p_halfopen_burst():
    socks, hello = [], client_hello_prefix()
    for i in range(N_HALFOPEN):
        try:
            s = socket.create_connection((HOST, args.port), timeout=5)
            s.sendall(hello if i % 3 else hello[:5])
            socks.append(s)
        except OSError:
            pass
    time.sleep(5)
    for s in socks:
        s.close()
    return {"opened": len(socks)}


# ---- run -----------------------------------------------------------------------------------------
pth = threading.Thread(target=prober)
pth.start()
run_phase("baseline", p_baseline)
run_phase("concurrent_tls", p_concurrent)
# The lingering connections open after the concurrent phase, so that it measures N_CONC alone.
t_start = time.monotonic()
open_lingering()
tth = threading.Thread(target=trickle)
tth.start()
run_phase("garbage", p_garbage)
run_phase("oversized", p_oversized)
run_phase("halfopen_tls", p_halfopen_burst)

# wait until the lingering connections are past the server's timeout (plus slack)
phase[0] = "lingering"
deadline = t_start + args.timeout_s + 15
while time.monotonic() < deadline:
    time.sleep(1)
idle_closed = sum(closed_by_server(s, True) for s, _ in idle)
half_closed = sum(closed_by_server(s, False) for s, _ in halfopen)
slow_open = sum(not closed_by_server(s, True) for s in slow)
report["lingering"] = {
    "idle_tls_opened": len(idle), "idle_tls_closed_by_server": idle_closed,
    "halfopen_opened": len(halfopen), "halfopen_closed_by_server": half_closed,
    "slowloris_opened": N_SLOW, "slowloris_still_open": slow_open,
    "checked_after_s": round(time.monotonic() - t_start, 1)}
if idle_closed < len(idle):
    violations.append("%d of %d idle TLS connections still open after %.0f s" %
                      (len(idle) - idle_closed, len(idle), args.timeout_s + 15))
if slow_open:
    violations.append("%d of %d slowloris senders still open after %.0f s" %
                      (slow_open, N_SLOW, args.timeout_s + 15))
if half_closed < len(halfopen):
    violations.append("%d of %d half-open handshakes still open after %.0f s" %
                      (len(halfopen) - half_closed, len(halfopen), args.timeout_s + 15))
stop.set()
pth.join()
tth.join()
for s, _ in idle + halfopen:
    s.close()
for s in slow:
    s.close()

probes = {}
for ph, xs in probe.items():
    lat = [l for ok, l in xs if ok]
    probes[ph] = {"calls": len(xs), "ok": sum(ok for ok, _ in xs),
                  "success": round(sum(ok for ok, _ in xs) / len(xs), 4) if xs else None,
                  "p50_ms": round(pct(lat, 0.50) * 1e3, 1), "p99_ms": round(pct(lat, 0.99) * 1e3, 1),
                  "max_ms": round(max(lat) * 1e3, 1) if lat else None}
    if xs and probes[ph]["success"] < args.min_success:
        violations.append("valid calls during %s: %.1f%% succeeded" % (ph, 100 * probes[ph]["success"]))
report["valid_calls"] = probes
report["gateway_alive"] = alive()
if not report["gateway_alive"]:
    violations.append("gateway process is gone")
report["violations"] = violations
text = json.dumps(report, indent=1)
if args.json:
    open(args.json, "w").write(text)
print(text)
sys.exit(1 if violations else 0)
