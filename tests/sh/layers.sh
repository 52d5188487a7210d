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
1 sf key p11 merkle progress qcow2 domxml audit shamir sshbuf truststate hostsecret filetrust denyagg
2 httpsig dsse statement keymeta shred gwnames sshkey sshcert sshkrl started overlayreg auditcp
3 bundle policy gwbody gwwire sshpolicy sshstore evalcache
4 attest diskcheck policyedit gwclient bootfile domallow
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

# The gateway's layers (#17 item 4, api/gateway_core.h): vmseal-gateway.c → gateway_http →
# {gateway_conn, gateway_defer, the routes} → gateway_core. A file may include the gateway
# headers of its own layer and group and the ones below, and may not declare for itself a
# function that a higher layer's header declares (a call around the includes).
GW_LAYERS="
0 gateway_core
1 gateway_conn
1 gateway_defer
1 gateway_routes gateway_domains gateway_disks gateway_templates gateway_auditlog gateway_sign gateway_ssh
2 gateway_http
3 vmseal-gateway
"
# gw_layers_check DIR: prints one FAIL line per violation in DIR/gateway_*.[ch], "ok N files".
gw_layers_check() {
	"$PY" - "$1" "$GW_LAYERS" <<'PY'
import os, re, sys
apidir, table = sys.argv[1], sys.argv[2]
layer, group = {}, {}
for line in table.strip().splitlines():
    n, *mods = line.split()
    for m in mods:
        layer[m], group[m] = int(n), mods[0]
# A header belongs to the group of its file; gateway_routes.h is the routes' shared header.
def may_use(f, h):  # f may include header h
    if h not in layer:
        return False
    return layer[h] < layer[f] or group[h] == group[f]
headers = {}  # function name -> header module
for f in os.listdir(apidir):
    if f.startswith("gateway_") and f.endswith(".h"):
        m = f[:-2]
        for name in re.findall(r"^[a-z][\w \*]*?\b(\w+)\(", open(os.path.join(apidir, f)).read(), re.M):
            headers[name] = m
bad, files = [], 0
for f in sorted(os.listdir(apidir)):
    m = f.rsplit(".", 1)[0]
    if m not in layer or not f.endswith((".c", ".h")):
        continue
    files += 1
    text = open(os.path.join(apidir, f), encoding="utf-8", errors="replace").read()
    for i, line in enumerate(text.splitlines(), 1):
        r = re.match(r'\s*#\s*include\s+"api/(\w+)\.h"', line)
        if r and r.group(1) != m and not may_use(m, r.group(1)):
            bad.append("api/%s:%d: %s (layer %d) includes %s.h" % (f, i, m, layer[m], r.group(1)))
        d = re.match(r"^(?:extern\s+)?[a-z][\w \*]*?\b(\w+)\([^;{]*\)\s*;", line)
        if d and d.group(1) in headers and headers[d.group(1)] != m and not may_use(m, headers[d.group(1)]):
            bad.append("api/%s:%d: %s (layer %d) declares %s of %s.h" % (f, i, m, layer[m], d.group(1), headers[d.group(1)]))
for b in bad:
    print("FAIL: gateway layers: " + b)
if not bad:
    print("ok %d files" % files)
PY
}

out=$(gw_layers_check "$top/api")
if grep -q '^ok ' <<<"$out"; then pass "gateway layers hold ($(sed 's/^ok //' <<<"$out")): main → http → {conn, defer, routes} → core"
else echo "$out"; fi
# The check bites: the core including the routes' header, a route including the HTTP front, and
# the core declaring a route function for itself, each in a copy.
mkdir api1 api2 api3
for d in api1 api2 api3; do cp "$top"/api/gateway_*.[ch] "$top"/api/vmseal-gateway.c $d/; done
sed -i '0,/#include "api\/gateway_core.h"/s//#include "api\/gateway_core.h"\n#include "api\/gateway_routes.h"/' api1/gateway_core.c
gw_layers_check api1 | grep -q '^FAIL: gateway layers: api/gateway_core.c:[0-9]*: gateway_core (layer 0) includes gateway_routes.h' \
	&& pass "gateway layers: the core including the routes is caught" || fail "gateway layers: core → routes not caught: $(gw_layers_check api1)"
sed -i '0,/#include "api\/gateway_routes.h"/s//#include "api\/gateway_routes.h"\n#include "api\/gateway_http.h"/' api2/gateway_sign.c
gw_layers_check api2 | grep -q '^FAIL: gateway layers: api/gateway_sign.c:[0-9]*: gateway_sign (layer 1) includes gateway_http.h' \
	&& pass "gateway layers: a route including the HTTP front is caught" || fail "gateway layers: route → http not caught: $(gw_layers_check api2)"
printf 'const struct route *route_find(const char *method, const char *path, char *name, size_t n, int *k);\n' >>api3/gateway_core.c
gw_layers_check api3 | grep -q '^FAIL: gateway layers: api/gateway_core.c:[0-9]*: gateway_core (layer 0) declares route_find of gateway_routes.h' \
	&& pass "gateway layers: the core declaring a route function is caught" || fail "gateway layers: declaration not caught: $(gw_layers_check api3)"
