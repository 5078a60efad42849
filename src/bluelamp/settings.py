"""Typed settings: one TOML file plus BLUELAMP_* environment variables, built by a factory.

Precedence: explicit arguments > environment (BLUELAMP_SECTION__KEY, e.g.
BLUELAMP_WEB__PORT=8080) > the TOML file (BLUELAMP_CONFIG, else ./bluelamp.toml if present) >
defaults. Nothing is read at import time: call `load_settings()`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bluelamp.errors import ConfigError


class LakeSettings(BaseModel):
    path: Path = Field(Path("bluelamp-lake"), description="Root folder of the Parquet lake.")


class DatabaseSettings(BaseModel):
    url: str = Field(
        "sqlite:///bluelamp.db",
        description="SQLAlchemy URL of the control-plane database (SQLite or PostgreSQL).",
    )


class WebSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the web server binds to.")
    port: int = Field(8000, description="Port the web server listens on.")
    secret_key: str | None = Field(
        None, description="Key that signs sessions; a random one per process when unset."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL used in e-mails and feeds."
    )
    max_body_bytes: int = Field(
        1_048_576, description="Largest request body the web server accepts (bytes)."
    )
    login_per_minute: int = Field(
        10, description="Login attempts allowed per minute, per client address and per account."
    )
    session_hours: int = Field(12, description="How long a web session stays valid.")
    dns_nameservers: list[str] = Field(
        default_factory=list,
        description="Resolvers used to check domain ownership (TXT); system ones when empty.",
    )
    dns_port: int = Field(53, description="Port of those resolvers.")


class EngineSettings(BaseModel):
    window_seconds: int = Field(3600, description="Default tumbling window length.")
    max_keys: int = Field(1_000_000, description="Per-detector cap on keys in one window.")
    batch_size: int = Field(65_536, description="Rows per Arrow batch read from inputs.")


class AttributionSettings(BaseModel):
    routing: list[Path] = Field(
        default_factory=list,
        description="Routing files: CAIDA pfx2as or iptoasn ip2asn (recognised by content).")
    delegated: list[Path] = Field(
        default_factory=list,
        description="RIR statistics (delegated / delegated-extended) files: national scope.")
    as_org: list[Path] = Field(
        default_factory=list, description="CAIDA as-org2info files: AS number → organisation.")
    abuse: list[Path] = Field(
        default_factory=list, description="ASN → abuse contact files (AS64500,abuse@...).")
    orgs: Path | None = Field(
        None, description="Organisations file (TOML [[organisation]] tables, or CSV).")
    geo: Path | None = Field(
        None, description="MaxMind-format City database (.mmdb) for regions.")
    country: str | None = Field(
        None, description="ISO 3166-1 alpha-2 code of the national address space (e.g. GB).")
    regions: dict[str, str] = Field(
        default_factory=dict,
        description="Geolocation city / subdivision (GB-MAN, MAN, Greater Manchester) / "
        "country → region (regional police unit).")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BLUELAMP_", env_nested_delimiter="__", extra="ignore"
    )

    lake: LakeSettings = Field(default_factory=LakeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    attribution: AttributionSettings = Field(default_factory=AttributionSettings)


def config_path(config: Path | None = None) -> Path | None:
    """The settings file in force: the argument, else $BLUELAMP_CONFIG, else ./bluelamp.toml."""
    if config is None and os.environ.get("BLUELAMP_CONFIG"):
        config = Path(os.environ["BLUELAMP_CONFIG"])
    if config is None and Path("bluelamp.toml").is_file():
        config = Path("bluelamp.toml")
    if config is not None and not config.is_file():
        raise ConfigError(f"{config}: settings file not found")
    return config


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings: explicit `overrides` (nested dicts per section) > environment >
    the TOML file > defaults."""
    path = config_path(config)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(
            env_prefix="BLUELAMP_", env_nested_delimiter="__", extra="ignore", toml_file=path
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
            if path is not None:
                sources += (TomlConfigSettingsSource(settings_cls),)
            return sources

    try:
        return Settings.model_validate(_FromFile(**overrides).model_dump())
    except (ValidationError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"invalid settings ({path or 'environment'}): {exc}") from None
