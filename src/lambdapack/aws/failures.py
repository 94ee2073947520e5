"""What an AWS failure means, as one error line and one hint: never a botocore traceback.

One table for the deploy commands and the remote cache; the remote cache turns these into a
warning and goes on without the remote. Exit codes: 2 where the user's input or setup is wrong
(no credentials, no region, an unknown profile, a function or bucket that does not exist, an
invalid parameter), 1 where AWS refused or failed the work (access denied, throttled past the
retries, unreachable, timed out, a failed update).
"""

from __future__ import annotations

from lambdapack.errors import BuildError, InputError, LambdapackError

__all__ = ["ACCESS_DENIED", "NOT_FOUND", "THROTTLED", "aws_error", "error_code"]

ACCESS_DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
    "SignatureDoesNotMatch", "InvalidSignatureException", "ExpiredToken", "ExpiredTokenException",
    "InvalidAccessKeyId", "AllAccessDisabled", "403",
})
NOT_FOUND = frozenset({"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "404", "NotFound"})
THROTTLED = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling", "SlowDown",
                       "RequestLimitExceeded", "ProvisionedThroughputExceededException"})
_POLICY = "the IAM permissions each command needs: docs/deploy.md#iam-permissions"


def error_code(e: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError ("AccessDeniedException"), else None."""
    response = getattr(e, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def _message(e: BaseException) -> str:
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        msg = response.get("Error", {}).get("Message")
        if msg:
            return str(msg)
    return str(e)


def aws_error(e: BaseException, doing: str) -> LambdapackError | None:
    """`e` as our error, "`doing`: what AWS said"; None when it is not an AWS or botocore failure."""
    try:
        from botocore import exceptions as bx
    except ImportError:
        return None
    if isinstance(e, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return InputError(f"{doing}: no AWS credentials found",
                          "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure` "
                          "(or `aws sso login`); in GitHub Actions use aws-actions/configure-aws-credentials")
    if isinstance(e, bx.ProfileNotFound):
        return InputError(f"{doing}: {e}", "pass a --profile that ~/.aws/config defines, or unset AWS_PROFILE")
    if isinstance(e, bx.NoRegionError):
        return InputError(f"{doing}: no AWS region is set", "pass --region, or set AWS_REGION")
    if isinstance(e, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
                      bx.ConnectionClosedError)):
        return BuildError(f"{doing}: could not reach AWS ({e})",
                          "check the network, --region and --endpoint-url (AWS_ENDPOINT_URL), then retry")
    if isinstance(e, bx.ClientError):
        code, msg = error_code(e) or "?", _message(e)
        said = f"{doing}: {code}: {msg}"
        if code in ACCESS_DENIED:
            return BuildError(f"{doing}: access denied ({code}: {msg})",
                              f"use credentials allowed to do it; {_POLICY}")
        if code in THROTTLED:
            return BuildError(f"{doing}: AWS is throttling requests ({code}), still after the retries",
                              "retry later, or deploy fewer functions at once")
        if code in NOT_FOUND:
            return InputError(said, "check the name, the account and --region")
        if code in ("InvalidParameterValueException", "InvalidRequestContentException", "ValidationException",
                    "InvalidBucketName", "RequestEntityTooLargeException"):
            return InputError(said, None)
        return BuildError(said, None)
    if isinstance(e, bx.BotoCoreError):
        return BuildError(f"{doing}: {e}", None)
    return None
