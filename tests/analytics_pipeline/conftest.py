"""Fixtures of the pipeline tests: the API client that checks every response against the OpenAPI document."""

from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401
