"""After the join, with the packaged binaries under the Lambda runtime emulator: rooms report to
the operator's webhook, the stand-in signs VideoSDK's webhooks, videosdk-webhook verifies them
and publishes to moto's EventBridge, and a rule's SQS target reads them back."""

import hashlib
import json
import time

import boto3
import jwt

from conftest import REGION, ROOT, SECRET, emf_records, standin_join, standin_requests, standin_webhooks


def aws(client, endpoint):
    return boto3.client(client, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def bus_with_queue(endpoint, bus):
    """An EventBridge bus whose rule (source videosdk) targets an SQS queue; returns the queue URL."""
    events, sqs = aws("events", endpoint), aws("sqs", endpoint)
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=bus + "-q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="videosdk-all", EventBusName=bus, EventPattern=json.dumps({"source": ["videosdk"]}))
    events.put_targets(Rule="videosdk-all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return queue_url


def read_queue(endpoint, queue_url, want, timeout=60):
    sqs = aws("sqs", endpoint)
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return got


def test_a_meeting_s_webhooks_reach_eventbridge_verified(moto, standin, start_function):
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/after", SecretString=json.dumps({"apiKey": "e2e-api-key", "secret": SECRET}))
    queue_url = bus_with_queue(endpoint, "videosdk-e2e")
    common = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/after", "VIDEOSDK_API_ENDPOINT": standin,
              "CALLER_AUTH": "none", "ANONYMOUS_ROOM_CONTROL": "allow"}
    hook = start_function("videosdk-webhook", {**common, "EVENT_BUS_NAME": "videosdk-e2e"})
    webhook_url = hook.url + "/videosdk-webhook"
    fns = {name: start_function(name, {**common, "WEBHOOK_URL": webhook_url})
           for name in ["create-meeting", "start-recording", "end-recording", "list-recordings", "end-meeting"]}

    status, _, room = fns["create-meeting"].request("POST", body={})
    assert status == 200, room
    room_id = room["roomId"]
    assert standin_requests(standin)[0]["body"]["webhook"]["endPoint"] == webhook_url
    # A caller's own webhook cannot replace the operator's.
    status, _, refused = fns["create-meeting"].request(
        "POST", body={"customRoomId": "weekly-allhands", "webhook": {"endPoint": "https://attacker.example.com/h"}})
    assert (status, refused["error"]["code"]) == (403, "forbidden")

    status, _, early = fns["start-recording"].request("POST", body={"roomId": room_id})
    assert (status, early["error"]["code"]) == (422, "upstream_rejected"), "no live session yet"
    standin_join(standin, room_id)
    status, _, started = fns["start-recording"].request("POST", body={"roomId": room_id})
    assert (status, started) == (200, {"roomId": room_id, "status": "starting"})
    sent = [r for r in standin_requests(standin) if r["path"] == "/v2/recordings/start"][-1]
    assert sent["body"] == {"roomId": room_id, "webhookUrl": webhook_url}
    status, _, stopped = fns["end-recording"].request("POST", body={"roomId": room_id})
    assert (status, stopped["status"]) == (200, "stopping")
    status, _, listed = fns["list-recordings"].request("GET", query=f"roomId={room_id}")
    assert status == 200 and listed["total"] == 1, listed
    status, _, ended = fns["end-meeting"].request("POST", body={"roomId": room_id, "deactivate": True})
    assert (status, ended) == (200, {"roomId": room_id, "ended": True, "deactivated": True})

    events = read_queue(endpoint, queue_url, 4)
    by_type = {e["detail-type"]: e for e in events}
    assert set(by_type) == {"session-started", "recording-started", "recording-stopped", "session-ended"}, events
    for e in events:
        assert e["source"] == "videosdk"
        detail = e["detail"]
        assert detail["webhookType"] == e["detail-type"]
        assert detail["data"]["meetingId"] == room_id
        assert len(detail["id"]) == 64 and detail["receivedAt"].endswith("Z")
    stopped_event = by_type["recording-stopped"]["detail"]
    assert stopped_event["data"]["fileUrl"] == listed["recordings"][0]["fileUrl"]
    assert all(w["status"] == "200" for w in standin_webhooks(standin)), standin_webhooks(standin)
    # Nothing but verified events: a forged delivery is refused and never published.
    assert hook.invoke("videosdk-webhook-forged.json")["statusCode"] == 401
    assert read_queue(endpoint, queue_url, 1, timeout=3) == []
    assert hook.invoke("videosdk-webhook.json")["statusCode"] == 200
    [sample] = read_queue(endpoint, queue_url, 1)
    # The id is the SHA-256 of the raw body: a repeated delivery has the same id.
    raw = json.loads((ROOT / "events" / "videosdk-webhook.json").read_text())["body"]
    assert sample["detail"]["id"] == hashlib.sha256(raw.encode()).hexdigest()
    assert hook.invoke("videosdk-webhook.json")["statusCode"] == 200
    [repeat] = read_queue(endpoint, queue_url, 1)
    assert repeat["detail"]["id"] == sample["detail"]["id"]
    log = hook.log()
    assert "cdn.videosdk.live" not in log, "bodies are never logged"


def test_an_agent_s_session_events_reach_eventbridge_verified(moto, standin, start_function):
    """A starter app dispatches the operator's agent with a participant token; the stand-in signs
    agent-session-started (and -stopped when the meeting ends) to the room's operator webhook;
    videosdk-webhook verifies and publishes them; an SQS rule target reads them back. The
    transcription's status goes to the operator's webhookUrl, whatever the caller wanted."""
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/agents", SecretString=json.dumps({"apiKey": "e2e-api-key", "secret": SECRET}))
    queue_url = bus_with_queue(endpoint, "videosdk-agents")
    common = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/agents", "VIDEOSDK_API_ENDPOINT": standin,
              "CALLER_AUTH": "none", "ANONYMOUS_ROOM_CONTROL": "allow"}
    hook = start_function("videosdk-webhook", {**common, "EVENT_BUS_NAME": "videosdk-agents"})
    webhook_url = hook.url + "/videosdk-webhook"
    fns = {name: start_function(name, {**common, "WEBHOOK_URL": webhook_url, "AGENTS": "dev-agent=dev-agent-v1",
                                       "ANONYMOUS_AGENT_DISPATCH": "allow"})
           for name in ["get-token", "create-meeting", "dispatch-agent", "start-transcription", "end-meeting"]}

    token = {"Authorization": fns["get-token"].request("GET")[2]["token"]}
    status, _, room = fns["create-meeting"].request("POST", "/v2/rooms", headers=token)
    assert status == 200, room
    room_id = room["roomId"]
    status, _, listed = fns["dispatch-agent"].request("GET", "/ai/v1/agents/dev-agent/versions", headers=token)
    assert (status, listed) == (200, {"versions": [{"versionId": "dev-agent-v1"}]}), "pinned: no upstream call"
    assert not [r for r in standin_requests(standin) if r["path"].startswith("/ai/v1/agents")]
    status, _, sent = fns["dispatch-agent"].request(
        "POST", "/v2/agent/dispatch", headers=token, body={"meetingId": room_id, "agentId": "dev-agent"})
    assert status == 200 and sent["data"]["success"] is True, sent
    dispatch = [r for r in standin_requests(standin) if r["path"] == "/v2/agent/dispatch"][-1]
    assert dispatch["body"] == {"agentId": "dev-agent", "meetingId": room_id, "roomId": room_id,
                                "versionId": "dev-agent-v1", "roomOptions": {"sessionTimeoutSeconds": 1800}}
    status, _, started = fns["start-transcription"].request("POST", body={"roomId": room_id, "language": "en-US"})
    assert (status, started["status"]) == (200, "starting"), started
    transcription = [r for r in standin_requests(standin) if r["path"] == "/ai/v1/realtime-transcriptions/start"][-1]
    assert transcription["body"] == {"roomId": room_id, "language": "en-US", "webhookUrl": webhook_url}
    status, _, ended = fns["end-meeting"].request("POST", body={"roomId": room_id})
    assert (status, ended["ended"]) == (200, True), ended

    events = read_queue(endpoint, queue_url, 5)
    by_type = {e["detail-type"]: e["detail"] for e in events}
    assert {"agent-session-started", "agent-session-stopped", "transcription-started"} <= set(by_type), events
    for kind in ["agent-session-started", "agent-session-stopped"]:
        assert by_type[kind]["data"]["meetingId"] == room_id
        assert by_type[kind]["data"]["agentId"] == "dev-agent"
        assert by_type[kind]["data"]["jobId"] == sent["data"]["jobId"]
    assert token["Authorization"] not in fns["dispatch-agent"].log()
    # The dispatch's metric record, as CloudWatch reads it from the log.
    records = [r for _, r in emf_records(fns["dispatch-agent"].log()) if r.get("AgentsDispatched")]
    assert len(records) == 1 and records[0]["Function"] == "dispatch-agent", records


