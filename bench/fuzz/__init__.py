"""Coverage-guided fuzz targets for the parsers that read what a client sends (issue #18).

Each target is a function of one byte string that drives a parser the way the gateway
does and may raise only the errors that parser documents (S3Error, and the parser's own
error types such as MalformedPolicy); anything else escaping (IndexError, UnicodeError,
RecursionError, MemoryError, ...) would be a 500 on the wire, and is a finding.

    bench/fuzz/harness.py      Target, the registry and the contract check
    bench/fuzz/signatures.py   SigV4 and SigV2 (parse_auth + verify_auth, canonicalizers)
    bench/fuzz/chunked.py      the aws-chunked decoder
    bench/fuzz/xml.py          parse(Model, bytes) for every model registered in gateway.xml
    bench/fuzz/headers.py      Range / x-amz-copy-source-range and the conditional headers
    bench/fuzz/policy.py       the IAM/bucket policy parser
    bench/fuzz/post.py         the POST form decoder and the POST policy document
    bench/fuzz/mutate.py       a small deterministic mutator (the CI smoke run)
    bench/fuzz/__main__.py     `python -m bench.fuzz --target NAME --runs N | --seconds S`

Seed corpora are in bench/fuzz/corpus/<target>/, one input per file, taken from the unit
tests' examples. The long run uses atheris (libFuzzer); tests/unit/test_fuzz_smoke.py
drives every target in-process over mutated seeds for a bounded number of inputs.
"""
