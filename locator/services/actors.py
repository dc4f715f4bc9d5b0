"""Who writes when no person does: the CLI and the demo seed act as an explicit system actor."""

from __future__ import annotations

from locator.domain.users import Role, User

SYSTEM_USER_ID = 0  # no row in the users table has it (ids start at 1)


def system_actor(name: str) -> User:
    """An admin actor for commands run on the server itself; ``name`` is what history records
    as the author (e.g. "import:points.geojson")."""
    return User(id=SYSTEM_USER_ID, name=name, role=Role.ADMIN)
