"""Typed settings: one TOML file plus BLUELAMP_* environment variables, built by a factory.

Precedence: explicit arguments > environment (BLUELAMP_SECTION__KEY, e.g.
BLUELAMP_WEB__PORT=8080) > the TOML file (BLUELAMP_CONFIG, else ./bluelamp.toml if present) >
defaults. Nothing is read at import time: call `load_settings()`.
"""

from __future__ import annotations

import datetime as dt
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


class SuspensionSettings(BaseModel):
    zones: list[str] = Field(
        default_factory=list,
        description="Zones the registry runs (e.g. uk, co.uk); requests outside them are refused.")
    adapter: str = Field(
        "rfc2136", description="Registry adapter that changes the zone: rfc2136 (DNS UPDATE "
        "signed with TSIG) or none (decisions are recorded, nothing is changed).")
    server: str = Field("127.0.0.1", description="Primary authoritative server that takes "
                        "RFC 2136 updates and zone transfers.")
    port: int = Field(53, description="Port of that server.")
    tsig_name: str = Field("bluelamp-key", description="Name of the TSIG key for updates.")
    tsig_secret: str | None = Field(None, description="Base64 TSIG secret (shared with the "
                                    "server's key of the same name).")
    tsig_algorithm: str = Field("hmac-sha256", description="TSIG algorithm.")
    timeout: float = Field(5.0, description="Seconds to wait for the authoritative server.")
    redirect_ipv4: list[str] = Field(
        default_factory=list,
        description="IPv4 addresses of the web server that shows the suspension landing page.")
    redirect_ipv6: list[str] = Field(
        default_factory=list,
        description="IPv6 addresses of the web server that shows the suspension landing page.")
    redirect_ttl: int = Field(300, description="TTL of the redirect records.")
    resolvers: list[str] = Field(
        default_factory=list,
        description="Resolvers asked whether a requested name resolves; system ones when empty.")
    resolver_port: int = Field(53, description="Port of those resolvers.")
    evidence_dir: Path = Field(Path("bluelamp-evidence"), description="Folder of evidence "
                               "files, stored by SHA-256 (content-addressed).")
    evidence_max_bytes: int = Field(10_000_000, description="Largest evidence file accepted.")
    evidence_types: list[str] = Field(
        default_factory=lambda: ["application/pdf", "image/png", "image/jpeg", "text/plain",
                                 "text/csv", "message/rfc822"],
        description="Media types accepted as evidence (checked against the file's content).")
    max_bulk_names: int = Field(25_000, description="Most names in one bulk request.")
    sla_hours: dict[str, int] = Field(
        default_factory=lambda: {"immediate": 4, "high": 24, "normal": 72, "low": 240},
        description="Service level per urgency: hours from request to decision.")
    complaint_working_days: int = Field(
        10, description="Working days the agency has to answer a complaint before the "
        "suspension is lifted.")
    public_holidays: list[dt.date] = Field(
        default_factory=list, description="Public holidays skipped by the complaint clock.")
    smtp_host: str | None = Field(None, description="SMTP server for registrant notices and "
                                  "agency messages; notices are only stored when unset.")
    smtp_port: int = Field(25, description="Port of that SMTP server.")
    mail_from: str = Field("suspensions@localhost", description="Sender of those messages.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BLUELAMP_", env_nested_delimiter="__", extra="ignore"
    )

    lake: LakeSettings = Field(default_factory=LakeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    attribution: AttributionSettings = Field(default_factory=AttributionSettings)
    suspensions: SuspensionSettings = Field(default_factory=SuspensionSettings)


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


def reference_markdown() -> str:
    """The settings reference for docs/configuration.md, derived from the models above."""
    lines: list[str] = []
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        lines += [f"### `[{section}]`", "", "| setting | environment | default | meaning |",
                  "| --- | --- | --- | --- |"]
        for key, sub in model.model_fields.items():
            default = sub.get_default(call_default_factory=True)
            shown = "(none)" if default is None else f"`{default}`"
            env = f"BLUELAMP_{section.upper()}__{key.upper()}"
            lines.append(f"| `{section}.{key}` | `{env}` | {shown} | {sub.description} |")
        lines.append("")
    return "\n".join(lines)
