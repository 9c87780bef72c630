"""botocore's exceptions, translated into engine errors that name the connection.

A user reading ``SignatureDoesNotMatch`` in a log has to know AWS to act on
it; ``s3 connection 'wms': the secret access key does not match the access
key id`` tells them which spec block to fix. Classes carry the recovery
decision (transient network trouble versus a fatal configuration problem);
codes, never message text, choose the class.
"""

from __future__ import annotations

from typing import Any

from engine.errors import PHASES, ConfigError, EngineError, Phase

_DENIED = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden", "AccountProblem"}
_THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequests",
    "503",
}


def is_drop(exc: BaseException) -> bool:
    """The connection went away or timed out: reopening may help."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError, IncompleteReadError
    from urllib3.exceptions import HTTPError as Urllib3Error

    return isinstance(
        exc,
        HTTPClientError
        | BotoConnectionError
        | IncompleteReadError
        | Urllib3Error
        | ConnectionError
        | TimeoutError,
    )


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ``ClientError`` (``NoSuchKey``, ``PreconditionFailed`` ...), or None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "") or None
    return None


def translate(
    label: str, exc: BaseException, *, action: str, where: str, phase: str, bucket: str
) -> EngineError:
    """``exc`` raised while doing ``action`` (``list``, ``read``, ``upload`` ...) on ``where``."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        ClientError,
        NoCredentialsError,
        ParamValidationError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, S3UploadFailedError) and exc.__cause__ is not None:
        exc = exc.__cause__
    p = PHASES[phase]
    prefix = f"{label}: cannot {action} {where}"
    if isinstance(exc, NoCredentialsError):
        return ConfigError(
            f"{label}: no AWS credentials found",
            hint="set access_key_id and secret_access_key (as ${env:...} references), "
            "or configure the default credential chain (AWS_PROFILE, instance role)",
        )
    if isinstance(exc, PartialCredentialsError | ProfileNotFound | ParamValidationError):
        return ConfigError(f"{label}: {exc}")
    if isinstance(exc, ClientError):
        return _client_error(label, exc, prefix, p, bucket)
    if is_drop(exc):
        return p.transient(
            f"{prefix}: the connection failed ({type(exc).__name__}: {exc})",
            hint="the S3 endpoint did not answer; retried, giving up for this run",
        )
    return p.fatal(f"{prefix}: {type(exc).__name__}: {exc}")


def _client_error(label: str, exc: Any, prefix: str, phase: Phase, bucket: str) -> EngineError:
    fatal = phase.fatal
    code = error_code(exc) or ""
    status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    message = (exc.response.get("Error") or {}).get("Message") or code
    if code == "NoSuchBucket":
        return fatal(
            f"{label}: bucket '{bucket}' does not exist",
            hint="check bucket, region and endpoint_url of the connection",
        )
    if code == "InvalidAccessKeyId":
        return fatal(
            f"{label}: the access key id is not known to the server",
            hint="check access_key_id (and that endpoint_url points at the right service)",
        )
    if code == "SignatureDoesNotMatch":
        return fatal(
            f"{label}: the secret access key does not match the access key id", hint="check secret_access_key"
        )
    if code in ("ExpiredToken", "TokenRefreshRequired", "RequestExpired"):
        return fatal(
            f"{label}: the credentials have expired", hint="renew session_token or the role credentials"
        )
    if code in _DENIED or status == 403:
        return fatal(
            f"{prefix}: access denied", hint="the credentials lack the permission for this operation"
        )
    if code in ("NoSuchKey", "404", "NotFound") or status == 404:
        return fatal(f"{prefix}: no such object")
    if code in _THROTTLED or status == 429:
        return phase.rate_limited(f"{prefix}: the server asked us to slow down ({code})")
    if status >= 500:
        return phase.transient(f"{prefix}: server error {status} ({code}: {message})")
    return fatal(f"{prefix}: {code}: {message}")
