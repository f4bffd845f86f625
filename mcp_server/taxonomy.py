"""The fault taxonomy: the one place fault-type ids are defined.

The simulator labels ground truth with these ids, the engine emits them in hypotheses and the
eval harness compares them. Ids are stable strings; never rename one without a migration note.
"""

from __future__ import annotations

from enum import StrEnum


class FaultType(StrEnum):
    DEPENDENCY_THROTTLING = "dependency_throttling"
    BAD_DEPLOYMENT = "bad_deployment"
    CONFIG_CHANGE = "config_change"
    CPU_SATURATION = "cpu_saturation"
    MEMORY_LEAK = "memory_leak"
    NETWORK_DELAY = "network_delay"
    CONNECTION_POOL_EXHAUSTION = "connection_pool_exhaustion"
    DOWNSTREAM_TIMEOUT_RETRY_STORM = "downstream_timeout_retry_storm"
    SINGLE_HOST_FAILURE = "single_host_failure"
    AZ_IMPAIRMENT = "az_impairment"
    CERTIFICATE_EXPIRY = "certificate_expiry"
    CACHE_FAILURE = "cache_failure"
    ERROR_EXCEPTION = "error_exception"
    INCORRECT_RESPONSE = "incorrect_response"
    UNKNOWN = "unknown"


FAULT_DESCRIPTIONS: dict[FaultType, str] = {
    FaultType.DEPENDENCY_THROTTLING: "A managed dependency (e.g. DynamoDB) throttles requests; client retries amplify load.",
    FaultType.BAD_DEPLOYMENT: "Errors or latency start at a deployment of one service.",
    FaultType.CONFIG_CHANGE: "A configuration or feature-flag change alters behaviour without a code deployment.",
    FaultType.CPU_SATURATION: "CPU on a service's hosts saturates; latency rises, then timeouts.",
    FaultType.MEMORY_LEAK: "Memory grows steadily; GC pauses lengthen; processes are OOM-killed and restart.",
    FaultType.NETWORK_DELAY: "Network latency between services rises; no errors are logged, only slowness.",
    FaultType.CONNECTION_POOL_EXHAUSTION: "A client connection pool is exhausted; requests wait for or fail to get a connection.",
    FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM: "A slow downstream causes client timeouts; retries multiply the load.",
    FaultType.SINGLE_HOST_FAILURE: "One of N hosts fails; the load balancer keeps sending it traffic.",
    FaultType.AZ_IMPAIRMENT: "Hosts in one availability zone fail or slow down; other zones are healthy.",
    FaultType.CERTIFICATE_EXPIRY: "A TLS certificate expired; handshakes to an endpoint fail.",
    FaultType.CACHE_FAILURE: "The cache is unavailable or cold; load shifts to the database.",
    FaultType.ERROR_EXCEPTION: "Code throws an unhandled exception on some requests.",
    FaultType.INCORRECT_RESPONSE: "Code returns a wrong value or status code; its callers fail.",
    FaultType.UNKNOWN: "The evidence does not match a known fault type.",
}
