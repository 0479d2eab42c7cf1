"""Test certificates: a CA and one certificate per name (subject CN and DNS SAN), made with ``cryptography``."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mpc.handshake import TlsConfig


def _name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_certificates(directory, holders: dict, subjects: dict | None = None) -> dict:
    """``holders`` maps a file stem to the DNS names its certificate carries (no extension if none); its subject's
    common names are ``subjects[stem]`` if given, else the first of them. Returns stem -> TlsConfig."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("approx test CA")).issuer_name(_name("approx test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out = {}
    for serial, (stem, names) in enumerate(holders.items(), start=2):
        key = ec.generate_private_key(ec.SECP256R1())
        common = (subjects or {}).get(stem, names[:1])
        builder = (x509.CertificateBuilder().issuer_name(ca.subject).public_key(key.public_key())
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, n) for n in common]))
                   .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                            critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        out[stem] = TlsConfig(str(directory / f"{stem}.crt"), str(directory / f"{stem}.key"), str(ca_path))
    return out
