"""Step Functions definitions: the `infra/workflows/*.asl.json` files and their inlining into
infra/resources.yaml.

A state machine resource names its definition file with the marker
`"{{workflows/NAME.asl.json}}"` as the template string of its `Fn::Sub`. CloudFormation cannot
read files, so the local stack and `make package` replace each marker with the file's compact
JSON before the template leaves the project. `${Name}` placeholders in the ASL are filled by
the `Fn::Sub` variables.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

WORKFLOWS_DIR = Path(__file__).with_name("workflows")
DEFINITION_MARKER = re.compile(r'"\{\{workflows/([a-z0-9_-]+\.asl\.json)\}\}"')


class DefinitionError(ValueError):
    """A marker names a missing or invalid definition file."""


def load_definition(file_name: str, directory: Path = WORKFLOWS_DIR) -> dict[str, Any]:
    """Read one ASL file as JSON; raise DefinitionError when it is missing or not JSON."""
    path = directory / file_name
    if not path.is_file():
        raise DefinitionError(f"state machine definition {path} does not exist")
    try:
        definition = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as error:
        raise DefinitionError(f"{path} is not valid JSON: {error.msg} at line {error.lineno}") from error
    if not isinstance(definition, dict) or "StartAt" not in definition or "States" not in definition:
        raise DefinitionError(f"{path} is not a state machine definition: StartAt and States are required")
    return definition


def inline_definitions(template_text: str, directory: Path = WORKFLOWS_DIR) -> str:
    """Replace every definition marker in a YAML template with the file's JSON as a quoted string.

    A JSON string literal is also a valid YAML double-quoted scalar, so the result stays YAML.
    """

    def replace(match: re.Match[str]) -> str:
        compact = json.dumps(load_definition(match.group(1), directory), separators=(",", ":"), ensure_ascii=False)
        return json.dumps(compact, ensure_ascii=False)

    return DEFINITION_MARKER.sub(replace, template_text)


def definition_files(directory: Path = WORKFLOWS_DIR) -> list[Path]:
    """Return the ASL files, sorted by name."""
    return sorted(directory.glob("*.asl.json"))
