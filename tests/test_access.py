"""The role rules (core/access.py): who may do what, and reading the roles config."""

import pytest

from core.access import (
    ROLES,
    AccessDenied,
    Actor,
    Right,
    RolesConfigError,
    load_roles_file,
    parse_roles,
    require,
    unverified_actor,
)

CONFIG = {
    "default": "viewer",
    "admin": ["Lead@Example.com"],
    "approver": ["group:brand-leads"],
    "designer": ["@studio.example", "group:design"],
}


def test_each_role_has_exactly_the_rights_the_readme_lists():
    rights = {role: {r for r in Right if Actor("x@example.com", role, True).can(r)} for role in ROLES}
    assert rights["viewer"] == {Right.VIEW, Right.EXPORT}
    assert rights["designer"] == rights["viewer"] | {Right.REVIEW, Right.COMPOSE, Right.EDIT_KITS}
    assert rights["approver"] == rights["designer"] | {Right.APPROVE}
    assert rights["admin"] == set(Right)
    assert not any(Actor("x@example.com", "none", True).can(r) for r in Right)  # no role: nothing


def test_a_denial_names_the_user_and_the_role_needed():
    with pytest.raises(AccessDenied, match=r"vera@example.com \(signed in\) is a viewer; to approve posters you need the approver role"):
        require(Actor("vera@example.com", "viewer", True), Right.APPROVE)
    require(Actor("ann@example.com", "approver", True), Right.APPROVE)  # no error


def test_without_sign_in_a_typed_name_may_do_anything_and_is_unverified():
    actor = unverified_actor("Ann", "browser-1")
    assert all(actor.can(r) for r in Right)
    assert actor.label == "Ann (unverified)" and not actor.verified


def test_roles_come_from_addresses_domains_and_groups_the_highest_wins():
    config = parse_roles(CONFIG)
    assert config.role_for("lead@example.com") == "admin"  # addresses match in any case
    assert config.role_for("LEAD@example.com", ["design"]) == "admin"  # the highest role wins
    assert config.role_for("kim@studio.example") == "designer"  # a whole domain
    assert config.role_for("kim@notstudio.example") == "viewer"  # not a suffix of a longer name
    assert config.role_for("pat@elsewhere.example", ["Brand-Leads"]) == "approver"  # a group claim
    assert config.role_for("pat@elsewhere.example", ["design"]) == "designer"
    assert config.role_for("someone@elsewhere.example") == "viewer"  # the default
    assert parse_roles({"default": "none"}).role_for("someone@elsewhere.example") is None


def test_a_domain_entry_matches_only_that_domain():
    # "@studio.example" must not match "kim@evilstudio.example": the @ is part of the entry.
    assert parse_roles({"designer": ["@studio.example"]}).role_for("kim@evilstudio.example") == "viewer"


@pytest.mark.parametrize(
    "table, message",
    [
        ({"owner": ["a@example.com"]}, "Unknown role 'owner'"),
        ({"default": "boss"}, "roles.default must be one of"),
        ({"admin": "a@example.com"}, "roles.admin must be a list"),
        ({"designer": ["kim"]}, "write an e-mail address, '@domain' or 'group:NAME'"),
    ],
)
def test_a_bad_roles_config_says_what_to_fix(table, message):
    with pytest.raises(RolesConfigError, match=message):
        parse_roles(table)


def test_the_roles_file(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[roles]\ndefault = "none"\napprover = ["ann@example.com"]\n')
    config = load_roles_file(path)
    assert config.role_for("ann@example.com") == "approver" and config.role_for("bob@example.com") is None
    with pytest.raises(RolesConfigError, match="does not exist"):
        load_roles_file(tmp_path / "missing.toml")
    path.write_text("[people]\n")
    with pytest.raises(RolesConfigError, match="has no \\[roles\\] table"):
        load_roles_file(path)
    path.write_text("[roles\n")
    with pytest.raises(RolesConfigError, match="not valid TOML"):
        load_roles_file(path)
