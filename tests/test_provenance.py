"""Content credentials (C2PA): read from any source, recorded at generation, signed into
every MP4 reelforge writes, verified after export.

The certificate chain is made here (a throwaway ES256 root and signing certificate), the
AI-marked source is signed here with c2pa-python directly, and every output is read back
with c2pa-python's own Reader, trusting that root: an independent reader, not reelforge's.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

c2pa = pytest.importorskip("c2pa")
pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from tests.conftest import run_cli  # noqa: E402
from tests.media import make_clip, write_preset  # noqa: E402

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


# ---- a throwaway certificate chain --------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "reelforge tests")])


def _usage(**on: bool) -> x509.KeyUsage:
    fields = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{f: on.get(f, False) for f in fields})


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A root CA and an ES256 signing certificate as C2PA wants it: not a CA, digitalSignature
    key usage, the emailProtection extended key usage, key identifiers linking it to its root."""
    folder = tmp_path_factory.mktemp("c2pa-chain")
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("test root")).issuer_name(_name("test root"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("test signer")).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"key": folder / "signer.key.pem", "cert": folder / "chain.pem", "root": folder / "root.pem"}
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    paths["cert"].write_bytes(cert.public_bytes(pem) + root.public_bytes(pem))
    paths["root"].write_bytes(root.public_bytes(pem))
    return paths


def signing_env(chain: dict[str, Path]) -> dict[str, str]:
    return {"REELFORGE_C2PA_KEY": str(chain["key"]), "REELFORGE_C2PA_CERT": str(chain["cert"])}


def no_signing_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REELFORGE_C2PA_KEY", "REELFORGE_C2PA_CERT")}


# ---- an independent writer and reader (c2pa-python directly) ------------------------------
def sign_as_generator(src: Path, dest: Path, chain: dict[str, Path]) -> Path:
    """`dest`: `src` with a manifest from a video generator declaring trainedAlgorithmicMedia."""
    definition = {"claim_generator_info": [{"name": "test-video-model", "version": "2.0"}], "title": dest.name,
                  "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                      {"action": "c2pa.created", "digitalSourceType": TRAINED}]}}]}
    info = c2pa.C2paSignerInfo(b"es256", chain["cert"].read_bytes(), chain["key"].read_bytes(), None)
    with c2pa.Builder(definition) as builder, c2pa.Signer.from_info(info) as signer, \
            open(src, "rb") as source, open(dest, "w+b") as out:
        builder.sign(signer, "video/mp4", source, out)
    return dest


def read_store(path: Path, chain: dict[str, Path]) -> dict:
    """The manifest store as c2pa-python reads it, trusting the test root (offline)."""
    ctx = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
                                  "trust": {"user_anchors": chain["root"].read_text()}})
    with open(path, "rb") as fh, c2pa.Reader("video/mp4", fh, None, ctx) as reader:
        return json.loads(reader.json())


def active(store: dict) -> dict:
    return store["manifests"][store["active_manifest"]]


def actions(manifest: dict) -> list[dict]:
    return [a for asr in manifest["assertions"] if asr["label"].startswith("c2pa.actions")
            for a in asr["data"]["actions"]]


def has_manifest(path: Path) -> bool:
    with open(path, "rb") as fh:
        reader = c2pa.Reader.try_create("video/mp4", fh)
        if reader is None:
            return False
        reader.close()
        return True


def frames(path: Path) -> int:
    import av

    with av.open(str(path)) as f:
        return sum(1 for _ in f.decode(video=0))


@pytest.fixture
def vertical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small 9:16 user preset `vert` (180x320), so export reframes 16:9 sources."""
    folder = tmp_path / "user-presets"
    write_preset(folder, "vert", aspect="9:16", width=180, height=320, audio_bitrate="64k")
    write_preset(folder, "flat", audio_bitrate="64k")
    monkeypatch.setenv("REELFORGE_PRESETS", str(folder))
    return "vert"


# ---- the whole chain -----------------------------------------------------------------------
def test_ai_source_survives_stitch_reframe_voiceover_export(tmp_path: Path, chain: dict[str, Path],
                                                             vertical: str) -> None:
    plain = make_clip(tmp_path / "plain.mp4", duration=1.0, audio=True)
    ai = sign_as_generator(make_clip(tmp_path / "raw.mp4", duration=1.0, audio=True, tone=660),
                           tmp_path / "shot one.mp4", chain)
    source_label = read_store(ai, chain)["active_manifest"]
    env = signing_env(chain)
    (tmp_path / "vo.txt").write_text("A short line for the test.\n")
    steps = [("stitch", str(ai), str(plain), "-o", "seq.timeline.json"),
             ("reframe", "seq.timeline.json", "--aspect", "9:16", "-o", "vert.timeline.json"),
             ("voiceover", "vert.timeline.json", "--script", "vo.txt", "-o", "vo.timeline.json"),
             ("export", "vo.timeline.json", "-p", vertical, "-o", "out")]
    for args in steps:
        r = run_cli(*args, cwd=tmp_path, env=env)
        assert r.returncode == 0, (args, r.stderr)
    out = tmp_path / "out" / f"vo.{vertical}.mp4"
    assert frames(out) == 60  # two 1 s clips at 30 fps: signing kept every frame
    store = read_store(out, chain)
    assert store["validation_state"] == "Trusted", store.get("validation_status")
    m = active(store)
    gen = m["claim_generator_info"][0]
    from importlib.metadata import version

    assert (gen["name"], gen["version"]) == ("reelforge", version("reelforge"))
    ingredients = {i["title"]: i for i in m["ingredients"]}
    assert {"shot one.mp4", "plain.mp4"} <= set(ingredients)
    assert ingredients["shot one.mp4"].get("active_manifest") == source_label  # its own manifest came along
    assert store["manifests"][source_label]["claim_generator_info"][0]["name"] == "test-video-model"
    assert "active_manifest" not in ingredients["plain.mp4"]
    assert any(t.startswith("voiceover") and t.endswith(".wav") for t in ingredients)
    names = [a["action"] for a in actions(m)]
    for want in ("c2pa.created", "c2pa.placed", "c2pa.edited", "c2pa.cropped", "c2pa.resized",
                 "c2pa.dubbed", "c2pa.transcoded"):
        assert want in names, names
    assert names[0] == "c2pa.created"
    assert any(a.get("digitalSourceType") == COMPOSITE_AI for a in actions(m))
    assert "test signer" in m["signature_info"]["common_name"]
    # export verified the manifest itself and said so; the key never appears anywhere
    assert "credentials" in r.stderr and "AI" in r.stderr
    key_text = chain["key"].read_text()
    body = key_text.splitlines()[1]
    assert body not in r.stderr and body not in r.stdout
    # reelforge's own reader agrees, through probe --json
    p = run_cli("probe", str(out), "--json", cwd=tmp_path)
    creds = json.loads(p.stdout)["content_credentials"]
    assert creds["present"] and creds["valid"] and creds["ai_generated"]
    assert creds["ai_declared_by"] == "asset" and creds["claim_generator"].startswith("reelforge")


def test_stream_copy_stitch_is_signed_and_repackaged(tmp_path: Path, chain: dict[str, Path]) -> None:
    a = sign_as_generator(make_clip(tmp_path / "a0.mp4", duration=1.0, audio=True), tmp_path / "a.mp4", chain)
    b = make_clip(tmp_path / "b.mp4", duration=1.0, audio=True, tone=660)
    r = run_cli("stitch", str(a), str(b), "-o", "joined.mp4", cwd=tmp_path, env=signing_env(chain))
    assert r.returncode == 0, r.stderr
    assert "stream copy" in r.stderr
    out = tmp_path / "joined.mp4"
    assert frames(out) == 60
    store = read_store(out, chain)
    assert store["validation_state"] == "Trusted"
    m = active(store)
    names = [x["action"] for x in actions(m)]
    assert "c2pa.repackaged" in names and "c2pa.transcoded" not in names
    assert {i["title"] for i in m["ingredients"]} == {"a.mp4", "b.mp4"}
    assert any(x.get("digitalSourceType") == COMPOSITE_AI for x in actions(m))


def test_unsigned_when_no_credentials_said_once(tmp_path: Path, vertical: str) -> None:
    make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    r = run_cli("export", "clip.mp4", "-p", vertical, "-p", "flat", "-o", "out", cwd=tmp_path, env=no_signing_env())
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("outputs are unsigned") == 1
    for name in (f"clip.{vertical}.mp4", "clip.flat.mp4"):
        assert not has_manifest(tmp_path / "out" / name)
    r = run_cli("export", "clip.mp4", "-p", "flat", "-o", "out2", "--provenance", "off", cwd=tmp_path,
                env=no_signing_env())
    assert r.returncode == 0 and "outputs are unsigned" not in r.stderr


def test_required_without_credentials_exits_2_before_any_work(tmp_path: Path, vertical: str) -> None:
    make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    r = run_cli("export", "clip.mp4", "-p", vertical, "-o", "out", "--provenance", "required", cwd=tmp_path,
                env=no_signing_env())
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--provenance" in lines[0] and "REELFORGE_C2PA_KEY" in lines[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()
    # the same as a pipeline key: the run stops before its first step
    (tmp_path / "p.yaml").write_text(
        "name: p\ninputs: [clip.mp4]\nsteps:\n  - stitch: {}\n"
        f"  - export: {{presets: [{vertical}], dir: out, provenance: required}}\n")
    r = run_cli("run", "p.yaml", cwd=tmp_path, env=no_signing_env())
    assert r.returncode == 2, r.stderr
    assert "provenance" in r.stderr and "REELFORGE_C2PA_KEY" in r.stderr
    assert not (tmp_path / "out").exists()


def test_unusable_key_is_bad_input_that_never_shows_the_key(tmp_path: Path, chain: dict[str, Path],
                                                            vertical: str) -> None:
    make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = tmp_path / "other.key.pem"
    wrong.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    env = {**signing_env(chain), "REELFORGE_C2PA_KEY": str(wrong)}
    r = run_cli("export", "clip.mp4", "-p", vertical, "-o", "out", cwd=tmp_path, env=env)
    assert r.returncode == 2
    assert "REELFORGE_C2PA_CERT" in r.stderr and "does not belong" in r.stderr
    assert wrong.read_text().splitlines()[1] not in r.stderr
    assert not (tmp_path / "out").exists()


def test_corrupt_source_manifest_is_reported_and_export_still_signs(tmp_path: Path, chain: dict[str, Path],
                                                                     vertical: str) -> None:
    good = sign_as_generator(make_clip(tmp_path / "raw.mp4", duration=1.0, audio=True), tmp_path / "good.mp4", chain)
    data = bytearray(good.read_bytes())
    at = data.find(b"jumd")  # the manifest store's first description box: break its structure
    assert at > 0
    data[at:at + 40] = b"\xff" * 40
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    p = run_cli("probe", str(bad), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    creds = json.loads(p.stdout)["content_credentials"]
    assert creds["present"] is True and creds["valid"] is False and creds["failures"]
    c = run_cli("check", str(bad), "--json", cwd=tmp_path)
    assert c.returncode in (0, 1) and json.loads(c.stdout)["content_credentials"]["state"] == "invalid"
    r = run_cli("export", str(bad), "-p", vertical, "-o", "out", cwd=tmp_path, env=signing_env(chain))
    assert r.returncode == 0, r.stderr
    store = read_store(tmp_path / "out" / f"damaged.{vertical}.mp4", chain)
    assert store["validation_state"] == "Trusted"
    assert [i["title"] for i in active(store)["ingredients"]] == ["damaged.mp4"]


def test_tampered_output_fails_verification(tmp_path: Path, chain: dict[str, Path], vertical: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.adapters.inputs import load_inputs
    from pipeline.errors import CheckFailed
    from pipeline.progress import Reporter
    from stages.export.exporting import ExportOptions, export_timeline, finish

    for k, v in signing_env(chain).items():
        monkeypatch.setenv(k, v)
    src = make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)
    opts = ExportOptions(presets=["flat"], folder=tmp_path / "out", stem="clip", verify=False)
    reporter = Reporter(quiet=True)
    outputs = export_timeline(load_inputs([str(src)]), opts, reporter)
    out = outputs[0].path
    assert has_manifest(out)
    data = bytearray(out.read_bytes())
    at = data.find(b"mdat") + 2000
    data[at:at + 16] = bytes(16)
    out.write_bytes(bytes(data))
    opts.verify = True
    with pytest.raises(CheckFailed, match="credentials"):
        finish(outputs, opts, reporter)


def test_generated_shot_records_its_provenance_and_is_marked_ai(tmp_path: Path, chain: dict[str, Path],
                                                                 vertical: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from pipeline.progress import Reporter
    from pipeline.run.runner import empty_timeline
    from pipeline.run.stage import StageContext, get_stage, validate_params
    from stages.export.exporting import ExportOptions, export_timeline

    gen = get_stage("generate")
    params = validate_params(gen, {"shots": [{"id": "s1", "prompt": "a red kite over a beach", "model": "sora-2",
                                              "duration": 4, "seed": 7}]}, "test")
    tl = gen.apply(empty_timeline(), params, StageContext(reporter=Reporter(quiet=True)))
    rec = next(p for p in tl.provenance if p.get("shot") == "s1")
    assert rec["provider"] == "local" and rec["model"] == "sora-2" and rec["seed"] == 7
    assert rec["prompt_sha256"] == hashlib.sha256(b"a red kite over a beach").hexdigest()
    assert rec["generated_at"].endswith("+00:00")
    assert Path(rec["source"]).is_file() and rec["credentials"]["state"] == "absent"
    for k, v in signing_env(chain).items():
        monkeypatch.setenv(k, v)
    opts = ExportOptions(presets=["flat"], folder=tmp_path / "out", stem="gen", provenance="required")
    out = export_timeline(tl, opts, Reporter(quiet=True))[0]
    assert out.verified.startswith("ok")
    m = active(read_store(out.path, chain))
    assert any(a.get("digitalSourceType") == COMPOSITE_AI for a in actions(m))
    shots = next(a for a in m["assertions"] if a["label"] == "org.reelforge.generation")["data"]["shots"]
    assert shots[0]["prompt_sha256"] == rec["prompt_sha256"] and shots[0]["seed"] == 7
    assert "prompt" not in shots[0] and shots[0]["provider"] == "local"
