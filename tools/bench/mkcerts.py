#!/usr/bin/env python3
"""Issue N device certificates for the load generator, fast, from a ward-pki CA.

    mkcerts.py PKI_DIR OUT_DIR N [PREFIX]

ward-pki issues through `openssl ca` (several processes and a database update per device:
about 1 certificate per second on the 2-core development VM), which makes thousands of
devices an hour's work. This script signs in-process with the same profile as ward-pki's
`device_ext` (ECDSA P-256 key, CN = device id, CA:FALSE, keyUsage digitalSignature,
extendedKeyUsage clientAuth, subject/authority key identifiers, SHA-256), so the collector
accepts them exactly as it accepts ward-pki's. They are not in ward-pki's database: they
cannot be revoked with `ward-pki revoke`, which a benchmark does not need.

Files: OUT_DIR/PREFIX-NNNNN.crt and .key (0600). Existing pairs are kept (a cache), so a
second run with the same N only checks them. Needs python3-cryptography.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_DEVICES = 100000


def load_ca(pki):
    with open(os.path.join(pki, "ca.crt"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(pki, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    return ca_cert, ca_key


def issue(ca_cert, ca_key, dev_id, now):
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dev_id)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: mkcerts.py PKI_DIR OUT_DIR N [PREFIX]", file=sys.stderr)
        return 2
    pki, out = sys.argv[1], sys.argv[2]
    prefix = sys.argv[4] if len(sys.argv) == 5 else "lg"
    try:
        n = int(sys.argv[3])
    except ValueError:
        n = -1
    if not 1 <= n <= MAX_DEVICES:
        print(f"mkcerts.py: N must be 1..{MAX_DEVICES}, not '{sys.argv[3]}'", file=sys.stderr)
        return 2
    try:
        ca_cert, ca_key = load_ca(pki)
    except (OSError, ValueError) as e:
        print(f"mkcerts.py: cannot read the CA in {pki} ({e}); run ward-pki init", file=sys.stderr)
        return 1
    os.makedirs(out, mode=0o700, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    made = 0
    for i in range(n):
        dev = f"{prefix}-{i:05d}"
        crt_path = os.path.join(out, dev + ".crt")
        key_path = os.path.join(out, dev + ".key")
        if os.path.exists(crt_path) and os.path.exists(key_path):
            continue
        crt, key = issue(ca_cert, ca_key, dev, now)
        fd = os.open(key_path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        with open(crt_path + ".new", "wb") as f:
            f.write(crt)
        os.replace(key_path + ".new", key_path)
        os.replace(crt_path + ".new", crt_path)
        made += 1
    print(f"mkcerts.py: {n} device certificates in {out} ({made} new)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
