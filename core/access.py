"""Who may do what: roles, the rights each carries, and the roles config.

Pure: no Streamlit, no storage, no torch. The pages read who is signed in (pages/ui/
identity.py) and build an `Actor`; every service that changes something is given that actor
and calls `require` first, so a hidden button is never the only guard.

The roles are a ladder: each can do everything the ones before it can.

| role     | adds                                                             |
|----------|------------------------------------------------------------------|
| viewer   | see every page of posters (gallery, compare), download and zip  |
| designer | brief, compose, rerun and retry; edit brand kits; review with "needs changes" or "reject" |
| approver | the "approve" verdict (what puts a poster on the shortlist)      |
| admin    | delete posters and brand kits                                    |

Without sign-in configured there is no one to check: everyone is an admin under a typed,
unverified name, as the studio always worked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

ROLES: tuple[str, ...] = ("viewer", "designer", "approver", "admin")
NO_ACCESS = "none"  # a roles config's `default` that lets no unlisted account in


class Right(StrEnum):
    VIEW = "view posters"
    EXPORT = "download posters"
    REVIEW = "review posters"
    COMPOSE = "brief, compose and rerun posters"
    EDIT_KITS = "edit brand kits"
    APPROVE = "approve posters"
    DELETE = "delete posters and brand kits"


# The role that first carries each right; every role above it has it too.
FIRST_ROLE_WITH: dict[Right, str] = {
    Right.VIEW: "viewer",
    Right.EXPORT: "viewer",
    Right.REVIEW: "designer",
    Right.COMPOSE: "designer",
    Right.EDIT_KITS: "designer",
    Right.APPROVE: "approver",
    Right.DELETE: "admin",
}


def has_right(role: str, right: Right) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(FIRST_ROLE_WITH[right])


class AccessDenied(PermissionError):
    """The acting user's role lacks a right; the message says which role it needs."""


class RolesConfigError(ValueError):
    """A roles config that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Actor:
    """Who is acting. `name` is what the history records: the e-mail address when signed in,
    the typed name otherwise. `session_id` names the browser (kept in a cookie), so a typed
    name used from two browsers can be told apart."""

    name: str
    role: str
    verified: bool
    session_id: str = ""

    def can(self, right: Right) -> bool:
        return has_right(self.role, right)

    @property
    def label(self) -> str:
        who = self.name or "someone without a name"
        return f"{who} (signed in)" if self.verified else f"{who} (unverified)"


def require(actor: Actor, right: Right) -> None:
    """Raise AccessDenied unless `actor` may do this."""
    if not actor.can(right):
        raise AccessDenied(
            f"{actor.label} is a {actor.role}; to {right.value} you need the {FIRST_ROLE_WITH[right]} role. "
            "Ask a studio admin to give it to you in the roles config."
        )


def unverified_actor(name: str, session_id: str = "") -> Actor:
    """The studio without sign-in: anyone may do anything under the name they typed."""
    return Actor(name=name, role="admin", verified=False, session_id=session_id)


# -- the roles config ---------------------------------------------------------------------


@dataclass(frozen=True)
class RoleConfig:
    """role -> the accounts that have it. An entry is an e-mail address, `@domain` (every
    address there) or `group:NAME` (the identity provider's `groups` claim). An account
    matched by several entries gets the highest role; one matched by none gets `default`
    (None: no access)."""

    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: str | None = "viewer"

    def role_for(self, email: str | None, groups: Iterable[str] = ()) -> str | None:
        email = (email or "").strip().lower()
        groups = {str(g).strip().lower() for g in groups}
        for role in reversed(ROLES):  # the highest role that matches wins
            for entry in self.members.get(role, ()):
                if entry.startswith("group:"):
                    if entry[len("group:"):] in groups:
                        return role
                elif entry.startswith("@"):
                    if email.endswith(entry):
                        return role
                elif email and entry == email:
                    return role
        return self.default


def parse_roles(table: Mapping) -> RoleConfig:
    """A `[roles]` table (from a TOML file or secrets.toml) as a RoleConfig:

        default = "viewer"                 # anyone signed in and not listed; "none" = no access
        admin = ["lead@example.com"]
        approver = ["group:brand-leads"]
        designer = ["@example.com"]
    """
    members: dict[str, tuple[str, ...]] = {}
    default: str | None = "viewer"
    for key, value in table.items():
        if key == "default":
            value = str(value).strip().lower()
            if value not in (*ROLES, NO_ACCESS):
                raise RolesConfigError(
                    f"roles.default must be one of {', '.join(ROLES)} or {NO_ACCESS!r}, not {value!r}."
                )
            default = None if value == NO_ACCESS else value
            continue
        if key not in ROLES:
            raise RolesConfigError(f"Unknown role {key!r} in [roles]; the roles are {', '.join(ROLES)} (and default).")
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise RolesConfigError(f"roles.{key} must be a list of e-mail addresses, '@domain' or 'group:NAME' entries.")
        entries = []
        for entry in value:
            entry = str(entry).strip().lower()
            if not entry:
                continue
            if not (entry.startswith(("group:", "@")) or "@" in entry):
                raise RolesConfigError(
                    f"roles.{key} has {entry!r}: write an e-mail address, '@domain' or 'group:NAME'."
                )
            entries.append(entry)
        members[key] = tuple(entries)
    return RoleConfig(members=members, default=default)


def load_roles_file(path: str | Path) -> RoleConfig:
    """The `[roles]` table of a TOML file (STUDIO_ROLES_FILE)."""
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RolesConfigError(f"STUDIO_ROLES_FILE points at {path}, which does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise RolesConfigError(f"{path} is not valid TOML: {error}") from None
    if not isinstance(data.get("roles"), dict):
        raise RolesConfigError(f"{path} has no [roles] table.")
    return parse_roles(data["roles"])
