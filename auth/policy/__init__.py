"""Authorization: principal + action + resource -> allow or deny. Pure.

model (policy documents, MalformedPolicy) -> conditions (operators) and wildcards
(patterns, variables) -> context (who asks, condition keys) and keys (building them from a
request) -> engine (one decision) -> decide (all actions of a request). actions maps an
S3 operation to the actions it needs; acl is the ACL model; public says whether a bucket
policy is public. evaluate.authorize is today's owner-only rule, used by dispatch until
the engine is wired in.
"""
