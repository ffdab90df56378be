"""Loads one YAML file into a typed, validated :class:`Config`.

Every problem is reported at once, each with its key path and YAML line, unknown keys get a
"did you mean" hint, ``${ENV}`` (or ``${ENV:-default}``) is substituted, and secret values are
registered for redaction. Only the CLI turns :class:`~repbot.errors.ConfigError` into an exit code.
"""

from __future__ import annotations

import codecs
import difflib
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from repbot.alerts_config import OpsAlertsMixin
from repbot.approval.config import ApprovalConfig
from repbot.brand import BrandConfig
from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.connector import Connector, connector_class, registry
from repbot.durations import Duration
from repbot.errors import ConfigError
from repbot.respond.config import ResponderConfig, check_platform
from repbot.secrets import BLANK_SECRET, Secret, register_secret
from repbot.store.retention import RetentionConfig

Loc = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 512 * 1024
"""Largest config file accepted (a real one is a few KiB)."""
MAX_DEPTH = 64
"""Deepest nesting accepted, aliases expanded."""
MAX_NODES = 100_000
"""Most values a document may hold with every alias expanded (billion-laughs bound)."""
MAX_PROBLEMS = 50
"""Problems listed before the rest are summarised in one line."""
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class StoreConfig(BaseModel):
    """Where state lives."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Path = Field(Path("./repbot.db"), description="SQLite file (WAL mode).")
    dsn: Secret | None = Field(
        None, description="PostgreSQL connection string (backend postgres); a secret: ${ENV}."
    )

    @model_validator(mode="after")
    def _postgres_needs_dsn(self) -> StoreConfig:
        if self.backend == "postgres" and self.dsn is None:
            raise ValueError("store.backend postgres needs store.dsn (for example ${REPBOT_DSN})")
        return self


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


class AlertsConfig(OpsAlertsMixin):
    """Where operator alerts (source disabled, post budget exhausted, ...) go."""

    model_config = ConfigDict(extra="forbid")

    slack_channel: str | None = Field(None, description="Slack channel for alerts.")
    webhook_url: Secret | None = Field(
        None, description="POSTed a JSON body per alert; a credential (Slack webhooks): ${ENV}."
    )

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value().strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("must be an http:// or https:// URL (value not shown: a secret)")
        return value


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
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
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
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"cannot read config file: {exc.strerror}"], str(file)) from exc
    return parse_config(_decode(raw, str(file)), str(file), file)


def parse_config(text: str, source: str = "config", path: Path | None = None) -> Config:
    """Validate YAML ``text``; ``source`` names it in error messages."""
    lines, data, problems = _parse_yaml(text, source)
    env_problems: list[str] = []
    env_locs: set[str] = set()
    data = _interpolate(data, (), lines, env_problems, env_locs)
    problems += _validate_sources(data.get("sources"), lines)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += _format_errors(exc, (), lines, Config)
    if config is not None:
        problems += _semantic_problems(config, lines)
    # a key whose variable is unset is reported once, not again as empty or invalid
    problems = env_problems + [p for p in problems if p.split(" (line", 1)[0] not in env_locs]
    if problems or config is None:
        raise ConfigError(_capped(_sorted_by_line(problems)), source)
    config.path = path.resolve() if path else None
    if path is not None:
        _resolve_paths(config)
    _register_secrets(config)
    return config


def _decode(raw: bytes, source: str) -> str:
    """The file's text; refuses files that are too large or not UTF-8, naming what they are."""
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"the file is larger than {MAX_BYTES // 1024} KiB"], source)
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise ConfigError([f"the file is {name}-encoded; save it as UTF-8"], source)
    if b"\x00" in raw:
        raise ConfigError(
            ["the file holds NUL bytes (UTF-16 or UTF-32 without a BOM?); save it as UTF-8"],
            source,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            [
                f"not UTF-8 (line {line}, column {column}): byte 0x{raw[exc.start]:02x} is not"
                " valid UTF-8 (Latin-1 or Windows-1252?); save the file as UTF-8"
            ],
            source,
        ) from None


