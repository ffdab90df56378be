"""Loads one YAML file into a typed, validated :class:`Config`.

Every problem is reported at once, each with its key path and YAML line, unknown keys get a
"did you mean" hint, ``${ENV}`` (or ``${ENV:-default}``) is substituted, and secret values are
registered for redaction. Only the CLI turns :class:`~repbot.errors.ConfigError` into an exit code.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from repbot.approval.config import ApprovalConfig
from repbot.brand import BrandConfig
from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.connector import Connector, connector_class, registry
from repbot.durations import Duration
from repbot.errors import ConfigError
from repbot.respond.config import ResponderConfig
from repbot.secrets import register_secret

Loc = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StoreConfig(BaseModel):
    """Where state lives."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["sqlite"] = "sqlite"
    path: Path = Field(Path("./repbot.db"), description="SQLite file (WAL mode).")


class ServerConfig(BaseModel):
    """The daemon's HTTP server (web console, Slack HTTP mode, webhooks, health, metrics)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class LoggingConfig(BaseModel):
    """Structured logs."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["kv", "json"] = "kv"
    file: Path | None = Field(None, description="Log file; standard error when unset.")


class AlertsConfig(BaseModel):
    """Where operator alerts (source disabled, post budget exhausted, ...) go."""

    model_config = ConfigDict(extra="forbid")

    slack_channel: str | None = Field(None, description="Slack channel for alerts.")
    webhook_url: str | None = Field(None, description="POSTed a JSON body per alert.")


class SourceConfig(BaseModel):
    """One source; type-specific keys are validated by the connector's own Config model."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    type: str
    interval: Duration = 60.0
    enabled: bool = True

    @property
    def options(self) -> dict[str, Any]:
        """The type-specific keys."""
        return dict(self.model_extra or {})


class PipelineConfig(BaseModel):
    """How the workers move mentions along the state machine."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(32, ge=1, le=1024)
    tick: Duration = Field(1.0, description="Seconds between worker passes when idle.")
    max_attempts: int = Field(5, ge=1, description="Failures before a mention stays failed.")
    post_retry_base: Duration = 5.0


class Config(BaseModel):
    """The whole configuration (see config.example.yaml for every key, commented)."""

    model_config = ConfigDict(extra="forbid")

    brand: BrandConfig = Field(default_factory=BrandConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    urgency: UrgencyConfig = Field(default_factory=UrgencyConfig)
    responder: ResponderConfig = Field(default_factory=ResponderConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    path: Path | None = Field(None, exclude=True, description="Set by load_config.")

    def source(self, name: str) -> SourceConfig:
        """The source called ``name``; raises ConfigError listing the known names."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError([f"no source named {name!r} (known: {known})"])

    def base_dir(self) -> Path:
        """The folder relative paths in the config are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    def store_file(self) -> Path:
        """The SQLite file, a relative ``store.path`` resolved against the config's folder."""
        return self.base_dir() / self.store.path


def resolve_config_path(path: str | Path | None) -> Path:
    """``path``, else $REPBOT_CONFIG, else ./repbot.yaml."""
    if path:
        return Path(path)
    return Path(os.environ.get("REPBOT_CONFIG") or "repbot.yaml")


def load_config(path: str | Path | None = None) -> Config:
    """Read, interpolate and validate a YAML config; raise ConfigError listing every problem."""
    file = resolve_config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read config file: {exc.strerror}"], str(file)) from exc
    return parse_config(text, str(file), file)


def parse_config(text: str, source: str = "config", path: Path | None = None) -> Config:
    """Validate YAML ``text``; ``source`` names it in error messages."""
    lines, data = _parse_yaml(text, source)
    problems: list[str] = []
    data = _interpolate(data, (), lines, problems)
    problems += _validate_sources(data.get("sources"), lines)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += _format_errors(exc, (), lines, Config)
    if problems or config is None:
        raise ConfigError(_sorted_by_line(problems), source)
    config.path = path.resolve() if path else None
    _register_secrets(config)
    return config


def _parse_yaml(text: str, source: str) -> tuple[dict[Loc, int], dict[str, Any]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"invalid YAML{where}: {problem}"], source) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            ["the top level must be a mapping of keys (brand:, sources:, ...)"], source
        )
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return lines, data


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*loc, str(key_node.value))
            _index_lines(value_node, key, lines)
            lines[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*loc, i), lines)