def test_keyed_deliveries_are_published_once_and_others_never(moto, start_function):
    """WEBHOOK_KEY in the path, and the delivery record in moto's DynamoDB: a repeated delivery is
    answered `duplicate` and published once; deliveries without the key, or with another, are
    404 and never published."""
    from conftest import DEV_WEBHOOK_KEY, limits_table
    endpoint, _ = moto
    queue_url = bus_with_queue(endpoint, "videosdk-once")
    table = limits_table(endpoint, "videosdk-once-table") or "videosdk-once-table"
    pem = (ROOT / "dev/videosdk-standin/keys/dev-webhook-public-key.pem").read_text()
    hook = start_function("videosdk-webhook", {
        "AWS_ENDPOINT_URL": endpoint, "EVENT_BUS_NAME": "videosdk-once", "WEBHOOK_KEY": DEV_WEBHOOK_KEY,
        "WEBHOOK_DEDUPE_TABLE": table, "VIDEOSDK_WEBHOOK_PUBLIC_KEY": pem.replace("\n", "\\n")})
    for event in ["videosdk-webhook-no-key.json", "videosdk-webhook-wrong-key.json"]:
        answer = hook.invoke(event)
        assert answer["statusCode"] == 404 and json.loads(answer["body"])["error"]["code"] == "not_found", answer
    first = hook.invoke("videosdk-webhook.json")
    assert first["statusCode"] == 200 and "duplicate" not in json.loads(first["body"]), first
    again = json.loads(hook.invoke("videosdk-webhook.json")["body"])
    assert again["duplicate"] is True and again["id"] == json.loads(first["body"])["id"], again
    published = read_queue(endpoint, queue_url, 2, timeout=5)
    assert len(published) == 1, published
    assert DEV_WEBHOOK_KEY not in hook.log(), "the key is never logged"