def _parse_yaml(text: str, source: str) -> tuple[dict[Loc, int], dict[str, Any], list[str]]:
    """The line of every key path, the data, and the duplicate keys found."""
    if len(text) > MAX_BYTES:
        raise ConfigError([f"the file is larger than {MAX_BYTES // 1024} KiB"], source)
    lines: dict[Loc, int] = {}
    duplicates: list[str] = []
    try:
        data = _compose_and_construct(text, lines, duplicates)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc)], source) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ConfigError([f"invalid YAML: {str(exc)[:200]}"], source) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            ["the top level must be a mapping of keys (brand:, sources:, ...)"], source
        )
    return lines, data, duplicates


class _Refused(yaml.MarkedYAMLError):
    """A document repbot will not expand: nested too deeply or aliases beyond the bound."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _compose_and_construct(text: str, lines: dict[Loc, int], duplicates: list[str]) -> Any:
    """Parse once: check the bounds, index lines and duplicates, then build the data."""
    _check_nesting(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, 0, {}, set())
        _index_lines(node, (), lines, duplicates)  # before construction flattens merge keys
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the event stream, before anything recurses over it."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(_TOO_DEEP, event.start_mark)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_TOO_BIG = (
    f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?);"
    f" aliases may repeat at most {MAX_NODES:,} values in all"
)


def _measure(
    node: yaml.Node, depth: int, seen: dict[int, tuple[int, int]], active: set[int]
) -> tuple[int, int]:
    """``(values, height)`` of ``node`` with aliases expanded; refuses bombs and cycles."""
    if depth > MAX_DEPTH:
        raise _Refused(_TOO_DEEP, node.start_mark)
    key = id(node)
    if key in active:
        raise _Refused("an alias refers to itself", node.start_mark)
    if key not in seen:
        active.add(key)
        values, height = 1, 0
        for child in _children(node):
            child_values, child_height = _measure(child, depth + 1, seen, active)
            values, height = values + child_values, max(height, child_height)
            if values > MAX_NODES:
                raise _Refused(_TOO_BIG, node.start_mark)
        active.discard(key)
        seen[key] = (values, height + 1)
    values, height = seen[key]
    if depth + height > MAX_DEPTH + 1:
        raise _Refused(_TOO_DEEP, node.start_mark)
    return values, height


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"invalid YAML{where}: {str(problem)[:200]}"


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], duplicates: list[str]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            key = (*loc, name)
            line = key_node.start_mark.line + 1
            if key_node.tag != "tag:yaml.org,2002:merge" and name in first:
                duplicates.append(
                    _problem(key, {key: line}, f"duplicate key (first at line {first[name]})")
                )
            first.setdefault(name, line)
            _index_lines(value_node, key, lines, duplicates)
            lines[key] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*loc, i), lines, duplicates)


def _interpolate(
    value: Any, loc: Loc, lines: dict[Loc, int], problems: list[str], env_locs: set[str]
) -> Any:
    if isinstance(value, dict):
        return {
            k: _interpolate(v, (*loc, str(k)), lines, problems, env_locs) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), lines, problems, env_locs) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(_problem(loc, lines, f"environment variable {name} is not set"))
        env_locs.add(format_loc(loc))
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
        name = str(item.get("name"))
        if name in names:
            problems.append(
                _problem(("sources", i, "name"), lines, f"duplicate source name {name[:60]!r}")
            )
        names.add(name)
        type_name = item["type"]
        if type_name not in known:
            hint = _hint(type_name, known)
            problems.append(
                _problem(
                    ("sources", i, "type"), lines, f"unknown source type {type_name[:60]!r}{hint}"
                )
            )
            continue
        cls = connector_class(type_name)
        options = {k: v for k, v in item.items() if k not in base_fields}
        problems += _option_problems(cls.Config, options, ("sources", i), lines)
        try:
            validated = cls.Config.model_validate(options)
        except ValidationError as exc:
            problems += _format_errors(exc, ("sources", i), lines, cls.Config, base_fields)
            continue
        problems += [
            _problem(at, lines, _NOT_FINITE) for at in _non_finite(validated, ("sources", i))
        ]
    return problems


_NOT_FINITE = "must be a finite number (not .nan or .inf)"


def _non_finite(value: Any, loc: Loc) -> list[Loc]:
    """Where a validated model holds nan or infinity (a loop that never fires, or spins)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [loc]
    if isinstance(value, BaseModel):
        return [
            at
            for name in type(value).model_fields
            for at in _non_finite(getattr(value, name), (*loc, name))
        ]
    if isinstance(value, list | tuple):
        return [at for i, item in enumerate(value) for at in _non_finite(item, (*loc, i))]
    if isinstance(value, dict):
        return [at for k, v in value.items() for at in _non_finite(v, (*loc, str(k)))]
    return []


