"""Settings: defaults load, every bad value stops start-up naming its variable, overrides win."""

from __future__ import annotations

from pathlib import Path

import pytest

from locator import create_app
from locator.config import SETTINGS, ConfigError, load


def test_defaults_load():
    config = load(environ={})
    expected = {
        "DATABASE": "instance/locator.db",
        "SEED_FILE": "data/points.geojson",
        "STALE_HOURS": 12.0,
        "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "TILE_ATTRIBUTION": "© OpenStreetMap contributors",
        "MAP_CENTER": (50.4501, 30.5234),
        "MAP_ZOOM": 9,
        "CACHE_SECONDS": 30,
        "ENV": "development",
        "SECRET_KEY": "",
        "SESSION_HOURS": 12.0,
        "API_RATE_PER_MIN": 600,
        "TRUSTED_PROXIES": 0,
        "EMBED_ANCESTORS": "*",
        "PORT": 5000,
        "REPORTS_TO_UNCONFIRM": 3,
        "REPORT_WINDOW_HOURS": 6.0,
        "REPORT_DISTINCT_SENDERS": True,
        "SENDER_PREFIX_V4": 24,
        "SENDER_PREFIX_V6": 48,
        "REPORTS_PER_SENDER_HOUR": 5,
        "REPORTS_PER_POINT_HOUR": 20,
    }
    assert {key: config[key] for key in expected} == expected
    assert set(config) == {setting.key for setting in SETTINGS}  # every setting has a default


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(environ={"LOCATOR_ENV": "production"})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(environ={"LOCATOR_ENV": "production", "SECRET_KEY": "short"})
    assert load(environ={"LOCATOR_ENV": "production", "SECRET_KEY": "k" * 40})["ENV"] == "production"


def test_a_bad_secret_key_is_never_echoed():
    with pytest.raises(ConfigError) as raised:
        load(environ={"LOCATOR_ENV": "production", "SECRET_KEY": "tiny-secret"})
    assert "tiny-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "value", "key", "expected"),
    [
        ("LOCATOR_DB", "/var/lib/locator/points.db", "DATABASE", "/var/lib/locator/points.db"),
        ("LOCATOR_SEED_FILE", "", "SEED_FILE", ""),
        ("LOCATOR_STALE_HOURS", "0.5", "STALE_HOURS", 0.5),
        ("LOCATOR_STALE_HOURS", "48", "STALE_HOURS", 48.0),
        (
            "LOCATOR_TILE_URL",
            "https://{s}.tile.example.org/{z}/{x}/{y}.png",
            "TILE_URL",
            "https://{s}.tile.example.org/{z}/{x}/{y}.png",
        ),
        ("LOCATOR_TILE_ATTRIBUTION", "© Приклад", "TILE_ATTRIBUTION", "© Приклад"),
        ("LOCATOR_MAP_CENTER", "49.8397,24.0297", "MAP_CENTER", (49.8397, 24.0297)),
        ("LOCATOR_MAP_CENTER", "-90,180", "MAP_CENTER", (-90.0, 180.0)),
        ("LOCATOR_MAP_ZOOM", "0", "MAP_ZOOM", 0),
        ("LOCATOR_MAP_ZOOM", "19", "MAP_ZOOM", 19),
        ("LOCATOR_CACHE_SECONDS", "0", "CACHE_SECONDS", 0),
        ("PORT", "8080", "PORT", 8080),
        ("PORT", "65535", "PORT", 65535),
        ("LOCATOR_PUBLIC_URL", "", "PUBLIC_URL", ""),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua/", "PUBLIC_URL", "https://poi.example.ua"),
        ("LOCATOR_PUBLIC_URL", "http://10.0.0.5:8080/poi/", "PUBLIC_URL", "http://10.0.0.5:8080/poi"),
    ],
)
def test_good_values_are_read(env, value, key, expected):
    assert load(environ={env: value})[key] == expected


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("LOCATOR_STALE_HOURS", "0"),
        ("LOCATOR_STALE_HOURS", "-1"),
        ("LOCATOR_STALE_HOURS", "twelve"),
        ("LOCATOR_STALE_HOURS", ""),
        ("LOCATOR_STALE_HOURS", "nan"),
        ("LOCATOR_STALE_HOURS", "inf"),
        ("LOCATOR_STALE_HOURS", "1e300"),
        ("LOCATOR_TILE_URL", "tile.openstreetmap.org/{z}/{x}/{y}.png"),
        ("LOCATOR_TILE_URL", "ftp://tiles.example.org/{z}/{x}/{y}.png"),
        ("LOCATOR_TILE_URL", "javascript:alert(1)//{z}/{x}/{y}"),
        ("LOCATOR_TILE_URL", "https:///{z}/{x}/{y}.png"),
        ("LOCATOR_TILE_URL", "https://tile.openstreetmap.org/tiles.png"),
        ("LOCATOR_TILE_URL", "https://tile.openstreetmap.org/{z}.png"),
        ("LOCATOR_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}.png"),
        ("LOCATOR_MAP_CENTER", "50.45"),
        ("LOCATOR_MAP_CENTER", "50.45,30.52,1"),
        ("LOCATOR_MAP_CENTER", "Київ"),
        ("LOCATOR_MAP_CENTER", "91,30"),
        ("LOCATOR_MAP_CENTER", "50,181"),
        ("LOCATOR_MAP_CENTER", "nan,30"),
        ("LOCATOR_MAP_ZOOM", "20"),
        ("LOCATOR_MAP_ZOOM", "-1"),
        ("LOCATOR_MAP_ZOOM", "9.5"),
        ("LOCATOR_MAP_ZOOM", "close"),
        ("LOCATOR_CACHE_SECONDS", "-1"),
        ("LOCATOR_CACHE_SECONDS", "30s"),
        ("LOCATOR_CACHE_SECONDS", "1.5"),
        ("PORT", "http"),
        ("PORT", "-1"),
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "70000"),
        ("LOCATOR_PUBLIC_URL", "poi.example.ua"),
        ("LOCATOR_PUBLIC_URL", "//poi.example.ua"),
        ("LOCATOR_PUBLIC_URL", "ftp://poi.example.ua"),
        ("LOCATOR_PUBLIC_URL", "https://"),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua/?from=snippet"),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua/#map"),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua:https"),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua/\n"),
        ("LOCATOR_PUBLIC_URL", "https://poi.example.ua/ x"),
    ],
)
def test_a_bad_value_raises_config_error_naming_the_variable(env, value):
    with pytest.raises(ConfigError) as caught:
        load(environ={env: value})
    message = str(caught.value)
    assert message.startswith(f"{env}=")
    assert repr(value) in message
    accepts = next(setting.accepts for setting in SETTINGS if setting.env == env)
    assert accepts in message


