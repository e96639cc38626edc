"""One module per S3 family; each handler takes a RequestContext and returns an S3Response.

Handlers are named after the AWS operation (put_object for PutObject) and are found through
the route table in gateway.routing.
"""
