"""Who may do what: the roles of the access module's docstring, written out by hand here so
that a change of the grants is a visible change of this table, not a silent one."""

from __future__ import annotations

from typing import get_args

import pytest

from hanoinet.convention import convention
from hanoinet.services import access
from hanoinet.services.access import Principal, Role, Scope

EVERY_PERMISSION = frozenset(get_args(access.Permission))
DESIGNED: dict[str, frozenset[str]] = {
    "node_admin": frozenset({"users.manage", "tokens.manage"}),
    "supervisor": frozenset(
        {"desk", "cases.read", "cases.approve", "audit.read", "stats.read", "stats.export"}
    ),
    "central_authority_officer": frozenset(
        {"desk", "cases.read", "cases.create", "cases.act", "stats.read", "stats.export"}
    ),
    "duty_officer": frozenset({"desk", "cases.read", "cases.create", "cases.act"}),
    "requester": frozenset({"cases.read", "cases.create", "cases.act"}),
}
WRITES = frozenset(
    {"cases.create", "cases.act", "cases.approve", "stats.export", "users.manage", "tokens.manage"}
)
"""Permissions that change something: never for a read-only API token."""


def person(role: Role, name: str = "pat") -> Principal:
    return Principal(name, role)


def token(role: Role, scopes: str, name: str = "pat") -> Principal:
    wanted = {"read": frozenset({"read"}), "act": frozenset({"read", "act"})}[scopes]
    return Principal(name, role, wanted)  # type: ignore[arg-type]


# --- roles and permissions ---------------------------------------------------------------------


def test_the_five_roles_exist_in_a_stable_order() -> None:
    assert access.ROLES == (
        "node_admin",
        "supervisor",
        "central_authority_officer",
        "duty_officer",
        "requester",
    )
    assert set(get_args(Role)) == set(access.ROLES)


@pytest.mark.parametrize("role", access.ROLES)
def test_each_role_has_exactly_its_designed_permissions(role: Role) -> None:
    assert access.permissions(role) == DESIGNED[role]
    for permission in EVERY_PERMISSION:
        assert access.can(person(role), permission) is (permission in DESIGNED[role]), permission


def test_least_privilege_in_words() -> None:
    """The sentences of the docstring, one by one."""
    # node_admin: users, tokens; no case content, no desk, no audit.
    admin = person("node_admin")
    assert not any(access.can(admin, p) for p in ("cases.read", "desk", "audit.read"))
    # supervisor: reads every request and the audit log; approves; does not act or create.
    sup = person("supervisor")
    assert access.can(sup, "audit.read") and access.can(sup, "cases.read")
    assert not access.can(sup, "cases.act") and not access.can(sup, "cases.create")
    # Only the supervisor approves (central-authority officers send their own requests).
    assert [r for r in access.ROLES if access.can(person(r), "cases.approve")] == ["supervisor"]
    # Only the supervisor reads the audit log.
    assert [r for r in access.ROLES if access.can(person(r), "audit.read")] == ["supervisor"]
    # The requester has no desk.
    assert not access.can(person("requester"), "desk")
    # Nobody but the administrator manages users and tokens.
    assert [r for r in access.ROLES if access.can(person(r), "users.manage")] == ["node_admin"]
    assert [r for r in access.ROLES if access.can(person(r), "tokens.manage")] == ["node_admin"]
    # The statistics: those who report them, the central authority and the supervisor.
    for permission in ("stats.read", "stats.export"):
        assert [r for r in access.ROLES if access.can(person(r), permission)] == [
            "supervisor",
            "central_authority_officer",
        ]


def test_an_unknown_role_is_granted_nothing() -> None:
    """A role not in the table (a typo in the database) fails closed: an error or a no."""
    stranger = Principal("x", "emperor")  # type: ignore[arg-type]
    for permission in sorted(EVERY_PERMISSION):
        try:
            allowed = access.can(stranger, permission)
        except (KeyError, ValueError):
            allowed = False
        assert allowed is False, permission


