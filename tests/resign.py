#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Test helper: re-signs a DSSE envelope's payload after a change, as an attacker holding (or a
# pipeline misusing) a signing key would, so that only the check under test can refuse it.
#   resign.py KEY.key IN OUT PYTHON_EXPR
# PYTHON_EXPR runs with `d` bound to the decoded payload (a dict) and may change it in place.
# KEY is an unencrypted PKCS#8 PEM (Ed25519, P-256 or RSA); the keyid stays the first signature's.
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

key, inp, out, expr = sys.argv[1:5]
k = serialization.load_pem_private_key(open(key, "rb").read(), None)
e = json.load(open(inp))
d = json.loads(base64.b64decode(e["payload"]))
exec(expr)
body = json.dumps(d).encode()
t = e["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
if isinstance(k, ed25519.Ed25519PrivateKey):
    sig = k.sign(pae)
elif isinstance(k, ec.EllipticCurvePrivateKey):
    sig = k.sign(pae, ec.ECDSA(hashes.SHA256()))
else:
    sig = k.sign(pae, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
e["payload"] = base64.b64encode(body).decode()
e["signatures"] = [{"keyid": e["signatures"][0]["keyid"], "sig": base64.b64encode(sig).decode()}]
json.dump(e, open(out, "w"))
