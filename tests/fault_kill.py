#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Crash-consistency driver for tests/sh/faults.sh: runs a command RUNS times, kills it with SIGKILL
# after a random delay (uniform over 0 .. 1.5 x its fastest run time, so kills land before,
# during and after its writes), then checks what is on disk. Prints PASS:/FAIL: lines.
#
# A kill between the link of a finished temp file and its rename (file_write_atomic's replace
# mode) leaves a complete NAME.tmp-<hex>; it must hold the new state, and the next successful
# write must remove it.
#
# usage: fault_kill.py SCENARIO RUNS WORKDIR      (binaries on PATH; FAULT_SEED=N to replay)
# SCENARIO: generate | sign | rotate | install | audit
import base64, hashlib, json, os, random, re, shutil, signal, subprocess, sys, time

from cryptography.hazmat.primitives import serialization

scenario, runs, work = sys.argv[1], int(sys.argv[2]), os.path.abspath(sys.argv[3])
seed = int(os.environ.get("FAULT_SEED", random.randrange(1 << 30)))
rng = random.Random(seed)
os.makedirs(work, exist_ok=True)
os.chdir(work)


def sh(*cmd, env=None, ok=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def keyid_of_pub(path):
    pub = serialization.load_pem_public_key(open(path, "rb").read())
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def check_keyset(d, base, passphrase, problems):
    """A key's files: .pub first, then .key, then .json; each one present is complete and they
    agree. Returns a label of what is there."""
    pub, key, meta = (os.path.join(d, base + x) for x in (".pub", ".key", ".json"))
    have = [os.path.exists(p) for p in (pub, key, meta)]
    if have[1] and not have[0]:
        problems.append("%s.key without %s.pub" % (base, base))
    if have[2] and not (have[0] and have[1]):
        problems.append("%s.json without the key files" % base)
    kid = None
    try:
        if have[0]:
            kid = keyid_of_pub(pub)
        if have[1]:
            priv = serialization.load_pem_private_key(open(key, "rb").read(), passphrase)
            der = priv.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            if hashlib.sha256(der).hexdigest() != kid:
                problems.append("%s.key does not match %s.pub" % (base, base))
        if have[2]:
            m = json.load(open(meta))
            if m["keyid"] != kid:
                problems.append("%s.json names keyid %s, .pub is %s" % (base, m["keyid"], kid))
    except Exception as e:  # a truncated or garbled file
        problems.append("%s: unreadable key file: %s" % (base, e))
    return "+".join(x for x, h in zip(("pub", "key", "json"), have) if h) or "none"


def temps_of(d, name):
    """file_write_atomic's replace mode links the finished file to NAME.tmp-<16 hex> and renames
    it over NAME: a kill between the two leaves that complete copy behind."""
    return sorted(f for f in os.listdir(d) if re.fullmatch(re.escape(name) + r"\.tmp-[0-9a-f]{16}", f))


def stray(d, allowed, problems, replaced=()):
    tmps = {t for name in replaced for t in temps_of(d, name)}
    extra = sorted(set(os.listdir(d)) - set(allowed) - tmps)
    if extra:
        problems.append("unexpected files: %s" % " ".join(extra))


def stale_temp_cleaned(d, name, expect, rerun, problems):
    """A leftover NAME.tmp-* must hold exactly the new state (expect(bytes) is true), and the next
    successful write of NAME must remove it once it is 10 s old. Returns a state suffix."""
    tmps = temps_of(d, name)
    if not tmps:
        return ""
    for t in tmps:
        if not expect(open(os.path.join(d, t), "rb").read()):
            problems.append("leftover %s is not a complete new %s" % (t, name))
        old = time.time() - 60
        os.utime(os.path.join(d, t), (old, old))
    rerun()
    if temps_of(d, name):
        problems.append("leftover %s not removed by the next write" % " ".join(temps_of(d, name)))
    return "+stale-tmp-cleaned"


def audit_ok(log, problems, resume=True):
    """The chain verifies, or its only fault is a torn last line that the next append resumes."""
    if not os.path.exists(log):
        return "none"
    p = subprocess.run(["vmseal-audit", "verify", log], capture_output=True, text=True)
    if p.returncode == 0:
        return "ok"
    if "torn" in p.stderr and resume:
        sh("vmseal-audit", "append", "--actor", "fault-test", "--event", "resume",
           "--decision", "info", log)
        q = subprocess.run(["vmseal-audit", "verify", log], capture_output=True, text=True)
        if q.returncode == 0:
            return "torn-resumed"
        problems.append("audit chain still broken after resuming: " + q.stderr.strip())
        return "broken"
    problems.append("audit chain broken: " + p.stderr.strip())
    return "broken"


def measure(setup, cmd, env=None):
    """The fastest of 5 runs: kill delays drawn up to 1.5x that land mostly inside a run even
    when the machine is busy."""
    times = []
    for _ in range(5):
        setup()
        t = time.monotonic()
        sh(*cmd, env=env)
        times.append(time.monotonic() - t)
    return min(times)


def kill_loop(name, setup, cmd, check, n, env=None):
    t = measure(setup, cmd, env)
    killed = completed = 0
    states, failures = {}, []
    # n runs at least; on a loaded machine runs take longer or start later than the fastest one
    # measured, so more are made (up to 3n) until a quarter of n were killed mid-way
    for i in range(3 * n):
        if i >= n and killed >= n // 4:
            break
        setup()
        delay = rng.uniform(0, 1.5 * t)
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        err = p.stderr.read().decode(errors="replace")
        rc = p.wait()
        p.stderr.close()
        if rc == -signal.SIGKILL:
            killed += 1
        elif rc == 0:
            completed += 1
        else:
            failures.append("run %d: exit %d without being killed: %s" % (i, rc, err.strip()))
            continue
        problems = []
        state = check(problems, rc)
        states[state] = states.get(state, 0) + 1
        for pr in problems:
            failures.append("run %d (%s, killed after %.1f ms): %s" % (i, state, delay * 1e3, pr))
    summary = "%s: %d runs, fastest run %.0f ms, %d killed, %d completed; states: %s" % (
        name, killed + completed + len(failures), t * 1e3, killed, completed,
        ", ".join("%s %d" % kv for kv in sorted(states.items())))
    if failures:
        print("FAIL: %s (seed %d)" % (summary, seed))
        for f in failures[:10]:
            print("    " + f)
    elif killed < n // 4:
        print("FAIL: %s: too few runs were killed mid-way to mean anything (seed %d)" % (summary, seed))
    else:
        print("PASS: " + summary)
    return not failures


# ---- fixtures -----------------------------------------------------------------------------------

def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def make_signing_fixture():
    """k.key (plain), pol.json trusting it for t*, img, an envelope of version 1."""
    if os.path.exists("fx/pol.json"):
        return
    fresh("fx")
    sh("vmseal-key", "generate", "--out", "fx/k", "--no-passphrase")
    entry = sh("vmseal-key", "policy-entry", "fx/k.pub").stdout
    kid = json.loads(entry)["id"]
    pol = {"version": 1, "enforce": True, "keys": [json.loads(entry)],
           "templates": [{"match": "t*", "keys": [kid], "threshold": 1}]}
    json.dump(pol, open("fx/pol.json", "w"))
    with open("fx/img", "wb") as f:
        f.write(os.urandom(256 << 10))
    sh("vmseal-sign", "--key", "fx/k.key", "--template", "t1", "--template-version", "1", "-o",
       "fx/old.json", "fx/img")


def verifies(policy, env_path, img, problems, what):
    p = subprocess.run(["vmseal-verify", "--policy", policy, "--attestation", env_path, img],
                       capture_output=True, text=True)
    if p.returncode != 0:
        problems.append("%s does not verify: %s" % (what, p.stderr.strip()))
        return False
    return True


# ---- scenarios ----------------------------------------------------------------------------------

def run_generate():
    d = "gen"
    open("pw", "w").write("fault-pass\n")

    def setup():
        fresh(d)

    def check(problems, rc):
        stray(d, ["k.pub", "k.key", "k.json"], problems)
        state = check_keyset(d, "k", b"fault-pass", problems)
        if rc == 0 and state != "pub+key+json":
            problems.append("completed but only %s" % state)
        return state

    return kill_loop("vmseal-key generate", setup,
                     ["vmseal-key", "generate", "--out", d + "/k", "--passphrase-file", "pw"], check, runs)


def run_sign():
    make_signing_fixture()
    d = "sign"
    old = open("fx/old.json", "rb").read()
    mode = {}
    argv = ["vmseal-sign", "--key", d + "/k.key", "--template", "t1", "--template-version", "2",
            "--force", "-o", d + "/out.json", "--audit-log", d + "/audit.log", d + "/img"]

    def setup():
        fresh(d)
        for f in ("k.key", "k.pub", "k.json", "img", "pol.json"):
            shutil.copy("fx/" + f, d)
        mode["force"] = rng.random() < 0.5
        if mode["force"]:
            shutil.copy("fx/old.json", d + "/out.json")
        if os.path.exists("sign.audit"):
            shutil.copy("sign.audit", d + "/audit.log")

    def check(problems, rc):
        stray(d, ["k.key", "k.pub", "k.json", "img", "pol.json", "out.json", "audit.log"], problems,
              replaced=["out.json"])
        out = d + "/out.json"
        def is_new(b):
            open(d + "/probe.json", "wb").write(b)
            ok = verifies(d + "/pol.json", d + "/probe.json", d + "/img", problems, "leftover temp")
            os.unlink(d + "/probe.json")
            return ok
        cleaned = stale_temp_cleaned(d, "out.json", is_new, lambda: sh(*argv), problems)
        if not os.path.exists(out):
            state = "absent"
            if mode["force"]:
                problems.append("--force lost the old envelope")
            if rc == 0:
                problems.append("completed without an envelope")
        elif open(out, "rb").read() == old:
            state = "old"
            if rc == 0:
                problems.append("completed but the old envelope is still there")
        else:
            state = "new"
            if verifies(d + "/pol.json", out, d + "/img", problems, "new envelope"):
                env = json.load(open(out))
                st = json.loads(base64.b64decode(env["payload"]))
                if st["predicate"]["template"]["version"] != 2:
                    problems.append("new envelope has version %s" % st["predicate"]["template"]["version"])
        state += cleaned + "/audit-" + audit_ok(d + "/audit.log", problems)
        if os.path.exists(d + "/audit.log"):
            shutil.copy(d + "/audit.log", "sign.audit")  # the log grows across runs
        return state

    ok = kill_loop("vmseal-sign", setup, argv, check, runs)
    return ok


def run_rotate():
    base = "rotfx"
    if not os.path.exists(base + "/pol.json"):
        fresh(base)
        sh("vmseal-key", "generate", "--out", base + "/k", "--no-passphrase")
        entry = json.loads(sh("vmseal-key", "policy-entry", base + "/k.pub").stdout)
        pol = {"version": 1, "enforce": True, "keys": [entry],
               "templates": [{"match": "t*", "keys": [entry["id"]], "threshold": 1}]}
        json.dump(pol, open(base + "/pol.json", "w"))
        with open(base + "/img", "wb") as f:
            f.write(os.urandom(64 << 10))
        sh("vmseal-sign", "--key", base + "/k.key", "--template", "t1", "--template-version", "1",
           "-o", base + "/img.json", base + "/img")
    old_pol = open(base + "/pol.json", "rb").read()
    old_meta = open(base + "/k.json", "rb").read()
    d = "rot"
    names = ["k.key", "k.pub", "k.json", "pol.json", "img", "img.json"]

    def setup():
        fresh(d)
        for f in names:
            shutil.copy(base + "/" + f, d)

    def check(problems, rc):
        stray(d, names + ["k-v2.key", "k-v2.pub", "k-v2.json", "pol.json.bak"], problems,
              replaced=["pol.json", "k.json", "pol.json.bak"])
        for t in temps_of(d, "pol.json.bak"):
            if open(os.path.join(d, t), "rb").read() != old_pol:
                problems.append("leftover %s is not the old policy" % t)
        for t in temps_of(d, "pol.json") + temps_of(d, "k.json"):
            try:
                json.load(open(os.path.join(d, t)))  # complete (its successor removes it)
            except Exception as e:
                problems.append("leftover %s is not complete: %s" % (t, e))
        new = check_keyset(d, "k-v2", None, problems)
        newkid = keyid_of_pub(d + "/k-v2.pub") if new != "none" and not problems else None
        polb = open(d + "/pol.json", "rb").read()
        if polb == old_pol:
            pstate = "old-policy"
        else:
            pstate = "new-policy"
            try:
                pol = json.loads(polb)
                ids = {k["id"]: k["status"] for k in pol["keys"]}
                if new != "pub+key+json" or ids.get(newkid) != "active" or pol["version"] != 2:
                    problems.append("new policy but new key %s, policy keys %s" % (new, ids))
            except Exception as e:
                problems.append("policy unreadable: %s" % e)
        if os.path.exists(d + "/pol.json.bak") and open(d + "/pol.json.bak", "rb").read() != old_pol:
            problems.append("pol.json.bak is not the old policy")
        try:
            meta = json.load(open(d + "/k.json"))
            if meta["status"] == "retired" and (new != "pub+key+json" or meta.get("replaced_by") != newkid):
                problems.append("old key retired in favour of %s, new key files: %s" %
                                (meta.get("replaced_by"), new))
            # the policy is the commit point: metadata may lag it, never lead it
            if meta["status"] == "retired" and pstate != "new-policy":
                problems.append("old key's metadata says retired but the old policy is in force")
        except Exception as e:
            problems.append("k.json unreadable: %s" % e)
        # what the old key signed verifies under whichever policy is there (retired still verifies)
        verifies(d + "/pol.json", d + "/img.json", d + "/img", problems, "old key's envelope")
        if rc == 0 and (pstate != "new-policy" or new != "pub+key+json"):
            problems.append("completed but %s, %s" % (pstate, new))
        return "%s/k-v2:%s" % (pstate, new)

    return kill_loop("vmseal-key rotate --in-place", setup,
                     ["vmseal-key", "rotate", "--out", d + "/k", "--no-passphrase", "--policy",
                      d + "/pol.json", "--in-place"], check, runs)


def run_install():
    base = "instfx"
    if not os.path.exists(base + "/v2.bundle"):
        fresh(base)
        sh("vmseal-key", "generate", "--out", base + "/root1", "--no-passphrase")
        sh("vmseal-policy", "root", "--threshold", "1", "-o", base + "/root.json", base + "/root1.pub")
        for v in (1, 2):
            json.dump({"version": v, "enforce": True, "keys": [], "templates": []},
                      open("%s/p%d.json" % (base, v), "w"))
            sh("vmseal-policy", "sign", "--key", base + "/root1.key", "-o", "%s/v%d.bundle" % (base, v),
               "%s/p%d.json" % (base, v))
    v1 = open(base + "/v1.bundle", "rb").read()
    v2 = open(base + "/v2.bundle", "rb").read()
    d = "inst"

    def setup():
        fresh(d)
        shutil.copy(base + "/root.json", d)
        shutil.copy(base + "/v1.bundle", d + "/policy.json")
        if os.path.exists("inst.audit"):
            shutil.copy("inst.audit", d + "/audit.log")

    argv = ["vmseal-policy", "install", "--policy", d + "/policy.json", "--audit-log",
            d + "/audit.log", base + "/v2.bundle"]

    def check(problems, rc):
        extra = sorted(set(os.listdir(d)) - {"root.json", "policy.json", "audit.log", "trust.state"} -
                       set(temps_of(d, "policy.json")) - set(temps_of(d, "trust.state")))
        # the install lock file may stay; anything else is a leftover
        extra = [e for e in extra if not e.endswith(".lock")]
        if extra:
            problems.append("unexpected files: %s" % " ".join(extra))
        b = open(d + "/policy.json", "rb").read() if os.path.exists(d + "/policy.json") else None
        state = "v1" if b == v1 else "v2" if b == v2 else "other"
        # trust.state is written after the policy: it may lag behind, never lead (read before
        # the leftover check below reruns the install, which writes it)
        if os.path.exists(d + "/trust.state"):
            try:
                ts = json.load(open(d + "/trust.state"))
                if ts["policy_version"] == 2 and state != "v2":
                    problems.append("trust.state records version 2 but the policy is %s" % state)
            except (ValueError, KeyError) as e:
                problems.append("trust.state torn: %s" % e)
        elif rc == 0:
            problems.append("completed without a trust.state")
        if state == "v1":  # a leftover can only come from a kill before the rename
            state += stale_temp_cleaned(d, "policy.json", lambda x: x == v2, lambda: sh(*argv), problems)
            if state.endswith("cleaned") and open(d + "/policy.json", "rb").read() != v2:
                problems.append("the write after the leftover did not install v2")
        if state == "other":
            problems.append("policy.json is neither bundle (%s)" % (len(b) if b else "missing"))
        if rc == 0 and state != "v2":
            problems.append("completed but policy is %s" % state)
        state += "/audit-" + audit_ok(d + "/audit.log", problems)
        if os.path.exists(d + "/audit.log"):
            shutil.copy(d + "/audit.log", "inst.audit")
        return state

    return kill_loop("vmseal-policy install", setup, argv, check, runs)


def run_audit():
    log = "append.log"
    if os.path.exists(log):
        os.unlink(log)
    argv = ["vmseal-audit", "append", "--actor", "fault-test", "--event", "append",
            "--decision", "info", "--reason", "x" * 3000, log]
    done = {"n": 0}

    def check(problems, rc):
        if rc == 0:
            done["n"] += 1
        return audit_ok(log, problems)

    ok = kill_loop("audit append", lambda: None, argv, check, runs)
    res = subprocess.run(["vmseal-audit", "verify", log], capture_output=True, text=True)
    if res.returncode != 0 or not res.stdout.startswith("ok "):
        print("FAIL: audit log after the kill loop: %s %s" % (res.stdout, res.stderr))
        ok = False
    else:
        n = int(res.stdout.split()[1])
        # every append that returned 0 is in the log (plus the measuring runs and resumes)
        if n < done["n"] + 5:
            print("FAIL: audit log has %d entries, %d appends completed" % (n, done["n"]))
            ok = False
        else:
            print("PASS: audit log intact after the kill loop: %d entries, %d appends completed"
                  % (n, done["n"]))
    return ok


if __name__ == "__main__":
    fn = {"generate": run_generate, "sign": run_sign, "rotate": run_rotate, "install": run_install,
          "audit": run_audit}[scenario]
    sys.exit(0 if fn() else 1)
