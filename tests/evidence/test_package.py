"""Evidence packages end to end: pack, verify, unpack, and every kind of bad package.

Tampered packages are made the way an attacker would: decrypt (or intercept the
plaintext), change the tar, re-encrypt to the receiver (age is public-key: anyone can
encrypt to a node). Each is detected, named, and nothing is unpacked.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import bagit
import pyrage
import pytest

from hanoinet.evidence import agekeys
from hanoinet.evidence import package as pkg
from hanoinet.evidence.bag import BagError, sources
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.token import TokenSettings, open_token

from .conftest import T0, World, _entry

Make = Callable[..., pkg.Packed]


def _verify(world: World, path: Path, **kw: object) -> pkg.Verification:
    return pkg.verify(
        path,
        trust=world.trust,
        identities=world.identities(world.receiver_keys),
        validate_case=False,
        **kw,
    )  # type: ignore[arg-type]


def _status(result: pkg.Verification) -> dict[str, str]:
    return {c.name: c.status for c in result.checks}


def _codes(result: pkg.Verification) -> set[tuple[str, str]]:
    return {(p.code, p.where) for p in result.problems}


def test_a_package_verifies_with_every_check_named(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    assert set(packed.files) == {
        "data/collected/account.json",
        "data/collected/image.bin",
        "data/collected/logs/access.log",
    }
    assert pkg.is_encrypted(packed.path)
    result = pkg.verify(
        packed.path, trust=world.trust, identities=world.identities(world.receiver_keys)
    )
    assert result.ok, (result.checks, result.problems)
    assert list(_status(result)) == [
        "decrypt",
        "structure",
        "signature",
        "tag manifests",
        "payload",
        "custody",
        "conditions",
        "CASE/UCO",
    ]
    shape = result.as_dict()
    assert shape["verified"] is True
    assert shape["package"] == "EV-xa-central-000001"
    assert shape["sender"] == "xa-central" and shape["recipient"] == "xb-central"
    image = next(f for f in shape["files"] if f["path"] == "data/collected/image.bin")
    assert (
        image["bytes"] == 256 * 4096 and len(image["sha256"]) == 64 and len(image["sha512"]) == 128
    )
    kinds = {c["kind"]: c for c in shape["conditions"]["conditions"]}
    assert kinds["speciality"]["article"] == "40(19)" and kinds["speciality"]["verified"] is False
    assert kinds["onward_transfer"]["article"] == "36(3)"
    assert kinds["confidentiality"]["article"] == "40(20)"


def test_the_sender_can_open_its_own_copy_when_it_is_a_recipient(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    both = [
        agekeys.recipient_string(world.receiver_keys.active("enc", T0).private),
        agekeys.recipient_string(world.sender_keys.active("enc", T0).private),
    ]
    packed = make_package([evidence_files], recipients=both)
    mine = pkg.verify(
        packed.path,
        trust=world.trust,
        identities=world.identities(world.sender_keys),
        validate_case=False,
    )
    assert mine.ok, (mine.checks, mine.problems)


def test_standard_tools_read_the_package(
    world: World, make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    """age -d | tar x, then bagit's own validation: what a State's own tools would do."""
    packed = make_package([evidence_files])
    identity = tmp_path / "xb.key"
    identity.write_text(
        agekeys.identity_string(world.receiver_keys.active("enc", T0).private) + "\n"
    )
    identity.chmod(0o600)
    plain = subprocess.run(
        ["age", "-d", "-i", str(identity), str(packed.path)], capture_output=True, check=True
    ).stdout
    out = tmp_path / "extracted"
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        tar.extractall(out, filter="data")
    bag = bagit.Bag(str(out / "EV-xa-central-000001"))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["External-Identifier"] == "EV-xa-central-000001"
    assert bag.info["Payload-Oxum"] == f"{packed.payload_bytes}.3"
    # the unpacked folder verifies offline too (signature, manifests, custody)
    folder = pkg.verify(out / "EV-xa-central-000001", trust=world.trust, validate_case=False)
    assert folder.ok, (folder.checks, folder.problems)


@pytest.mark.parametrize("theirs", [("XB", "XB/2026/4"), None])
def test_both_states_references_are_in_the_bag_and_the_signed_statement(
    world: World,
    make_package: Make,
    evidence_files: Path,
    tmp_path: Path,
    theirs: tuple[str, str] | None,
) -> None:
    """The sending State's reference of the request and, once it knows it, the requesting
    State's: in bag-info.txt (BagIt's own tools read them) and in the signed statement."""
    packed = make_package([evidence_files], peer_reference=theirs)
    identity = tmp_path / "xb.key"
    identity.write_text(
        agekeys.identity_string(world.receiver_keys.active("enc", T0).private) + "\n"
    )
    identity.chmod(0o600)
    plain = subprocess.run(
        ["age", "-d", "-i", str(identity), str(packed.path)], capture_output=True, check=True
    ).stdout
    out = tmp_path / "extracted"
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        tar.extractall(out, filter="data")
    bag = bagit.Bag(str(out / "EV-xa-central-000001"))
    bag.validate()
    assert bag.info["Internal-Sender-Identifier"] == "R-000001"
    if theirs is None:
        assert "Requesting-State-Reference" not in bag.info
    else:
        assert bag.info["Requesting-State-Reference"] == "XB XB/2026/4"
        assert "request R-000001 (reference of XB: XB/2026/4)" in bag.info["External-Description"]
    found = _verify(world, packed.path)
    assert found.ok, (found.checks, found.problems)
    said = found.as_dict()
    assert (said["reference"], said["peer_reference"]) == (
        "R-000001",
        theirs[1] if theirs else None,
    )


def test_unpack_writes_a_complete_bag(
    world: World, make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    packed = make_package([evidence_files])
    result = pkg.unpack(
        packed.path,
        tmp_path / "cases",
        trust=world.trust,
        identities=world.identities(world.receiver_keys),
    )
    assert result.ok, result.as_dict()
    bag_dir = tmp_path / "cases" / "EV-xa-central-000001"
    assert (bag_dir / "data/collected/image.bin").read_bytes() == (
        evidence_files / "image.bin"
    ).read_bytes()
    bagit.Bag(str(bag_dir)).validate()
    assert [p.name for p in (tmp_path / "cases").iterdir()] == ["EV-xa-central-000001"]


def test_unpack_twice_refuses_to_overwrite(
    world: World, make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    packed = make_package([evidence_files])
    ids = world.identities(world.receiver_keys)
    assert pkg.unpack(packed.path, tmp_path / "u", trust=world.trust, identities=ids).ok
    again = pkg.unpack(packed.path, tmp_path / "u", trust=world.trust, identities=ids)
    assert not again.ok and ("exists", str(tmp_path / "u" / "EV-xa-central-000001")) in _codes(
        again
    )


# ---- bad packages --------------------------------------------------------------------


def _plain(world: World, path: Path) -> bytes:
    return pyrage.decrypt(path.read_bytes(), world.identities(world.receiver_keys))


def _rewrite(world: World, path: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Decrypt, let ``change`` edit {member name: bytes}, re-tar and re-encrypt to XB."""
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(_plain(world, path))) as tar:
        for m in tar:
            f = tar.extractfile(m)
            assert f is not None
            members[m.name] = f.read()
    change(members)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    recipient = agekeys.recipient(world.receiver_keys.active("enc", T0).private)
    bad = path.with_name("tampered.age")
    bad.write_bytes(pyrage.encrypt(buffer.getvalue(), [recipient]))
    return bad


