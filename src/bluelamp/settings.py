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
    kdig: str | None = Field(None, description="Path of kdig (knot-dnsutils), used to read "
                             "zones by AXFR much faster than the built-in reader; unset: "
                             "built-in.")
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
    execute_inline_max: int = Field(
        100, description="Approved requests with up to this many names are executed at once; "
        "bigger ones by the next `bluelamp suspensions tick`.")
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


class ReportSettings(BaseModel):
    """Public reporting of risky sites and the self-service health check."""

    submit_per_minute: int = Field(
        20, description="Reports one client address may submit per minute (web form, API).")
    submit_total_per_minute: int = Field(
        3000, description="Reports accepted per minute from everyone together; beyond it the "
        "intake answers 429 (protects triage from a flood).")
    check_per_minute: int = Field(
        30, description="Health-check lookups one client address may make per minute.")
    status_per_minute: int = Field(
        60, description="Status-page lookups one client address may make per minute.")
    max_url_chars: int = Field(2048, description="Longest URL accepted in a report.")
    max_description_chars: int = Field(
        5000, description="Longest free-text description accepted in a report.")
    max_eml_bytes: int = Field(
        5_000_000, description="Largest e-mail (.eml) accepted by the e-mail intake.")
    max_urls_per_email: int = Field(
        50, description="Most URLs taken from one reported e-mail (one report each).")
    pow_bits: int = Field(
        16, description="Proof-of-work difficulty (leading zero bits of SHA-256) asked of "
        "every anonymous submission; 0 turns proof-of-work off.")
    pow_ttl_seconds: int = Field(
        900, description="How long a proof-of-work challenge stays valid.")
    triage_on_submit: bool = Field(
        True, description="Run the automatic checks (DNS, lake, lookalike) in the background "
        "right after a report is accepted; otherwise `bluelamp reports triage` runs them.")
    resolvers: list[str] = Field(
        default_factory=list,
        description="Resolvers asked whether a reported host resolves; system ones when empty.")
    resolver_port: int = Field(53, description="Port of those resolvers.")
    resolver_timeout: float = Field(2.0, description="Seconds to wait for a DNS answer.")
    lake_days: int = Field(
        90, description="How far back triage and the health check look in the lake (days).")
    protected_brands: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Protected brands for the triage lookalike check: brand name → its "
        "genuine registered domains. Empty: the list of `[detect] protected_brands`, so that "
        "the detector and triage protect the same brands.")
    routes: dict[str, str] = Field(
        default_factory=lambda: {
            "phishing": "takedown-team", "malware": "takedown-team",
            "unlicensed-medicines": "medicines-regulator",
            "counterfeit-goods": "ip-crime-unit", "fraud": "national-fraud-reporting"},
        description="Routing rules: category → the body that acts on it.")
    bodies: dict[str, str] = Field(
        default_factory=lambda: {
            "takedown-team": "takedown@localhost", "medicines-regulator": "medicines@localhost",
            "ip-crime-unit": "ipcrime@localhost",
            "national-fraud-reporting": "fraud-reports@localhost"},
        description="Bodies that act: name → the address their referrals go to.")
    registrar_contacts: Path | None = Field(
        None, description="CSV `domain,registrar,abuse_email` (the registry's registrar of "
        "record per domain, or a TLD default with `domain` = `*.tld`) for X-ARF to registrars.")
    outbox: Path = Field(
        Path("bluelamp-outbox/reports"), description="Folder where X-ARF reports and "
        "referrals are written as .eml files (and sent when `smtp_host` is set).")
    reporter_name: str = Field("Bluelamp public reporting",
                               description="Organisation named as reporter in X-ARF reports.")
    reporter_email: str = Field("reports@localhost",
                                description="Reported-From address of X-ARF reports.")
    smtp_host: str | None = Field(
        None, description="SMTP server for X-ARF reports and referrals; written only when unset.")
    smtp_port: int = Field(25, description="Port of that SMTP server.")


class RegionalUnit(BaseModel):
    """A regional unit that issues notices for the regions it covers."""

    id: str = Field(description="Short identifier of the unit (e.g. nw-rocu).")
    name: str = Field(description="Name shown as the sender of notices.")
    regions: list[str] = Field(default_factory=list, description="Regions (as attribution "
                               "names them, case-insensitive) this unit is responsible for.")
    email: str = Field(description="Address notices come from and replies go to.")
    phone: str | None = Field(None, description="Telephone number printed in notices.")
    website: str | None = Field(None, description="Web page of the unit printed in notices.")
    signature: str = Field("", description="Closing lines of every notice (plain text).")


