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

__all__ = ["FAULT_CLASSES", "Fault", "FaultSetupError", "FaultSpec"]
