"""SigV4 signing against the worked example in AWS's S3 documentation ("GET Object")."""

from __future__ import annotations

from datetime import UTC, datetime

from customerhub_shared.blobs.sigv4 import EMPTY_PAYLOAD_SHA256, Credentials, sign


def test_the_documented_get_object_example_gets_the_documented_signature() -> None:
    credentials = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    headers = sign(
        credentials,
        method="GET",
        path="/test.txt",
        query={},
        headers={"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"},
        payload_sha256=EMPTY_PAYLOAD_SHA256,
        at=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"
