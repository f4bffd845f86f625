"""Exception names, messages and stack traces as each runtime really prints them."""

from __future__ import annotations

from dataclasses import dataclass

JAVA_PACKAGE = "org.springframework.samples.petclinic"


@dataclass(frozen=True)
class Failure:
    """One way a request fails: what the span, the log and the caller see."""

    exception_type: str
    message: str
    status: int = 500  # HTTP status a failing server answers with
    retryable: bool = False  # callers (SDK, gateway) retry it
    at_start: bool = False  # the server fails before running its steps
    duration_ms: float = 0.0  # client failures: time until the error surfaces
    log_severity: str = "ERROR"
    stack: str = ""

    @property
    def text(self) -> str:
        return f"{self.exception_type}: {self.message}"


def class_name(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("_", "-").split("-"))


def stacktrace(runtime: str, service: str, exception_type: str, message: str, frame: str = "handle") -> str:
    cls = class_name(service)
    if runtime == "java":
        pkg = f"{JAVA_PACKAGE}.{service.replace('-', '')}"
        return (
            f"{exception_type}: {message}\n"
            f"\tat {pkg}.service.{cls}Service.{frame}({cls}Service.java:142)\n"
            f"\tat {pkg}.web.{cls}Controller.{frame}({cls}Controller.java:67)\n"
            "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n"
            "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)\n"
            "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)\n"
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)"
        )
    if runtime == "python":
        mod = service.replace("-", "_")
        return (
            "Traceback (most recent call last):\n"
            f'  File "/app/{mod}/api.py", line 88, in {frame}\n'
            f"    result = service.{frame}(request)\n"
            f'  File "/app/{mod}/service.py", line 141, in {frame}\n'
            "    return self._store.process(payload)\n"
            f"{exception_type}: {message}"
        )
    if runtime == "go":
        return (
            f"goroutine 1284 [running]:\nmain.(*{cls}Handler).{frame.capitalize()}(0xc0001a2000)\n"
            f"\t/src/{service}/handler.go:97 +0x1c5\nnet/http.HandlerFunc.ServeHTTP(...)\n"
            "\t/usr/local/go/src/net/http/server.go:2171"
        )
    return (
        f"{exception_type}: {message}\n"
        f"    at {cls}Router.{frame} (/app/src/routes/{service}.js:54:21)\n"
        "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"
    )


# Per-runtime spellings of the failures the fault library uses.
UNHANDLED = {
    "java": ("java.lang.NullPointerException", 'Cannot invoke "{model}.getId()" because "{var}" is null'),
    "python": ("KeyError", "'{var}_id'"),
    "go": ("runtime.Error", "invalid memory address or nil pointer dereference"),
    "nodejs": ("TypeError", "Cannot read properties of undefined (reading '{var}Id')"),
}

TIMEOUT = {
    "java": ("java.net.SocketTimeoutException", "Read timed out"),
    "python": ("requests.exceptions.ReadTimeout", "Read timed out. (read timeout={secs})"),
    "go": (
        "context.DeadlineExceeded",
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    ),
    "nodejs": ("TimeoutError", "The operation was aborted due to timeout"),
}

CERT_EXPIRED = {
    "java": (
        "javax.net.ssl.SSLHandshakeException",
        "PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
    ),
    "python": (
        "ssl.SSLCertVerificationError",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
    ),
    "go": (
        "x509.CertificateInvalidError",
        "tls: failed to verify certificate: x509: certificate has expired or is not yet valid",
    ),
    "nodejs": ("Error", "certificate has expired (CERT_HAS_EXPIRED)"),
}

DYNAMODB_THROTTLE = {
    "java": "software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException",
    "python": "botocore.errorfactory.ProvisionedThroughputExceededException",
    "go": "ProvisionedThroughputExceededException",
    "nodejs": "ProvisionedThroughputExceededException",
}
DYNAMODB_THROTTLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your "
    "provisioning level with the UpdateTable API. (Service: DynamoDb, Status Code: 400)"
)

POOL_TIMEOUT = {
    "java": (
        "java.sql.SQLTransientConnectionException",
        "HikariPool-1 - Connection is not available, request timed out after {ms}ms.",
    ),
    "python": (
        "sqlalchemy.exc.TimeoutError",
        "QueuePool limit of size 10 overflow 0 reached, connection timed out, timeout {secs}",
    ),
    "go": (
        "pgxpool.ErrAcquireTimeout",
        "failed to acquire connection: context deadline exceeded after {ms}ms",
    ),
    "nodejs": ("Error", "timeout exceeded when trying to connect (pool size 10, waited {ms}ms)"),
}

CACHE_DOWN = {
    "java": ("io.lettuce.core.RedisConnectionException", "Unable to connect to {address}:6379"),
    "python": (
        "redis.exceptions.ConnectionError",
        "Error 111 connecting to {address}:6379. Connection refused.",
    ),
    "go": ("net.OpError", "dial tcp {address}:6379: connect: connection refused"),
    "nodejs": ("Error", "connect ECONNREFUSED {address}:6379"),
}

OOM = {
    "java": ("java.lang.OutOfMemoryError", "Java heap space"),
    "python": ("MemoryError", ""),
    "go": ("runtime.Error", "out of memory: cannot allocate 8192-byte block"),
    "nodejs": ("Error", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"),
}

OVERLOAD = {
    "java": (
        "org.apache.tomcat.util.threads.TaskRejectedException",
        "Executor [tomcat-handler] did not accept task: queue capacity reached",
    ),
    "python": (
        "gunicorn.errors.WorkerTimeout",
        "worker timeout: request took longer than 30s, worker restarted",
    ),
    "go": ("http.ErrHandlerTimeout", "http: Handler timeout"),
    "nodejs": ("Error", "Server overloaded: event loop lag 2400ms exceeds limit 1000ms"),
}

DISK_FULL = {
    "java": ("java.io.IOException", "No space left on device: /var/lib/app/tmp/upload-buffer"),
    "python": ("OSError", "[Errno 28] No space left on device: '/var/lib/app/tmp'"),
    "go": ("fs.PathError", "write /var/lib/app/tmp/spool: no space left on device"),
    "nodejs": ("Error", "ENOSPC: no space left on device, write '/var/lib/app/tmp/spool'"),
}

CONNECT_TIMEOUT = {
    "java": ("java.net.ConnectException", "Connection timed out: connect to {address}"),
    "python": ("ConnectTimeoutError", "Connection to {address} timed out. (connect timeout=1.0)"),
    "go": ("net.OpError", "dial tcp {address}: i/o timeout"),
    "nodejs": ("Error", "connect ETIMEDOUT {address}"),
}

STATEMENT_TIMEOUT = {
    "java": ("org.postgresql.util.PSQLException", "ERROR: canceling statement due to statement timeout"),
    "python": ("psycopg2.errors.QueryCanceled", "canceling statement due to statement timeout"),
    "go": ("pgconn.PgError", "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)"),
    "nodejs": ("error", "canceling statement due to statement timeout"),
}

MODELS = {
    "customers": ("Owner", "owner"),
    "vets": ("Vet", "vet"),
    "visits": ("Visit", "visit"),
    "appointments": ("Appointment", "slot"),
    "billing": ("Invoice", "invoice"),
    "payments": ("Charge", "charge"),
    "inventory": ("Item", "item"),
    "notifications": ("Notification", "recipient"),
    "auth": ("Session", "session"),
}


def spelled(table: dict[str, tuple[str, str]], runtime: str, **values: object) -> tuple[str, str]:
    exception_type, message = table.get(runtime, table["java"])
    return exception_type, message.format(**values) if values else message
