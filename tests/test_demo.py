"""``make demo``: three nodes on loopback, real processes and HTTP, the whole story."""

from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import closing
from pathlib import Path

import httpx
import pyotp
import pytest

from hanoinet import demo


@pytest.fixture
def no_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[demo.Demo]:
    """``main`` with its folder under ``tmp_path`` and, instead of the nodes and the story, a
    ``play`` that writes a secret into the folder; the demos ``main`` made, to look at after."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made: list[demo.Demo] = []

    def play(d: demo.Demo) -> list[str]:
        made.append(d)
        (d.root / "xa" / "secrets").mkdir(parents=True)
        (d.root / "xa" / "secrets" / "passphrase").write_text("not secret", encoding="utf-8")
        return demo.where_to_look(d, {})

    monkeypatch.setattr(demo, "play", play)
    return made


def test_the_demo_removes_its_folder_on_exit(
    no_story: list[demo.Demo], capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--exit"]) == 0
    [made] = no_story
    assert not made.root.exists()
    out = capsys.readouterr().out
    assert f"Everything is in {made.root}, removed when the demo ends." in out
    assert out.splitlines()[-1] == f"Removed the demo's folder {made.root}."


def test_the_demo_removes_its_folder_when_it_fails_or_is_interrupted(
    no_story: list[demo.Demo], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(d: demo.Demo) -> list[str]:
        no_story.append(d)
        (d.root / "authority").mkdir()
        raise RuntimeError("timed out waiting until Aurelia (demo) is up")

    monkeypatch.setattr(demo, "play", failing)
    assert demo.main(["--exit"]) == 1
    assert "KEEP=1" in capsys.readouterr().err

    def interrupted(d: demo.Demo) -> list[str]:
        no_story.append(d)
        (d.root / "authority").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "play", interrupted)
    assert demo.main([]) == 0
    assert len(no_story) == 2 and not any(d.root.exists() for d in no_story)


def test_with_keep_the_folder_stays_and_it_says_how_to_remove_it(
    no_story: list[demo.Demo], capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--exit", "--keep"]) == 0
    [made] = no_story
    assert (made.root / "xa" / "secrets" / "passphrase").exists()
    out = capsys.readouterr().out
    assert f"rm -r {made.root}" in out.splitlines()[-1]
    lines = demo.where_to_look(made, {})
    assert lines[-1].split()[-3:] == ["rm", "-r", str(made.root)]


def _logged_in(base: str, username: str, password: str) -> httpx.Client:
    """A client through a first log-in on the node's pages: password, then a new one and an
    authenticator, as a person does it."""
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    started = client.post(
        "/login", data={"csrf": token[1], "username": username, "password": password, "code": ""}
    )
    assert started.headers["location"] == "/login/setup"
    setup = client.get("/login/setup")
    token = re.search(r'name="csrf" value="([^"]+)"', setup.text)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', setup.text)
    assert token is not None and secret is not None
    new = "correct horse battery staple"
    done = client.post(
        "/login/setup",
        data={
            "csrf": token[1],
            "new_password": new,
            "repeat_password": new,
            "code": pyotp.TOTP(secret[1]).now(),
        },
    )
    assert done.status_code == 303, done.text
    return client


def test_the_demo_tells_its_story_and_says_where_to_look(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole demo once (the slowest test of the suite): its story, then each page it lists."""
    root = Path(tempfile.mkdtemp(prefix="hanoinet-demo-"))  # where make demo puts it
    made = demo.Demo(root)
    try:
        lines = demo.play(made)
        out = capsys.readouterr().out
        for step in (
            "1. Emergency disclosure",
            "2. Expedited preservation",
            "3. The provider is in Caldera",
            "4. The follow-up request",
            "4b. The formal request follows each request",
            "5. The evidence",
            "6. Statistics for the Conference",
            "7. Dorado runs no node",
        ):
            assert step in out
        assert "Aurelia sees it executed" in out
        assert "Aurelia's node drafted a preservation request to Caldera" in out
        assert "preserved -> held" in out
        assert "Borealis recorded the condition accepted" in out  # 40(27), both ways
        assert "release (42) — held -> executed" in out  # once the request held for is decided
        assert "message_delivered" in out
        assert "EV-xb-node-000001: queued" in out  # packed and queued: Borealis's worker sends it
        assert "Aurelia verified the package and told Borealis" in out  # its worker, by message
        assert "received from" in out or "incoming accepted" in out
        assert "Borealis received it, verified" in out and "VERIFIED:" in out  # the signed PDF
        assert "Caldera received it in French, verified" in out
        assert "Overview of 2 reports" in out and "/statistics" in out  # signed, combined
        assert "send — recorded as sent by the diplomatic channel to" in out
        assert "acknowledge recorded, by post" in out and "dorado-acknowledgement.pdf" in out
        # Where to look: one short line per page of each node, the URLs in one column.
        assert "\n".join(lines) in out
        assert all(len(line) < 100 for line in lines), [ln for ln in lines if len(ln) >= 100]
        urls = [line for line in lines if "http://" in line]
        assert len(urls) == len(demo.PAGES) * len(demo.NODES)
        assert len({line.index("http://") for line in urls}) == 1
        # The folder, what it holds, and that Ctrl-C removes it (without --keep).
        assert any(str(root) in line and "passphrase" in line for line in lines)
        assert lines[-1].endswith("When done         Ctrl-C stops the nodes and removes the folder")
        # Each result follows its command: `case new` is shown, the evidence packed by
        # `evidence pack`, and lines of the demo's own are not indented as a command's output.
        shown = out.split("\n")
        new = shown.index(next(ln for ln in shown if "$ hanoinet case new" in ln))
        assert re.fullmatch(r"    Case C-\d+, request R-\d+: draft", shown[new + 1])
        pack = shown.index(next(ln for ln in shown if "$ hanoinet evidence pack" in ln))
        assert shown[pack + 1].startswith("    EV-xb-node-000001: 2 files")
        verify = shown.index(next(ln for ln in shown if "$ hanoinet document verify" in ln))
        first, second = shown[verify + 1 : verify + 3]  # its check lines, aligned as printed
        assert first.strip().startswith("ok") and second.strip().startswith("ok")
        assert len(first) - len(first.lstrip()) == len(second) - len(second.lstrip()) >= 4
        assert "\n... Borealis received it, verified\n" in out
        for node in ("xb",):
            base = f"http://127.0.0.1:{made.ports[node]}"
            with (
                closing(_logged_in(base, "duty", made.logins[node])) as duty,
                closing(_logged_in(base, "chief", made.chiefs[node])) as chief,
            ):
                for line in (u for u in urls if u.split()[-1].startswith(base)):
                    url = line.split()[-1]
                    answers = [person.get(url).status_code for person in (duty, chief)]
                    assert 200 in answers, f"{line.strip()}: {answers}"
    finally:
        made.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_demo_answers_help_and_refuses_an_unknown_option_before_starting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hanoinet.demo import main

    assert main(["--help"]) == 0
    assert "--keep" in capsys.readouterr().out
    assert main(["--kep"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --kep is not an option of the demo")
