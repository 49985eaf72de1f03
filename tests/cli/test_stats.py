"""``hanoinet stats`` as a user runs it on two of the demo's nodes, each with a recorded
history: the figures as a table, JSON and CSV; a signed export of each node; the overview
of both as a directory-authority node combines them; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hanoinet import demo
from hanoinet.bench.history import synthetic, write
from hanoinet.settings import Settings
from hanoinet.store import open_store


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> demo.Demo:
    cluster = demo.Demo(tmp_path_factory.mktemp("stats-nodes"))
    cluster.setup(("xa", "xb"), users=False)
    for node, me in (("xa", "XA"), ("xb", "XB")):
        settings = Settings(data_dir=Path(cluster.env(node)["HANOINET_DATA_DIR"]))
        store = open_store(settings.resolved_database_url())
        write(store, synthetic(2000, seed=len(me) + ord(me[1]), me=me))
        store.dispose()
    return cluster


def _run(cluster: demo.Demo, node: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cluster.call(node, "stats", *args)


def _json(cluster: demo.Demo, node: str, *args: str) -> Any:
    done = _run(cluster, node, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


YEAR = ("--from", "2025-01-01", "--to", "2025-12-31")


def test_figures_as_json_csv_and_a_table(cluster: demo.Demo) -> None:
    made = _json(cluster, "xa", *YEAR)
    assert made["format"] == "hanoinet.stats-report/1" and made["state"] == "XA"
    assert made["node"] == "xa-node" and made["threshold"] == 5
    top = [g for g in made["groups"] if g["level"] == "direction"]
    assert {g["direction"] for g in top} == {"outgoing", "incoming"}
    assert sum(g["requests"] for g in top) > 200
    csv = _run(cluster, "xa", *YEAR, "--csv")
    assert csv.returncode == 0 and csv.stdout.startswith("level,direction,requesting_state")
    assert len(csv.stdout.splitlines()) == len(made["groups"]) + 1
    table = _run(cluster, "xa", *YEAR)
    assert "outgoing requests" in table.stdout and "24/7 desk, emergency" in table.stdout
    assert "XA → XB" in table.stdout


def test_bad_input_is_one_line(cluster: demo.Demo) -> None:
    done = _run(cluster, "xa", "--from", "2025-12-31", "--to", "2025-01-01")
    assert (
        done.returncode == 2
        and "the last day, 2025-01-01, is before the first, 2025-12-31" in done.stderr
    )
    done = _run(cluster, "xa", "--from", "last year")
    assert done.returncode == 2 and "not a date" in done.stderr
    assert _run(cluster, "xa", "--json", "--csv").returncode == 2


def test_export_signed_and_combine_both_nodes(cluster: demo.Demo, tmp_path: Path) -> None:
    outs = []
    for node in ("xa", "xb"):
        out = tmp_path / f"{node}.jws"
        info = _json(cluster, node, "export", *YEAR, "--out", str(out))
        assert info["node"] == f"{node}-node" and len(info["sha256"]) == 64
        outs.append(str(out))
    overview = _json(cluster, "xa", "combine", *outs)
    assert [s["node"] for s in overview["sources"]] == ["xa-node", "xb-node"]
    flow = next(
        f
        for f in overview["flows"]
        if (f["requesting_state"], f["requested_state"]) == ("XA", "XB")
    )
    assert flow["sent_reported"] and flow["received_reported"]
    # a changed report is refused with the file named
    forged = tmp_path / "forged.jws"
    head, body, sig = Path(outs[1]).read_text().strip().split(".")
    forged.write_text(".".join((head, body[:-8] + "AAAAAAAA", sig)))
    done = _run(cluster, "xa", "combine", outs[0], str(forged))
    assert done.returncode == 2 and "forged.jws" in done.stderr and "forged" in done.stderr
