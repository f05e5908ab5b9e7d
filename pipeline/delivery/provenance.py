"""Content credentials (C2PA) of a media file, read with c2pa-python: present or absent,
valid or not, who signed, which tool made the claim, and whether the asset or one of its
ingredients is declared AI-generated. Reading never fails on a damaged manifest: the
damage is reported instead.

Reading is offline: no remote manifest, no OCSP request (see `c2pa_context`).
"""

from __future__ import annotations

import copy
import functools
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types that declare content made by a trained model.
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
COMPOSITE_AI = IPTC + "compositeWithTrainedAlgorithmicMedia"
# A signature by a certificate no trust list knows is still a valid signature.
UNTRUSTED = "signingCredential.untrusted"
TRUST_ENV = "REELFORGE_C2PA_TRUST"  # optional PEM file of extra trust anchors for reading

MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".m4a": "audio/mp4",
              ".wav": "audio/wav", ".mp3": "audio/mpeg", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".png": "image/png", ".webp": "image/webp", ".avi": "video/x-msvideo"}


def mime_type(path: str | os.PathLike[str]) -> str | None:
    """The MIME type c2pa knows the file as, or None when C2PA has no binding for it."""
    return MIME_TYPES.get(Path(path).suffix.lower())


def is_ai_source_type(value: Any) -> bool:
    return isinstance(value, str) and value.rstrip("/").rsplit("/", 1)[-1] in AI_SOURCE_TYPES


@dataclass
class Credentials:
    """What a file's content credentials say. state: absent, valid, trusted (valid and
    signed by a certificate on a trust list), invalid, or unsupported (no C2PA binding for
    this file type)."""

    state: str = "absent"
    signer: str | None = None
    claim_generator: str | None = None
    ai_generated: bool = False
    ai_declared_by: str | None = None  # "asset" or "ingredient"
    digital_source_types: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    ingredients: list[dict[str, Any]] = field(default_factory=list)  # title, relationship, manifest
    failures: list[str] = field(default_factory=list)  # validation failure codes, or the read error
    manifest_label: str | None = None

    @property
    def present(self) -> bool:
        return self.state not in ("absent", "unsupported")

    @property
    def valid(self) -> bool | None:
        return self.state in ("valid", "trusted") if self.present else None

    def to_dict(self) -> dict[str, Any]:
        return {"present": self.present, "valid": self.valid, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Credentials":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def summary(self) -> str:
        """One line for a table: 'valid, signed by X (claim generator Y), AI-generated'."""
        if not self.present:
            return "none" if self.state == "absent" else "not supported for this file type"
        words = [self.state]
        if self.signer:
            words.append(f"signed by {self.signer}")
        if self.claim_generator:
            words.append(f"made by {self.claim_generator}")
        if self.ai_generated:
            words.append(f"AI-generated (declared by the {self.ai_declared_by})")
        if self.failures and self.state == "invalid":
            words.append("; ".join(self.failures[:3]))
        return ", ".join(words)


@functools.lru_cache(maxsize=4)
def _context(anchors_path: str | None) -> Any:
    import c2pa

    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if anchors_path:
        try:
            settings["trust"] = {"user_anchors": Path(anchors_path).read_text(encoding="utf-8")}
        except (OSError, UnicodeDecodeError):
            pass  # an unreadable trust list only costs the 'trusted' state
    return c2pa.Context.from_dict(settings)


def c2pa_context() -> Any:
    """The c2pa Context reelforge reads and writes with: offline, no thumbnails, plus the
    trust anchors in $REELFORGE_C2PA_TRUST when set."""
    return _context(os.environ.get(TRUST_ENV) or None)


def read_credentials(path: str | os.PathLike[str]) -> Credentials:
    """The content credentials of `path`. Never raises for a damaged or missing manifest
    (an unreadable file is OSError). Remembered while the file is unchanged."""
    st = os.stat(path)
    memo = (os.path.abspath(path), st.st_size, st.st_mtime_ns, os.environ.get(TRUST_ENV))
    if memo not in _READ:
        _READ[memo] = _read(path)
    return copy.deepcopy(_READ[memo])


_READ: dict[tuple[Any, ...], Credentials] = {}


def _read(path: str | os.PathLike[str]) -> Credentials:
    import c2pa

    mime = mime_type(path)
    if mime is None:
        return Credentials(state="unsupported")
    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime, fh, None, c2pa_context())
            if reader is None:
                return Credentials()
            with reader:
                store = json.loads(reader.json())
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - c2pa raises its own tree; a bad manifest is a report
        return Credentials(state="invalid", failures=[_one_line(exc)])
    return credentials_from_store(store)


def credentials_from_store(store: dict[str, Any]) -> Credentials:
    """Credentials from the manifest store JSON that c2pa's Reader.json() returns."""
    manifests = store.get("manifests") or {}
    label = store.get("active_manifest")
    active = manifests.get(label) or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f.get("code", "") for f in results.get("failure", []) if f.get("code") != UNTRUSTED]
    if not results:  # older readers: a flat validation_status list
        failures = [s.get("code", "") for s in store.get("validation_status") or [] if s.get("code") != UNTRUSTED]
    raw_state = str(store.get("validation_state") or "").lower()
    if failures or raw_state == "invalid" or not active:
        state = "invalid"
    else:
        state = "trusted" if raw_state == "trusted" else "valid"
    sig = active.get("signature_info") or {}
    signer = sig.get("common_name") or sig.get("issuer")
    if sig.get("common_name") and sig.get("issuer"):
        signer = f"{sig['common_name']} ({sig['issuer']})"
    creds = Credentials(state=state, signer=signer, claim_generator=_generator(active),
                        failures=failures, manifest_label=label)
    types = _source_types(active)
    creds.digital_source_types = types
    creds.actions = [a.get("action", "") for a in _actions(active)]
    creds.ingredients = [{"title": i.get("title"), "relationship": i.get("relationship"),
                          "manifest": i.get("active_manifest")} for i in active.get("ingredients") or []]
    if any(is_ai_source_type(t) for t in types):
        creds.ai_generated, creds.ai_declared_by = True, "asset"
    elif _ingredient_ai(active, manifests, set()):
        creds.ai_generated, creds.ai_declared_by = True, "ingredient"
    return creds


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:200]


def _generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict) and info[0].get("name"):
        first = info[0]
        return f"{first['name']} {first['version']}" if first.get("version") else str(first["name"])
    return manifest.get("claim_generator")


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for a in manifest.get("assertions") or []:
        if str(a.get("label", "")).startswith("c2pa.actions"):
            found += [x for x in (a.get("data") or {}).get("actions") or [] if isinstance(x, dict)]
    return found


def _source_types(manifest: dict[str, Any]) -> list[str]:
    types = [a["digitalSourceType"] for a in _actions(manifest) if a.get("digitalSourceType")]
    return list(dict.fromkeys(types))


def _ingredient_ai(manifest: dict[str, Any], manifests: dict[str, Any], seen: set[str]) -> bool:
    for ing in manifest.get("ingredients") or []:
        if is_ai_source_type(ing.get("digitalSourceType")):
            return True
        label = ing.get("active_manifest")
        if label and label not in seen and label in manifests:
            seen.add(label)
            inner = manifests[label]
            if any(is_ai_source_type(t) for t in _source_types(inner)) or _ingredient_ai(inner, manifests, seen):
                return True
    return False
