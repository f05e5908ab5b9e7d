"""Signing content credentials (C2PA) into the files reelforge writes.

The key and the certificate chain are PEM files named by REELFORGE_C2PA_KEY and
REELFORGE_C2PA_CERT. The key is read when a file is signed, held only in memory, and
never printed, logged, cached or put in an error message. Signing is offline unless
REELFORGE_C2PA_TSA_URL names a timestamp authority.

A file is signed in place before its atomic rename (pipeline.files.atomic_output's
`before_rename`): the target path only ever holds a finished, signed file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import InputError, RenderError

KEY_ENV = "REELFORGE_C2PA_KEY"
CERT_ENV = "REELFORGE_C2PA_CERT"
TSA_ENV = "REELFORGE_C2PA_TSA_URL"
MODES = ("off", "auto", "required")


class SigningKey:
    """A certificate chain and its private key, ready for c2pa. Its repr names the signer only."""

    __slots__ = ("alg", "cert_pem", "_key_pem", "subject", "tsa_url")

    def __init__(self, alg: str, cert_pem: bytes, key_pem: bytes, subject: str, tsa_url: str | None) -> None:
        self.alg, self.cert_pem, self._key_pem, self.subject, self.tsa_url = alg, cert_pem, key_pem, subject, tsa_url

    def __repr__(self) -> str:
        return f"SigningKey({self.alg}, {self.subject!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickled (and so never cached or sent to a worker)
        raise TypeError("a signing key is not serialisable")

    @contextlib.contextmanager
    def signer(self) -> Any:
        import c2pa

        info = c2pa.C2paSignerInfo(self.alg.encode(), self.cert_pem, self._key_pem,
                                   self.tsa_url.encode() if self.tsa_url else None)
        with c2pa.Signer.from_info(info) as s:
            yield s


def credentials_configured() -> bool:
    return bool(os.environ.get(KEY_ENV) or os.environ.get(CERT_ENV))


def load_signing_key() -> SigningKey | None:
    """The key named by the environment, checked against its certificate; None when neither
    variable is set. InputError (naming the variable, never the key) when it is unusable."""
    key_path, cert_path = os.environ.get(KEY_ENV), os.environ.get(CERT_ENV)
    if not key_path and not cert_path:
        return None
    if not key_path or not cert_path:
        missing = KEY_ENV if not key_path else CERT_ENV
        raise InputError(f"{missing}: not set; content credentials need both {KEY_ENV} and {CERT_ENV}")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key_pem, cert_pem = _read(key_path, KEY_ENV), _read(cert_path, CERT_ENV)
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise InputError(f"{CERT_ENV} {cert_path}: not a PEM certificate chain") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise InputError(f"{KEY_ENV} {key_path}: the key is encrypted; give an unencrypted PEM key") from None
    except (ValueError, Exception):  # noqa: BLE001 - whatever the parser says, nothing of the key is shown
        raise InputError(f"{KEY_ENV} {key_path}: not a PEM private key") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
    elif isinstance(key, rsa.RSAPrivateKey):
        alg = "ps256"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    else:
        alg = None
    if alg is None:
        raise InputError(f"{KEY_ENV} {key_path}: C2PA signs with ECDSA P-256/384/521, RSA-PSS or Ed25519 keys")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if certs[0].public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        raise InputError(f"{CERT_ENV} {cert_path}: the first certificate does not belong to the key in {KEY_ENV}")
    subject = certs[0].subject.rfc4514_string()
    # c2pa reads PKCS#8 only; a SEC1 ("EC PRIVATE KEY") or PKCS#1 file is converted in memory
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    found = SigningKey(alg, cert_pem, pkcs8, subject, os.environ.get(TSA_ENV) or None)
    _try_signing(found, cert_path)
    return found


def _try_signing(key: SigningKey, cert_path: str) -> None:
    """Sign a one-pixel PNG in memory, so that a certificate C2PA refuses (a CA, wrong key
    usage, expired) is bad input before any work rather than a failure after encoding."""
    import io
    import struct
    import zlib

    import c2pa

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
    definition = {"claim_generator_info": [{"name": "reelforge"}], "title": "check.png",
                  "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                      {"action": "c2pa.created",
                       "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"}]}}]}
    from pipeline.delivery.provenance import c2pa_context

    try:
        with c2pa.Builder(definition, context=c2pa_context()) as builder, key.signer() as signer:
            builder.sign(signer, "image/png", io.BytesIO(png), io.BytesIO())
    except c2pa.C2paError as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{CERT_ENV} {cert_path}: C2PA cannot sign with this key and certificate ({reason})") from None


def _read(path: str, env: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{env} {path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None


def check_mode(mode: str) -> str:
    """Validate a --provenance value against the environment (before any work):
    `required` without credentials, or unusable credentials, are bad input."""
    if mode not in MODES:
        raise InputError(f"--provenance {mode}: use off, auto or required")
    if mode == "off":
        return mode
    key = load_signing_key()
    if key is None and mode == "required":
        raise InputError(f"--provenance required: set {KEY_ENV} and {CERT_ENV} (PEM files) to sign content credentials")
    return mode


def signing_key(mode: str) -> SigningKey | None:
    """The key to sign with for a --provenance mode (None: write unsigned files)."""
    return None if check_mode(mode) == "off" else load_signing_key()


def sign_in_place(path: Path, definition: dict[str, Any], ingredients: list[tuple[dict[str, Any], Path | None]],
                  key: SigningKey, mime: str = "video/mp4") -> None:
    """Embed a signed manifest into `path` (a finished temporary file), replacing it.
    Each ingredient is read from its file, so its own manifest comes along; one whose file
    is gone, of a type C2PA cannot read, or whose manifest cannot be parsed is described
    by its title and format only."""
    import c2pa

    from pipeline.delivery.provenance import c2pa_context, mime_type

    described = [info for info, src in ingredients if src is None or mime_type(src) is None or not src.is_file()]
    from_files = [(info, src) for info, src in ingredients if info not in described]
    signed = path.with_name(f"{path.stem}.c2pa{path.suffix}")
    try:
        while True:
            with c2pa.Builder({**definition, "ingredients": described}, context=c2pa_context()) as builder:
                failed = None
                for info, src in from_files:
                    try:
                        with open(src, "rb") as fh:  # type: ignore[arg-type]
                            builder.add_ingredient(info, mime_type(src) or "", fh)  # type: ignore[arg-type]
                    except c2pa.C2paError:
                        failed = (info, src)
                        break
                if failed is not None:  # a damaged manifest in a source: name the source without it
                    from_files.remove(failed)
                    described.append(failed[0])
                    continue
                with key.signer() as signer, open(path, "rb") as source, open(signed, "w+b") as dest:
                    builder.sign(signer, mime, source, dest)
                break
        os.replace(signed, path)
    except c2pa.C2paError as exc:
        raise RenderError(f"{path.name}: signing content credentials failed: {' '.join(str(exc).split())[:200]}") from None
    finally:
        with contextlib.suppress(OSError):
            signed.unlink()


Sealer = Callable[[Path], None]
