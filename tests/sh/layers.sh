#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lib/'s layers, checked (#17 item 6): a module may include its own layer or lower ones, never a
# higher one, and lib/ never includes a front end (signer/ verifier/ agent/ api/) or tests/.
# The table below is the layering the code shows (README "Layout" draws it). A module not in it
# gets the layer above the highest module it includes (so a new module never breaks the check,
# and a low module cannot reach a high one through it); a cycle of includes fails. Files
# NAME_PART.[ch] are part of module NAME (policy_boot, replay_redis, merkle_priv).
source "$(dirname "$0")/lib.sh"
cd "$T"

# layer 0: base; 1: encodings, keys, formats; 2: signatures and signed documents;
# 3: policy; 4: decisions and clients built on the policy or on RFC 9421.
LAYERS="
0 error limits util jsonx cli replay
1 sf key p11 merkle progress qcow2 domxml audit evalcache shamir sshbuf truststate hostsecret filetrust denyagg
2 httpsig dsse statement keymeta shred gwnames sshkey sshcert sshkrl started overlayreg auditcp
3 bundle policy gwbody sshpolicy sshstore
4 diskcheck policyedit gwclient bootfile domallow
"

# layers_check DIR: prints one FAIL line per violation in DIR/*.[ch], and "ok N modules".
layers_check() {
	"$PY" - "$1" "$LAYERS" <<'PY'
import os, re, sys
libdir, table = sys.argv[1], sys.argv[2]
layer = {}
for line in table.strip().splitlines():
    n, *mods = line.split()
    for m in mods:
        layer[m] = int(n)
def module(path):  # NAME_PART.c belongs to module NAME (policy_boot.c is policy's, merkle_priv.h merkle's)
    return os.path.basename(path).rsplit(".", 1)[0].split("_")[0]
incs, bad = {}, []
for f in sorted(os.listdir(libdir)):
    if not f.endswith((".c", ".h")):
        continue
    m = module(f)
    for i, line in enumerate(open(os.path.join(libdir, f), encoding="utf-8", errors="replace"), 1):
        r = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not r:
            continue
        inc = r.group(1)
        if re.match(r"(\.\./)*(signer|verifier|agent|api|tests)/", inc):
            bad.append("lib/%s:%d includes the front end or test file %s" % (f, i, inc))
            continue
        dep = module(inc.replace("lib/", "", 1))
        if dep != m:
            incs.setdefault(m, set()).add((dep, "lib/%s:%d" % (f, i)))
    incs.setdefault(m, set())
def level(m, stack=()):
    if m in layer:
        return layer[m]
    if m in stack:
        bad.append("include cycle: " + " -> ".join(stack + (m,)))
        layer[m] = 99
        return 99
    deps = [d for d, _ in incs.get(m, ()) if d in incs or d in layer]
    layer[m] = max([level(d, stack + (m,)) for d in deps], default=-1) + 1
    return layer[m]
for m in incs:
    level(m)
for m, deps in sorted(incs.items()):
    for d, where in sorted(deps):
        if d in layer and layer[d] > layer[m]:
            bad.append("%s: %s (layer %d) includes %s (layer %d)" % (where, m, layer[m], d, layer[d]))
for b in bad:
    print("FAIL: layers: " + b)
if not bad:
    print("ok %d modules" % len(incs))
PY
}

out=$(layers_check "$top/lib")
if grep -q '^ok ' <<<"$out"; then pass "lib/ layers hold ($(sed 's/^ok //' <<<"$out")): no lower layer includes a higher one, no front end included"
else echo "$out"; fi

# The check bites: util (layer 0) including policy (3), a cycle, and a front end, each in a copy.
mkdir lib1 lib2 lib3
cp "$top"/lib/*.[ch] lib1/; cp "$top"/lib/*.[ch] lib2/; cp "$top"/lib/*.[ch] lib3/
sed -i '0,/#include "error.h"/s//#include "error.h"\n#include "policy.h"/' lib1/util.h
layers_check lib1 | grep -q '^FAIL: layers: lib/util.h:[0-9]*: util (layer 0) includes policy (layer 3)' \
	&& pass "layers: util including policy is caught" || fail "layers: downward include not caught: $(layers_check lib1)"
printf '#include "newb.h"\n' >lib2/newa.h; printf '#include "newa.h"\n' >lib2/newb.h
layers_check lib2 | grep -q '^FAIL: layers: include cycle' && pass "layers: an include cycle is caught" \
	|| fail "layers: cycle not caught: $(layers_check lib2)"
printf '#include "api/gateway.h"\n' >>lib3/policy.c
layers_check lib3 | grep -q 'includes the front end or test file api/gateway.h' \
	&& pass "layers: lib/ including a front end is caught" || fail "layers: front end include not caught"
