#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Independent DSSE implementation (python cryptography) for interop tests.
#   dsse_interop.py sign ALG IMAGE DIGEST SIZE OUT_ENVELOPE OUT_PUB    -> envelope made by another tool
#   dsse_interop.py verify ENVELOPE PUB                                -> checks vmseal's envelope
import base64, datetime, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PT = "application/vnd.in-toto+json"

def pae(t, body):
    t = t.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)

def keyid(pub):
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()

def cmd_sign(alg, image, digest, size, out, pubout):
    if alg == "ed25519":
        k = ed25519.Ed25519PrivateKey.generate(); sign = lambda m: k.sign(m)
    elif alg == "p256":
        k = ec.generate_private_key(ec.SECP256R1()); sign = lambda m: k.sign(m, ec.ECDSA(hashes.SHA256()))
    else:
        k = rsa.generate_private_key(65537, 3072)
        sign = lambda m: k.sign(m, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    st = {"_type": "https://in-toto.io/Statement/v1",
          "subject": [{"name": image, "digest": {"vmseal-merkle-sha256": digest}}],
          "predicateType": "urn:vmseal:template:v1",
          "predicate": {"template": {"name": "debian-12", "version": 3},
                        "image": {"format": "raw", "size": int(size), "chunkSize": 4194304},
                        "signedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "expiresAt": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    body = json.dumps(st, indent=2).encode()
    env = {"payloadType": PT, "payload": base64.b64encode(body).decode(),
           "signatures": [{"keyid": keyid(k.public_key()), "sig": base64.b64encode(sign(pae(PT, body))).decode()}]}
    json.dump(env, open(out, "w"))
    open(pubout, "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM,
                             serialization.PublicFormat.SubjectPublicKeyInfo))

def cmd_verify(envpath, pubpath):
    env = json.load(open(envpath))
    pub = serialization.load_pem_public_key(open(pubpath, "rb").read())
    body = base64.b64decode(env["payload"], validate=True)
    m = pae(env["payloadType"], body)
    ok = 0
    for s in env["signatures"]:
        sig = base64.b64decode(s["sig"], validate=True)
        if s["keyid"] != keyid(pub):
            continue
        if isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, m)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, m, ec.ECDSA(hashes.SHA256()))
        else:
            pub.verify(sig, m, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO), hashes.SHA256())
        ok += 1
    st = json.loads(body)
    assert st["_type"] == "https://in-toto.io/Statement/v1" and ok >= 1
    print("verified", st["subject"][0]["digest"]["vmseal-merkle-sha256"])

if __name__ == "__main__":
    {"sign": cmd_sign, "verify": cmd_verify}[sys.argv[1]](*sys.argv[2:])
