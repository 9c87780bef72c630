"""Secret references kept in AWS: ``${aws-sm:ID}`` (Secrets Manager) and ``${ssm:NAME}`` (Parameter Store).

```yaml
connections:
  fluent:
    type: fluent
    client_secret: "${aws-sm:prod/fluent#client_secret}"   # one key of a JSON secret
    password: "${ssm:/engine/prod/fluent-password}"         # a SecureString, decrypted
```

``${aws-sm:ID}`` is the secret's whole ``SecretString`` (``ID`` a name or an
ARN); ``${aws-sm:ID#KEY}`` one key of a secret stored as a JSON object.
``${ssm:NAME}`` is a parameter's value, decrypted when it is a SecureString.
Credentials, region and endpoint come from the standard AWS chain
(environment, profile, instance or task role; ``AWS_REGION``,
``AWS_ENDPOINT_URL_SECRETS_MANAGER``/``AWS_ENDPOINT_URL_SSM`` for a local
stand-in). Values are read when a run needs them, never cached on disk, and
:mod:`engine.secrets` registers each one with the redactor like every other
reference. Needs boto3 (``pip install 'engine[aws]'``).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from engine.errors import SecretError

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """One boto3 client per service for the process (clients are thread-safe)."""
    with _lock:
        client = _clients.get(service)
        if client is None:
            try:
                import boto3
            except ImportError:
                raise SecretError(
                    f"${{{_SCHEME[service]}:...}} references need boto3",
                    hint="pip install 'engine[aws]'",
                ) from None
            try:
                client = _clients[service] = boto3.session.Session().client(service)
            except Exception as exc:  # botocore's configuration errors (no region, a bad profile)
                raise SecretError(
                    f"cannot use AWS {_NAMES[service]}: {exc}",
                    hint="set AWS_REGION (or a profile with a region) and credentials",
                ) from None
        return client


_SCHEME = {"secretsmanager": "aws-sm", "ssm": "ssm"}
_NAMES = {"secretsmanager": "Secrets Manager", "ssm": "Systems Manager Parameter Store"}


def secrets_manager(reference: str, at: str) -> str:
    """The value of ``${aws-sm:ID}`` or ``${aws-sm:ID#KEY}``; ``at`` says which option refers to it."""
    secret_id, _, key = reference.partition("#")
    try:
        answer = _client("secretsmanager").get_secret_value(SecretId=secret_id)
    except SecretError:
        raise
    except Exception as exc:  # botocore's, translated here
        raise _translate(exc, "secretsmanager", f"secret {secret_id}", at) from None
    text = answer.get("SecretString")
    if text is None:
        raise SecretError(f"AWS secret {secret_id} holds binary data, not text{at}")
    if not key:
        return str(text)
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise SecretError(f"AWS secret {secret_id} is not a JSON object, so it has no key '{key}'{at}")
    if key not in values:
        raise SecretError(
            f"AWS secret {secret_id} has no key '{key}'{at}",
            hint=f"its keys: {', '.join(sorted(map(str, values)))}",
        )
    return str(values[key])


def parameter_store(name: str, at: str) -> str:
    """The value of ``${ssm:NAME}``, decrypted when it is a SecureString."""
    try:
        answer = _client("ssm").get_parameter(Name=name, WithDecryption=True)
    except SecretError:
        raise
    except Exception as exc:  # botocore's, translated here
        raise _translate(exc, "ssm", f"parameter {name}", at) from None
    return str(answer["Parameter"]["Value"])


def _translate(exc: Exception, service: str, what: str, at: str) -> SecretError:
    """A botocore failure as a :class:`SecretError` that names the secret, never its value."""
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str((response.get("Error") or {}).get("Code") or "")
    where = f"AWS {_NAMES[service]}"
    if code in ("ResourceNotFoundException", "ParameterNotFound"):
        return SecretError(f"{where} has no {what}{at}", hint="check the name and the region (AWS_REGION)")
    if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
        return SecretError(
            f"{where} refused to read {what}{at} ({code})",
            hint="check the AWS credentials and that their policy allows reading it",
        )
    kind = code or type(exc).__name__
    return SecretError(f"cannot read {what} from {where}{at}: {kind}: {exc}")
