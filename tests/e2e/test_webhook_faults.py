"""videosdk-webhook when AWS or VideoSDK misbehave, under the runtime emulator: EventBridge
refusing a publish (VideoSDK's retry is published, once), the delivery table hanging or missing
(published anyway and counted), and VideoSDK rotating its key (the stand-in's rotate hook)."""

import base64
import copy
import json
import time
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import (API_KEY, DEV_WEBHOOK_KEY, ROOT, SECRET, emf_records, limits_table, standin_join, standin_requests,
                      standin_webhooks)
from fault_proxy import FaultProxy
from test_after_the_join import bus_with_queue, read_queue

DEV_PRIVATE_KEY = ROOT / "dev/videosdk-standin/keys/dev-webhook-private-key.pem"
DEV_PUBLIC_KEY = (ROOT / "dev/videosdk-standin/keys/dev-webhook-public-key.pem").read_text()
SAMPLE = json.loads((ROOT / "events" / "videosdk-webhook.json").read_text())


def delivery(meeting_id):
    """The sample delivery (keyed path) about `meeting_id`, signed as VideoSDK signs."""
    body = json.dumps({"webhookType": "session-started", "data": {"meetingId": meeting_id, "sessionId": "s1"}})
    key = serialization.load_pem_private_key(DEV_PRIVATE_KEY.read_bytes(), password=None)
    signature = base64.b64encode(key.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    event = copy.deepcopy(SAMPLE)
    event["body"] = body
    event["headers"]["videosdk-signature"] = signature
    return event


def unchecked(fn):
    return [r for _, r in emf_records(fn.log()) if r.get("WebhookDedupeUnchecked")]


@pytest.fixture
def proxy(moto):
    p = FaultProxy(moto[0])
    yield p
    p.close()


def answer_of(response):
    return response["statusCode"], json.loads(response["body"])


def test_a_refused_publish_is_published_by_the_retry_and_a_table_down_still_publishes(moto, proxy, start_function):
    endpoint, _ = moto
    queue_url = bus_with_queue(endpoint, "videosdk-faults")
    table = limits_table(endpoint, "videosdk-faults-table")
    env = {"AWS_ENDPOINT_URL": proxy.url, "EVENT_BUS_NAME": "videosdk-faults", "WEBHOOK_KEY": DEV_WEBHOOK_KEY,
           "WEBHOOK_DEDUPE_TABLE": table, "VIDEOSDK_WEBHOOK_PUBLIC_KEY": DEV_PUBLIC_KEY.replace("\n", "\\n")}
    hook = start_function("videosdk-webhook", env)

    # EventBridge refuses the first publish: 503, so VideoSDK delivers again, and nothing is kept.
    proxy.set("AWSEvents.PutEvents", "refuse")
    status, body = answer_of(hook.invoke_event(delivery("room-refused")))
    assert (status, body["error"]["code"]) == (503, "event_bus_unavailable"), body
    assert proxy.count("AWSEvents.PutEvents") >= 1, "the publish was tried"
    proxy.set("AWSEvents.PutEvents", None)
    # VideoSDK's retry: published; a third delivery of it: a duplicate, never published.
    status, body = answer_of(hook.invoke_event(delivery("room-refused")))
    assert status == 200 and "duplicate" not in body, body
    status, again = answer_of(hook.invoke_event(delivery("room-refused")))
    assert (status, again["duplicate"], again["id"]) == (200, True, body["id"]), again
    published = read_queue(endpoint, queue_url, 2, timeout=5)
    assert [e["detail"]["data"]["meetingId"] for e in published] == ["room-refused"], published
    assert unchecked(hook) == []

    # The table hangs: answered well inside the function's deadline, published, counted.
    proxy.set("DynamoDB_20120810.", "hang")
    started = time.monotonic()
    status, body = answer_of(hook.invoke_event(delivery("room-table-hangs")))
    took = time.monotonic() - started
    assert status == 200 and "duplicate" not in body, body
    assert took < 3, f"answered in {took:.2f} s"
    proxy.set("DynamoDB_20120810.", None)
    published = read_queue(endpoint, queue_url, 1, timeout=10)
    assert [e["detail"]["data"]["meetingId"] for e in published] == ["room-table-hangs"], published
    [record] = unchecked(hook)
    assert record["WebhookDedupeUnchecked"] == 1 and record["Function"] == "videosdk-webhook", record

    # The table missing (a wrong name): published and counted too.
    missing = start_function("videosdk-webhook", {**env, "AWS_ENDPOINT_URL": endpoint,
                                                  "WEBHOOK_DEDUPE_TABLE": "videosdk-no-such-table"})
    status, body = answer_of(missing.invoke_event(delivery("room-no-table")))
    assert status == 200, body
    published = read_queue(endpoint, queue_url, 1, timeout=10)
    assert [e["detail"]["data"]["meetingId"] for e in published] == ["room-no-table"], published
    assert len(unchecked(missing)) == 1, missing.log()


def rest_token():
    now = int(time.time())
    return jwt.encode({"apikey": API_KEY, "permissions": ["allow_join"], "iat": now, "exp": now + 600}, SECRET,
                      algorithm="HS256")


def standin_post(standin, path, body, token=None):
    req = urllib.request.Request(standin + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **({"Authorization": token} if token else {})})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_a_key_rotated_by_videosdk_fails_then_heals_once_the_key_in_hand_is_old_enough(moto, standin,
                                                                                         start_function):
    """The stand-in rotates its key; its next delivery fails verification while the function's
    key is young, and VideoSDK's retry (the stand-in retries after 1 s, then 2 s) verifies once the
    key in hand is older than WEBHOOK_KEY_REFETCH_SECONDS (2 here, 600 by default)."""
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/rotate", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    queue_url = bus_with_queue(endpoint, "videosdk-rotate")
    hook = start_function("videosdk-webhook", {
        "AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/rotate", "VIDEOSDK_API_ENDPOINT": standin,
        "EVENT_BUS_NAME": "videosdk-rotate", "WEBHOOK_KEY": DEV_WEBHOOK_KEY, "WEBHOOK_KEY_REFETCH_SECONDS": "2"})
    keyed_url = f"{hook.url}/videosdk-webhook/{DEV_WEBHOOK_KEY}"
    token = rest_token()

    def meeting():
        """A room subscribed to the keyed URL, joined: what became of its session-started."""
        room = standin_post(standin, "/v2/rooms", {"webhook": {"endPoint": keyed_url, "events": ["session-started"]}},
                            token)
        standin_join(standin, room["roomId"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sent = [w for w in standin_webhooks(standin) if w["url"] == keyed_url]
            if len(sent) == meeting.count + 1:
                meeting.count += 1
                return room["roomId"], sent[-1]
            time.sleep(0.05)
        raise AssertionError("no delivery recorded")
    meeting.count = 0

    def key_fetches():
        return sum(r["path"] == "/v2/public/rsa-public-key" for r in standin_requests(standin))

    before, sent = meeting()
    assert sent["attempts"] == ["200"], sent
    assert key_fetches() == 1
    standin_post(standin, "/_standin/rotate-key", {})
    rotated, sent = meeting()
    # Refused while the key in hand is young (no fetch), then verified on a retry after the fetch.
    assert sent["attempts"][0] == "401" and sent["attempts"][-1] == "200", sent
    assert key_fetches() == 2, "fetched again once"
    published = read_queue(endpoint, queue_url, 3, timeout=5)
    assert sorted(e["detail"]["data"]["meetingId"] for e in published) == sorted([before, rotated]), published
    # A delivery signed with the new key now verifies at once.
    after, sent = meeting()
    assert sent["attempts"] == ["200"] and key_fetches() == 2, sent
