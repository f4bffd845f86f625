"""The simulated system's topology: services, their operations and call steps, hosts, dependencies.

Loaded from a YAML file (``topology.yaml`` next to this module by default). Everything keeps the
file's order so that a rename (``rename={"visits": "bookings"}``) changes names only: hosts, ids and
random draws stay the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mcp_server.errors import InputFileError

DEFAULT_TOPOLOGY = Path(__file__).with_name("topology.yaml")

STEP_KINDS = ("call", "dynamodb", "sql", "cache", "publish", "external")
DEPENDENCY_KINDS = ("dynamodb", "postgresql", "redis", "sqs", "external")


@dataclass(frozen=True)
class Dependency:
    name: str
    kind: str
    table: str = ""
    database: str = ""
    address: str = ""
    queue: str = ""
    consumer: str = ""
    provisioned_rcu: int = 0


@dataclass
class Step:
    kind: str
    service: str = ""  # call
    op: str = ""
    dep: str = ""
    table: str = ""
    key: str = ""
    hit_ratio: float = 1.0
    miss: list[Step] = field(default_factory=list)
    timeout_ms: float = 0.0
    retries: int = -1  # -1: the caller service's default
    p: float = 1.0
    latency_ms: float = 0.0


@dataclass
class Operation:
    name: str
    self_ms: float
    steps: list[Step]
    entry_weight: float = 0.0
    consumer_of: str = ""

    @property
    def method(self) -> str:
        head = self.name.split(" ", 1)[0]
        return head if head.isupper() else ""

    @property
    def route(self) -> str:
        return self.name.split(" ", 1)[1] if self.method else ""


@dataclass
class Host:
    service: str
    index: int
    name: str  # host.name (EC2 private DNS)
    pod: str  # k8s.pod.name
    az: str
    instance_id: str
    ip: str


@dataclass
class Service:
    name: str
    index: int
    runtime: str
    version: str
    log_format: str
    hosts: list[Host]
    operations: dict[str, Operation]
    retries: int = 0
    batch: bool = False
    passthrough: bool = False

    def dependencies(self) -> list[str]:
        """Dependencies this service calls directly, in first-use order."""
        found: list[str] = []

        def walk(steps: list[Step]) -> None:
            for step in steps:
                if step.dep and step.dep not in found:
                    found.append(step.dep)
                walk(step.miss)

        for operation in self.operations.values():
            walk(operation.steps)
        return found

    def callees(self) -> list[str]:
        found: list[str] = []
        for operation in self.operations.values():
            for step in operation.steps:
                if step.kind == "call" and step.service not in found:
                    found.append(step.service)
        return found


@dataclass
class Topology:
    name: str
    region: str
    zones: list[str]
    services: dict[str, Service]
    dependencies: dict[str, Dependency]

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(self.services)
            raise KeyError(f"unknown service {name!r}; known services: {known}") from None

    def entry_operations(self) -> list[tuple[Service, Operation]]:
        return [
            (service, op)
            for service in self.services.values()
            for op in service.operations.values()
            if op.entry_weight > 0
        ]

    def callers_of(self, name: str) -> list[str]:
        """Services that call ``name`` directly (including through its queue), in topology order."""
        callers = []
        for service in self.services.values():
            hits = name in service.callees()
            for dep in service.dependencies():
                if self.dependencies[dep].consumer == name:
                    hits = True
            if hits and service.name != name:
                callers.append(service.name)
        return callers

    def upstream_of(self, name: str) -> list[str]:
        """Every service whose requests can reach ``name``, nearest first."""
        order: list[str] = []
        frontier = [name]
        while frontier:
            nxt: list[str] = []
            for current in frontier:
                for caller in self.callers_of(current):
                    if caller not in order and caller != name:
                        order.append(caller)
                        nxt.append(caller)
            frontier = nxt
        return order

    def services_using(self, dep_kind: str) -> list[str]:
        return [
            s.name
            for s in self.services.values()
            if any(self.dependencies[d].kind == dep_kind for d in s.dependencies())
        ]


def _step(raw: dict[str, Any], path: Path, where: str, rename: dict[str, str]) -> Step:
    kind = raw.get("kind")
    if kind not in STEP_KINDS:
        raise InputFileError(
            path, None, f"{where}.kind", f"unknown step kind {kind!r}; use one of {STEP_KINDS}"
        )
    return Step(
        kind=kind,
        service=rename.get(raw.get("service", ""), raw.get("service", "")),
        op=str(raw.get("op", "")),
        dep=str(raw.get("dep", "")),
        table=str(raw.get("table", "")),
        key=str(raw.get("key", "")),
        hit_ratio=float(raw.get("hit_ratio", 1.0)),
        miss=[_step(m, path, f"{where}.miss", rename) for m in raw.get("miss", [])],
        timeout_ms=float(raw.get("timeout_ms", 0.0)),
        retries=int(raw.get("retries", -1)),
        p=float(raw.get("p", 1.0)),
        latency_ms=float(raw.get("latency_ms", 0.0)),
    )


def _hosts(service: str, index: int, count: int, zones: list[str]) -> list[Host]:
    # Host identities come from the service's position, never its name, so a rename keeps them.
    rng = random.Random(7919 * (index + 1))
    replica_set = "".join(rng.choice("0123456789abcdef") for _ in range(9))
    hosts = []
    for i in range(count):
        zone_index = (index + i) % len(zones)
        third_octet = 16 * zone_index + rng.randrange(1, 15)
        fourth = rng.randrange(4, 250)
        ip = f"10.0.{third_octet}.{fourth}"
        suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        instance = "i-0" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
        hosts.append(
            Host(
                service=service,
                index=i,
                name=f"ip-{ip.replace('.', '-')}.ec2.internal",
                pod=f"{service}-{replica_set}-{suffix}",
                az=zones[zone_index],
                instance_id=instance,
                ip=ip,
            )
        )
    return hosts


def load_topology(path: Path | None = None, rename: dict[str, str] | None = None) -> Topology:
    """Read a topology YAML file; ``rename`` maps old service names to new ones."""
    path = Path(path) if path is not None else DEFAULT_TOPOLOGY
    rename = dict(rename or {})
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, None, None, "topology file not found") from None
    except yaml.YAMLError as exc:
        raise InputFileError(path, None, None, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise InputFileError(path, None, "services", "expected a mapping of services")
    zones = [str(z) for z in raw.get("availability_zones", ["us-east-1a", "us-east-1b", "us-east-1c"])]
    dependencies: dict[str, Dependency] = {}
    for name, spec in (raw.get("dependencies") or {}).items():
        if spec.get("kind") not in DEPENDENCY_KINDS:
            raise InputFileError(path, None, f"dependencies.{name}.kind", f"use one of {DEPENDENCY_KINDS}")
        consumer = str(spec.get("consumer", ""))
        dependencies[name] = Dependency(
            name=name,
            kind=spec["kind"],
            table=str(spec.get("table", "")),
            database=str(spec.get("database", "")),
            address=str(spec.get("address", "")),
            queue=str(spec.get("queue", "")),
            consumer=rename.get(consumer, consumer),
            provisioned_rcu=int(spec.get("provisioned_rcu", 0)),
        )
    services: dict[str, Service] = {}
    for index, (old_name, spec) in enumerate(raw["services"].items()):
        name = rename.get(old_name, old_name)
        operations: dict[str, Operation] = {}
        for op_name, op_spec in (spec.get("operations") or {}).items():
            where = f"services.{old_name}.operations.{op_name}"
            steps = [_step(s, path, f"{where}.steps", rename) for s in op_spec.get("steps", [])]
            operations[op_name] = Operation(
                name=op_name,
                self_ms=float(op_spec.get("self_ms", 5)),
                steps=steps,
                entry_weight=float(op_spec.get("entry_weight", 0)),
                consumer_of=str(op_spec.get("consumer_of", "")),
            )
        services[name] = Service(
            name=name,
            index=index,
            runtime=str(spec.get("runtime", "java")),
            version=str(spec.get("version", "1.0.0")),
            log_format=str(spec.get("log_format", "text")),
            hosts=_hosts(name, index, int(spec.get("hosts", 2)), zones),
            operations=operations,
            retries=int(spec.get("retries", 0)),
            batch=bool(spec.get("batch", False)),
            passthrough=bool(spec.get("passthrough", False)),
        )
    topology = Topology(
        name=str(raw.get("name", "system")),
        region=str(raw.get("region", "us-east-1")),
        zones=zones,
        services=services,
        dependencies=dependencies,
    )
    _check_references(topology, path)
    return topology


def _check_references(topology: Topology, path: Path) -> None:
    for service in topology.services.values():
        for op in service.operations.values():
            stack = list(op.steps)
            while stack:
                step = stack.pop()
                stack.extend(step.miss)
                where = f"services.{service.name}.operations.{op.name}"
                if step.kind == "call":
                    callee = topology.services.get(step.service)
                    if callee is None or step.op not in callee.operations:
                        raise InputFileError(path, None, where, f"calls unknown {step.service} {step.op}")
                elif step.dep not in topology.dependencies:
                    raise InputFileError(path, None, where, f"uses unknown dependency {step.dep!r}")
