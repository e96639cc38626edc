"""The one table of S3 errors, and the exception every S3 path raises.

    Exception
     └── S3Error            carries an S3ErrorCode and the extra XML fields of the error
                            document; rendered by gateway.middlewares.errors, never elsewhere.

S3ErrorCode members are (wire code, HTTP status, default message), as listed in
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
Handlers raise S3Error; nothing on an S3 path raises aiohttp's HTTP exceptions.
"""

from __future__ import annotations

from enum import Enum


class S3ErrorCode(Enum):
    ACCESS_DENIED = ("AccessDenied", 403, "Access Denied")
    # KloudVault's own: the admin API's accounts (gateway/admin/api.py).
    ACCOUNT_ALREADY_EXISTS = ("AccountAlreadyExists", 409, "An account of that name exists.")
    ACCOUNT_NOT_EMPTY = (
        "AccountNotEmpty",
        409,
        "The account owns buckets: delete them first.",
    )
    ACCESS_CONTROL_LIST_NOT_SUPPORTED = (
        "AccessControlListNotSupported",
        400,
        "The bucket does not allow ACLs",
    )
    AMBIGUOUS_GRANT_BY_EMAIL_ADDRESS = (
        "AmbiguousGrantByEmailAddress",
        400,
        "The email address you provided is associated with more than one account.",
    )
    AUTHORIZATION_HEADER_MALFORMED = (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed.",
    )
    AUTHORIZATION_QUERY_PARAMETERS_ERROR = (
        "AuthorizationQueryParametersError",
        400,
        "Error parsing the X-Amz-Credential parameter.",
    )
    BAD_REQUEST = ("BadRequest", 400, "Bad Request")
    BAD_DIGEST = (
        "BadDigest",
        400,
        "The Content-MD5 or checksum value that you specified did not match what the server "
        "received.",
    )
    BUCKET_ALREADY_EXISTS = (
        "BucketAlreadyExists",
        409,
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again.",
    )
    BUCKET_ALREADY_OWNED_BY_YOU = (
        "BucketAlreadyOwnedByYou",
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    )
    BUCKET_NOT_EMPTY = ("BucketNotEmpty", 409, "The bucket you tried to delete is not empty.")
    # KloudVault's own: the web console's JSON API without a live session (gateway/console/).
    CONSOLE_SIGN_IN_REQUIRED = (
        "ConsoleSignInRequired",
        401,
        "Sign in to the console: there is no session, or it has ended.",
    )
    CONDITIONAL_REQUEST_CONFLICT = (
        "ConditionalRequestConflict",
        409,
        "A conflicting operation occurred. If using PutObject you can retry the request.",
    )
    CORS_FORBIDDEN = (
        "AccessForbidden",
        403,
        "CORSResponse: This CORS request is not allowed. This is usually because the "
        "evalution of Origin, request method / Access-Control-Request-Method or "
        "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    )
    ENTITY_TOO_LARGE = (
        "EntityTooLarge",
        400,
        "Your proposed upload exceeds the maximum allowed object size.",
    )
    ENTITY_TOO_SMALL = (
        "EntityTooSmall",
        400,
        "Your proposed upload is smaller than the minimum allowed object size.",
    )
    EXPIRED_PRESIGNED_REQUEST = ("AccessDenied", 403, "Request has expired")
    EXPIRED_TOKEN = ("ExpiredToken", 400, "The provided token has expired.")
    ILLEGAL_LOCATION_CONSTRAINT = (
        "IllegalLocationConstraintException",
        400,
        "The specified location-constraint is not valid for this endpoint.",
    )
    INCOMPLETE_BODY = (
        "IncompleteBody",
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    )
    INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST = (
        "IncorrectNumberOfFilesInPostRequest",
        400,
        "POST requires exactly one file upload per request.",
    )
    INTERNAL_ERROR = (
        "InternalError",
        500,
        "We encountered an internal error. Please try again.",
    )
    INVALID_ACCESS_KEY_ID = (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    INVALID_ARGUMENT = ("InvalidArgument", 400, "Invalid Argument")
    INVALID_ENCRYPTION_ALGORITHM = (
        "InvalidEncryptionAlgorithmError",
        400,
        "The encryption request you specified is not valid. Supported value: AES256.",
    )
    INVALID_TOKEN = ("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
    INVALID_BUCKET_ACL_WITH_OBJECT_OWNERSHIP = (
        "InvalidBucketAclWithObjectOwnership",
        400,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    )
    INVALID_BUCKET_NAME = ("InvalidBucketName", 400, "The specified bucket is not valid.")
    INVALID_BUCKET_STATE = (
        "InvalidBucketState",
        409,
        "The request is not valid with the current state of the bucket.",
    )
    INVALID_DIGEST = (
        "InvalidDigest",
        400,
        "The Content-MD5 or checksum value you specified is not valid.",
    )
    INVALID_OBJECT_STATE = (
        "InvalidObjectState",
        403,
        "The operation is not valid for the current state of the object.",
    )
    INVALID_PART = (
        "InvalidPart",
        400,
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    )
    INVALID_PART_ORDER = (
        "InvalidPartOrder",
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    )
    # 400, not the 416 of a Range: a client must not read it as "the object is shorter".
    INVALID_PART_NUMBER = (
        "InvalidPartNumber",
        400,
        "The requested partnumber is not satisfiable",
    )
    INVALID_POLICY_DOCUMENT = (
        "InvalidPolicyDocument",
        400,
        "The content of the form does not meet the conditions specified in the policy document.",
    )
    INVALID_RANGE = ("InvalidRange", 416, "The requested range is not satisfiable")
    # UploadPartCopy's x-amz-copy-source-range beyond the source: a bad request, not a
    # 416 (there is no Range on the request itself).
    INVALID_COPY_SOURCE_RANGE = (
        "InvalidRange",
        400,
        "The x-amz-copy-source-range is not satisfiable for the source object",
    )
    INVALID_REDIRECT_LOCATION = (
        "InvalidRedirectLocation",
        400,
        "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
    )
    INVALID_REQUEST = ("InvalidRequest", 400, "Invalid Request")
    # Object Lock default retention: Days or Years of 0, negative, or past the limit.
    INVALID_RETENTION_PERIOD = (
        "InvalidRetentionPeriod",
        400,
        "Default retention period must be a positive integer value.",
    )
    INVALID_STORAGE_CLASS = (
        "InvalidStorageClass",
        400,
        "The storage class you specified is not valid.",
    )
    INVALID_TAG = ("InvalidTag", 400, "The tag provided was not a valid tag.")
    KEY_TOO_LONG = ("KeyTooLongError", 400, "Your key is too long.")
    # What S3 answers when its call to KMS fails: the KMS exception name, prefixed "KMS.".
    KMS_DISABLED = ("KMS.DisabledException", 400, "The KMS key is disabled.")
    KMS_NOT_FOUND = ("KMS.NotFoundException", 400, "The KMS key does not exist.")
    MALFORMED_ACL_ERROR = (
        "MalformedACLError",
        400,
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    )
    MALFORMED_POLICY = ("MalformedPolicy", 400, "Policy has invalid resource")
    MALFORMED_POST_REQUEST = (
        "MalformedPOSTRequest",
        400,
        "The body of your POST request is not well-formed multipart/form-data.",
    )
    MALFORMED_XML = (
        "MalformedXML",
        400,
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    )
    MAX_POST_PRE_DATA_LENGTH_EXCEEDED = (
        "MaxPostPreDataLengthExceeded",
        400,
        "Your POST request fields preceding the upload file were too large.",
    )
    METADATA_TOO_LARGE = (
        "MetadataTooLarge",
        400,
        "Your metadata headers exceed the maximum allowed metadata size.",
    )
    METHOD_NOT_ALLOWED = (
        "MethodNotAllowed",
        405,
        "The specified method is not allowed against this resource.",
    )
    MISSING_CONTENT_LENGTH = (
        "MissingContentLength",
        411,
        "You must provide the Content-Length HTTP header.",
    )
    MISSING_SECURITY_HEADER = (
        "MissingSecurityHeader",
        400,
        "Your request was missing a required header",
    )
    MISSING_REQUEST_BODY = ("MissingRequestBodyError", 400, "Request Body is empty.")
    NO_SUCH_CORS_CONFIGURATION = (
        "NoSuchCORSConfiguration",
        404,
        "The CORS configuration does not exist",
    )
    # KloudVault's own: the admin API (gateway/admin/api.py).
    NO_SUCH_ACCOUNT = ("NoSuchAccount", 404, "The account does not exist.")
    NO_SUCH_ACCESS_KEY = ("NoSuchAccessKey", 404, "The access key does not exist.")
    NO_SUCH_BUCKET = ("NoSuchBucket", 404, "The specified bucket does not exist.")
    NO_SUCH_BUCKET_POLICY = ("NoSuchBucketPolicy", 404, "The bucket policy does not exist.")
    NO_SUCH_KEY = ("NoSuchKey", 404, "The specified key does not exist.")
    NO_SUCH_LIFECYCLE_CONFIGURATION = (
        "NoSuchLifecycleConfiguration",
        404,
        "The lifecycle configuration does not exist.",
    )
    NO_SUCH_OBJECT_LOCK_CONFIGURATION = (
        "NoSuchObjectLockConfiguration",
        404,
        "The specified object does not have a ObjectLock configuration",
    )
    NO_SUCH_PUBLIC_ACCESS_BLOCK_CONFIGURATION = (
        "NoSuchPublicAccessBlockConfiguration",
        404,
        "The public access block configuration was not found",
    )
    # KloudVault's own: share links (gateway/sharing/download.py).
    NO_SUCH_SHARE_LINK = ("NoSuchShareLink", 404, "The share link does not exist.")
    NO_SUCH_TAG_SET = ("NoSuchTagSet", 404, "The TagSet does not exist.")
    NO_SUCH_UPLOAD = (
        "NoSuchUpload",
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
    )
    NO_SUCH_VERSION = (
        "NoSuchVersion",
        404,
        "The version ID specified in the request does not match an existing version.",
    )
    NO_SUCH_WEBSITE_CONFIGURATION = (
        "NoSuchWebsiteConfiguration",
        404,
        "The specified bucket does not have a website configuration",
    )
    NOT_IMPLEMENTED = (
        "NotImplemented",
        501,
        "A header or query you provided implies functionality that is not implemented.",
    )
    NOT_MODIFIED = ("NotModified", 304, "Not Modified")
    OBJECT_LOCK_CONFIGURATION_NOT_FOUND = (
        "ObjectLockConfigurationNotFoundError",
        404,
        "Object Lock configuration does not exist for this bucket.",
    )
    OWNERSHIP_CONTROLS_NOT_FOUND = (
        "OwnershipControlsNotFoundError",
        404,
        "The bucket ownership controls were not found",
    )
    PRECONDITION_FAILED = (
        "PreconditionFailed",
        412,
        "At least one of the preconditions you specified did not hold.",
    )
    # Not an AWS code (S3 has no quotas): MinIO's and Ceph RGW's name for it, which clients
    # show as it is. 403: retrying does not help until usage goes down or the quota goes up.
    QUOTA_EXCEEDED = ("QuotaExceeded", 403, "The bucket or account quota is exceeded.")
    REPLICATION_CONFIGURATION_NOT_FOUND_ERROR = (
        "ReplicationConfigurationNotFoundError",
        404,
        "The replication configuration was not found",
    )
    REQUEST_TIME_TOO_SKEWED = (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the server's time is too large.",
    )
    REQUEST_TIMEOUT = (
        "RequestTimeout",
        400,
        "Your socket connection to the server was not read from or written to within the "
        "timeout period.",
    )
    SSE_CONFIGURATION_NOT_FOUND = (
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        "The server side encryption configuration was not found",
    )
    SERVICE_UNAVAILABLE = (
        "ServiceUnavailable",
        503,
        "The service is unavailable. Please retry.",
    )
    SHARE_LINK_GONE = ("ShareLinkGone", 410, "This share link is no longer active.")
    SIGNATURE_DOES_NOT_MATCH = (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )
    SLOW_DOWN = ("SlowDown", 503, "Please reduce your request rate.")
    UNEXPECTED_CONTENT = ("UnexpectedContent", 400, "This request does not support content")
    UNRESOLVABLE_GRANT_BY_EMAIL_ADDRESS = (
        "UnresolvableGrantByEmailAddress",
        400,
        "The email address you provided does not match any account on record.",
    )
    X_AMZ_CONTENT_SHA256_MISMATCH = (
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )

    def __init__(self, code: str, status: int, message: str) -> None:
        self.code = code
        self.status = status
        self.message = message


class S3Error(Exception):
    """An S3 error answer: the code, an optional message and extra XML fields.

    `fields` become extra elements of the error document (e.g. BucketName, Key,
    ArgumentName, ArgumentValue); `headers` are added to the error response.
    """

    def __init__(
        self,
        code: S3ErrorCode,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> None:
        self.code = code
        self.message = message or code.message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(f"{code.code}: {self.message}")

    @property
    def status(self) -> int:
        return self.code.status