def test_the_bus_refusing_is_503_and_the_key_unavailable_is_503(moto, standin, start_function):
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/refuse", SecretString=json.dumps({"apiKey": "e2e-api-key", "secret": SECRET}))
    common = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/refuse", "VIDEOSDK_API_ENDPOINT": standin}
    no_bus = start_function("videosdk-webhook", {**common, "EVENT_BUS_NAME": "does-not-exist"})
    answer = no_bus.invoke("videosdk-webhook.json")
    assert answer["statusCode"] == 503 and json.loads(answer["body"])["error"]["code"] == "event_bus_unavailable"
    assert no_bus.invoke("videosdk-webhook-unsigned.json")["statusCode"] == 401
    # VideoSDK unreachable and no pinned key: 503 so that VideoSDK delivers again.
    no_key = start_function("videosdk-webhook", {**common, "VIDEOSDK_API_ENDPOINT": "http://127.0.0.1:9"})
    answer = no_key.invoke("videosdk-webhook.json")
    assert answer["statusCode"] == 503 and json.loads(answer["body"])["error"]["code"] == "webhook_key_unavailable"
    # Pinned: VideoSDK is never asked, and no secret is read (this one does not even exist).
    pem = (ROOT / "dev/videosdk-standin/keys/dev-webhook-public-key.pem").read_text()
    pinned = start_function("videosdk-webhook", {**common, "VIDEOSDK_API_ENDPOINT": "http://127.0.0.1:9",
                                                 "VIDEOSDK_SECRET_ID": "videosdk/never-created",
                                                 "VIDEOSDK_WEBHOOK_PUBLIC_KEY": pem.replace("\n", "\\n")})
    assert pinned.invoke("videosdk-webhook.json")["statusCode"] == 200
    assert "credentials unavailable" not in pinned.log(), "INIT read a secret it does not need"


def test_agent_tokens_under_the_runtime(deployment):
    fns = deployment("jwt")
    answer = fns["agent-token"].invoke("agent-token.json")
    assert answer["statusCode"] == 200
    token = json.loads(answer["body"])["token"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert "roles" not in claims and claims["version"] == 2 and claims["roomId"] == "abcd-efgh-ijkl"
    # Without a room too, as the agents SDK mints its own.
    answer = fns["agent-token"].invoke_event({**json.loads((ROOT / "events" / "agent-token.json").read_text()),
                                              "body": "{}"})
    assert jwt.decode(json.loads(answer["body"])["token"], SECRET, algorithms=["HS256"])["version"] == 2
    assert claims["exp"] - claims["iat"] == 1800
    assert "assumed-role/videosdk-agent" in fns["agent-token"].log()
    assert token not in fns["agent-token"].log()
    assert fns["agent-token"].invoke("agent-token-jwt-caller.json")["statusCode"] == 401