def _interpolate(value: Any, loc: Loc, lines: dict[Loc, int], problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, str(k)), lines, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), lines, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(_problem(loc, lines, f"environment variable {name} is not set"))
        return ""

    return _ENV.sub(substitute, value)


def _validate_sources(raw: Any, lines: dict[Loc, int]) -> list[str]:
    if not isinstance(raw, list):
        return []
    problems: list[str] = []
    known = registry()
    base_fields = set(SourceConfig.model_fields)
    names: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            continue
        if item.get("name") in names:
            problems.append(
                _problem(("sources", i, "name"), lines, f"duplicate source name {item['name']!r}")
            )
        names.add(str(item.get("name")))
        type_name = item["type"]
        if type_name not in known:
            hint = _hint(type_name, known)
            problems.append(
                _problem(("sources", i, "type"), lines, f"unknown source type {type_name!r}{hint}")
            )
            continue
        cls = connector_class(type_name)
        options = {k: v for k, v in item.items() if k not in base_fields}
        try:
            cls.Config.model_validate(options)
        except ValidationError as exc:
            problems += _format_errors(exc, ("sources", i), lines, cls.Config, base_fields)
    return problems


def _format_errors(
    exc: ValidationError,
    prefix: Loc,
    lines: dict[Loc, int],
    root: type[BaseModel],
    extra_fields: set[str] | None = None,
) -> list[str]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(p for p in error["loc"] if isinstance(p, int) or not _is_tag(str(p)))
        full = (*prefix, *loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "extra_forbidden":
            fields = _fields_at(root, loc[:-1]) | (extra_fields or set())
            message = f"unknown key{_hint(str(loc[-1]), fields)}"
        problems.append(_problem(full, lines, message))
    return problems


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict"}


def _fields_at(model: type[BaseModel], loc: Loc) -> set[str]:
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return set()
    model_cls = _as_model(current)
    return set(model_cls.model_fields) if model_cls else set()


def _descend(annotation: Any, part: str | int) -> Any:
    model_cls = _as_model(annotation)
    if model_cls is not None and isinstance(part, str):
        field = model_cls.model_fields.get(part)
        return field.annotation if field else None
    for arg in typing.get_args(annotation):
        if arg is not type(None):
            return arg
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _hint(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problem(loc: Loc, lines: dict[Loc, int], message: str) -> str:
    return f"{format_loc(loc)} (line {_line_of(loc, lines)}): {message}"


def format_loc(loc: Loc) -> str:
    """``("sources", 0, "interval")`` as ``sources[0].interval``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _sorted_by_line(problems: list[str]) -> list[str]:
    def line(problem: str) -> int:
        match = re.search(r"\(line (\d+)", problem)
        return int(match.group(1)) if match else 0

    return sorted(dict.fromkeys(problems), key=line)


def _register_secrets(value: Any) -> None:
    if isinstance(value, SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _register_secrets(getattr(value, name))
        for extra in (value.model_extra or {}).values():
            _register_secrets(extra)
    elif isinstance(value, list | tuple):
        for item in value:
            _register_secrets(item)
    elif isinstance(value, dict):
        for item in value.values():
            _register_secrets(item)


def build_source(config: Config, name: str) -> Connector:
    """Instantiate the connector for the source called ``name``."""
    source = config.source(name)
    cls = connector_class(source.type)
    options = cls.Config.model_validate(source.options)
    _register_secrets(options)
    connector = cls(source.name, options)
    connector.base_dir = config.base_dir()
    return connector
