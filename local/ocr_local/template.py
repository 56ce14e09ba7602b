"""What the local runtime needs from ``template.yaml``: routes, binary types, functions, env."""

from __future__ import annotations

import re
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
    # API Gateway lets the request through only with a valid x-api-key in a usage plan.
    api_key_required: bool = False

    def path_parameters(self, path: str) -> dict[str, str] | None:
        """The values of the route's {parameters} in ``path``; None when it is not this route's."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        match = re.fullmatch(pattern, path)
        return match.groupdict() if match else None


@dataclass(frozen=True)
class QueueEvent:
    """A function's SQS event source: the queue (logical id) and how many messages a batch holds."""

    queue: str
    batch_size: int
    reports_item_failures: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    # "Zip" or "Image" (a container image).
    package_type: str = "Zip"
    queue_events: tuple[QueueEvent, ...] = ()


@dataclass(frozen=True)
class ApiSpec:
    stage: str
    binary_media_types: tuple[str, ...]
    routes: tuple[Route, ...]
    functions: dict[str, FunctionSpec]
    table_properties: dict[str, Any]
    # The PlanCatalog custom resource's plans, and each usage plan's properties by logical id.
    plans: tuple[dict[str, Any], ...] = ()
    usage_plans: dict[str, dict[str, Any]] | None = None
    # The uploads bucket's properties (CORS, lifecycle), resolved.
    bucket_properties: dict[str, Any] | None = None
    jobs_table_properties: dict[str, Any] | None = None
    # Each SQS queue's properties by logical id (visibility timeout, redrive policy), resolved.
    queues: dict[str, dict[str, Any]] | None = None

    def route_for(self, method: str, path: str) -> Route | None:
        """The route of a request, as API Gateway picks it: a literal path before one with
        path parameters ({name}: one segment)."""
        matching = [
            route
            for route in self.routes
            if route.method in (method.upper(), "ANY") and route.path_parameters(path) is not None
        ]
        return min(matching, key=lambda route: route.path.count("{"), default=None)


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


def load_template(
    path: Path = TEMPLATE_PATH,
    resource_names: dict[str, str] | None = None,
    parameter_values: dict[str, Any] | None = None,
) -> ApiSpec:
    """Parses the template; ``resource_names`` gives local names for ``!Ref Resource``, and
    ``parameter_values`` stand in for parameters' defaults as a deploy's overrides would."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    resolver = _Resolver(document, resource_names or {}, parameter_values or {})
    resources = document["Resources"]
    globals_ = document.get("Globals", {}).get("Function", {})

    api = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::Api")
    api_properties = api["Properties"]
    functions: dict[str, FunctionSpec] = {}
    routes: list[Route] = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if "Condition" in resource and not resolver.holds(resource["Condition"]):
            continue  # not deployed with these parameters
        properties = {**globals_, **resource["Properties"]}
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        queue_events = tuple(
            QueueEvent(
                queue=event["Properties"]["Queue"]["Fn::GetAtt"][0],
                batch_size=int(event["Properties"].get("BatchSize", 10)),
                reports_item_failures="ReportBatchItemFailures" in event["Properties"].get("FunctionResponseTypes", []),
            )
            for event in properties.get("Events", {}).values()
            if event["Type"] == "SQS"
        )
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            queue_events=queue_events,
            # A container image names its handler in the image's command.
            handler=properties.get("Handler") or properties["ImageConfig"]["Command"][0],
            timeout_seconds=int(resolver.resolve(properties.get("Timeout", 3))),
            memory_mb=int(resolver.resolve(properties.get("MemorySize", 128))),
            environment={name: str(resolver.resolve(value)) for name, value in environment.items()},
            package_type=properties.get("PackageType", "Zip"),
        )
        for event in properties.get("Events", {}).values():
            if event["Type"] == "Api":
                event_properties = event["Properties"]
                routes.append(
                    Route(
                        event_properties["Method"].upper(),
                        event_properties["Path"],
                        logical_id,
                        bool(event_properties.get("Auth", {}).get("ApiKeyRequired", False)),
                    )
                )
    table = resources["AppKeysTable"]
    catalog = next((r for r in resources.values() if r["Type"] == "Custom::PlanCatalog"), None)
    return ApiSpec(
        stage=str(resolver.resolve(api_properties.get("StageName", "Prod"))),
        binary_media_types=tuple(media.replace("~1", "/") for media in api_properties.get("BinaryMediaTypes", [])),
        routes=tuple(routes),
        functions=functions,
        table_properties=table["Properties"],
        plans=tuple(resolver.resolve_all(catalog["Properties"]["Plans"])) if catalog else (),
        usage_plans={
            logical_id: resolver.resolve_all(resource["Properties"])
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::ApiGateway::UsagePlan"
        },
        bucket_properties=next(
            (resolver.resolve_all(r["Properties"]) for r in resources.values() if r["Type"] == "AWS::S3::Bucket"),
            None,
        ),
        jobs_table_properties=resources["JobsTable"]["Properties"] if "JobsTable" in resources else None,
        queues={
            logical_id: resolver.resolve_all(resource["Properties"])
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::SQS::Queue"
        },
    )


_NO_VALUE = object()


def _parameter_value(spec: dict, value: Any) -> Any:
    """A CommaDelimitedList parameter is a list wherever it is used."""
    if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


class _Resolver:
    """Just enough of CloudFormation to read the values the local runtime needs: Ref, Sub
    (of parameters and pseudo parameters), If, Equals and Not."""

    def __init__(self, document: dict, resource_names: dict[str, str], values: dict[str, Any]) -> None:
        self.parameters = {
            name: _parameter_value(spec, values.get(name, spec.get("Default")))
            for name, spec in document.get("Parameters", {}).items()
        }
        self.conditions = document.get("Conditions", {})
        self.resource_names = {"AWS::StackName": "ocr-api-local", **resource_names}

    def resolve_all(self, value: Any) -> Any:
        """``value`` with every intrinsic inside it resolved, and AWS::NoValue left out."""
        value = self.resolve(value)
        if isinstance(value, dict):
            resolved = {name: self.resolve_all(item) for name, item in value.items()}
            return {name: item for name, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.resolve_all, value) if item is not _NO_VALUE]
        return value

    def resolve(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((name, argument),) = value.items()
        if name != "Ref" and name != "Condition" and not name.startswith("Fn::"):
            return value  # a property of one key, not an intrinsic
        if name == "Ref":
            if argument == "AWS::NoValue":
                return _NO_VALUE
            if argument in self.parameters:
                return self.parameters[argument]
            return self.resource_names.get(argument, argument)
        if name == "Fn::GetAtt":
            # An attribute of a resource (a queue's ARN): its local stand-in, by "Name.Attribute".
            return self.resource_names.get(".".join(argument), f"local:{'.'.join(argument)}")
        if name == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda match: str(self.resolve({"Ref": match[1]})), argument)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.holds(condition) else when_false)
        if name == "Condition":
            return self.holds(argument)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        raise ValueError(f"the local runtime cannot resolve {name} in an environment value")

    def holds(self, condition: str) -> bool:
        return bool(self.resolve(self.conditions[condition]))
