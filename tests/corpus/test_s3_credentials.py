"""An s3:// corpus with no credentials configured fails at once, naming what to set."""

from __future__ import annotations

import pytest

import terrabit
from terrabit.corpus.sources import _S3_CREDENTIAL_VARIABLES
from terrabit.errors import InvalidInputError


def test_s3_without_credentials_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_S3_CREDENTIAL_VARIABLES, "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidInputError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        terrabit.open("s3://bucket/corpus")


def test_s3_public_bucket_needs_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _S3_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SKIP_SIGNATURE", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # past the credential check: the failure is the unreachable endpoint, not the keys
    with pytest.raises(Exception) as info:
        terrabit.open("s3://bucket/corpus")
    assert "AWS_ACCESS_KEY_ID" not in str(info.value)
