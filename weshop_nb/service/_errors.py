"""One exception tree for everything weshop_nb raises about the service.

Every error carries ``code`` (the service's own code, when it sent one), ``message``
(plain words, never the API key), ``response`` (the ``requests.Response`` behind it,
when there was one: status, headers and body, but not the request, whose headers hold
the key) and ``retryable`` (the agent-runs API's word on whether the same request may be
sent again; None when the service did not say), so a notebook can show a one-line
reason and a program can branch on the type. Errors are raised without the requests
error as their context, for the same reason as the request is not kept.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "WeShopError",
    "AuthenticationError",
    "InvalidRequestError",
    "ParameterError",
    "ImageValidationError",
    "RateLimitError",
    "ServiceError",
    "ExecutionFailed",
    "WaitTimeout",
    "HistoryError",
]


class WeShopError(Exception):
    """Base class of every error about the WeShop service."""

    def __init__(self, message: str, *, code: Any = None, response: Any = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.response = response
        self.retryable = retryable

    def __str__(self) -> str:
        if self.code in (None, ""):
            return self.message
        return f"{self.message} (code {self.code})"


class AuthenticationError(WeShopError):
    """The API key is missing, wrong or not allowed to do this.

    ``base_url`` is the service the refused key was sent to (None when none was sent);
    the message then names it and says how to set another key.
    """

    def __init__(self, message: str, *, base_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.base_url = base_url

    def sent_to(self, base_url: str) -> AuthenticationError:
        """This refusal, saying that the key was sent to ``base_url`` and how to set another."""
        if self.base_url is not None:
            return self
        known = {"code": self.code, "response": self.response, "retryable": self.retryable}
        return AuthenticationError(self.message, base_url=base_url, **known)

    def __str__(self) -> str:
        if self.base_url is None:
            return super().__str__()
        code = "" if self.code in (None, "") else f" (code {self.code})"
        return (
            f"{self.message.rstrip('.')}{code}. The key was sent to {self.base_url}; to use another, run %weshop login "
            "or set the WESHOP_API_KEY environment variable (and WESHOP_BASE_URL for another service)."
        )


class InvalidRequestError(WeShopError):
    """The service refused the request as given (bad parameter, unknown id, ...)."""


class ParameterError(InvalidRequestError):
    """Parameters or inputs that break an agent's rules, found locally before any request.

    ``problems`` holds every broken rule (:class:`weshop_nb.contract.Problem`: the key,
    the rule's name and a sentence saying what to fix).
    """

    def __init__(self, message: str, *, problems: Any = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class ImageValidationError(InvalidRequestError):
    """An image breaks one of the upload rules; checked locally before any upload."""

    def __init__(self, message: str, *, rule: str, measured: Any = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.measured = measured


class RateLimitError(WeShopError):
    """The service asked us to slow down (HTTP 429) and retries did not get through."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceError(WeShopError):
    """The service failed, could not be reached, or sent a reply we cannot read.

    ``fate_unknown`` is True when the request did reach the service but its outcome is
    unknown (a lost or unreadable reply, a 5xx): the work may or may not have been done.
    """

    def __init__(self, message: str, *, fate_unknown: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fate_unknown = fate_unknown


class ExecutionFailed(WeShopError):
    """An execution ended with status ``failed``; ``.execution`` holds it."""

    def __init__(self, message: str, *, execution: Any) -> None:
        super().__init__(message)
        self.execution = execution


class WaitTimeout(WeShopError):
    """An execution was still not finished when the wait ran out; ``.execution`` holds it."""

    def __init__(self, message: str, *, execution: Any) -> None:
        super().__init__(message)
        self.execution = execution


class HistoryError(WeShopError):
    """The local history database cannot be opened, read or written; ``reason`` says why.

    ``reason`` is ``"full"``, ``"read_only"``, ``"locked"``, ``"corrupt"``, ``"not_a_file"``,
    ``"not_a_folder"``, ``"newer"`` (written by a newer weshop_nb), ``"off"``, or None
    when the cause is not known.
    """

    def __init__(self, message: str, *, reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason
