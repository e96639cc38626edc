"""One module per S3 family; each handler takes a RequestContext and returns an S3Response.

Handlers are named after the AWS operation (put_object for PutObject); gateway.handlers
maps each routed operation to its handler. What several families share lives in
gateway.ops.common, so no ops module imports another; pure S3 rules are gateway.s3's.
"""
