"""The fault library: one class per fault type of :mod:`mcp_server.taxonomy`."""

from __future__ import annotations

from evals.simulator.faults.base import Fault, FaultSetupError, FaultSpec
from evals.simulator.faults.code import BadDeployment, ErrorException, IncorrectResponse
from evals.simulator.faults.dependencies import (
    CacheFailure,
    CertificateExpiry,
    ConfigChange,
    DependencyThrottling,
    DownstreamTimeoutRetryStorm,
    NetworkDelay,
)
from evals.simulator.faults.hosts import (
    AzImpairment,
    ConnectionPoolExhaustion,
    CpuSaturation,
    MemoryLeak,
    SingleHostFailure,
)
from evals.simulator.faults.pods import CpuContention, NetworkDelayInbound
from mcp_server.taxonomy import FaultType

FAULT_CLASSES: dict[FaultType, type[Fault]] = {
    FaultType.DEPENDENCY_THROTTLING: DependencyThrottling,
    FaultType.BAD_DEPLOYMENT: BadDeployment,
    FaultType.CONFIG_CHANGE: ConfigChange,
    FaultType.CPU_SATURATION: CpuSaturation,
    FaultType.MEMORY_LEAK: MemoryLeak,
    FaultType.NETWORK_DELAY: NetworkDelay,
    FaultType.CONNECTION_POOL_EXHAUSTION: ConnectionPoolExhaustion,
    FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM: DownstreamTimeoutRetryStorm,
    FaultType.SINGLE_HOST_FAILURE: SingleHostFailure,
    FaultType.AZ_IMPAIRMENT: AzImpairment,
    FaultType.CERTIFICATE_EXPIRY: CertificateExpiry,
    FaultType.CACHE_FAILURE: CacheFailure,
    FaultType.ERROR_EXCEPTION: ErrorException,
    FaultType.INCORRECT_RESPONSE: IncorrectResponse,
}

# other shapes of a fault type, chosen with FaultSpec.variant
FAULT_VARIANTS: dict[tuple[FaultType, str], type[Fault]] = {
    (FaultType.CPU_SATURATION, "contention"): CpuContention,
    (FaultType.NETWORK_DELAY, "inbound"): NetworkDelayInbound,
}


def fault_class(spec: FaultSpec) -> type[Fault]:
    """The class that simulates ``spec``: its type's classic shape, or the variant it names."""
    if not spec.variant:
        return FAULT_CLASSES[spec.fault]
    found = FAULT_VARIANTS.get((spec.fault, spec.variant))
    if found is None:
        known = sorted(v for f, v in FAULT_VARIANTS if f == spec.fault)
        hint = f"its variants: {', '.join(known)}" if known else "it has no variants"
        raise FaultSetupError(f"{spec.fault.value} has no variant {spec.variant!r} ({hint})")
    return found


__all__ = ["FAULT_CLASSES", "FAULT_VARIANTS", "Fault", "FaultSetupError", "FaultSpec", "fault_class"]
