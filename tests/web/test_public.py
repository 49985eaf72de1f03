"""The public pages: treaty status and the directory, in HTML, JSON and CSV, with no log-in;
the treaty figures are the command line's, on the app clock's date."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hanoinet.cli.main import app as cli
from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.registry import TreatyAction, packaged_actions, parse_actions, treaty_status
from hanoinet.registry.actions import PACKAGED_RECORD
from hanoinet.services.federation import NodeContext
from hanoinet.store import open_store
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
ROUTES = (
    "/public/treaty",
    "/public/treaty.json",
    "/public/treaty.csv",
    "/public/directory",
    "/public/directory.json",
    "/public/directory.csv",
)


def _entry(
    node_id: str, state: str, keys: KeySet, roles: tuple[d.Role, ...], **more: Any
) -> d.NodeEntry:
    return d.NodeEntry(
        id=node_id,
        state=state,
        name=more.pop("name", f"{node_id} authority"),
        roles=roles,
        endpoint=f"https://{node_id}.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
        **more,
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A node of Aurelia (demo State) whose directory also lists a node of Viet Nam."""
    keys = {n: KeySet.generate(T0 - timedelta(days=1)) for n in ("xa-ca", "vn-moj")}
    directory = d.Directory(
        version=7,
        issued_at=T0 - timedelta(hours=1),
        valid_until=T0 + timedelta(days=30),
        nodes=(
            _entry(
                "xa-ca",
                "XA",
                keys["xa-ca"],
                ("central_authority", "point_of_contact"),
                languages=("en", "fr"),
                channels=("central_authority", "interpol"),
                illustrative=True,
            ),
            _entry(
                "vn-moj",
                "VN",
                keys["vn-moj"],
                ("extradition_authority",),
                name="=HYPERLINK(1)",
                valid_until=T0 + timedelta(days=10),
            ),
        ),
    )
    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    clock = {"now": T0}
    client = TestClient(
        create_app(
            NodeContext("xa-ca", keys["xa-ca"], directory, store), clock=lambda: clock["now"]
        )
    )
    try:
        yield {"client": client, "clock": clock, "directory": directory}
    finally:
        client.close()
        store.dispose()


def _cli_status(day: date) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["treaty", "status", "--json", "--as-of", day.isoformat()])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _main(html: str) -> str:
    """The page's main element as text to search, without the ``<bdi dir="ltr">`` that isolates
    each date, count, code and key (checked where it matters)."""
    return re.sub(r'</?bdi(?: dir="ltr")?>', "", html.split('<main id="main"', 1)[1])


def _csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["content-disposition"].endswith('.csv"')
    return list(csv.reader(io.StringIO(response.text)))


@pytest.mark.parametrize("route", ROUTES)
def test_every_public_route_opens_without_log_in_with_the_security_headers(
    site: dict[str, Any], route: str
) -> None:
    client = site["client"]
    assert not client.cookies
    response = client.get(route, follow_redirects=False)
    assert response.status_code == 200, response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "hanoinet_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("day", [date(2026, 11, 24), date(2025, 10, 25), date(2025, 10, 1)])
def test_treaty_json_is_what_the_command_line_prints_for_the_clock_date(
    site: dict[str, Any], day: date
) -> None:
    site["clock"]["now"] = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
    response = site["client"].get("/public/treaty.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == _cli_status(day)
    assert response.json()["as_of"] == day.isoformat()


def test_treaty_date_is_the_utc_date_of_the_clock(site: dict[str, Any]) -> None:
    # 06:00 on 25 October in Hanoi (UTC+7) is still 24 October in UTC, before the opening.
    site["clock"]["now"] = datetime(2025, 10, 25, 6, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    data = site["client"].get("/public/treaty.json").json()
    assert data["as_of"] == "2025-10-24"
    assert data["signatories"] == 0
    assert data == _cli_status(date(2025, 10, 24))


def test_treaty_csv_has_one_row_per_participant(site: dict[str, Any]) -> None:
    rows = _csv_rows(site["client"].get("/public/treaty.csv"))
    header, body = rows[0], rows[1:]
    assert header == [
        "code",
        "name",
        "kind",
        "state",
        "signed",
        "instrument",
        "deposit",
        "counted",
        "in_force_for_party",
        "denunciation_notified",
        "denunciation_effective",
        "sources",
    ]
    expected = treaty_status(packaged_actions(), T0.date()).participants
    assert [r[0] for r in body] == [p.code for p in expected]
    assert all(len(r) == len(header) for r in body)
    cli = _cli_status(T0.date())
    signed = {s["code"]: s["date"] for s in cli["signatures"]}
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert {code: row["signed"] for code, row in by_code.items() if row["signed"]} == signed
    assert by_code["DZ"]["name"] == "Algeria" and by_code["DZ"]["state"] == "signatory"
    assert by_code["DZ"]["counted"] == "no" and by_code["DZ"]["sources"].startswith("https://")
    # Reported but unconfirmed, undated: never a row of the count.
    assert "AE" not in by_code and "AE" in {a["code"] for a in cli["not_counted"]}


def test_treaty_page_shows_the_counts_participants_and_unconfirmed_actions(
    site: dict[str, Any],
) -> None:
    response = site["client"].get("/public/treaty")
    assert response.status_code == 200
    html = response.text
    cli = _cli_status(T0.date())
    main = _main(html)
    assert html.count("<h1>") == 1
    # dates, counts and codes read left to right in any language (Arabic: test_catalogs)
    assert 'Status on <bdi dir="ltr">2026-11-24</bdi>' in html
    assert f'<code><bdi dir="ltr">{cli["signatures"][0]["code"]}</bdi></code>' in html
    assert "Status on 2026-11-24" in main and "treaty-actions.csv (packaged)" in main
    assert f"<dd>{cli['signatories']}</dd>" in main
    assert f"{cli['instruments_counted']} of {cli['instruments_needed']} needed" in main
    assert f"Not yet: {cli['instruments_still_needed']} more instruments needed" in main
    assert "Open until 2026-12-31 (art. 64)" in main
    assert "<title>Treaty status · hanoinet</title>" in html
    for signature in cli["signatures"]:
        assert f"<code>{signature['code']}</code>" in main
    assert "Algeria" in main and "2025-10-25" in main
    assert 'href="/public/treaty.json"' in main and 'href="/public/treaty.csv"' in main
    unconfirmed = main.split('id="not-counted"', 1)[1]
    assert "United Arab Emirates" in unconfirmed and "unconfirmed" in unconfirmed
    assert "date unknown" in unconfirmed
    assert "https://treaties.un.org/" in main
    _accessible(html)


CODES = (
    "AL AD AR AM AU AT BE BJ BG BR CA CL CN CO CR HR CY CZ DK EE FI FR GE DE GH GR HU IS IN ID IE "
    "IL IT JP KE LV LT LU MT MX NL"
)
STATES = CODES.split()
SOURCE = "https://example.org/depositary-notification"


def _record_in_force() -> list[TreatyAction]:
    """41 States sign and ratify (the 40th on 2026-02-18, so in force on 2026-05-19, and the
    41st for itself on 2026-07-01), the European Union approves (never counted), and one
    dated ratification is reported but unconfirmed."""
    rows = ["participant,code,action,date,confirmed,source,note"]
    for index, code in enumerate(STATES):
        name = f"State {code}"
        rows.append(f"{name},{code},signature,2025-10-25,yes,{SOURCE},")
        deposit = date(2026, 1, 10) + timedelta(days=index) if index < 40 else date(2026, 6, 1)
        rows.append(f"{name},{code},ratification,{deposit.isoformat()},yes,{SOURCE},")
    rows.append(f"European Union,EU,signature,2025-10-25,yes,{SOURCE},")
    rows.append(f"European Union,EU,approval,2026-01-05,yes,{SOURCE},")
    rows.append(f"State NO,NO,accession,2026-02-01,no,{SOURCE},press report only")
    return parse_actions("\n".join(rows) + "\n", PACKAGED_RECORD)


@pytest.mark.parametrize(
    ("day", "says"),
    [
        (date(2026, 3, 1), "Enters into force on 2026-05-19"),
        (date(2026, 7, 15), "In force since 2026-05-19"),
    ],
)
def test_entry_into_force_and_uncounted_instruments_match_the_command_line(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch, day: date, says: str
) -> None:
    record = _record_in_force()
    monkeypatch.setattr("hanoinet.web.public.packaged_actions", lambda: record)
    monkeypatch.setattr("hanoinet.cli.treaty.packaged_actions", lambda: record)
    site["clock"]["now"] = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    client = site["client"]
    cli = _cli_status(day)
    assert cli["entry_into_force"] == "2026-05-19" and cli["include_unconfirmed"] is False
    assert client.get("/public/treaty.json").json() == cli

    main = _main(client.get("/public/treaty").text)
    assert says in main and "40th instrument deposited 2026-02-18" in main
    assert f"{cli['instruments_counted']} of 40 needed" in main
    assert "regional economic integration organization: not counted (art. 65(1))" in main
    not_counted = main.split('id="not-counted"', 1)[1]
    assert "State NO" in not_counted and "2026-02-01" in not_counted
    assert "unconfirmed" in not_counted

    rows = _csv_rows(client.get("/public/treaty.csv"))
    by_code = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_code["EU"]["kind"] == "reio" and by_code["EU"]["counted"] == "no"
    assert by_code["AL"]["counted"] == "yes" and by_code["AL"]["instrument"] == "ratification"
    assert "NO" not in by_code
    last = by_code[STATES[-1]]
    assert last["in_force_for_party"] == ("2026-07-01" if day >= date(2026, 6, 1) else "")
    assert last["state"] == ("party" if day >= date(2026, 7, 1) else "signatory")


def test_treaty_page_before_the_opening_has_no_participant(site: dict[str, Any]) -> None:
    site["clock"]["now"] = datetime(2025, 10, 1, tzinfo=UTC)
    main = _main(site["client"].get("/public/treaty").text)
    assert "<dd>0</dd>" in main
    assert "No State or organization has signed" in main
    assert "Opens on 2025-10-25 (art. 64)" in main
    assert '<h2 id="participants">' in main
    assert '<table aria-labelledby="participants">' not in main


def test_treaty_page_after_the_signature_period_says_states_accede(site: dict[str, Any]) -> None:
    site["clock"]["now"] = datetime(2027, 1, 5, tzinfo=UTC)
    main = _main(site["client"].get("/public/treaty").text)
    assert "Closed on 2026-12-31; States now accede (art. 64)" in main
    assert "Status on 2027-01-05" in main


def test_directory_json_lists_each_node_with_state_roles_and_kids(site: dict[str, Any]) -> None:
    directory: d.Directory = site["directory"]
    data = site["client"].get("/public/directory.json").json()
    assert set(data) == {"directory_version", "issued_at", "valid_until", "nodes", "designations"}
    assert data["directory_version"] == 7
    assert datetime.fromisoformat(data["issued_at"]) == directory.issued_at
    assert datetime.fromisoformat(data["valid_until"]) == directory.valid_until
    assert [n["id"] for n in data["nodes"]] == ["xa-ca", "vn-moj"]
    for node, entry in zip(data["nodes"], directory.nodes, strict=True):
        assert node["state"] == entry.state
        assert node["roles"] == list(entry.roles)
        assert node["endpoint"] == entry.endpoint
        assert [k["kid"] for k in node["keys"]] == [k.kid for k in entry.keys]
        assert [k["use"] for k in node["keys"]] == ["sig", "enc", "doc"]
        assert "x" not in node["keys"][0]
    xa, vn = data["nodes"]
    assert xa["state_name"] == "Aurelia (demo State)" and xa["illustrative"] is True
    assert xa["languages"] == ["en", "fr"] and xa["channels"] == ["central_authority", "interpol"]
    assert vn["state_name"] == "Vietnam" and vn["illustrative"] is False
    assert vn["valid_until"] is not None and xa["valid_until"] is None
    designations = {x["state"]: x for x in data["designations"]}
    assert set(designations) == {"XA", "XB", "XC", "XD"}
    dorado = designations["XD"]  # runs no node: its published addresses, their source and date
    assert dorado["runs_a_node"] is False and designations["XA"]["runs_a_node"] is True
    assert dorado["central_authority"]["email"] == "cooperacion@fiscalia.dorado.example"
    assert dorado["central_authority"]["postal_address"].startswith("Avenida Central 100")
    assert dorado["as_of"] == "2026-11-02" and dorado["source"].startswith("Illustrative")
    assert all(x["illustrative"] for x in designations.values())
    assert designations["XC"]["point_of_contact"] is None


def test_directory_csv_has_a_header_and_one_row_per_node(site: dict[str, Any]) -> None:
    directory: d.Directory = site["directory"]
    rows = _csv_rows(site["client"].get("/public/directory.csv"))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["id", "state", "state_name", "name", "roles"]
    assert len(body) == len(directory.nodes)
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert by_id["xa-ca"]["roles"] == "central_authority point_of_contact"
    assert by_id["xa-ca"]["illustrative"] == "yes" and by_id["vn-moj"]["illustrative"] == "no"
    for entry in directory.nodes:
        # a cell that begins with -, =, + or @ is quoted against spreadsheet formulas
        kids = [k.kid for k in entry.keys]
        cell = by_id[entry.id]["kids"]
        assert cell.removeprefix("'").split() == kids and cell.startswith("'") == (
            kids[0][0] in "-=+@"
        )
    # A text a spreadsheet would run as a formula is defused.
    assert by_id["vn-moj"]["name"] == "'=HYPERLINK(1)"


def test_directory_page_shows_nodes_roles_keys_and_labels_demo_designations(
    site: dict[str, Any],
) -> None:
    directory: d.Directory = site["directory"]
    html = site["client"].get("/public/directory").text
    main = _main(html)
    assert "version 7" in main
    assert f'<code><bdi dir="ltr">{directory.nodes[0].id}</bdi></code>' in html
    nodes = main.split('id="nodes"', 1)[1].split('id="designations"', 1)[0]
    for entry in directory.nodes:
        assert f"<code>{entry.id}</code>" in nodes and entry.endpoint in nodes
        for key in entry.keys:
            assert key.kid in nodes
    assert "Central authority (art. 40(13))" in nodes
    assert "24/7 point of contact (art. 41(1))" in nodes
    assert "Extradition authority (art. 37)" in nodes
    assert "Aurelia (demo State)" in nodes and "Vietnam" in nodes
    assert nodes.count("illustrative (demo)") == 1  # Aurelia's node, not Viet Nam's
    assert "=HYPERLINK(1)" in nodes  # shown as it is in the page, only the CSV defuses it
    designations, outside = main.split('id="designations"', 1)[1].split('id="outside"', 1)
    assert "No State has yet published a designation" in designations
    assert "Illustrative designations (demo)" in designations
    assert designations.count("illustrative (demo)") == 4
    # Borealis, Caldera and Dorado run no node in this directory: their published addresses.
    assert outside.count("illustrative (demo)") == 3
    assert 'href="mailto:cooperacion@fiscalia.dorado.example"' in outside
    assert "Avenida Central 100" in outside and "as of" in outside
    assert "Caldera Ministry of Foreign Affairs" in designations
    assert 'href="/public/directory.json"' in main and 'href="/public/directory.csv"' in main
    assert "has expired" not in main
    _accessible(html)


def test_directory_page_shows_oral_requests_and_each_forms_own_requirements(
    site: dict[str, Any],
) -> None:
    """What the checks judge a request by is on the public page: whether a State takes urgent
    oral requests (40(14)) and, for the forms its own law governs, its languages, channels,
    authority and what they rest on (issue 23)."""
    html = site["client"].get("/public/directory").text
    designations = _main(html).split('id="designations"', 1)[1]
    assert "Oral requests in urgency (art. 40(14))" in designations
    caldera = designations.split("Caldera Ministry of Foreign Affairs", 1)[1].split("</tr>")[0]
    assert caldera.rstrip().endswith("<td>no</td>")  # Caldera takes no oral request
    forms = designations.split("forms whose language and channel its own law and treaties set")
    assert len(forms) == 4  # Aurelia, Borealis, Caldera
    borealis = next(part for part in forms if "Borealis Extradition Act (demo), s. 8" in part)
    assert "Extradition" in borealis and "Borealis Office of the Prosecutor General" in borealis
    assert "Borealis Code of Criminal Procedure (demo), art. 301" in borealis
    _accessible(html)


def test_directory_shows_each_states_reservations_and_declarations(site: dict[str, Any]) -> None:
    """Reservations and declarations are part of what a State notifies: each under its article
    (marked when the paragraph number is unconfirmed), in the State's words, with its source;
    the demo States' are invented and say so (the real list holds none)."""
    data = site["client"].get("/public/directory.json").json()
    designations = {x["state"]: x for x in data["designations"]}
    [reservation] = designations["XB"]["reservations"]
    assert reservation["kind"] == "reservation" and reservation["article"] == "42(4)"
    assert reservation["article_verified"] is False and reservation["illustrative"] is True
    assert reservation["source"].startswith("Illustrative:")
    [declaration] = designations["XA"]["reservations"]
    assert declaration["kind"] == "declaration" and declaration["article"] == "40(14)"
    assert designations["XC"]["reservations"] == [] == designations["XD"]["reservations"]
    html = site["client"].get("/public/directory").text
    designations_html = _main(html).split('id="designations"', 1)[1].split('id="outside"', 1)[0]
    tables = designations_html.split(": reservations and declarations")
    assert len(tables) == 3  # Aurelia's declaration, Borealis's reservation
    borealis = next(part for part in tables if "Borealis reserves the right" in part)
    assert 'href="/convention/42#k-42(4)"' in borealis and "para. number unconfirmed" in borealis
    assert "<td>Reservation</td>" in borealis and "Illustrative: invented" in borealis
    assert "is open only to a State that made it" in designations_html
    _accessible(html)
    french = site["client"].get("/public/directory", headers={"Accept-Language": "fr"}).text
    assert "<td>Réserve</td>" in french and "<td>Déclaration</td>" in french


def test_directory_page_says_when_the_directory_has_expired(site: dict[str, Any]) -> None:
    site["clock"]["now"] = T0 + timedelta(days=31)
    assert "This directory has expired" in site["client"].get("/public/directory").text


def test_a_logged_in_page_is_not_needed_and_the_navigation_marks_the_page(
    site: dict[str, Any],
) -> None:
    html = site["client"].get("/public/directory").text
    assert 'href="/login"' in html
    assert re.search(r'href="/public/directory" aria-current="page"', html)
    assert not re.search(r'href="/public/treaty" aria-current="page"', html)


def _accessible(html: str) -> None:
    """One h1, headings never skip a level, every header cell scoped, every table labelled,
    nothing inline for the strict CSP."""
    levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in pairwise(levels))
    assert re.findall(r"<th(?=[\s>])(?![^>]*scope=)", html) == []
    for table in re.findall(r"<table[^>]*>", html):
        assert "aria-labelledby" in table
        label = re.search(r'aria-labelledby="([^"]+)"', table)
        assert label is not None and f'id="{label.group(1)}"' in html
    assert "style=" not in html and "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []
