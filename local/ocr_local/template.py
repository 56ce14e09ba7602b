"""What the local runtime needs from ``template.yaml``: routes, binary types, functions, env."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


@dataclass(frozen=True)
class ApiSpec:
    stage: str
    binary_media_types: tuple[str, ...]
    routes: tuple[Route, ...]
    functions: dict[str, FunctionSpec]
    table_properties: dict[str, Any]

    def route_for(self, method: str, path: str) -> Route | None:
        for route in self.routes:
            if route.path == path and route.method in (method.upper(), "ANY"):
                return route
        return None


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the short intrinsic tags (!Ref, !Sub, ...) as their long JSON forms."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH, resource_names: dict[str, str] | None = None) -> ApiSpec:
    """Parses the template; ``resource_names`` gives local names for ``!Ref Resource``."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    resolver = _Resolver(document, resource_names or {})
    resources = document["Resources"]
    globals_ = document.get("Globals", {}).get("Function", {})

    api = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::Api")
    api_properties = api["Properties"]
    functions: dict[str, FunctionSpec] = {}
    routes: list[Route] = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = {**globals_, **resource["Properties"]}
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=properties["Handler"],
            timeout_seconds=int(resolver.resolve(properties.get("Timeout", 3))),
            memory_mb=int(resolver.resolve(properties.get("MemorySize", 128))),
            environment={name: str(resolver.resolve(value)) for name, value in environment.items()},
        )
        for event in properties.get("Events", {}).values():
            if event["Type"] == "Api":
                routes.append(
                    Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id)
                )
    table = next(r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table")
    return ApiSpec(
        stage=str(resolver.resolve(api_properties.get("StageName", "Prod"))),
        binary_media_types=tuple(
            media.replace("~1", "/") for media in api_properties.get("BinaryMediaTypes", [])
        ),
        routes=tuple(routes),
        functions=functions,
        table_properties=table["Properties"],
    )


class _Resolver:
    """Just enough of CloudFormation to read environment values: Ref, If and Equals."""

    def __init__(self, document: dict, resource_names: dict[str, str]) -> None:
        self.parameters = {
            name: spec.get("Default") for name, spec in document.get("Parameters", {}).items()
        }
        self.conditions = document.get("Conditions", {})
        self.resource_names = resource_names

    def resolve(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        (name, argument), = value.items()
        if name == "Ref":
            if argument in self.parameters:
                return self.parameters[argument]
            return self.resource_names.get(argument, argument)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self._holds(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        raise ValueError(f"the local runtime cannot resolve {name} in an environment value")

    def _holds(self, condition: str) -> bool:
        return bool(self.resolve(self.conditions[condition]))
