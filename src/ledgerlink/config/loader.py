"""Load ``ledgerlink.yaml``: ``${ENV}`` interpolation, validation, errors naming file:line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ledgerlink.config.model import LedgerlinkConfig, PipeConfig
from ledgerlink.connectors.registry import ConnectorConfig, connector_type
from ledgerlink.errors import ConfigError
from ledgerlink.mapping.apply import Mapper
from ledgerlink.mapping.defaults import InvoiceRules

_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated configuration and where it came from (relative paths resolve against it)."""

    config: LedgerlinkConfig
    path: Path

    @property
    def base_dir(self) -> Path:
        """The folder of the configuration file."""
        return self.path.parent

    def state_url(self) -> str:
        """The state database URL, with a relative SQLite path made relative to the config file."""
        url = self.config.state
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.base_dir / url.removeprefix(prefix))
        return url


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, interpolate and validate a configuration file."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration at {path}",
            hint="Run `ledgerlink init` to write a starter ledgerlink.yaml, or pass --config PATH",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="Save the file as UTF-8") from None
    return parse_config(text, path, env)


def parse_config(text: str, path: Path, environ: Mapping[str, str]) -> LoadedConfig:
    """Validate configuration text; ``path`` is used for messages and relative paths."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(f"{path} is empty", hint="Run `ledgerlink init` for a starter file")
        data = _interpolate(loader.construct_document(node), node, path, environ)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{where}: not valid YAML: {problem}", hint="Check the indentation"
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping (version:, connections:, pipes:)"
        )
    connections = data.get("connections")
    if isinstance(connections, dict):
        data["connections"] = {
            name: _connection(name, entry, node, path) for name, entry in connections.items()
        }
    try:
        config = LedgerlinkConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, node, path, ()) from None
    for index, pipe in enumerate(config.pipes):
        _check_mapping(pipe, node, path, index)
    return LoadedConfig(config, path)


def _connection(name: str, entry: Any, root: yaml.Node, path: Path) -> Any:
    if not isinstance(entry, dict) or "type" not in entry:
        line = _line(root, ("connections", name), path)
        raise ConfigError(
            f"{line}: connection {name!r} needs a `type:`",
            hint="For example: {type: beancount, path: books.beancount}",
        )
    try:
        model = connector_type(str(entry["type"])).config_model()
    except ConfigError as exc:
        raise ConfigError(
            f"{_line(root, ('connections', name, 'type'), path)}: {exc.message}", hint=exc.hint
        ) from None
    try:
        config: ConnectorConfig = model.model_validate(entry)
    except ValidationError as exc:
        raise _config_error(exc, root, path, ("connections", name)) from None
    return config


def _check_mapping(pipe: PipeConfig, root: yaml.Node, path: Path, index: int) -> None:
    try:
        Mapper(pipe.source_stream, pipe.target_stream, pipe.mapping(), InvoiceRules())
    except ConfigError as exc:
        line = _line(root, ("pipes", index, *exc.details.get("key", ())), path)
        raise ConfigError(f"{line}: pipe {pipe.name!r}: {exc.message}", hint=exc.hint) from None


def _config_error(exc: ValidationError, root: yaml.Node, path: Path, prefix: Path_) -> ConfigError:
    lines = []
    hint = None
    for error in exc.errors():
        loc = prefix + tuple(error["loc"])
        where = _line(root, loc, path)
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {dotted}: {message}")
        hint = hint or _fix_for(error["type"], loc)
    more = (
        f" (and {len(lines) - 1} more problem(s): " + "; ".join(lines[1:]) + ")"
        if len(lines) > 1
        else ""
    )
    return ConfigError(lines[0] + more, hint=hint)


def _fix_for(error_type: str, loc: Path_) -> str | None:
    key = str(loc[-1]) if loc else ""
    fixes = {
        "extra_forbidden": f"Remove `{key}:` or correct its spelling; "
        "`ledgerlink config schema` lists every allowed key",
        "missing": f"Add `{key}:`",
        "literal_error": "Use one of the values listed",
        "string_pattern_mismatch": "Write it as connection.stream, e.g. crm.contacts"
        if key in ("from", "to", "source", "target")
        else None,
    }
    return fixes.get(error_type)


def _line(root: yaml.Node, loc: Path_, path: Path) -> str:
    """``file:line`` of the deepest YAML node that ``loc`` reaches."""
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return f"{path}:{node.start_mark.line + 1}"


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                key.value == part
                or (part == "source" and key.value == "from")
                or (part == "target" and key.value == "to")
            ):
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _interpolate(value: Any, node: yaml.Node, path: Path, env: Mapping[str, str]) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in string values (never in keys)."""
    if isinstance(value, dict) and isinstance(node, yaml.MappingNode):
        nodes = {k.value: v for k, v in node.value}
        return {k: _interpolate(v, nodes.get(k, node), path, env) for k, v in value.items()}
    if isinstance(value, list) and isinstance(node, yaml.SequenceNode):
        return [_interpolate(v, n, path, env) for v, n in zip(value, node.value, strict=False)]
    if isinstance(value, str) and "${" in value:

        def substitute(match: re.Match[str]) -> str:
            name, default = match["name"], match["default"]
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{path}:{node.start_mark.line + 1}: environment variable {name} is not set",
                hint=f"Export {name} before running, or write ${{{name}:-default}}",
            )

        return _ENV.sub(substitute, value)
    return value
