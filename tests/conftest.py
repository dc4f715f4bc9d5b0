"""Fixtures: an app on a real database per test (a SQLite file in a temp dir; in modules marked
``backends``, also a fresh PostgreSQL + PostGIS database), its client, CLI runner and store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from helpers import PASSWORD, dispatch_counter, make_point

from locator import create_app
from locator.config import SETTINGS
from locator.domain.point import format_time, utcnow
from locator.services.accounts import new_token
from locator.store import open_store

pytest_plugins = ["pg_fixtures"]  # PostgreSQL: pg_cluster (per worker), postgres_url (per test)

PROJECT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc):
    """Tests in a module marked ``backends`` run once per database (CI runs both)."""
    definition = metafunc.definition
    if (
        "backend" in metafunc.fixturenames
        and definition.get_closest_marker("backends")
        and not definition.get_closest_marker("sqlite_only")
    ):
        metafunc.parametrize("backend", BACKENDS)


DEV_DATABASE = PROJECT / "instance" / "locator.db"


def _stat(path: Path) -> tuple | None:
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else None


@pytest.fixture(scope="session", autouse=True)
def dev_database_untouched():
    """The suite never creates or writes the developer's instance/locator.db, nor leaves files in
    the project's top folder (a database opened at a path made from a PostgreSQL URL would)."""
    before, top = _stat(DEV_DATABASE), {path.name for path in PROJECT.iterdir()}
    yield
    assert _stat(DEV_DATABASE) == before, "a test touched instance/locator.db"
    # (instance/ is the app's own folder: the gazetteer keeps its index there)
    made = (
        {path.name for path in PROJECT.iterdir()}
        - top
        - {".pytest_cache", "__pycache__", ".ruff_cache", "instance"}
    )
    assert not made, f"tests left files in the project: {sorted(made)}"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path_factory):
    """No setting leaks in from the shell; an app built without overrides still uses a temp file."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("LOCATOR_DB", str(tmp_path_factory.mktemp("env") / "env.db"))
    monkeypatch.setenv("LOCATOR_SEED_FILE", "")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "locator.db"


@pytest.fixture
def backend() -> str:
    """The database the app runs on: SQLite unless the module is marked ``backends``."""
    return "sqlite"


@pytest.fixture
def database_settings(backend, db_path, request) -> dict[str, str]:
    """The app's database settings for this test's backend (PostgreSQL: a fresh database)."""
    if backend == "postgres":
        return {"DATABASE": str(db_path), "DATABASE_URL": request.getfixturevalue("postgres_url")}
    return {"DATABASE": str(db_path)}


@pytest.fixture
def open_store_again(database_settings):
    """Another store on the test's database, as another process would open it; closed after."""
    opened = []

    def open_again():
        store = open_store(database_settings["DATABASE"], url=database_settings.get("DATABASE_URL", ""))
        opened.append(store)
        return store

    yield open_again
    for store in opened:
        store.dispose()


