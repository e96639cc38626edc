"""Every operation's handler, by the AWS operation name the route table resolves.

A dict literal of functions, so mypy checks each handler against `Handler`;
tests/unit/test_handlers.py checks that it and gateway.routing.ROUTES name the same
operations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.context import RequestContext
from gateway.ops import (
    acl,
    bucket,
    bucket_encryption,
    bucket_policy,
    cors,
    lifecycle_config,
    listing,
    multipart,
    notification,
    object_attributes,
    object_copy,
    object_delete,
    object_lock,
    object_read,
    object_write,
    ownership,
    post_object,
    public_access,
    service,
    tagging,
    versioning,
)
from gateway.responses import S3Response

Handler = Callable[[RequestContext], Awaitable[S3Response]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": service.list_buckets,
    "CreateBucket": bucket.create_bucket,
    "HeadBucket": bucket.head_bucket,
    "DeleteBucket": bucket.delete_bucket,
    "GetBucketLocation": bucket.get_bucket_location,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "DeleteObjects": object_delete.delete_objects,
    "ListMultipartUploads": multipart.list_multipart_uploads,
    "ListObjectVersions": versioning.list_object_versions,
    "GetBucketVersioning": versioning.get_bucket_versioning,
    "PutBucketVersioning": versioning.put_bucket_versioning,
    "GetBucketTagging": tagging.get_bucket_tagging,
    "PutBucketTagging": tagging.put_bucket_tagging,
    "DeleteBucketTagging": tagging.delete_bucket_tagging,
    "GetBucketLifecycleConfiguration": lifecycle_config.get_bucket_lifecycle_configuration,
    "PutBucketLifecycleConfiguration": lifecycle_config.put_bucket_lifecycle_configuration,
    "DeleteBucketLifecycle": lifecycle_config.delete_bucket_lifecycle,
    "GetObjectLockConfiguration": object_lock.get_object_lock_configuration,
    "PutObjectLockConfiguration": object_lock.put_object_lock_configuration,
    "GetBucketAcl": acl.get_bucket_acl,
    "PutBucketAcl": acl.put_bucket_acl,
    "PostObject": post_object.post_object,
    "GetBucketNotificationConfiguration": notification.get_bucket_notification_configuration,
    "PutBucketNotificationConfiguration": notification.put_bucket_notification_configuration,
    "GetBucketCors": cors.get_bucket_cors,
    "PutBucketCors": cors.put_bucket_cors,
    "DeleteBucketCors": cors.delete_bucket_cors,
    "GetBucketPolicy": bucket_policy.get_bucket_policy,
    "PutBucketPolicy": bucket_policy.put_bucket_policy,
    "DeleteBucketPolicy": bucket_policy.delete_bucket_policy,
    "GetBucketPolicyStatus": bucket_policy.get_bucket_policy_status,
    "GetPublicAccessBlock": public_access.get_public_access_block,
    "PutPublicAccessBlock": public_access.put_public_access_block,
    "DeletePublicAccessBlock": public_access.delete_public_access_block,
    "GetBucketEncryption": bucket_encryption.get_bucket_encryption,
    "PutBucketEncryption": bucket_encryption.put_bucket_encryption,
    "DeleteBucketEncryption": bucket_encryption.delete_bucket_encryption,
    "GetBucketOwnershipControls": ownership.get_bucket_ownership_controls,
    "PutBucketOwnershipControls": ownership.put_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": ownership.delete_bucket_ownership_controls,
    "PutObject": object_write.put_object,
    "CopyObject": object_copy.copy_object,
    "GetObject": object_read.get_object,
    "HeadObject": object_read.head_object,
    "DeleteObject": object_delete.delete_object,
    "GetObjectAcl": acl.get_object_acl,
    "PutObjectAcl": acl.put_object_acl,
    "CreateMultipartUpload": multipart.create_multipart_upload,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part_copy,
    "CompleteMultipartUpload": multipart.complete_multipart_upload,
    "AbortMultipartUpload": multipart.abort_multipart_upload,
    "ListParts": multipart.list_parts,
    "GetObjectAttributes": object_attributes.get_object_attributes,
    "GetObjectTagging": tagging.get_object_tagging,
    "PutObjectTagging": tagging.put_object_tagging,
    "DeleteObjectTagging": tagging.delete_object_tagging,
    "GetObjectRetention": object_lock.get_object_retention,
    "PutObjectRetention": object_lock.put_object_retention,
    "GetObjectLegalHold": object_lock.get_object_legal_hold,
    "PutObjectLegalHold": object_lock.put_object_legal_hold,
}
