"""The channels' configuration, validated when the routing file loads."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from ingest.secrets import mask_url

Timeout = Annotated[float, Field(gt=0, le=300)]


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookChannel(_Channel):
    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: Timeout = 10

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, headers: dict[str, str]) -> dict[str, str]:
        reserved = {"content-type", "content-length", "host", "idempotency-key"}
        clash = sorted(name for name in headers if name.lower() in reserved)
        if clash:
            raise ValueError(f"set by the sender, not configurable: {', '.join(clash)}")
        return headers


class WecomChannel(_Channel):
    """WeCom (企业微信) group robot: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``."""

    type: Literal["wecom"] = "wecom"
    url: HttpUrl
    timeout_s: Timeout = 10

    @field_validator("url")
    @classmethod
    def _has_key(cls, url: HttpUrl) -> HttpUrl:
        return _require_query_param(url, "key")


class DingtalkChannel(_Channel):
    """DingTalk custom robot: ``https://oapi.dingtalk.com/robot/send?access_token=…``."""

    type: Literal["dingtalk"] = "dingtalk"
    url: HttpUrl
    secret: SecretStr | None = None  # set when the robot uses signed mode ("加签")
    timeout_s: Timeout = 10

    @field_validator("url")
    @classmethod
    def _has_token(cls, url: HttpUrl) -> HttpUrl:
        return _require_query_param(url, "access_token")

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("must not be empty (omit it for an unsigned robot)")
        return secret


class EmailChannel(_Channel):
    type: Literal["email"] = "email"
    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False  # implicit TLS (SMTPS, usually port 465)
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    timeout_s: Timeout = 10

    @field_validator("sender")
    @classmethod
    def _sender_address(cls, sender: str) -> str:
        return _check_address(sender)

    @field_validator("to")
    @classmethod
    def _to_addresses(cls, to: list[str]) -> list[str]:
        return [_check_address(a) for a in to]

    @model_validator(mode="after")
    def _consistent(self) -> EmailChannel:
        if self.starttls and self.ssl:
            raise ValueError("starttls and ssl are exclusive (ssl: implicit TLS, e.g. port 465)")
        if self.username is not None and self.password is None:
            raise ValueError("username given without password")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self


ChannelConfig = Annotated[
    WebhookChannel | WecomChannel | DingtalkChannel | EmailChannel, Field(discriminator="type")
]
CHANNEL_TYPES = ("webhook", "wecom", "dingtalk", "email")


def describe(config: ChannelConfig) -> str:
    """The channel as shown in errors and logs, without credentials."""
    if isinstance(config, EmailChannel):
        return f"email {config.host}:{config.port}"
    return f"{config.type} {mask_url(str(config.url), strict=True)}"


def _require_query_param(url: HttpUrl, name: str) -> HttpUrl:
    values = [v for k, v in url.query_params() if k == name]
    if not values or not values[0].strip():
        raise ValueError(f"the URL must carry the {name!r} query parameter")
    return url


def _check_address(address: str) -> str:
    _, addr = parseaddr(address)
    if "@" not in addr or any(ch in address for ch in "\r\n"):
        raise ValueError("not an e-mail address")
    return address
