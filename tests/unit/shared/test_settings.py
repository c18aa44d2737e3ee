"""Settings: environment parsing and the embedded JWT secret persisted in the data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from customerhub_shared.settings import JWT_SECRET_FILE, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CUSTOMERHUB_") or name.upper() == "KURRENTDB_URL":
            monkeypatch.delenv(name)


def test_defaults_describe_the_embedded_mode() -> None:
    settings = load_settings()
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.data_dir == Path("./var")
    assert settings.event_store == "sqlite"
    assert settings.jwt_secret is None
    assert settings.kurrentdb_url is None
    assert settings.name_uniqueness == "reject"
    assert (settings.customer_number_prefix, settings.customer_number_start) == ("C", 10001)
    assert (settings.log_level, settings.log_format) == ("INFO", "json")
    assert settings.max_body_bytes == 1_048_576


def test_prefixed_environment_variables_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CUSTOMERHUB_PORT", "9001")
    monkeypatch.setenv("CUSTOMERHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUSTOMERHUB_EVENT_STORE", "postgres")
    monkeypatch.setenv("CUSTOMERHUB_POSTGRES_DSN", "postgresql://localhost/customerhub")
    monkeypatch.setenv("CUSTOMERHUB_NAME_UNIQUENESS", "warn")
    monkeypatch.setenv("CUSTOMERHUB_JWKS_URL", "https://idp.example/jwks.json")
    monkeypatch.setenv("CUSTOMERHUB_JWT_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.data_dir == tmp_path
    assert settings.event_store == "postgres"
    assert settings.postgres_dsn == "postgresql://localhost/customerhub"
    assert settings.name_uniqueness == "warn"
    assert settings.jwks_url == "https://idp.example/jwks.json"
    assert "s3cret" not in repr(settings)


def test_kurrentdb_url_is_read_from_the_unprefixed_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KURRENTDB_URL", "kurrentdb://localhost:2113?tls=false")
    assert load_settings().kurrentdb_url == "kurrentdb://localhost:2113?tls=false"


def test_kurrentdb_url_also_accepts_the_prefixed_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMERHUB_KURRENTDB_URL", "kurrentdb://other:2113")
    assert load_settings().kurrentdb_url == "kurrentdb://other:2113"


def test_overrides_take_precedence_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMERHUB_PORT", "9001")
    monkeypatch.setenv("KURRENTDB_URL", "kurrentdb://from-env:2113")
    settings = load_settings(port=9100, kurrentdb_url="kurrentdb://override:2113")
    assert settings.port == 9100
    assert settings.kurrentdb_url == "kurrentdb://override:2113"


def test_unknown_event_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERHUB_EVENT_STORE", "mysql")
    with pytest.raises(ValidationError):
        load_settings()


def test_misspelt_override_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings(prot=8000)


def test_configured_jwt_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="configured-secret-of-32-bytes-min")
    assert settings.resolved_jwt_secret() == "configured-secret-of-32-bytes-min"
    assert not (tmp_path / JWT_SECRET_FILE).exists()


def test_embedded_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # not there yet
    first = Settings(data_dir=data_dir).resolved_jwt_secret()
    secret_file = data_dir / JWT_SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    # A second process (the CLI minting tokens) reads the same secret.
    assert Settings(data_dir=data_dir).resolved_jwt_secret() == first
    assert list(data_dir.iterdir()) == [secret_file]


def test_each_data_directory_gets_its_own_random_secret(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path / "one").resolved_jwt_secret()
    other = Settings(data_dir=tmp_path / "other").resolved_jwt_secret()
    assert one != other


def test_empty_configured_secret_falls_back_to_the_persisted_one(tmp_path: Path) -> None:
    persisted = Settings(data_dir=tmp_path).resolved_jwt_secret()
    assert Settings(data_dir=tmp_path, jwt_secret="").resolved_jwt_secret() == persisted
