"""``make demo``: three nodes of three illustrative States on loopback, and a story.

Aurelia (XA), Borealis (XB) and Caldera (XC) are fictional demo States. The
demo creates, in a fresh folder, a directory authority and one node per State
(its own keys and SQLite database), issues and distributes the signed
directory, starts each node's server and worker as separate processes on free
loopback ports, then runs the story with real ``hanoinet`` commands (run in the demo's own
process, each with its node's environment, as a shell would run them):

1. an emergency disclosure through the 24/7 network (41), acknowledged and executed;
2. a preservation request (42), acknowledged and preserved;
3. Borealis finds the provider in Caldera (43): Aurelia's node drafts a preservation
   request to Caldera, which the officer translates, checks and sends;
4. the follow-up MLA request (44), and the preservation held until it is decided;
5. Borealis consults, Aurelia accepts its condition (40(27)); the evidence, packed with that
   condition, signed, encrypted and sent in chunks; the preserved data released (42);
6. each node's statistics (55, 57): exported signed, combined by the secretariat.

Then it keeps running until Ctrl-C, printing where to look. ``--exit`` stops
after the story (the tests use it). On the way out (Ctrl-C, ``--exit`` or a failure) it
removes its folder, which holds keys, a passphrase and admin passwords, unless ``--keep``.

Each command's output follows the command, indented by four spaces; what the demo itself
notices or does between commands starts with ``...``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PASSPHRASE = "demo-authority-passphrase-not-secret"
NODES = {
    "xa": ("XA", "Aurelia (demo)", "en,fr"),
    "xb": ("XB", "Borealis (demo)", "en,es"),
    "xc": ("XC", "Caldera (demo)", "fr"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hanoinet(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``hanoinet *args`` in this process with exactly ``env`` as its environment: the same
    command, output and exit code as in a shell, without a second or more of start-up for each
    of the story's hundred-odd commands. Returns the exit code, stdout and stderr."""
    from hanoinet.cli.main import app

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                app(args=list(args), prog_name="hanoinet")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


