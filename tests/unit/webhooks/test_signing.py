"""Signing matches the Standard Webhooks reference; backoff grows, is capped and jittered."""

import random

import pytest

from kehu.webhooks import SignatureError, backoff_seconds, new_secret, sign, verify_signature

# The example of the Standard Webhooks specification (and Svix's docs): receivers using
# their libraries verify kehu's requests only if kehu signs exactly like this.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_standard_webhooks_example():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verify_accepts_the_example_and_one_of_several_signatures():
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": f"v1,bm90IGl0 {SPEC_SIGNATURE}",
    }

    verify_signature(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 10)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing or malformed"),
        (
            {"webhook-id": SPEC_ID, "webhook-timestamp": "soon", "webhook-signature": "v1,x"},
            "Missing or malformed",
        ),
        (
            {"webhook-id": SPEC_ID, "webhook-timestamp": "1614264000", "webhook-signature": "x"},
            "replay",
        ),
        (
            {
                "webhook-id": "msg_other",
                "webhook-timestamp": str(SPEC_TIMESTAMP),
                "webhook-signature": SPEC_SIGNATURE,
            },
            "No signature matches",
        ),
    ],
)
def test_verify_refuses(headers, message):
    with pytest.raises(SignatureError, match=message):
        verify_signature(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


def test_new_secrets_are_whsec_and_distinct():
    secrets = {new_secret() for _ in range(20)}

    assert len(secrets) == 20
    assert all(s.startswith("whsec_") and len(s) == 6 + 44 for s in secrets)


def test_backoff_doubles_within_equal_jitter_and_is_capped():
    rng = random.Random(7)
    waits = [backoff_seconds(n, base_s=10, max_s=100, rng=rng) for n in range(1, 7)]

    for n, wait in enumerate(waits, start=1):
        ceiling = min(100, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert waits[-1] <= 100