class NotifySettings(BaseModel):
    """Owner notifications issued by regional units, with clean-up tracking."""

    smtp_host: str | None = Field(None, description="SMTP server notices are sent through; "
                                  "with none, notices are only shown in the portal.")
    smtp_port: int = Field(25, description="Port of that SMTP server.")
    starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = Field(None, description="SMTP user name (AUTH), if the server "
                                  "asks for one.")
    smtp_password: str | None = Field(None, description="SMTP password for that user.")
    smtp_timeout: float = Field(30.0, description="Seconds before an SMTP exchange gives up.")
    mail_from: str = Field("notices@localhost", description="Envelope sender (bounces come "
                           "back here); the From header is the unit's address.")
    units: list[RegionalUnit] = Field(default_factory=list, description="Regional units and "
                                      "the regions each covers.")
    default_unit: RegionalUnit = Field(
        default_factory=lambda: RegionalUnit(
            id="national", name="National cyber crime unit", email="notices@localhost",
            signature="National cyber crime unit"),
        description="Unit that issues notices for a region no unit covers (or no region).")
    interval_hours: int = Field(24, description="Notice interval: events are collected per "
                                "owner over intervals of this many hours (aligned to midnight "
                                "UTC) and notified once the interval has ended; 0 notifies "
                                "what is new at every run.")
    lookback_days: int = Field(7, description="How far back `notify run` looks for events "
                               "not yet notified.")
    min_confidence: float = Field(0.0, description="Events below this confidence are left "
                                  "out of notices.")
    auto_send_types: list[str] = Field(
        default_factory=list, description="Sending rule: a notice whose event types are all "
        "listed here is sent without review (\"*\" for every type); others wait for a "
        "notifier.")
    auto_send_min_confidence: float = Field(0.8, description="Sending rule: every event of "
                                            "an automatically sent notice has at least this "
                                            "confidence.")
    min_hours_between: float = Field(24.0, description="Throttle: at most one notice per "
                                     "recipient address within this many hours; later ones "
                                     "wait.")
    delivered_after_hours: float = Field(24.0, description="A sent notice without a bounce "
                                         "after this many hours counts as delivered.")
    recheck_days: int = Field(7, description="Days after sending when affected hosts are "
                              "re-checked against new events: remediated or still affected.")
    link_secret: str | None = Field(None, description="Key that signs acknowledgement links "
                                    "(falls back to web.secret_key; one of them must be set "
                                    "to send).")
    subscribe_path: str = Field("/my/threats", description="Portal page (under "
                                "web.public_url) where an organisation sees its live feed.")


class FeedSource(BaseModel):
    name: str = Field(description="Name of this pull (state is kept per name).")
    url: str = Field(description="Where to fetch the feed (http or https).")
    feed: str = Field("auto", description="Parser name, or auto to sniff.")
    interval: int = Field(3600, description="Seconds between pulls.")
    mapping: Path | None = Field(None, description="Mapping file for the generic parser.")


class FeedsSettings(BaseModel):
    sources: list[FeedSource] = Field(default_factory=list, description="Feeds to pull.")
    state: Path | None = Field(None, description="Seen-id and pull state (SQLite); default "
                               "<lake>/feeds-state.sqlite.")
    quarantine: Path | None = Field(None, description="Where bad rows go; default "
                                    "<lake>/quarantine.")
    window_hours: float = Field(24.0, description="Dedup/aggregation window; an id not seen "
                                "for this long expires.")
    retries: int = Field(3, description="Retries of a failed fetch (5xx, network).")
    backoff: float = Field(1.0, description="First retry delay in seconds; doubles each time.")
    timeout: float = Field(60.0, description="Seconds before a fetch gives up.")