# --- API tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", access.ROLES)
def test_a_read_token_never_acts_or_creates(role: Role) -> None:
    reader = token(role, "read")
    assert not access.can(reader, "cases.act")
    assert not access.can(reader, "cases.create")
    assert not access.can(reader, "cases.approve")
    assert not access.may_take(reader, "approve", direction="outgoing")
    assert not access.may_act(reader, direction="incoming")
    assert not access.may_act(reader, direction="outgoing")
    assert not access.may_create(reader, direction="outgoing")
    # ...but reads what its user reads.
    for permission in ("cases.read", "desk", "audit.read"):
        assert access.can(reader, permission) is (permission in DESIGNED[role])


@pytest.mark.parametrize("role", access.ROLES)
def test_an_act_token_does_what_its_user_does_and_never_more(role: Role) -> None:
    actor = token(role, "act")
    for permission in (
        "cases.read",
        "cases.act",
        "cases.create",
        "cases.approve",
        "desk",
        "audit.read",
    ):
        assert access.can(actor, permission) is (permission in DESIGNED[role]), permission


def test_a_read_token_of_the_administrator_manages_nothing() -> None:
    reader = token("node_admin", "read")
    assert [p for p in sorted(WRITES) if access.can(reader, p)] == []


def test_the_actor_of_a_token_says_so() -> None:
    assert person("requester", "rita").actor == "rita"
    assert token("requester", "read", "rita").actor == "rita (API token)"
    assert token("requester", "act", "rita").actor == "rita (API token)"


def test_an_empty_token_scope_allows_nothing() -> None:
    empty = Principal("x", "central_authority_officer", frozenset())
    assert [p for p in sorted(EVERY_PERMISSION) if access.can(empty, p)] == []
    assert access.scope(empty).nothing


# --- scopes: which requests each role sees ------------------------------------------------------


def test_desk_kinds_are_the_forms_of_the_24_7_network() -> None:
    kinds = access.desk_kinds()
    assert {"preservation", "traffic_disclosure", "emergency_disclosure"} <= kinds
    assert {"law_enforcement_cooperation", "spontaneous_information"} <= kinds
    # Mutual legal assistance, extradition...: the central authority's, not the 24/7 desk's.
    assert not kinds & {"stored_data", "mla_general", "extradition", "interception"}
    assert kinds == {
        key for key, form in convention().forms.items() if "point_of_contact" in form.channels
    }


def test_scope_of_each_role() -> None:
    assert access.scope(person("central_authority_officer")) == Scope(everything=True)
    assert access.scope(person("supervisor")) == Scope(everything=True)
    assert access.scope(person("duty_officer")) == Scope(desk_kinds=access.desk_kinds())
    assert access.scope(person("requester", "rita")) == Scope(created_by="rita")
    assert access.scope(person("node_admin")) == Scope()
    # A token sees what its user sees.
    assert access.scope(token("duty_officer", "read")) == Scope(desk_kinds=access.desk_kinds())
    assert access.scope(token("requester", "act", "rita")) == Scope(created_by="rita")


def test_nothing_is_only_the_empty_scope() -> None:
    assert Scope().nothing
    assert not Scope(everything=True).nothing
    assert not Scope(created_by="rita").nothing
    assert not Scope(desk_kinds=frozenset()).nothing  # a desk with no forms still sees urgent ones
    assert access.scope(person("node_admin")).nothing


# (kind, urgency, created_by) -> which roles see it, as the docstring designs.
SEES: list[tuple[str, str, str, set[str]]] = [
    # routine mutual legal assistance received from XA: the central authority's only
    ("stored_data", "routine", "node:xa-ca", {"supervisor", "central_authority_officer"}),
    # the same, urgent: the 24/7 desk too
    (
        "stored_data",
        "urgent",
        "node:xa-ca",
        {"supervisor", "central_authority_officer", "duty_officer"},
    ),
    (
        "extradition",
        "emergency",
        "node:xa-ca",
        {"supervisor", "central_authority_officer", "duty_officer"},
    ),
    # a 24/7 form, routine: the desk sees it by its kind
    (
        "preservation",
        "routine",
        "node:xa-ca",
        {"supervisor", "central_authority_officer", "duty_officer"},
    ),
    (
        "emergency_disclosure",
        "emergency",
        "carl",
        {"supervisor", "central_authority_officer", "duty_officer"},
    ),
    # the requester's own draft: the requester, and the roles that see everything
    ("stored_data", "routine", "rita", {"supervisor", "central_authority_officer", "requester"}),
    (
        "preservation",
        "urgent",
        "rita",
        {"supervisor", "central_authority_officer", "duty_officer", "requester"},
    ),
    # another requester's: not rita's business
    ("stored_data", "routine", "rob", {"supervisor", "central_authority_officer"}),
]


@pytest.mark.parametrize(("kind", "urgency", "created_by", "seen_by"), SEES)
def test_sees_as_designed(kind: str, urgency: str, created_by: str, seen_by: set[str]) -> None:
    found = {
        role
        for role in access.ROLES
        if access.sees(person(role, "rita"), kind=kind, urgency=urgency, case_created_by=created_by)
    }
    assert found == seen_by


def test_a_requester_sees_by_user_name_exactly() -> None:
    rita = person("requester", "rita")
    assert access.sees(rita, kind="stored_data", urgency="routine", case_created_by="rita")
    for other in ("Rita", "rita ", "rita (API token)", "ritaa", ""):
        assert not access.sees(rita, kind="stored_data", urgency="routine", case_created_by=other)


def test_the_administrator_sees_no_request_at_all() -> None:
    admin = person("node_admin", "rita")
    for kind, urgency, created_by, _ in SEES:
        assert not access.sees(admin, kind=kind, urgency=urgency, case_created_by=created_by)
    # not even one the administrator opened
    assert not access.sees(admin, kind="stored_data", urgency="routine", case_created_by="rita")


# --- acting and creating ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "incoming", "outgoing"),
    [
        ("node_admin", False, False),
        ("supervisor", False, False),
        ("central_authority_officer", True, True),
        ("duty_officer", True, True),
        ("requester", False, True),  # only as the requesting State
    ],
)
def test_may_act_and_may_create(role: Role, incoming: bool, outgoing: bool) -> None:
    p = person(role)
    assert access.may_act(p, direction="incoming") is incoming
    assert access.may_act(p, direction="outgoing") is outgoing
    assert access.may_create(p, direction="incoming") is incoming
    assert access.may_create(p, direction="outgoing") is outgoing
    assert access.may_act(token(role, "act"), direction="outgoing") is outgoing
    assert access.may_act(token(role, "read"), direction="outgoing") is False


@pytest.mark.parametrize("role", access.ROLES)
def test_may_take_approve_is_the_supervisors_on_outgoing_requests_only(role: Role) -> None:
    p = person(role)
    supervisor = role == "supervisor"
    assert access.may_take(p, "approve", direction="outgoing") is supervisor
    assert access.may_take(p, "approve", direction="incoming") is False
    assert access.may_take(token(role, "act"), "approve", direction="outgoing") is supervisor
    assert access.may_take(token(role, "read"), "approve", direction="outgoing") is False
    # every other action is may_act's: the supervisor takes none
    for direction in ("incoming", "outgoing"):
        for action in ("send", "check", "acknowledge"):
            assert access.may_take(p, action, direction=direction) is access.may_act(
                p, direction=direction
            )


def test_refusals_say_who_approves_and_what_to_do() -> None:
    officer = access.refusal(
        person("central_authority_officer"), "approve", direction="outgoing", request_id="R-1"
    )
    assert "your role (central_authority_officer) does not approve requests" in officer
    assert "a supervisor approves" in officer and "ask one to approve R-1" in officer
    sup = access.refusal(person("supervisor"), "send", direction="outgoing", request_id="R-1")
    assert sup.startswith("your role (supervisor) does not take actions on outgoing request R-1")
    assert "approves outgoing ones" in sup
    incoming = access.refusal(
        person("supervisor"), "approve", direction="incoming", request_id="R-2"
    )
    assert "only a request this node sends is approved" in incoming
    reader = access.refusal(
        token("supervisor", "read"), "approve", direction="outgoing", request_id="R-1"
    )
    assert "needs a token with the act scope" in reader