ROOT = "EV-xa-central-000001"


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


@pytest.mark.parametrize(
    ("change", "check", "expected"),
    [
        pytest.param(
            lambda m: m.__setitem__(
                f"{ROOT}/data/collected/account.json", b'{"account": "someone-else"}\n'
            ),
            "payload",
            ("hash_mismatch", "data/collected/account.json"),
            id="tampered-payload",
        ),
        pytest.param(
            lambda m: m.pop(f"{ROOT}/data/collected/logs/access.log"),
            "payload",
            ("missing", "data/collected/logs/access.log"),
            id="missing-file",
        ),
        pytest.param(
            lambda m: m.__setitem__(f"{ROOT}/data/planted.txt", b"planted\n"),
            "payload",
            ("extra", "data/planted.txt"),
            id="extra-file",
        ),
        pytest.param(
            lambda m: m.__setitem__(f"{ROOT}/notes.txt", b"unsigned\n"),
            "tag manifests",
            ("extra", "notes.txt"),
            id="extra-tag-file",
        ),
        pytest.param(
            lambda m: m.__setitem__(
                f"{ROOT}/manifest-sha256.txt",
                m[f"{ROOT}/manifest-sha256.txt"].replace(
                    b"data/collected/image.bin", b"data/collected/image.bin "
                ),
            ),
            "tag manifests",
            ("tampered", "manifest-sha256.txt"),
            id="tampered-manifest",
        ),
        pytest.param(
            lambda m: m.__setitem__(
                f"{ROOT}/custody.jsonld",
                m[f"{ROOT}/custody.jsonld"].replace(b"Officer K", b"Officer Z"),
            ),
            "tag manifests",
            ("tampered", "custody.jsonld"),
            id="tampered-custody",
        ),
        pytest.param(
            lambda m: m.__setitem__(
                f"{ROOT}/conditions.json",
                m[f"{ROOT}/conditions.json"].replace(b"40(19)", b"40(18)"),
            ),
            "tag manifests",
            ("tampered", "conditions.json"),
            id="tampered-conditions",
        ),
        pytest.param(
            lambda m: m.__setitem__(
                f"{ROOT}/tagmanifest-sha512.txt", m[f"{ROOT}/tagmanifest-sha512.txt"] + b"\n"
            ),
            "tag manifests",
            ("tampered", "tagmanifest-sha512.txt"),
            id="tampered-tagmanifest",
        ),
    ],
)
def test_a_changed_package_is_detected_and_named(
    world: World,
    make_package: Make,
    evidence_files: Path,
    tmp_path: Path,
    change: Callable[[dict[str, bytes]], None],
    check: str,
    expected: tuple[str, str],
) -> None:
    packed = make_package([evidence_files])
    bad = _rewrite(world, packed.path, change)
    result = _verify(world, bad)
    assert not result.ok
    assert _status(result)["signature"] == "passed"  # the signature is intact; the content is not
    assert _status(result)[check] == "failed"
    assert expected in _codes(result), result.as_dict()["problems"]
    unpacked = pkg.unpack(
        bad, tmp_path / "u", trust=world.trust, identities=world.identities(world.receiver_keys)
    )
    assert not unpacked.ok
    assert not (tmp_path / "u").exists()  # made for the unpack, removed when nothing came of it


