"""Console users and API tokens through the CLI: what is stored, what is refused, what stops working."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from helpers import database_files, login, make_point, table_names

from locator.services.accounts import MIN_PASSWORD_LENGTH, TOKEN_PREFIX

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

REGION = "Київська область"
REAL_PASSWORD = "жовто-блакитний 2026"  # hashed by the CLI with the production parameters


def create(runner, name: str, *options: str, password: str = REAL_PASSWORD):
    return runner.invoke(args=["users", "create", name, *options, "--password-stdin"], input=password + "\n")


def every_text_cell(store) -> list[str]:
    """Every text value in every table of the database."""
    cells = []
    for table in table_names(store):
        for row in store.db.execute(f'SELECT * FROM "{table}"'):  # names come from the catalogue
            cells.extend(value for value in row if isinstance(value, str))
    return cells


def database_bytes(store) -> bytes:
    """SQLite: the database file, its write-ahead log and every file beside it, as bytes on disk.
    PostgreSQL: everything the database holds, as pg_dump writes it out."""
    if store.dialect == "postgresql":
        from pg_cluster import find_bindir

        return subprocess.run(
            [str(find_bindir() / "pg_dump"), store.url], capture_output=True, check=True
        ).stdout
    store.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    path = Path(store.path)
    return b"".join(file.read_bytes() for file in database_files(path))


@pytest.fixture
def point_in_region(store):
    store.import_points([make_point("kyiv-1", region=REGION, settlement="Бровари", lat=50.511, lon=30.79)])
    return store.get("kyiv-1")


def patch_status(client, token: str, status: str = "closed"):
    return client.patch(
        "/api/v1/points/kyiv-1",
        json={"status": status},
        headers={"Authorization": f"Bearer {token}", "If-Match": "*"},
    )


# -- create ------------------------------------------------------------------------------------------


def test_create_stores_only_an_argon2id_hash_of_the_password(runner, store, users):
    result = create(runner, "olena", "--role", "operator", "--region", REGION)
    assert result.exit_code == 0, result.output
    assert "user olena created: operator" in result.output
    assert REAL_PASSWORD not in result.output

    (stored,) = [row[0] for row in store.db.execute("SELECT password_hash FROM users WHERE name = 'olena'")]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(stored, REAL_PASSWORD)
    assert not any(REAL_PASSWORD in cell for cell in every_text_cell(store))
    assert REAL_PASSWORD.encode() not in database_bytes(store)
    user = users.get_by_name("olena")
    assert (user.role.value, user.regions, user.disabled) == ("operator", (REGION,), False)


def test_two_users_with_one_password_get_different_hashes(runner, store):
    for name in ("olena", "taras"):
        assert create(runner, name, "--role", "viewer").exit_code == 0
    hashes = [row[0] for row in store.db.execute("SELECT password_hash FROM users")]
    assert len(set(hashes)) == 2  # salted


def test_short_password_is_refused(runner, users):
    result = create(runner, "olena", "--role", "admin", password="x" * (MIN_PASSWORD_LENGTH - 1))
    assert result.exit_code == 1
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in result.output
    assert users.all() == []


def test_empty_stdin_is_a_short_password(runner, users):
    result = runner.invoke(args=["users", "create", "olena", "--role", "admin", "--password-stdin"], input="")
    assert result.exit_code == 1
    assert users.all() == []


def test_operator_without_region_or_settlement_is_refused(runner, users):
    result = create(runner, "olena", "--role", "operator")
    assert result.exit_code == 1
    assert "needs at least one --region or --settlement" in result.output
    assert users.all() == []


def test_operator_with_only_a_settlement_is_accepted_within_its_region(runner, users):
    assert create(runner, "olena", "--role", "operator", "--settlement", "Бровари").exit_code == 0
    assert users.get_by_name("olena").settlements == ("Бровари (Київська область)",)
    spelt = create(runner, "ira", "--role", "operator", "--settlement", "Бровари (київська обл.)")
    assert spelt.exit_code == 0
    assert users.get_by_name("ira").settlements == ("Бровари (Київська область)",)


@pytest.mark.parametrize(
    "settlement, says",
    [
        ("Іванівка", "say which region"),  # a name many regions have
        ("Нідеяка", "say which region"),  # a name the gazetteer does not know
        ("Бровари (Марсіанська область)", "unknown region"),
    ],
)
def test_a_settlement_scope_that_cannot_be_placed_is_refused(runner, users, settlement, says):
    result = create(runner, "olena", "--role", "operator", "--settlement", settlement)
    assert result.exit_code == 1 and says in result.output
    assert users.all() == []


def test_unknown_role_is_refused(runner, users):
    result = create(runner, "olena", "--role", "root")
    assert result.exit_code == 2
    assert users.all() == []


def test_duplicate_name_is_refused_and_the_first_user_is_kept(runner, store, users):
    assert create(runner, "olena", "--role", "operator", "--region", REGION).exit_code == 0
    before = list(store.db.execute("SELECT * FROM users"))
    result = create(runner, "olena", "--role", "admin", password="інший пароль 123")
    assert result.exit_code == 1
    assert "exists already" in result.output
    assert list(store.db.execute("SELECT * FROM users")) == before


# -- list, disable, enable ---------------------------------------------------------------------------


def test_list_shows_role_state_and_scope(runner, make_user):
    make_user("olena", "operator", regions=(REGION,), settlements=("Бровари",))
    make_user("admin", "admin")
    assert runner.invoke(args=["users", "disable", "admin"]).exit_code == 0
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "admin\tadmin\tdisabled\tусі регіони",
        f"olena\toperator\tactive\t{REGION}, Бровари",
    ]


@pytest.mark.parametrize("command", ["disable", "enable", "token"])
def test_commands_on_an_unknown_user_fail(runner, command):
    result = runner.invoke(args=["users", command, "nobody"])
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


# -- tokens ------------------------------------------------------------------------------------------


def test_token_is_printed_once_and_only_its_digest_is_stored(
    runner, store, make_user, client, point_in_region
):
    make_user("olena", "operator", regions=(REGION,))
    result = runner.invoke(args=["users", "token", "olena", "--label", "hromada sync"])
    assert result.exit_code == 0
    token = result.stdout.strip()  # the token alone: its id and expiry go to stderr
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40 and "\n" not in token

    rows = list(store.db.execute("SELECT digest, label FROM api_tokens"))
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "hromada sync")]
    assert not any(token in cell for cell in every_text_cell(store))
    assert token.encode() not in database_bytes(store)

    again = runner.invoke(args=["users", "token", "olena"]).stdout.strip()
    assert again != token  # a new token each time; the first one cannot be shown again

    response = patch_status(client, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert store.history("kyiv-1")[0]["by"] == "olena"


def test_disabled_users_token_and_session_stop_working(
    runner, store, make_user, client, app, point_in_region
):
    make_user("olena", "operator", regions=(REGION,))
    token = runner.invoke(args=["users", "token", "olena"]).stdout.strip()
    assert login(client, "olena").status_code == 302
    assert client.get("/operator/").status_code == 200
    assert patch_status(client, token, "full").status_code == 200

    assert runner.invoke(args=["users", "disable", "olena"]).exit_code == 0
    before = (store.all(), store.history("kyiv-1"))
    # A disabled user's token is no token: alone it gets 401; beside the (ended) session's cookie
    # it exempts nothing, so the write must pass the CSRF check first, and fails it (issue 15).
    assert patch_status(app.test_client(), token, "closed").status_code == 401
    assert patch_status(client, token, "closed").status_code == 400
    page = client.get("/operator/")
    assert page.status_code == 302 and "/operator/login" in page.headers["Location"]
    assert login(client, "olena").status_code == 401  # nor can they log in again
    assert (store.all(), store.history("kyiv-1")) == before

    # Enabled again: she may log in, but the token stays revoked (disabling revoked it for good)
    # and a session cut off by a disable stays ended; a new token works.
    assert runner.invoke(args=["users", "enable", "olena"]).exit_code == 0
    assert patch_status(app.test_client(), token, "closed").status_code == 401
    assert (store.all(), store.history("kyiv-1")) == before
    new_token = runner.invoke(args=["users", "token", "olena"]).stdout.strip()
    assert patch_status(app.test_client(), new_token, "closed").status_code == 200
    other = app.test_client()
    assert login(other, "olena").status_code == 302
    assert runner.invoke(args=["users", "disable", "olena"]).exit_code == 0
    assert runner.invoke(args=["users", "enable", "olena"]).exit_code == 0
    assert other.get("/operator/").status_code == 302
    assert login(client, "olena").status_code == 302


# -- passwd ------------------------------------------------------------------------------------------


def passwd(runner, name: str, password: str):
    return runner.invoke(args=["users", "passwd", name, "--password-stdin"], input=password + "\n")


def test_passwd_sets_a_new_argon2id_password_and_ends_that_users_sessions(
    runner, store, app, make_user, client
):
    make_user("olena", "admin")
    make_user("taras", "admin")
    assert login(client, "olena").status_code == 302
    other = app.test_client()
    assert login(other, "taras").status_code == 302

    new_password = "нова-батарейка 2027"
    result = passwd(runner, "olena", new_password)
    assert result.exit_code == 0, result.output
    assert "password of olena changed; their sessions have ended" in result.output
    assert new_password not in result.output
    (stored,) = [row[0] for row in store.db.execute("SELECT password_hash FROM users WHERE name = 'olena'")]
    assert stored.startswith("$argon2id$") and PasswordHasher().verify(stored, new_password)
    assert new_password.encode() not in database_bytes(store)

    page = client.get("/operator/")
    assert page.status_code == 302 and "/operator/login" in page.headers["Location"]  # her session ended
    assert other.get("/operator/").status_code == 200  # not anyone else's
    assert login(app.test_client(), "olena").status_code == 401  # the old password no longer works
    assert login(app.test_client(), "olena", password=new_password).status_code == 302


def test_passwd_prompts_twice_without_stdin(runner, make_user):
    make_user("olena", "admin")
    result = runner.invoke(args=["users", "passwd", "olena"], input="довгий пароль 1\nдовгий пароль 1\n")
    assert result.exit_code == 0, result.output
    mismatch = runner.invoke(args=["users", "passwd", "olena"], input="довгий пароль 1\nінший пароль 22\n")
    assert mismatch.exit_code != 0


def test_passwd_refuses_a_short_password_and_an_unknown_user(runner, store, make_user):
    make_user("olena", "admin")
    before = list(store.db.execute("SELECT * FROM users"))
    short = passwd(runner, "olena", "x" * (MIN_PASSWORD_LENGTH - 1))
    assert short.exit_code == 1
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in short.output
    unknown = passwd(runner, "nobody", REAL_PASSWORD)
    assert unknown.exit_code == 1
    assert "no user named 'nobody'" in unknown.output
    assert list(store.db.execute("SELECT * FROM users")) == before


# -- the roles of issue 20 ----------------------------------------------------------------------


def test_a_reviewer_needs_a_scope_and_a_business_comes_only_from_a_proposal(runner, users):
    assert create(runner, "rita", "--role", "reviewer").exit_code != 0
    result = create(runner, "rita", "--role", "reviewer", "--region", REGION)
    assert result.exit_code == 0, result.output
    assert users.get_by_name("rita").role.value == "reviewer"
    refused = create(runner, "shop", "--role", "business")
    assert refused.exit_code != 0 and "proposal" in refused.output
    assert "shop" not in [user.name for user in users.all()]


def test_a_business_gets_a_new_one_time_link_from_the_cli(runner, app, users, password_hash):
    users.create("business-7", password_hash, "business", points=("kyiv-01",))
    result = runner.invoke(args=["users", "signin-link", "business-7"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().rsplit("/", 1)[1]
    proposals = app.extensions["locator.proposals"]
    from locator.services import proposals as commands

    assert commands.use_link(proposals, users, token).name == "business-7"
    assert commands.use_link(proposals, users, token) is None  # once
    assert runner.invoke(args=["users", "signin-link", "nobody"]).exit_code != 0
    users.create("olga", password_hash, "operator", regions=(REGION,))
    assert runner.invoke(args=["users", "signin-link", "olga"]).exit_code != 0