class SharingSettings(BaseModel):
    poll_seconds: float = Field(
        0.5, description="How often the live feed looks for new events in the lake (SSE and "
        "webhooks); the event-to-subscriber delay is about this plus the delivery.")
    filter_refresh_seconds: float = Field(
        10.0, description="How long compiled subscription filters are reused before being "
        "rebuilt from the database (changes made through the API apply at once).")
    webhook_max_attempts: int = Field(
        6, description="Attempts of a webhook delivery before it goes to the dead-letter queue.")
    webhook_backoff_seconds: float = Field(
        30.0, description="Wait after the first failed attempt; doubled after each further one.")
    webhook_backoff_max_seconds: float = Field(
        3600.0, description="Longest wait between two attempts of a webhook delivery.")
    webhook_timeout_seconds: float = Field(
        10.0, description="How long one webhook POST may take.")
    webhook_allow_private: bool = Field(
        False, description="Allow webhook URLs on loopback, private, link-local or other "
        "non-public addresses (off: a subscriber cannot make the server call internal hosts).")
    sse_keepalive_seconds: float = Field(
        15.0, description="Interval of SSE comment lines that keep idle connections open.")
    pull_default_hours: int = Field(
        24, description="REST pull and TAXII: how far back `since`/`added_after` default to.")
    page_size: int = Field(
        500, description="Default page size of REST pull and TAXII objects (at most 5000).")
    rpz_zone: str = Field(
        "rpz.bluelamp.", description="Origin of the RPZ zone written for protective resolvers.")


class DetectSettings(BaseModel):
    """Lists the domain-behaviour detectors use (lookalike, spam, fast flux, tunnelling)."""

    protected_brands: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "paypal": ["paypal.com", "paypal.me", "paypalobjects.com"],
            "microsoft": ["microsoft.com", "live.com", "microsoftonline.com",
                          "microsoftonline-p.com", "microsoftonline-p.net",
                          "s-microsoft.com"],
            "office365": ["office.com", "office365.com", "microsoft.com"],
            "apple": ["apple.com", "icloud.com"],
            "amazon": ["amazon.com", "amazon.co.uk", "amazon.de", "payments-amazon.com",
                       "amazon-adsystem.com"],
            "netflix": ["netflix.com"], "dhl": ["dhl.com", "dhl.de", "dhl.co.uk"],
            "ing": ["ing.com", "ing.nl", "ing.de"], "barclays": ["barclays.co.uk", "barclays.com"],
            "hsbc": ["hsbc.com", "hsbc.co.uk"], "hmrc": ["hmrc.gov.uk", "gov.uk"],
            "govuk": ["gov.uk"], "bluelamp": ["bluelamp.example"]},
        description="Lookalike detector: protected brands, brand name → its genuine registered "
        "domains (names under them are never flagged). The defaults are examples (payment, "
        "technology, delivery, banks, government and a placeholder for the operator's own "
        "brand); replace them with what you protect.")
    lookalike_keywords: list[str] = Field(
        default_factory=lambda: [
            "login", "logon", "signin", "secure", "security", "verify", "verification",
            "account", "support", "update", "billing", "payment", "refund", "confirm",
            "unlock", "wallet", "auth", "online", "service", "help", "alert", "customer",
            "portal", "invoice", "tax", "delivery", "parcel", "track", "claim", "bonus"],
        description="Lookalike detector: words that, next to a brand name in a label "
        "(paypal-login-secure, hmrc-refund), make a brand + keyword combination (combosquat).")
    mail_servers: list[str] = Field(
        default_factory=list,
        description="Spam-bot detector: addresses or CIDR blocks of the operator's mail "
        "servers, allowed to make many MX lookups.")
    fast_flux_allow: list[str] = Field(
        default_factory=lambda: ["ntp.org", "pool.ntp.org", "debian.pool.ntp.org"],
        description="Fast-flux detector: registered domains never flagged (services that "
        "answer from volunteers' addresses all over the internet, such as the NTP pool).")
    tunnel_allow: list[str] = Field(
        default_factory=lambda: ["sophosxl.net", "mcafee.com", "spamhaus.org",
                                 "spamcop.net", "barracudacentral.org"],
        description="Tunnelling and water-torture detectors: registered domains never "
        "flagged (anti-virus and reputation services that encode hashes or addresses in "
        "query names by design).")
    seen_domains_capacity: int = Field(
        2_000_000, description="Newly-observed detector: registered domains the seen-set "
        "(a Bloom filter, about 1.2 bytes per domain) is sized for; beyond it false 'seen' "
        "answers grow and new domains may be missed.")
    seen_warmup_windows: int = Field(
        3, description="Newly-observed detector: windows of traffic that only teach the "
        "seen-set before any domain is reported as new.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BLUELAMP_", env_nested_delimiter="__", extra="ignore"
    )

    lake: LakeSettings = Field(default_factory=LakeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    attribution: AttributionSettings = Field(default_factory=AttributionSettings)
    feeds: FeedsSettings = Field(default_factory=FeedsSettings)
    suspensions: SuspensionSettings = Field(default_factory=SuspensionSettings)
    sharing: SharingSettings = Field(default_factory=SharingSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)


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