def test_a_forged_signature_stops_before_anything_signed_is_read(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])

    def forge(m: dict[str, bytes]) -> None:
        head, payload, sig = m[f"{ROOT}/hanoinet-signature.jws"].strip().split(b".")
        m[f"{ROOT}/hanoinet-signature.jws"] = b".".join([head, payload, _flip(sig)])
        m[f"{ROOT}/custody.jsonld"] = b"not even json"

    result = _verify(world, _rewrite(world, packed.path, forge))
    assert _status(result)["signature"] == "failed"
    assert ("forged", "hanoinet-signature.jws") in _codes(result)
    assert {_status(result)[n] for n in pkg.LATER} == {"not_checked"}
    assert result.custody is None and result.conditions is None


def test_a_package_signed_by_a_node_outside_the_directory_is_refused(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files], sender=world.sender(world.outsider_keys))
    result = _verify(world, packed.path)
    assert ("unknown_signer", "hanoinet-signature.jws") in _codes(result)


def test_a_directory_not_signed_by_the_trusted_authority_is_refused(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    from hanoinet.exchange import crypto

    packed = make_package([evidence_files])
    other = crypto.generate_signing_key()
    trust = pkg.Trust({"someone": crypto.public_jwk(other)})
    result = pkg.verify(
        packed.path,
        trust=trust,
        identities=world.identities(world.receiver_keys),
        validate_case=False,
    )
    assert _status(result)["signature"] == "failed"
    assert ("directory_refused", "hanoinet-directory.jws") in _codes(result)


def test_an_unsigned_package_is_refused(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    result = _verify(
        world, _rewrite(world, packed.path, lambda m: m.pop(f"{ROOT}/hanoinet-signature.jws"))
    )
    assert ("unsigned", "hanoinet-signature.jws") in _codes(result)


def test_the_wrong_key_is_named(world: World, make_package: Make, evidence_files: Path) -> None:
    packed = make_package([evidence_files])
    result = pkg.verify(
        packed.path,
        trust=world.trust,
        identities=world.identities(world.outsider_keys),
        validate_case=False,
    )
    assert _status(result)["decrypt"] == "failed"
    assert {p.code for p in result.problems} == {"wrong_key"}
    assert "not encrypted to any key this node holds" in result.problems[0].message


def test_a_truncated_package_is_detected(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    data = packed.path.read_bytes()
    packed.path.write_bytes(data[: len(data) - 1000])
    result = _verify(world, packed.path)
    assert _status(result)["decrypt"] == "failed"
    assert {p.code for p in result.problems} == {"damaged"}


def test_a_corrupted_byte_is_detected(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    data = bytearray(packed.path.read_bytes())
    data[len(data) // 2] ^= 0x40
    packed.path.write_bytes(bytes(data))
    result = _verify(world, packed.path)
    assert {p.code for p in result.problems} == {"damaged"}


def test_a_path_escaping_the_bag_is_refused(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    bad = _rewrite(world, packed.path, lambda m: m.__setitem__("../../etc/evil", b"x"))
    result = _verify(world, bad)
    assert _status(result)["structure"] == "failed"
    assert ("unsafe_path", "../../etc/evil") in _codes(result)


def test_the_case_validation_names_a_custody_graph_that_does_not_conform(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    """A custody graph that is signed but does not conform to CASE fails the CASE/UCO check."""
    from hanoinet.evidence import custody

    bad = json.dumps(
        {
            "@context": custody.CONTEXT,
            "@graph": [
                {
                    "@id": "kb:x",
                    "@type": "uco-observable:File",
                    "uco-observable:sizeInBytes": "lots",
                }
            ],
        }
    )
    validation = custody.validate(bad.encode())
    assert not validation.conforms


# ---- packing refuses bad input and leaves nothing behind --------------------------------


def test_packing_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(BagError) as caught:
        sources([tmp_path / "nope.bin"])
    assert caught.value.code == "missing" and "nope.bin" in caught.value.where


def test_packing_refuses_a_symbolic_link(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(BagError) as caught:
        sources([tmp_path / "link"])
    assert caught.value.code == "link"


def test_packing_refuses_two_files_of_the_same_name(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "same.txt").write_text(d)
    with pytest.raises(BagError) as caught:
        sources([tmp_path / "a" / "same.txt", tmp_path / "b" / "same.txt"])
    assert caught.value.code == "duplicate"


def test_a_file_that_changes_during_packing_leaves_no_package(
    world: World, make_package: Make, tmp_path: Path
) -> None:
    f = tmp_path / "growing.log"
    f.write_bytes(b"x" * 100)
    listed = sources([f])
    f.write_bytes(b"x" * 50)  # shrank after it was listed
    out = tmp_path / "out" / "p.age"
    with pytest.raises(BagError) as caught:
        pkg.pack(
            listed,
            out,
            package_id="EV-1",
            request_uid="u",
            reference="R-1",
            sender=world.sender(),
            recipient_node="xb-central",
            recipients=[agekeys.recipient_string(world.receiver_keys.active("enc", T0).private)],
            conditions=__import__("hanoinet.evidence.conditions", fromlist=["x"]).conditions_for(
                request_uid="u", reference="R-1", matter=None, confidential=False
            ),
            collection=__import__("tests.evidence.conftest", fromlist=["x"]).COLLECTION,
            actor="alice",
            version="0.1.0",
            at=T0,
        )
    assert caught.value.code == "changed"
    assert list(out.parent.iterdir()) == []


def test_file_names_with_newlines_survive_as_bagit_encodes_them(
    world: World, make_package: Make, tmp_path: Path
) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "line\nbreak.txt").write_text("x")
    (odd / "100% sure.txt").write_text("y")
    packed = make_package([odd])
    result = pkg.unpack(
        packed.path,
        tmp_path / "u",
        trust=world.trust,
        identities=world.identities(world.receiver_keys),
    )
    assert result.ok, result.as_dict()
    manifest = (tmp_path / "u" / ROOT / "manifest-sha256.txt").read_text()
    assert "data/odd/line%0Abreak.txt" in manifest
    bagit.Bag(str(tmp_path / "u" / ROOT)).validate()


# ---- found in review -----------------------------------------------------------------


def test_a_malformed_tar_inside_valid_age_is_named_not_raised(world: World, tmp_path: Path) -> None:
    recipient = agekeys.recipient(world.receiver_keys.active("enc", T0).private)
    for name, plain in (
        ("empty", b""),
        ("garbage", b"not a tar at all" * 100),
        ("cut", b"x" * 700),
    ):
        bad = tmp_path / f"{name}.age"
        bad.write_bytes(pyrage.encrypt(plain, [recipient]))
        result = _verify(world, bad)
        assert _status(result)["structure"] == "failed", name
        assert ("malformed", "package") in _codes(result)


def test_a_bag_tarred_again_with_the_standard_tool_verifies(
    world: World, make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    packed = make_package([evidence_files])
    out = tmp_path / "x"
    with tarfile.open(fileobj=io.BytesIO(_plain(world, packed.path))) as tar:
        tar.extractall(out, filter="data")
    subprocess.run(["tar", "cf", str(tmp_path / "again.tar"), "-C", str(out), ROOT], check=True)
    result = pkg.verify(tmp_path / "again.tar", trust=world.trust, validate_case=False)
    assert result.ok, (result.checks, result.problems)


def test_a_symlinked_folder_in_an_unpacked_bag_is_extra(
    world: World, make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    packed = make_package([evidence_files])
    assert pkg.unpack(
        packed.path,
        tmp_path / "u",
        trust=world.trust,
        identities=world.identities(world.receiver_keys),
    ).ok
    (tmp_path / "u" / ROOT / "data" / "etc").symlink_to("/etc")
    result = pkg.verify(tmp_path / "u" / ROOT, trust=world.trust, validate_case=False)
    assert not result.ok and ("extra", "data/etc") in _codes(result)


@pytest.mark.parametrize(
    "name", ["trailing ", " leading", "a%0Ab", "a%0dB", "line\u2028sep", "x\x85y"]
)
def test_names_a_manifest_cannot_carry_are_refused_at_packing(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")
    with pytest.raises(BagError) as caught:
        sources([tmp_path / name])
    assert caught.value.code == "unsupported_name"


def test_a_custody_graph_naming_a_remote_context_is_never_fetched(tmp_path: Path) -> None:
    import http.server
    import threading

    from hanoinet.evidence import custody

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/internal-admin"
        for graph in (
            {"@context": url, "@graph": []},
            {"@context": {"kb": "urn:x"}, "@graph": [{"@context": url, "@id": "kb:a"}]},
            {"@context": "file:///etc/hostname", "@graph": []},
        ):
            assert not custody.validate(json.dumps(graph).encode()).conforms
        assert pkg._remote_contexts({"@graph": [{"@context": [url]}]}) == [repr(url)]
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_a_package_signed_through_a_token_verifies(
    world: World, make_package: Make, evidence_files: Path, softhsm: TokenSettings
) -> None:
    """Issue 25 item 1: the signed statement of a package is signed in the PKCS#11 token
    when the sender's key is kept there."""
    keys = KeySet.generate(T0 - timedelta(days=10), open_token(softhsm))
    directory = Directory(
        version=2,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=90),
        nodes=(_entry("xa-central", keys), _entry("xb-central", world.receiver_keys)),
    )
    token = dirmod.issue(directory, world.authority_key, world.authority_kid).token
    sig = keys.active("sig", T0)
    assert sig.kept_in == "token"
    sender = pkg.Sender(
        "xa-central", "Central authority of XA (demo)", "XA", sig.kid, sig.signing_key, token
    )
    packed = make_package([evidence_files], sender=sender)
    result = pkg.verify(
        packed.path, trust=world.trust, identities=world.identities(world.receiver_keys)
    )
    assert result.ok, (result.checks, result.problems)
    assert result.as_dict()["sender"] == "xa-central"


def test_large_buffers_stay_in_the_heap_once_per_process(
    monkeypatch: pytest.MonkeyPatch, world: World, make_package: Make, evidence_files: Path
) -> None:
    """glibc's dynamic mmap threshold made every 1 MiB chunk a mapping of its own in some
    runs (twice the time, in the kernel): pack and verify fix the threshold, once."""
    calls: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, parameter: int, value: int) -> int:
            calls.append((parameter, value))
            return 1

    monkeypatch.setattr(pkg, "_steadied", False)
    monkeypatch.setattr(pkg.ctypes, "CDLL", lambda name: Libc())
    packed = make_package([evidence_files])
    assert _verify(world, packed.path).ok
    assert calls == [(pkg.M_MMAP_THRESHOLD, 16 << 20), (pkg.M_TRIM_THRESHOLD, 64 << 20)]
