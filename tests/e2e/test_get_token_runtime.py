"""The release `get-token` binary under a Lambda runtime, its secret in a local Secrets
Manager read through `AWS_ENDPOINT_URL`; tokens verified by an independent JWT library."""

import base64
import json
import time
import uuid

import jwt

from conftest import API_KEY, SECRET


def header_of(token):
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def verify(token):
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp", "iat"]})


def test_release_binary_mints_verifiable_tokens_with_the_secret_from_secrets_manager(moto, start_function):
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/e2e", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    fn = start_function("get-token", {
        "AWS_ENDPOINT_URL": endpoint,
        "VIDEOSDK_SECRET_ID": "videosdk/e2e",
        "CALLER_AUTH": "none",
    })

    before = int(time.time())
    status, headers, body = fn.request("GET", query="roomId=abcd-efgh-ijkl&participantId=guest-1&ttl=600")
    assert status == 200, body
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "application/json"
    token = body["token"]
    assert header_of(token) == {"alg": "HS256", "typ": "JWT"}
    claims = verify(token)
    assert claims["apikey"] == API_KEY
    assert claims["permissions"] == ["allow_join"]
    assert claims["version"] == 2
    assert claims["roles"] == ["rtc"]
    assert claims["roomId"] == "abcd-efgh-ijkl"
    assert claims["participantId"] == "guest-1"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["iat"] >= before
    uuid.UUID(claims["jti"])
    assert body["expiresIn"] == 600
    assert body["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))

    # The secret was read at INIT: deleting it does not stop the warm function.
    sm.delete_secret(SecretId="videosdk/e2e", ForceDeleteWithoutRecovery=True)
    status, _, body = fn.request("POST", body={"permissions": ["ask_join"]})
    assert status == 200, body
    assert verify(body["token"])["permissions"] == ["ask_join"]

    # A stored event through `cargo lambda invoke`.
    answer = fn.invoke("get-token-post.json")
    assert answer["statusCode"] == 200
    claims = verify(json.loads(answer["body"])["token"])
    assert claims["roomId"] == "abcd-efgh-ijkl" and claims["exp"] - claims["iat"] == 3600

    status, _, body = fn.request("GET", query="permissions=ask_join,allow_join")
    assert (status, body["error"]["code"]) == (400, "invalid_field")

    log = fn.log()
    assert SECRET not in log and token not in log
    assert claims["jti"] in log or "issued a participant token" in log


def test_missing_secret_answers_503_then_recovers(moto, start_function):
    endpoint, sm = moto
    fn = start_function("get-token", {
        "AWS_ENDPOINT_URL": endpoint,
        "VIDEOSDK_SECRET_ID": "videosdk/not-yet",
        "CALLER_AUTH": "none",
    })
    status, _, body = fn.request("GET")
    assert (status, body["error"]["code"]) == (503, "secret_unavailable")
    assert "ResourceNotFoundException" in fn.log()

    sm.create_secret(Name="videosdk/not-yet", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    time.sleep(1.1)  # failed reads are retried at most once a second
    status, _, body = fn.request("GET")
    assert status == 200, body
    assert verify(body["token"])["apikey"] == API_KEY


def test_jwt_mode_is_the_default_and_needs_an_identity(moto, start_function):
    fn = start_function("get-token", {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET})
    # The emulator's HTTP front door carries no authorizer: 401.
    status, _, body = fn.request("GET")
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    # A stored event with JWT authorizer claims.
    answer = fn.invoke("get-token-user.json")
    assert answer["statusCode"] == 200
    claims = verify(json.loads(answer["body"])["token"])
    assert claims["participantId"] == "6b1f0c3e-5d2a-4f7b-9a8e-1c2d3e4f5a6b"
    answer = fn.invoke("get-token-user-asks-allow-mod.json")
    assert answer["statusCode"] == 403


def test_an_invalid_setting_is_a_500_naming_the_variable_not_a_crash_loop(start_function):
    fn = start_function("get-token", {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET,
                                      "CALLER_AUTH": "none", "TOKEN_DEFAULT_TTL_SECONDS": "fifteen"})
    for _ in range(2):
        status, headers, body = fn.request("GET")
        assert (status, body["error"]["code"]) == (500, "configuration_error")
        assert headers["cache-control"] == "no-store"
    assert "TOKEN_DEFAULT_TTL_SECONDS" in fn.log()
    assert fn.proc.poll() is None, "the function keeps running"
