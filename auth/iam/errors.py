"""The one table of IAM and STS errors, and the exception the query API raises.

    Exception
     └── IamError           carries an IamErrorCode and a message; rendered as the query
                            API's ErrorResponse by auth/iam/endpoint.py, never as an S3
                            error document.

IamErrorCode members are (wire code, HTTP status, fault type, default message): the codes
of the IAM API reference's per-operation "Errors" sections and of its common errors
(https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html). The metadata
store's IAM bodies (gateway/meta/iam.py) raise IamError too, as the S3 bodies raise S3Error.
"""

from __future__ import annotations

from enum import Enum


class IamErrorCode(Enum):
    ACCESS_DENIED = ("AccessDenied", 403, "Sender", "Access denied")
    DELETE_CONFLICT = ("DeleteConflict", 409, "Sender", "The entity is still in use.")
    ENTITY_ALREADY_EXISTS = ("EntityAlreadyExists", 409, "Sender", "The entity already exists.")
    EXPIRED_TOKEN = (
        "ExpiredToken",
        403,
        "Sender",
        "The security token included in the request is expired",
    )
    # AssumeRoleWithWebIdentity's web identity token (STS API reference, Errors).
    EXPIRED_TOKEN_EXCEPTION = ("ExpiredTokenException", 400, "Sender", "Token expired")
    IDP_COMMUNICATION_ERROR = (
        "IDPCommunicationError",
        400,
        "Sender",
        "The request could not be fulfilled because the identity provider (IDP) that was "
        "asked to verify the incoming identity token could not be reached.",
    )
    IDP_REJECTED_CLAIM = (
        "IDPRejectedClaim",
        403,
        "Sender",
        "The identity provider (IdP) reported that authentication failed.",
    )
    INCOMPLETE_SIGNATURE = (
        "IncompleteSignature",
        400,
        "Sender",
        "The request signature does not conform to AWS standards.",
    )
    INTERNAL_FAILURE = (
        "InternalFailure",
        500,
        "Receiver",
        "The request processing has failed because of an unknown error.",
    )
    INVALID_ACTION = (
        "InvalidAction",
        400,
        "Sender",
        "The action or operation requested is invalid. Verify that the action is typed correctly.",
    )
    INVALID_IDENTITY_TOKEN = (
        "InvalidIdentityToken",
        400,
        "Sender",
        "The web identity token that was passed could not be validated.",
    )
    INVALID_CLIENT_TOKEN_ID = (
        "InvalidClientTokenId",
        403,
        "Sender",
        "The security token included in the request is invalid.",
    )
    INVALID_INPUT = ("InvalidInput", 400, "Sender", "The request was rejected: invalid input.")
    LIMIT_EXCEEDED = ("LimitExceeded", 409, "Sender", "The request exceeds a quota.")
    MALFORMED_POLICY_DOCUMENT = (
        "MalformedPolicyDocument",
        400,
        "Sender",
        "The policy document is malformed.",
    )
    MISSING_ACTION = (
        "MissingAction",
        400,
        "Sender",
        "The request is missing an action or a required parameter.",
    )
    MISSING_AUTHENTICATION_TOKEN = (
        "MissingAuthenticationToken",
        403,
        "Sender",
        "The request must contain a valid (registered) AWS access key ID.",
    )
    NO_SUCH_ENTITY = ("NoSuchEntity", 404, "Sender", "The entity does not exist.")
    PACKED_POLICY_TOO_LARGE = (
        "PackedPolicyTooLarge",
        400,
        "Sender",
        "The request was rejected because the total packed size of the session policies "
        "and session tags combined was too large.",
    )
    REQUEST_ENTITY_TOO_LARGE = (
        "RequestEntityTooLarge",
        413,
        "Sender",
        "The request body is too large.",
    )
    REQUEST_EXPIRED = (
        "RequestExpired",
        400,
        "Sender",
        "The request reached the service more than 15 minutes after the date stamp on the "
        "request or more than 15 minutes after the request expiration date.",
    )
    SERVICE_UNAVAILABLE = (
        "ServiceUnavailable",
        503,
        "Receiver",
        "The request has failed due to a temporary failure of the server.",
    )
    SIGNATURE_DOES_NOT_MATCH = (
        "SignatureDoesNotMatch",
        403,
        "Sender",
        "The request signature we calculated does not match the signature you provided.",
    )
    THROTTLING = ("Throttling", 400, "Sender", "Rate exceeded")
    VALIDATION_ERROR = (
        "ValidationError",
        400,
        "Sender",
        "The input fails to satisfy the constraints specified by the service.",
    )

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return int(self.value[1])

    @property
    def fault(self) -> str:
        """The error document's Type: Sender (the caller's fault) or Receiver."""
        return self.value[2]

    @property
    def default_message(self) -> str:
        return self.value[3]


class IamError(Exception):
    """An IAM/STS error response: the code and its message."""

    def __init__(self, code: IamErrorCode, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else code.default_message
        super().__init__(f"{code.code}: {self.message}")

    @property
    def status(self) -> int:
        return self.code.status


def no_such_entity(kind: str, name: str) -> IamError:
    """AWS's wording: "The user with name bob cannot be found."."""
    return IamError(IamErrorCode.NO_SUCH_ENTITY, f"The {kind} with name {name} cannot be found.")


def already_exists(kind: str, name: str) -> IamError:
    return IamError(
        IamErrorCode.ENTITY_ALREADY_EXISTS, f"{kind.capitalize()} with name {name} already exists."
    )
