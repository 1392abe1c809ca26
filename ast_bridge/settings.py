"""Configuration: defaults < TOML file < `.env` < environment `AST_BRIDGE_*` < arguments.

Lists and nested values (listeners, users, networks) are easiest in the TOML
file; in the environment they are JSON (`AST_BRIDGE_USERS='[{"username": ...}]'`).
The TOML file is named by `AST_BRIDGE_CONFIG_FILE` or `ast-bridge serve --config`.
"""

from __future__ import annotations

import ipaddress
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "AST_BRIDGE_CONFIG_FILE"


class Dialect(str, Enum):
    """Which Ozeki documentation generation a listener speaks where payloads differ."""

    O10 = "o10"  # Ozeki 10: port 9509, /api
    XE = "xe"  # Ozeki Phone System XE: port 7780, /


class Listener(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    dialect: Dialect


class ApiUser(BaseModel):
    """An API user. `password` is plain text or `pbkdf2_sha256$<iterations>$<salt>$<hash>`
    (make one with `ast-bridge hash-password`)."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1)
    api_access: bool = True  # False: the user exists but gets 306


def _networks(values: list[str]) -> list[str]:
    for value in values:
        ipaddress.ip_network(value, strict=False)
    return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AST_BRIDGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- HTTP API -------------------------------------------------------------
    listeners: list[Listener] = [
        Listener(host="127.0.0.1", port=9509, dialect=Dialect.O10),
        Listener(host="127.0.0.1", port=7780, dialect=Dialect.XE),
    ]
    auth_required: bool = True
    users: list[ApiUser] = []
    allowed_networks: list[str] = ["0.0.0.0/0", "::/0"]
    denied_networks: list[str] = []
    max_request_bytes: int = Field(default=65536, ge=1024)
    max_value_length: int = Field(default=2048, ge=64)
    max_parameters: int = Field(default=64, ge=8)

    # --- AMI ------------------------------------------------------------------
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "ast_bridge"
    ami_secret: str = "ast_bridge_secret"
    ami_connect_timeout: float = Field(default=2.0, gt=0)
    ami_action_timeout: float = Field(default=1.5, gt=0)
    # AMI sessions CallSetup's Originates are spread over (Asterisk answers one
    # session's actions one at a time); 1 = everything on the main action link
    ami_action_links: int = Field(default=2, ge=1, le=8)
    ami_ping_interval: float = Field(default=5.0, gt=0)
    ami_ping_timeout: float = Field(default=2.0, gt=0)
    ami_reconnect_min: float = Field(default=0.2, gt=0)
    ami_reconnect_max: float = Field(default=4.0, gt=0)

    # --- Dialplan contract (asterisk-conf/extensions_ast_bridge.conf) ------------
    caller_context: str = Field(default="ast-bridge-caller", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    callee_context: str = Field(default="ast-bridge-callee", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    ring_timeout: int = Field(default=30, ge=1, le=600)
    hold_context: str = Field(default="ast-bridge-hold", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    transfer_context: str = Field(default="ast-bridge-transfer", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    extension_domain: str = "localhost"  # ListExtensions (Ozeki 10) shows extensions as <name>@<domain>

    # --- Notifications ------------------------------------------------------------
    # subscribers to CallChanged (form-encoded / JSON); comma-separated in the environment
    notify_urls: Annotated[list[str], NoDecode] = []
    notify_json_urls: Annotated[list[str], NoDecode] = []
    notify_secret: str | None = None
    notify_timeout: float = Field(default=5.0, gt=0)
    notify_max_backoff: float = Field(default=60.0, gt=0)
    notify_expiry: float = Field(default=86400.0, gt=0)

    # --- Recordings (Record) ------------------------------------------------------------
    # the folder Asterisk records into, as the bridge sees it and as Asterisk sees it
    # (they differ when Asterisk runs in a chroot or a container)
    recordings_dir: Path = Path("recordings")
    asterisk_recordings_dir: str | None = None  # default: recordings_dir
    public_url: str = "http://127.0.0.1:9509"  # how clients reach this bridge (RecordURL)

    # --- Play and Speak -------------------------------------------------------------------
    sounds_dir: Path = Path("sounds")  # Play's AudioFile names a file in here
    media_dir: Path = Path("media")  # converted audio for Asterisk, as the bridge sees it
    asterisk_media_dir: str | None = None  # the same folder as Asterisk sees it (default: media_dir)
    play_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # largest AudioFile download
    tts_voice: str = "en"  # espeak-ng voice when Speak gives no Language/Voice

    # --- Storage --------------------------------------------------------------------
    database: Path = Path("ast_bridge.db")
    history_retention_days: float = Field(default=90.0, gt=0)

    log_level: str = "INFO"
    event_loop: str = Field(default="uvloop", pattern="^(uvloop|asyncio)$")

    @field_validator("notify_urls", "notify_json_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    _validate_allowed = field_validator("allowed_networks")(_networks)
    _validate_denied = field_validator("denied_networks")(_networks)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    def dialect_for_port(self, port: int) -> Dialect:
        for listener in self.listeners:
            if listener.port == port:
                return listener.dialect
        return Dialect.O10


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Load settings, reading `config_file` (TOML) when one is named."""
    if config_file:
        if not Path(config_file).is_file():
            raise FileNotFoundError(f"configuration file not found: {config_file}")
        os.environ[CONFIG_FILE_ENV] = config_file
    elif (name := os.environ.get(CONFIG_FILE_ENV)) and not Path(name).is_file():
        raise FileNotFoundError(f"configuration file not found: {name}")
    return Settings(**overrides)