def _option_problems(
    model: type[BaseModel], options: dict[str, Any], loc: Loc, lines: dict[Loc, int]
) -> list[str]:
    """Empty secrets and unknown platforms among a connector's options, whatever else fails."""
    problems = []
    for name, field in model.model_fields.items():
        value = options.get(name)
        if _is_secret(field.annotation) and isinstance(value, str) and not value.strip():
            problems.append(_problem((*loc, name), lines, BLANK_SECRET))
    platform = options.get("platform")
    if "platform" in model.model_fields and isinstance(platform, str):
        try:
            check_platform(platform)
        except ValueError as exc:
            problems.append(_problem((*loc, "platform"), lines, str(exc)))
    return problems


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def _semantic_problems(config: Config, lines: dict[Loc, int]) -> list[str]:
    """What every field accepts alone but ``run`` would refuse (or silently never use)."""
    found: list[tuple[Loc, str]] = [(at, _NOT_FINITE) for at in _non_finite(config, ())]
    token = config.approval.console_token_problem(config.server.host)
    if token:
        at: Loc = ("approval", "web", "token")
        lines.setdefault(at, lines.get(at[:2]) or lines.get(("server", "host"), 1))
        found.append((at, token))
    slack = config.approval.slack
    if slack is not None and slack.enabled:
        found += [(("approval", "slack", key), problem) for key, problem in slack.missing()]
        if slack.mode == "http" and not config.server.enabled:
            found.append((("approval", "slack", "mode"), _NEEDS_SERVER))
    known = registry()
    for i, source in enumerate(config.sources):
        if source.type not in known:
            continue
        pushed = getattr(connector_class(source.type), "accepts_push", False)
        if pushed and source.enabled and not config.server.enabled:
            found.append((("sources", i, "type"), _NEEDS_SERVER))
    return [_problem(loc, lines, message) for loc, message in found]


_NEEDS_SERVER = "needs the HTTP server, but server.enabled is false"


def _resolve_paths(config: Config) -> None:
    """Make relative paths relative to the config file's folder, as documented."""
    base = config.base_dir()
    responder, classifier = config.responder, config.classifier
    if responder.prompts_dir is not None:
        responder.prompts_dir = base / responder.prompts_dir.expanduser()
    if classifier.weights:
        classifier.weights = str(base / Path(classifier.weights).expanduser())
    model = classifier.model
    if model != "embedded" and (model.startswith((".", "/", "~")) or (base / model).exists()):
        classifier.model = str(base / Path(model).expanduser())
    if config.logging.file is not None:
        config.logging.file = base / config.logging.file.expanduser()


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems"]


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
    close = difflib.get_close_matches(word[:100], list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problem(loc: Loc, lines: dict[Loc, int], message: str) -> str:
    return f"{format_loc(loc)} (line {_line_of(loc, lines)}): {message}"


def format_loc(loc: Loc) -> str:
    """``("sources", 0, "interval")`` as ``sources[0].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, str) and len(part) > 60:
            part = part[:59] + "…"
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
    elif isinstance(value, str) and "@" in value and "://" in value:
        _register_url_password(value)
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


def _register_url_password(value: str) -> None:
    """A URL such as ``https://user:pass@host/`` carries a credential: hide its password."""
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return
    register_secret(password)


def build_source(config: Config, name: str) -> Connector:
    """Instantiate the connector for the source called ``name``."""
    source = config.source(name)
    cls = connector_class(source.type)
    options = cls.Config.model_validate(source.options)
    _register_secrets(options)
    connector = cls(source.name, options)
    connector.base_dir = config.base_dir()
    return connector
