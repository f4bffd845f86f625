"""Fakes of the service's peers, on loopback: SNS's certificate host, the Slack Web API, and a
``sleuth serve`` process launcher. Shipped with the package (like httpx's MockTransport) so tests
and benchmarks exercise the real process against the same stand-ins."""