@pytest.fixture
def app(database_settings):
    app = create_app({**database_settings, "SEED_FILE": "", "TESTING": True})
    yield app
    app.extensions["locator.store"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def dispatched(app):
    """How many requests reached Flask's own dispatch: answers given before Flask
    (http/revalidation.py, http/fast_nearest.py) leave it alone."""
    return dispatch_counter(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def store(app):
    return app.extensions["locator.store"]


def seed_points() -> list:
    """About 30 points that differ in every field a filter can look at."""
    # id | status | kind | category | base | services | settlement | region | lat | lon
    table = """
    kyiv-01   |open   |fixed |state   |1|power,heat,internet  |Київ      |Київ               |50.4501|30.5234
    kyiv-02   |full   |fixed |business|0|power,hot_drinks     |Київ      |м. Київ            |50.4547|30.5166
    kyiv-03   |closed |mobile|state   |0|heat                 |Київ      |Київ               |50.4410|30.5600
    kyiv-04   |standby|fixed |state   |1|power,heat,water     |Київ      |КИЇВ               |50.4200|30.4800
    kyiv-05   |open   |mobile|business|0|                     |Київ      |місто Київ         |50.4700|30.6000
    brov-01   |open   |fixed |state   |1|power,heat,first_aid |Бровари   |Київська обл.      |50.5110|30.7900
    brov-02   |closed |fixed |business|0|internet             |Бровари   |Київська обл.      |50.5000|30.8000
    irp-01    |open   |fixed |state   |0|power,child_room     |Ірпінь    |Київська обл.      |50.5210|30.2500
    lviv-01   |open   |fixed |state   |1|power,heat,sleeping  |Львів     |Львівська обл.     |49.8397|24.0297
    lviv-02   |full   |mobile|state   |0|hot_drinks,food      |Львів     |Львівська обл.     |49.8420|24.0310
    lviv-03   |open   |fixed |business|0|power,mobile_signal  |Львів     |ЛЬВІВСЬКА ОБЛАСТЬ  |49.8300|24.0100
    kam-01    |open   |fixed |state   |1|power,heat           |Кам’янець |Хмельницька обл.   |48.6845|26.5853
    kam-02    |standby|fixed |business|0|pets                 |Кам'янець |Хмельницька обл.   |48.6800|26.5800
    zap-01    |open   |mobile|state   |0|power,heat,wheelchair|Запоріжжя |Запорізька обл.    |47.8388|35.1396
    zap-02    |closed |fixed |state   |1|power                |Запоріжжя |Запорізька обл.    |47.8500|35.1200
    zap-03    |full   |fixed |business|0|heat,water           |Запоріжжя |Запорізька обл.    |47.8200|35.1800
    znam-01   |open   |fixed |state   |0|power,heat           |Знам’янка |Кіровоградська обл.|48.7150|32.6660
    slov-01   |open   |mobile|state   |0|power,mobile_signal  |Слов’янськ|Донецька обл.      |48.8520|37.6050
    slov-02   |standby|fixed |business|0|food                 |Слов'янськ|Донецька обл.      |48.8600|37.6200
    khar-01   |open   |fixed |state   |1|power,heat,toilet    |Харків    |Харківська обл.    |49.9935|36.2304
    khar-02   |open   |fixed |business|0|power                |Харків    |Харківська обл.    |50.0050|36.2290
    khar-03   |closed |mobile|state   |0|heat                 |Харків    |Харківська обл.    |49.9800|36.2500
    khar-04   |full   |fixed |state   |1|power,heat,sleeping  |Харків    |Харківська обл.    |50.0100|36.2000
    pyat-01   |open   |fixed |state   |0|power,hot_drinks     |П’ятихатки|Дніпропетровська   |48.4130|33.7000
    odesa-01  |open   |fixed |business|0|power,internet       |Одеса     |Одеська обл.       |46.4825|30.7233
    odesa-02  |standby|mobile|state   |0|heat,first_aid       |Одеса     |Одеська обл.       |46.4700|30.7300
    dup-a     |open   |fixed |state   |0|power                |Суми      |Сумська обл.       |50.9077|34.7981
    dup-b     |open   |fixed |state   |0|power                |Суми      |Сумська обл.       |50.9077|34.7981
    noregion-1|open   |fixed |state   |0|                     |          |                   |49.5000|31.0000
    uzh-01    |full   |fixed |business|1|power,heat,pets      |Ужгород   |Закарпатська       |48.6208|22.2879
    """
    specs = [[cell.strip() for cell in line.split("|")] for line in table.strip().splitlines()]
    points = []
    for i, (pid, status, kind, category, base, services, settlement, region, lat, lon) in enumerate(specs):
        # Half the points were confirmed an hour ago, half 30 hours ago (stale under the default 12 h).
        age = timedelta(hours=1 if i % 2 == 0 else 30)
        label = "Намет ДСНС" if kind == "mobile" else "Пункт незламності"
        points.append(
            make_point(
                pid,
                now=None,
                name=f"{label} {settlement or 'поза містом'} {i}",
                status=status,
                kind=kind,
                category=category,
                base=base == "1",
                services=services,
                settlement=settlement,
                region=region,
                address=f"вул. Шевченка, {i + 1}",
                lat=float(lat),
                lon=float(lon),
                updated_at=None,
                verified_at=_ago(age),
            )
        )
    return points


def _ago(age: timedelta) -> str:
    return format_time(utcnow() - age)


@pytest.fixture
def seeded(store) -> list:
    """The store with about 30 varied points imported; returns them as stored, by id."""
    store.import_points(seed_points())
    return store.all()


# -- console users ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD as argon2id at the lowest cost: the app verifies it the same way, in milliseconds
    instead of the 0.3 s the production parameters take (the CLI tests check those)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture
def users(app):
    return app.extensions["locator.users"]


@pytest.fixture
def make_user(users, password_hash):
    """Create a console user whose password is PASSWORD: make_user("olena", "operator", regions=[...])."""

    def make(name: str, role: str = "operator", *, regions=(), settlements=(), points=()):
        return users.create(name, password_hash, role, regions, settlements, points)

    return make


@pytest.fixture
def make_token(users):
    """Give a user a new API token and return the token (only its digest is stored)."""

    def make(name: str) -> str:
        token, digest = new_token()
        users.add_token(name, digest)
        return token

    return make


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's, never a downloaded one) for every browser test here."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield browser
        browser.close()
