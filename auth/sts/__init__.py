"""The STS query API (https://docs.aws.amazon.com/STS/latest/APIReference/): who am I."""