class Demo:
    def __init__(self, root: Path, *, keep: bool = False) -> None:
        self.root = root
        self.keep = keep
        """Whether the folder stays after the demo (``--keep``); ``main`` removes it otherwise."""
        self.authority = root / "authority" / "authority.pub.json"
        self.ports = {n: _free_port() for n in NODES}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logins: dict[str, str] = {}
        self.chiefs: dict[str, str] = {}
        """Each node's supervisor (statistics, audit log): the initial password."""
        self.extra_env: dict[str, dict[str, str]] = {}
        """Settings of a node beyond the demo's (tests: a node on PostgreSQL)."""

    def env(self, node: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANOINET_")}
        env["HANOINET_DIRECTORY_AUTHORITY"] = str(self.authority)
        env["HANOINET_USER"] = f"{node or 'secretariat'}-officer (demo)"
        if node:
            env["HANOINET_DATA_DIR"] = str(self.root / node)
            env.update(self.extra_env.get(node, {}))
        return env

    def run(
        self,
        node: str | None,
        *args: str,
        show: bool = True,
        check: bool = True,
        extra: dict[str, str] | None = None,
    ) -> str:
        label = f"[{NODES[node][1]}] " if node else "[secretariat] "
        if show:
            print(f"{label}$ hanoinet {shlex.join(args)}", flush=True)
        code, stdout, stderr = _hanoinet(args, self.env(node) | (extra or {}))
        if show and stdout.strip():
            # Indented as a whole: a command's own indentation (its first line's too) stays.
            lines = stdout.rstrip().split("\n")
            while not lines[0].strip():
                lines.pop(0)
            print("\n".join(f"    {line}" if line else "" for line in lines), flush=True)
        if code != 0 and check:
            raise RuntimeError(f"hanoinet {' '.join(args)} failed ({code}): {stderr.strip()}")
        return stdout

    def call(
        self, node: str | None, *args: str, extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``hanoinet *args`` as ``node``, in this process, unshown: its exit code, stdout and
        stderr (for tests of the commands, which need no second interpreter for each)."""
        code, stdout, stderr = _hanoinet(args, self.env(node) | (extra or {}))
        return subprocess.CompletedProcess(["hanoinet", *args], code, stdout, stderr)

    def json(self, node: str, *args: str) -> Any:
        return json.loads(self.run(node, *args, "--json", show=False))

    def setup(self, nodes: tuple[str, ...] = tuple(NODES), *, users: bool = True) -> None:
        """The authority, ``nodes`` (all three by default) with their keys and the directory,
        and, with ``users``, someone to log in to each web desk. (Tests set up fewer.)"""
        secret = {"HANOINET_KEY_PASSPHRASE": PASSPHRASE}
        self.run(
            None,
            "directory",
            "authority-init",
            "--key",
            str(self.root / "authority" / "authority.jwe"),
            extra=secret,
        )
        for node in nodes:
            state, name, languages = NODES[node]
            roles = "central_authority" if node == "xc" else "central_authority,point_of_contact"
            self.run(
                node,
                "node",
                "init",
                "--id",
                f"{node}-node",
                "--state",
                state,
                "--name",
                name,
                "--endpoint",
                f"http://127.0.0.1:{self.ports[node]}",
                "--roles",
                roles,
                "--languages",
                languages,
            )
        directory = self.root / "authority" / "directory-v1.jws"
        self.run(
            None,
            "directory",
            "issue",
            *(str(self.root / n / "node.json") for n in nodes),
            "--key",
            str(self.root / "authority" / "authority.jwe"),
            "--version",
            "1",
            "--out",
            str(directory),
            extra=secret,
        )
        for node in nodes:
            self.run(node, "directory", "accept", str(directory))
        for node in nodes if users else ():  # someone to log in to each web desk (illustrative)
            added = self.json(node, "user", "add", "duty", "--role", "duty_officer")
            self.logins[node] = str(added["initial_password"])
            chief = self.json(node, "user", "add", "chief", "--role", "supervisor")
            self.chiefs[node] = str(chief["initial_password"])

    def start(self, nodes: tuple[str, ...] = tuple(NODES)) -> None:
        for node in nodes:
            for command in (["serve"], ["worker", "--interval", "0.2"]):
                with (self.root / node / f"{command[0]}.log").open("wb") as log:
                    # The child keeps its own copy of the file descriptor.
                    self.processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "hanoinet", *command],
                            env=self.env(node),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
        for node in nodes:
            # A loaded or slow machine takes a while to import everything three times over.
            self.wait(self._health_check(node), f"{NODES[node][1]} is up", timeout=90)

    def _health_check(self, node: str) -> Callable[[], bool]:
        return lambda: self._healthy(node)

    def _healthy(self, node: str) -> bool:
        import httpx

        try:
            return (
                httpx.get(
                    f"http://127.0.0.1:{self.ports[node]}/api/v1/health", timeout=1
                ).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                say(f"... {what}")
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting until {what}; logs in {self.root}")

    def incoming(self, node: str, kind: str) -> dict[str, Any] | None:
        rows = self.json(node, "case", "list")["requests"]
        return next((r for r in rows if r["direction"] == "incoming" and r["kind"] == kind), None)

    def state(self, node: str, request: str) -> str:
        return str(self.json(node, "case", "show", request)["requests"][0]["state"])

    def stop(self) -> None:
        for p in self.processes:
            p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _example(name: str) -> str:
    from importlib import resources

    return str(resources.files("hanoinet.demo_data").joinpath(name))


def _formal_document(demo: Demo, node: str, request: str, what: str) -> dict[str, Any]:
    """Wait for the formal document of an incoming request; it must have verified."""

    def arrived() -> bool:
        return bool(demo.json(node, "document", "list", request)["documents"])

    demo.wait(arrived, what, timeout=60)
    [kept] = demo.json(node, "document", "list", request)["documents"]
    if kept["status"] != "received":
        raise RuntimeError(f"the formal document of {request} did not verify: {kept['problem']}")
    return dict(kept)


def say(text: str) -> None:
    """A line of the demo's own, between commands (not indented: no command printed it)."""
    print(text, flush=True)


def _new_case(demo: Demo, node: str, example: str, title: str) -> tuple[str, str]:
    """``case new`` from an example, shown; returns the request and the case it opened."""
    out = demo.run(node, "case", "new", "--from", _example(example), "--title", title)
    found = re.search(r"Case (\S+), request (\S+):", out)
    if found is None:
        raise RuntimeError(f"hanoinet case new printed no case and request: {out.strip()}")
    return found[2], found[1]


def story(demo: Demo) -> dict[str, str]:
    """The story; returns, for each node, a request whose case page shows much of it."""
    print("\n== 1. Emergency disclosure through the 24/7 network (art. 41)", flush=True)
    emergency, _ = _new_case(demo, "xa", "emergency-xa-xb.json", "School bomb threat (demo)")
    demo.run("xa", "case", "act", emergency, "check")
    demo.run("xa", "case", "act", emergency, "send")
    demo.wait(
        lambda: demo.incoming("xb", "emergency_disclosure") is not None,
        "Borealis's 24/7 desk received it",
    )
    theirs = demo.incoming("xb", "emergency_disclosure")
    assert theirs is not None
    demo.run("xb", "case", "act", theirs["id"], "acknowledge")
    demo.run("xb", "case", "act", theirs["id"], "start_execution")
    demo.run("xb", "case", "act", theirs["id"], "execute")
    demo.wait(lambda: demo.state("xa", emergency) == "executed", "Aurelia sees it executed")

    print("\n== 2. Expedited preservation (art. 42)", flush=True)
    preservation, case = _new_case(
        demo, "xa", "preservation-xa-xb.json", "Hospital mail server intrusion (demo)"
    )
    demo.run("xa", "case", "act", preservation, "check")
    demo.run("xa", "case", "act", preservation, "send")
    demo.wait(lambda: demo.incoming("xb", "preservation") is not None, "Borealis received it")
    theirs = demo.incoming("xb", "preservation")
    assert theirs is not None
    demo.run("xb", "case", "act", theirs["id"], "acknowledge")
    demo.run("xb", "case", "act", theirs["id"], "record_preserved")
    demo.wait(
        lambda: demo.state("xa", preservation) == "preserved",
        "Aurelia sees the data preserved for 60 days",
    )

    print("\n== 3. The provider is in Caldera (art. 43)", flush=True)
    demo.run(
        "xb",
        "case",
        "act",
        theirs["id"],
        "disclose_partial_traffic",
        "--third-state",
        "XC",
        "--reason",
        "Traffic data shows the connection came through a Caldera provider",
    )
    demo.wait(
        lambda: len(demo.json("xa", "case", "show", case)["requests"]) == 2,
        "Aurelia's node drafted a preservation request to Caldera in the same case",
    )
    seeded = demo.json("xa", "case", "show", case)["requests"][1]
    errors = [f for f in seeded["findings"] if f["severity"] == "error"]
    for f in errors:
        say(f"... its check finds: {f['message']} ({f['article']})")
    say("... the officer translates the request into French, as Caldera requires (40(14)):")
    document = dict(seeded["document"], language="fr")
    translated = demo.root / "xa" / "preservation-to-caldera.fr.json"
    translated.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    demo.run("xa", "case", "edit", seeded["id"], "--from", str(translated))
    demo.run("xa", "case", "act", seeded["id"], "check")
    demo.run("xa", "case", "act", seeded["id"], "send")
    demo.wait(lambda: demo.incoming("xc", "preservation") is not None, "Caldera received it")

    print("\n== 4. The follow-up request for mutual legal assistance (art. 44)", flush=True)
    mla, _ = _new_case(demo, "xa", "mla-xa-xb.json", "Hospital intrusion: logs (demo)")
    demo.run("xa", "case", "act", mla, "check")
    demo.run("xa", "case", "act", mla, "send")
    demo.wait(
        lambda: demo.incoming("xb", "stored_data") is not None, "Borealis received the MLA request"
    )
    demo.wait(
        lambda: any(
            m["type"] == "request" and m["status"] == "delivered"
            for m in demo.json("xa", "case", "show", mla)["requests"][0]["messages"]
        ),
        "Borealis's signed receipt for it is in",
    )
    say("... Borealis now holds the preserved data until this request is decided (42):")
    demo.run("xa", "case", "act", preservation, "link_mla", "--related", mla)
    demo.run("xa", "case", "timeline", case)

    print(
        "\n== 4b. The formal request follows each request: a signed PDF/A in the requested "
        "State's language (40(14))",
        flush=True,
    )
    theirs_mla = demo.incoming("xb", "stored_data")
    assert theirs_mla is not None
    kept = _formal_document(demo, "xb", theirs_mla["id"], "Borealis received it, verified")
    paper = demo.root / "xb" / "formal-request-from-aurelia.pdf"
    demo.run("xb", "document", "save", theirs_mla["id"], str(kept["id"]), "--out", str(paper))
    say("... anyone with the directory authority's public key can check it offline:")
    demo.run(None, "document", "verify", str(paper))
    theirs_fr = demo.incoming("xc", "preservation")
    assert theirs_fr is not None
    _formal_document(demo, "xc", theirs_fr["id"], "Caldera received it in French, verified")
    demo.run("xc", "document", "list", theirs_fr["id"])

    print("\n== 5. The evidence: packed, signed, encrypted, sent in chunks (40, 36(3))", flush=True)
    asked = demo.incoming("xb", "stored_data")
    assert asked is not None
    demo.run("xb", "case", "act", asked["id"], "acknowledge")
    say("... Borealis consults first, proposing a condition on the use (40(27)):")
    demo.run(
        "xb", "case", "act", asked["id"], "consult",
        "--reason", "The log also covers other customers: can its use be limited?",
        "--conditions", "Used only in the proceedings named in the request (illustrative).",
    )  # fmt: skip
    demo.wait(
        lambda: (
            demo.json("xa", "case", "show", mla)["requests"][0]["conditions"]["proposed"]
            is not None
        ),
        "Aurelia received the consultation",
    )
    demo.run("xa", "case", "act", mla, "accept_conditions")
    demo.wait(
        lambda: bool(
            demo.json("xb", "case", "show", asked["id"])["requests"][0]["conditions"]["agreed"]
        ),
        "Borealis recorded the condition accepted: it binds Aurelia and travels with the evidence",
    )
    demo.run("xb", "case", "act", asked["id"], "start_execution")
    exported = demo.root / "xb" / "collected-demo"
    (exported / "mail-server").mkdir(parents=True, exist_ok=True)
    lines = "".join(
        f"2026-11-{d:02d}T{h:02d}:14:07Z smtp-in 192.0.2.{h} rejected (ILLUSTRATIVE DEMO LOG)\n"
        for d in range(1, 29)
        for h in range(24)
    )
    (exported / "mail-server" / "auth.log").write_text(lines * 40, encoding="utf-8")
    (exported / "README-DEMO.txt").write_text(
        "Illustrative demo evidence: no real system, person or provider.\n", encoding="utf-8"
    )
    package = demo.root / "xb" / "evidence-for-aurelia.age"
    package.unlink(missing_ok=True)
    packed = demo.run(
        "xb",
        "evidence",
        "pack",
        str(exported),
        "--case",
        asked["id"],
        "--out",
        str(package),
        "--collected-by",
        "Borealis cyber unit (demo)",
        "--collected-at",
        datetime.now(UTC).replace(microsecond=0).isoformat(),
        "--tool",
        "demo log export 1.0",
        "--method",
        "export of the mail server's authentication log (illustrative)",
    )
    evidence = packed.split(":", 1)[0].strip()  # its first line: "EV-...: N files, ..."
    demo.run("xb", "evidence", "send", str(package), "--chunk-mib", "1")

    def decided() -> bool:  # Aurelia's worker verifies it; its signed decision comes back
        sent = demo.json("xb", "evidence", "list")["packages"]
        return any(p["package"] == evidence and p["state"] == "delivered" for p in sent)

    demo.wait(decided, "Aurelia verified the package and told Borealis", timeout=120)
    demo.run("xa", "evidence", "list")
    demo.run("xa", "evidence", "custody", evidence)
    demo.run("xb", "case", "act", asked["id"], "execute")
    say("... the request the data was held for is decided: Borealis releases it (42):")
    demo.run(
        "xb", "case", "act", theirs["id"], "release",
        "--reason", "The follow-up request was executed (illustrative).",
    )  # fmt: skip

    print(
        "\n== 6. Statistics for the Conference of the States Parties (arts 55, 57): counts "
        "below 5 are withheld, so a demo's few requests show as <5",
        flush=True,
    )
    demo.run("xb", "stats")
    last = datetime.now(UTC).date()  # one period for both, even across midnight
    period = ("--from", (last - timedelta(days=364)).isoformat(), "--to", last.isoformat())
    reports = []
    for node in ("xa", "xb"):
        report = demo.root / node / f"statistics-{node}.jws"
        demo.run(node, "stats", "export", "--out", str(report), *period)
        reports.append(str(report))
    directory = demo.root / "authority" / "directory-v1.jws"
    demo.run(None, "stats", "combine", *reports, "--directory", str(directory))
    outside_the_network(demo)
    return {"xa": mla, "xb": asked["id"], "xc": theirs_fr["id"]}


SCAN = (
    b"%PDF-1.4\n% ILLUSTRATIVE: stands for the scan of Dorado's letter of acknowledgement\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
"""What the demo attaches as Dorado's scanned letter: a PDF that says it is illustrative."""


def outside_the_network(demo: Demo) -> str:
    """Dorado (XD) runs no node: Aurelia sends it a preservation request through the
    diplomatic channel, and records its acknowledgement, which comes by post, with the
    scanned letter (docs/outside.md)."""
    print(
        "\n== 7. Dorado runs no node: the request goes through the diplomatic channel and its "
        "answer comes by post (arts 40(13), 40(14))",
        flush=True,
    )
    document = json.loads(Path(_example("preservation-xa-xb.json")).read_text(encoding="utf-8"))
    document["requested_state"] = "XD"
    to_dorado = demo.root / "xa" / "preservation-xa-xd.json"
    to_dorado.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    out = demo.run("xa", "case", "new", "--from", str(to_dorado), "--title", "To Dorado (demo)")
    found = re.search(r"Case (\S+), request (\S+):", out)
    if found is None:
        raise RuntimeError(f"hanoinet case new printed no case and request: {out.strip()}")
    request = found[2]
    demo.run("xa", "case", "act", request, "check")
    demo.run(
        "xa", "case", "act", request, "send", "--by", "diplomatic",
        "--reference", "Note verbale 12/2026 (demo)",
    )  # fmt: skip
    scan = demo.root / "xa" / "dorado-acknowledgement.pdf"
    scan.write_bytes(SCAN)
    demo.run(
        "xa", "case", "act", request, "acknowledge", "--by", "post", "--attach", str(scan),
        "--reference", "DOR/FGN/2026/77 (demo)",
    )  # fmt: skip
    demo.run("xa", "case", "letters", request)
    return request


PAGES = (
    ("24/7 desk", "/desk"),
    ("Requests", "/requests"),
    ("A case", "/requests/{case}"),
    ("New request", "/drafts/new"),
    ("Statistics", "/statistics"),
    ("Audit log", "/audit"),
    ("Treaty status", "/public/treaty"),
    ("Directory", "/public/directory"),
    ("API health", "/api/v1/health"),
)
"""What to open on each node's web desk: a name and a path (``{case}``: a request of the story)."""


def where_to_look(demo: Demo, cases: dict[str, str]) -> list[str]:
    """The lines that say where to look: for each node in ``cases`` (node -> a request to open),
    who logs in and one line per page; then the demo's folder and whether it stays."""
    lines = ["Where to look (a first log-in asks for a new password and an authenticator app):"]
    for node, case in cases.items():
        base = f"http://127.0.0.1:{demo.ports[node]}"
        lines.append(f"  {NODES[node][1]}")
        if node in demo.logins:
            lines.append(f"    {'duty officer':<16}log in as duty / {demo.logins[node]}")
            lines.append(f"    {'supervisor':<16}log in as chief / {demo.chiefs[node]}")
        lines += [f"    {name:<16}{base}{path.format(case=case)}" for name, path in PAGES]
    lines.append(f"  {'Logs':<18}{demo.root}/<node>/serve.log, worker.log")
    lines.append(f"  {'Command line':<18}HANOINET_DATA_DIR={demo.root}/<node> hanoinet case list")
    lines.append(f"  {'Its folder':<18}{demo.root} (keys, a passphrase, admin passwords)")
    if demo.keep:
        lines.append(f"  {'When done':<18}Ctrl-C stops the nodes; then rm -r {demo.root}")
    else:
        lines.append(f"  {'When done':<18}Ctrl-C stops the nodes and removes the folder")
    return lines


def play(demo: Demo) -> list[str]:
    """Set up and start the nodes, tell the story, print where to look and return those lines
    (the nodes keep running until ``demo.stop()``)."""
    demo.setup()
    demo.start()
    cases = story(demo)
    lines = where_to_look(demo, cases)
    print("\n" + "\n".join(lines), flush=True)
    return lines


def _tidy(demo: Demo) -> None:
    """Stop the nodes, then remove the demo's folder, or say where it stays (``--keep``)."""
    try:
        demo.stop()
    finally:
        if demo.keep:
            say(f"The demo's folder stays: {demo.root} (remove it with rm -r {demo.root})")
        else:
            shutil.rmtree(demo.root, ignore_errors=True)
            say(f"Removed the demo's folder {demo.root}.")


def main(argv: list[str] | None = None) -> int:
    """``make demo``: ``--exit`` stops after the story, ``--keep`` keeps the folder."""
    args = sys.argv[1:] if argv is None else argv
    usage = "usage: make demo [KEEP=1]  (python -m hanoinet.demo [--keep] [--exit])"
    if "--help" in args or "-h" in args:
        print(
            usage + "\n  --keep  keep the demo's folder (keys, logs, databases) after it ends"
            "\n  --exit  stop after the story instead of serving until Ctrl-C"
        )
        return 0
    unknown = [a for a in args if a not in ("--keep", "--exit")]
    if unknown:
        print(f"error: {unknown[0]} is not an option of the demo\n{usage}", file=sys.stderr)
        return 2
    exit_after = "--exit" in args or os.environ.get("HANOINET_DEMO_EXIT") == "1"
    keep = "--keep" in args
    root = Path(tempfile.mkdtemp(prefix="hanoinet-demo-"))
    demo = Demo(root, keep=keep)
    print(
        "hanoinet demo: three illustrative States (Aurelia XA, Borealis XB, Caldera XC), one node "
        f"each, on loopback. Everything is in {root}, "
        + ("kept after the demo (--keep).\n" if keep else "removed when the demo ends.\n"),
        flush=True,
    )
    try:
        play(demo)
        if exit_after:
            return 0
        print("\nThe nodes keep running; Ctrl-C stops them.", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping the nodes.", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"demo failed: {exc}", file=sys.stderr, flush=True)
        if not keep:
            print(
                "(make demo KEEP=1 keeps the folder, with each node's serve.log and worker.log)",
                file=sys.stderr,
                flush=True,
            )
        return 1
    finally:
        _tidy(demo)


if __name__ == "__main__":
    raise SystemExit(main())
