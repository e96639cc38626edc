"""The IAM query API (https://docs.aws.amazon.com/IAM/latest/APIReference/) on the S3 port."""
