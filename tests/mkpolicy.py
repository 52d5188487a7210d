#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Test helper: writes a policy from `vmseal-key policy-entry` outputs.
# usage: mkpolicy.py OUT TEMPLATES_JSON [EXTRA_JSON] NAME=ENTRY_FILE...
# In TEMPLATES_JSON and EXTRA_JSON, "@NAME" stands for the keyid of NAME's entry.
import json, sys

out, templates, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
extra = "{}"
if rest and not "=" in rest[0].split("{")[0]:
    extra, rest = rest[0], rest[1:]
entries = {}
for arg in rest:
    name, path = arg.split("=", 1)
    entries[name] = json.load(open(path))
def subst(s):
    for name in sorted(entries, key=len, reverse=True):
        s = s.replace("@" + name, entries[name]["id"])
    return s
policy = {"version": 1, "enforce": True, "keys": list(entries.values()),
          "templates": json.loads(subst(templates))}
policy.update(json.loads(subst(extra)))
with open(out, "w") as f:
    json.dump(policy, f, indent=1)
