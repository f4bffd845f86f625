"""Test support shipped with the AWS backend (as httpx ships MockTransport).

- :mod:`responders`: answer chosen AWS operations of a real botocore client with canned or
  computed responses (validated against the service model), leaving other operations to moto;
- :mod:`insights`: a small Logs Insights engine for the query shapes the backend emits;
- :mod:`segments`: spans as X-Ray segment documents (what the ADOT X-Ray exporter sends);
- :mod:`scenario_loader`: put a scenario into moto and responders so the AWS backend reads it.
"""
