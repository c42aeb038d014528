"""One google-genai client for Vertex AI, and what its failures mean to a user.

The SDK does the retrying (HttpRetryOptions: backoff on 429 and 5xx) and the time limit;
this module turns what is left into one `CloudServiceError` with the reason, never a
credential (the key travels in a header the SDK sets; no message here names it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shortlist.errors import CloudServiceError
from shortlist.settings import Settings

RETRIED_STATUS = [408, 429, 500, 502, 503, 504]
T = TypeVar("T")


def vertex_client(settings: Settings) -> Any:
    """A `google.genai.Client` on Vertex AI: with an API key (express mode) when one is
    set, else the project and location with Application Default Credentials."""
    from google import genai
    from google.genai import types

    http = types.HttpOptions(
        base_url=settings.vertex_base_url, timeout=int(settings.cloud_timeout_s * 1000),
        retry_options=types.HttpRetryOptions(
            attempts=settings.cloud_attempts, initial_delay=settings.cloud_retry_delay_s,
            max_delay=30 * settings.cloud_retry_delay_s, http_status_codes=RETRIED_STATUS))
    if settings.google_api_key:
        return genai.Client(vertexai=True, api_key=settings.google_api_key, http_options=http)
    if not settings.google_cloud_project:
        raise CloudServiceError("Vertex AI needs GOOGLE_CLOUD_PROJECT (with Application "
                                "Default Credentials: `gcloud auth application-default "
                                "login`) or GOOGLE_API_KEY")
    try:
        return genai.Client(vertexai=True, project=settings.google_cloud_project,
                            location=settings.google_cloud_location, http_options=http)
    except Exception as exc:  # noqa: BLE001 - no credentials found, among others
        raise CloudServiceError(f"Vertex AI client for project "
                                f"{settings.google_cloud_project!r}: {_short(exc)}") from None


def call_vertex(what: str, settings: Settings, call: Callable[[], T]) -> T:
    """Run one SDK call; its failure, after the SDK's retries, as a CloudServiceError."""
    from google.auth.exceptions import GoogleAuthError
    from google.genai import errors

    timeouts, transport = _http_errors()
    try:
        return call()
    except GoogleAuthError as exc:
        raise CloudServiceError(f"{what}: no usable Google credentials for project "
                                f"{settings.google_cloud_project!r} ({_short(exc)}): run "
                                "`gcloud auth application-default login`, or set "
                                "GOOGLE_API_KEY") from None
    except errors.APIError as exc:
        retried = (f" after {settings.cloud_attempts} attempts"
                   if exc.code in RETRIED_STATUS else "")
        raise CloudServiceError(f"{what}: Vertex AI answered {exc.code} "
                                f"{exc.status or ''}{retried}: {_short(exc.message)}") from None
    except timeouts:
        raise CloudServiceError(f"{what}: no answer from Vertex AI within "
                                f"{settings.cloud_timeout_s:g} s") from None
    except transport as exc:
        raise CloudServiceError(f"{what}: Vertex AI unreachable: {_short(exc)}") from None


def _http_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Time-outs and other transport errors of the HTTP clients google-genai may use
    (httpx, or httpx2 in its newer releases)."""
    timeouts: list[type[BaseException]] = [TimeoutError]
    transport: list[type[BaseException]] = [OSError]
    for name in ("httpx", "httpx2"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.HTTPError)
    return tuple(timeouts), tuple(transport)


def _short(value: object) -> str:
    text = " ".join(str(value or "").split())
    return text[:300]