def test_a_public_url_with_credentials_is_refused_and_never_echoed():
    with pytest.raises(ConfigError, match="LOCATOR_PUBLIC_URL=") as raised:
        load(environ={"LOCATOR_PUBLIC_URL": "https://admin:hunter2@poi.example.ua"})
    assert "hunter2" not in str(raised.value)


def test_every_setting_has_a_valid_default_and_documentation():
    for setting in SETTINGS:
        setting.parse(setting.default)
        assert setting.doc and setting.accepts


def test_create_app_stops_on_a_bad_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCATOR_MAP_ZOOM", "99")
    with pytest.raises(ConfigError, match="LOCATOR_MAP_ZOOM"):
        create_app({"DATABASE": str(tmp_path / "x.db"), "SEED_FILE": ""})
    assert not (tmp_path / "x.db").exists()


def test_create_app_reads_the_environment_and_overrides_win(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCATOR_DB", str(tmp_path / "from-env.db"))
    monkeypatch.setenv("LOCATOR_STALE_HOURS", "3")
    monkeypatch.setenv("LOCATOR_CACHE_SECONDS", "7")
    app = create_app({"DATABASE": str(tmp_path / "override.db"), "SEED_FILE": "", "CACHE_SECONDS": 9})
    assert app.config["STALE_HOURS"] == 3.0
    assert app.config["CACHE_SECONDS"] == 9
    assert Path(app.extensions["locator.store"].path) == tmp_path / "override.db"
    assert (tmp_path / "override.db").exists() and not (tmp_path / "from-env.db").exists()
    assert "max-age=9" in app.test_client().get("/api/v1/points").headers["Cache-Control"]


def test_the_seed_command_fills_only_an_empty_database_and_create_app_never_does(tmp_path):
    seed = tmp_path / "seed.csv"
    seed.write_text("id,name,status,lat,lon\na,Школа,open,50.45,30.52\nb,Ліцей,closed,49.84,24.03\n")
    app = create_app({"DATABASE": str(tmp_path / "seeded.db"), "SEED_FILE": str(seed)})
    assert app.extensions["locator.store"].count() == 0  # the app imports no data by itself
    result = app.test_cli_runner().invoke(args=["points", "seed"])
    assert result.exit_code == 0 and "seeded 2 points" in result.output
    assert [p.id for p in app.extensions["locator.store"].all()] == ["a", "b"]
    seed.write_text("id,name,status,lat,lon\nc,Інший,open,50.0,30.0\n")
    again = create_app({"DATABASE": str(tmp_path / "seeded.db"), "SEED_FILE": str(seed)})
    result = again.test_cli_runner().invoke(args=["points", "seed"])
    assert result.exit_code == 0 and "nothing seeded" in result.output
    assert [p.id for p in again.extensions["locator.store"].all()] == ["a", "b"]  # only when empty


def test_tile_url_reaches_the_csp_and_the_map(tmp_path):
    url = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    app = create_app({"DATABASE": str(tmp_path / "x.db"), "SEED_FILE": "", "TILE_URL": url})
    response = app.test_client().get("/")
    assert "img-src 'self' data: https://*.tiles.example.org;" in response.headers["Content-Security-Policy"]
    assert url in response.get_data(as_text=True)
