import pytest

from horde.modes import Mode, mode_owning_path
from horde.settings import Settings, SettingsError


def test_defaults_need_no_configuration(tmp_path):
    s = Settings.from_env({})
    assert s.mode is Mode.IMAGE
    assert s.port == 7001 and s.host == "127.0.0.1"
    assert s.effective_database_url.startswith("sqlite:///") and s.effective_database_url.endswith("horde-image.db")
    assert s.redis_url == "" and s.rate_limits is True
    assert s.name == "Stable Horde"


def test_each_mode_has_its_own_default_database():
    image = Settings.from_env({"HORDE_MODE": "image"})
    text = Settings.from_env({"HORDE_MODE": "text"})
    assert image.effective_database_url != text.effective_database_url
    assert text.name == "KoboldAI Horde"


def test_environment_values_are_typed():
    s = Settings.from_env(
        {
            "HORDE_PORT": "8123",
            "HORDE_RATE_LIMITS": "off",
            "HORDE_DEFAULT_CONCURRENCY": "12",
            "HORDE_ADMINS": '["root#1", "ops#7"]',
            "HORDE_DATABASE_URL": "postgresql+psycopg2://h@db/h",
            "HORDE_STATS_SECONDS": "2.5",
        }
    )
    assert s.port == 8123 and s.rate_limits is False and s.default_concurrency == 12 and s.stats_seconds == 2.5
    assert s.admins == ["root#1", "ops#7"]
    assert not s.is_sqlite


def test_comma_separated_admins():
    assert Settings.from_env({"HORDE_ADMINS": "a#1, b#2"}).admins == ["a#1", "b#2"]


@pytest.mark.parametrize(
    "env",
    [{"HORDE_PORT": "eighty"}, {"HORDE_RATE_LIMITS": "maybe"}, {"HORDE_MODE": "video"},
     {"HORDE_STATS_SECONDS": "0"}, {"HORDE_STATS_SECONDS": "often"}],
)
def test_bad_values_are_refused_with_the_variable_named(env):
    with pytest.raises((SettingsError, ValueError)) as info:
        Settings.from_env(env)
    assert list(env)[0] in str(info.value) or "mode" in str(info.value)


def test_paths_belong_to_their_mode():
    assert mode_owning_path("/api/v2/generate/text/async") is Mode.TEXT
    assert mode_owning_path("/api/v2/generate/async") is Mode.IMAGE
    assert mode_owning_path("/api/v2/generate/check/abc") is Mode.IMAGE
    assert mode_owning_path("/api/v2/users/1") is None


def test_fetching_private_addresses_is_off_unless_asked_for():
    default = Settings.from_env({})
    assert default.fetch_allow_private is False and default.fetch_concurrency == 4 and default.fetch_deadline == 10.0
    s = Settings.from_env({"HORDE_FETCH_ALLOW_PRIVATE": "1", "HORDE_FETCH_CONCURRENCY": "2", "HORDE_FETCH_DEADLINE": "2.5"})
    assert s.fetch_allow_private is True and s.fetch_concurrency == 2 and s.fetch_deadline == 2.5
    with pytest.raises(SettingsError):
        Settings.from_env({"HORDE_FETCH_DEADLINE": "soon"})


def test_stream_settings_must_be_positive_seconds():
    assert Settings.from_env({"HORDE_STREAM_KEEPALIVE": "2.5"}).stream_keepalive == 2.5
    for value in ("0", "-1", "soon"):
        with pytest.raises(SettingsError, match="HORDE_STREAM_KEEPALIVE"):
            Settings.from_env({"HORDE_STREAM_KEEPALIVE": value})
    with pytest.raises(SettingsError, match="HORDE_STREAM_MAX_SECONDS"):
        Settings.from_env({"HORDE_STREAM_MAX_SECONDS": "0"})


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://horde:pw@db:5432/horde_image",  # what most platforms hand out
        "postgres://horde:pw@db:5432/horde_image",  # Heroku and others
        "postgresql+psycopg2://horde:pw@db:5432/horde_image",
        "POSTGRESQL://horde:pw@db:5432/horde_image",
    ],
)
def test_postgresql_urls_all_go_through_psycopg2(given):
    settings = Settings.from_env({"HORDE_DATABASE_URL": given})
    assert settings.effective_database_url == "postgresql+psycopg2://horde:pw@db:5432/horde_image"
    from sqlalchemy import create_engine

    engine = create_engine(settings.effective_database_url)  # no connection: the driver module loads
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


def test_a_postgresql_driver_that_is_not_installed_is_named():
    with pytest.raises(SettingsError, match="psycopg.*postgresql://"):
        Settings.from_env({"HORDE_DATABASE_URL": "postgresql+psycopg://horde@db/horde"})


def test_sqlite_urls_are_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    assert Settings.from_env({"HORDE_DATABASE_URL": url}).effective_database_url == url


@pytest.mark.parametrize(
    "given,expected",
    [("", ""), ("http://text-horde:7001", "http://text-horde:7001"), ("https://text.example/api/", "https://text.example")],
)
def test_the_sibling_horde_is_an_http_base_address(given, expected):
    assert Settings.from_env({"HORDE_SIBLING_URL": given}).sibling_url == expected


@pytest.mark.parametrize("given", ["text-horde:7001", "ftp://text-horde", "http://"])
def test_a_sibling_address_that_is_not_http_is_refused(given):
    with pytest.raises(SettingsError, match="HORDE_SIBLING_URL"):
        Settings.from_env({"HORDE_SIBLING_URL": given})
