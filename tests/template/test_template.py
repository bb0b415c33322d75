"""Wiring of template.yaml that linters cannot see: one function per binary with the
contract's routes, least-privilege secret access, and the JWT authorizer as the default."""

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# The contract's routes: (method, path) -> binary.
ROUTES = {
    ("GET", "/get-token"): "get-token",
    ("POST", "/get-token"): "get-token",
    ("POST", "/create-meeting"): "create-meeting",
    ("GET", "/validate-meeting/{meetingId}"): "validate-meeting",
    ("POST", "/validate-meeting/{meetingId}"): "validate-meeting",
    ("POST", "/create-livestream"): "create-livestream",
    ("POST", "/end-livestream"): "end-livestream",
    ("POST", "/videosdk-webhook/{key}"): "videosdk-webhook",
    # Rooms created before WEBHOOK_KEY: 404, counted.
    ("POST", "/videosdk-webhook"): "videosdk-webhook",
    ("POST", "/start-recording"): "start-recording",
    ("POST", "/end-recording"): "end-recording",
    ("GET", "/recordings"): "list-recordings",
    ("POST", "/end-meeting"): "end-meeting",
    ("POST", "/agent-token"): "agent-token",
    ("POST", "/dispatch-agent"): "dispatch-agent",
    ("POST", "/start-transcription"): "start-transcription",
    ("POST", "/end-transcription"): "end-transcription",
}
LIVESTREAM_PATHS = {"/create-livestream", "/end-livestream"}
MODERATOR_PATHS = {"/start-recording", "/end-recording", "/recordings", "/end-meeting", "/start-transcription",
                   "/end-transcription"}
MODERATOR_BINARIES = {"create-livestream", "end-livestream", "start-recording", "end-recording", "list-recordings",
                      "end-meeting", "start-transcription", "end-transcription"}
# Signed-in callers (not only moderators): behind the authorizer in jwt and apps modes, left out
# where nobody signs in (apps mode without an issuer).
SIGNED_IN_PATHS = {"/dispatch-agent"}
# Routes that never use the JWT authorizer: the signature authenticates webhooks, IAM agents.
OPEN_PATHS = {"/videosdk-webhook/{key}", "/videosdk-webhook", "/agent-token"}
# The apps' VideoSDK REST calls: authenticated by the participant token, never by the authorizer.
CLIENT_ROUTES = {
    ("POST", "/v2/rooms"): "create-meeting",
    ("GET", "/v2/rooms/validate/{roomId}"): "validate-meeting",
    ("GET", "/v2/sessions"): "validate-meeting",
    ("GET", "/v2/sessions/"): "validate-meeting",
    ("GET", "/v2/hls/{roomId}/active"): "validate-meeting",
    ("POST", "/v2/rooms/validate/{roomId}"): "validate-meeting",
    ("POST", "/v2/agent/dispatch"): "dispatch-agent",
    ("GET", "/ai/v1/agents/{agentId}/versions"): "dispatch-agent",
}


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !If, ...) as their long form."""


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template():
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)


@pytest.fixture(scope="module")
def rendered():
    """The template as the SAM translator renders it: what CloudFormation deploys, Globals merged
    into each function and each function's role written out."""
    sys.path.insert(0, str(ROOT / "tools"))
    from render_template import render
    return render(ROOT / "template.yaml")


def functions(template):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def binaries():
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))


def test_every_binary_has_exactly_one_function_built_by_cargo_lambda(template):
    by_binary = {}
    for logical, fn in functions(template).items():
        assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda", logical
        by_binary.setdefault(fn["Metadata"]["BuildProperties"]["Binary"], []).append(logical)
        assert "CodeUri" not in fn["Properties"], f"{logical}: the code is the one workspace (Globals)"
    assert sorted(by_binary) == binaries() == sorted(set(ROUTES.values()))
    assert all(len(v) == 1 for v in by_binary.values()), by_binary
    globals_ = template["Globals"]["Function"]
    assert globals_["CodeUri"] == "."
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Handler"] == "bootstrap"
    assert globals_["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"


def test_the_api_has_exactly_the_contracts_routes_on_the_right_functions(template):
    binary_of = {k: v["Metadata"]["BuildProperties"]["Binary"] for k, v in functions(template).items()}
    body = template["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]
    found = {}
    for path, methods in body["paths"].items():
        if path in LIVESTREAM_PATHS | MODERATOR_PATHS | SIGNED_IN_PATHS:
            # Left out in apps mode without an issuer (nobody could be a moderator).
            condition, methods, otherwise = methods["Fn::If"]
            expected = "DeployLivestreams" if path in LIVESTREAM_PATHS else "DeployModeratorRoutes"
            assert (condition, otherwise) == (expected, {"Ref": "AWS::NoValue"}), path
            assert template["Conditions"][expected] == {
                "Fn::Or": [{"Fn::Not": [{"Fn::Condition": "AppsMode"}]}, {"Fn::Condition": "HasIssuer"}]}
        for method, op in methods.items():
            integration = op["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["payloadFormatVersion"] == "2.0"
            target = integration["uri"]["Fn::GetAtt"]
            assert target[1] == "Arn"
            found[(method.upper(), path)] = binary_of[target[0]]
            if (method.upper(), path) in CLIENT_ROUTES:
                assert op["security"] == [], f"{method} {path} must not be behind the JWT authorizer"
            elif path in OPEN_PATHS:
                assert op["security"] == [], f"{method} {path} must not be behind the JWT authorizer"
            elif path in LIVESTREAM_PATHS | MODERATOR_PATHS | SIGNED_IN_PATHS:
                # The default authorizer in jwt mode; the same authorizer in apps mode.
                assert op["security"] == {"Fn::If": ["AppsWithIssuer", [{"VideoSdkJwt": []}],
                                                     {"Ref": "AWS::NoValue"}]}, path
            else:
                assert "security" not in op, f"{method} {path} overrides the default authorizer"
    assert found == {**ROUTES, **CLIENT_ROUTES}
    # Every function may be invoked by this API, and only by it.
    permissions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert sorted(p["Properties"]["FunctionName"]["Ref"] for p in permissions) == sorted(functions(template))
    for p in permissions:
        assert p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        assert "${HttpApi}" in p["Properties"]["SourceArn"]["Fn::Sub"]


def test_the_jwt_authorizer_is_the_default(template):
    params = template["Parameters"]
    assert params["AuthMode"]["Default"] == "jwt"
    assert template["Conditions"]["UseJwt"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "jwt"]}
    body = template["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]
    assert body["security"] == {"Fn::If": ["UseJwt", [{"VideoSdkJwt": []}], {"Ref": "AWS::NoValue"}]}
    assert body["components"]["securitySchemes"]["Fn::If"][0] == "HasAuthorizer"
    assert template["Conditions"]["HasAuthorizer"] == {"Fn::Or": [{"Fn::Condition": "UseJwt"}, {"Fn::Condition": "AppsWithIssuer"}]}
    scheme = body["components"]["securitySchemes"]["Fn::If"][1]["VideoSdkJwt"]["x-amazon-apigateway-authorizer"]
    assert scheme["type"] == "jwt"
    assert scheme["identitySource"] == "$request.header.Authorization"
    assert scheme["jwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    # The functions' own check follows the same switch (defence in depth).
    # apps mode: anonymous callers for get-token and the rooms; live streams for signed-in moderators.
    assert template["Globals"]["Function"]["Environment"]["Variables"]["CALLER_AUTH"] == {
        "Fn::If": ["UseJwt", "jwt", "none"]}
    for logical, fn in functions(template).items():
        own = fn["Properties"].get("Environment", {}).get("Variables", {}).get("CALLER_AUTH")
        binary = fn["Metadata"]["BuildProperties"]["Binary"]
        if binary in MODERATOR_BINARIES:
            assert own == {"Fn::If": ["UseNone", "none", "jwt"]}, logical
            assert fn["Condition"] in ("DeployLivestreams", "DeployModeratorRoutes"), logical
        elif binary == "dispatch-agent":
            # /dispatch-agent is for signed-in callers; the apps' routes take a participant token.
            assert own == {"Fn::If": ["UseNone", "none", "jwt"]}, logical
            assert "Condition" not in fn, "the starter apps' routes are served in every mode"
        else:
            assert own is None, logical
    # A jwt deployment without an issuer is refused before anything is created.
    assertions = template["Rules"]["JwtSettingsAreGiven"]["Assertions"]
    assert any("JwtIssuer" in str(a["Assert"]) for a in assertions)
    assert template["Conditions"]["DeployLivestreams"] == {
        "Fn::Or": [{"Fn::Not": [{"Fn::Condition": "AppsMode"}]}, {"Fn::Condition": "HasIssuer"}]}


SECRET = {"Fn::If": ["CreateSecret", {"Ref": "VideoSdkSecret"}, {"Ref": "ExistingSecretArn"}]}
SECRET_RESOURCE = {"Fn::If": ["CreateSecret", {"Ref": "VideoSdkSecret"},
                              [{"Ref": "ExistingSecretArn"}, {"Fn::Sub": "${ExistingSecretArn}-??????"}]]}


# The functions whose actions are counted per caller (contract: "Per-caller rate limits").
LIMITED = {"get-token", "agent-token", "create-meeting", "create-livestream", "start-recording", "dispatch-agent",
           "start-transcription"}


def effective_statements(rendered, role):
    """What a rendered role may do: its inline statements and those of the template's own managed
    policies it references, as (condition or None, statement)."""
    resources = rendered["Resources"]
    props = resources[role]["Properties"]
    found = [(None, st) for p in props.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]
    for arn in props["ManagedPolicyArns"]:
        condition = None
        if isinstance(arn, dict) and "Fn::If" in arn:
            condition, arn, otherwise = arn["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, role
        if isinstance(arn, str):
            # AWS's own: writing to the function's logs, nothing else.
            assert arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", (role, arn)
            continue
        policy = resources[arn["Ref"]]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy", (role, arn)
        # The secret's policy exists always (every other function uses it); the others exactly
        # when they are used.
        if arn["Ref"] != "ReadTheSecretPolicy":
            assert policy.get("Condition") == condition, (role, arn, "the policy exists exactly when it is used")
        found += [(condition, st) for st in policy["Properties"]["PolicyDocument"]["Statement"]]
    return found


def test_each_function_reads_only_its_one_secret(template, rendered):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["VIDEOSDK_SECRET_ID"] == SECRET
    for logical, fn in functions(template).items():
        assert "Role" not in fn["Properties"], logical
        expected = [(None, {
            "Sid": "ReadTheVideoSdkSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": SECRET_RESOURCE,
        })]
        binary = fn["Metadata"]["BuildProperties"]["Binary"]
        if binary == "videosdk-webhook":
            # The secret only when the key is fetched (not pinned); events:PutEvents on the one bus
            # the template creates; the delivery record's items (webhook#...) only, nothing else.
            expected = [("FetchesWebhookKey", expected[0][1])]
            expected.append((None, {"Sid": "PublishToTheVideoSdkBus", "Effect": "Allow", "Action": "events:PutEvents",
                                    "Resource": {"Fn::GetAtt": ["VideoSdkEventBus", "Arn"]}}))
            expected.append((None, {"Sid": "RememberPublishedWebhooks", "Effect": "Allow",
                                    "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                                    "Resource": {"Fn::GetAtt": ["RateLimitTable", "Arn"]},
                                    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["webhook#*"]}}}))
        if binary in LIMITED:
            # UpdateItem on the counters' table (limits and budgets exist in every mode), on the
            # counters' items only: never another function's records (webhook#...).
            expected.append((None, {
                "Sid": "CountCallsPerCaller", "Effect": "Allow", "Action": "dynamodb:UpdateItem",
                "Resource": {"Fn::GetAtt": ["RateLimitTable", "Arn"]},
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [
                    "token#*", "room#*", "stream#*", "recording#*", "agent#*", "transcription#*", "budget#*"]}}}))
        role = rendered["Resources"][logical]["Properties"]["Role"]["Fn::GetAtt"][0]
        key = lambda c_st: c_st[1]["Sid"]
        assert sorted(effective_statements(rendered, role), key=key) == sorted(expected, key=key), logical
    secret = template["Resources"]["VideoSdkSecret"]
    assert secret["Condition"] == "CreateSecret"
    assert "REPLACE_ME" in secret["Properties"]["SecretString"]


def _resources_for(template, existing_arn):
    """The IAM resources of the functions' secret policy when ExistingSecretArn is given."""
    policy = template["Resources"]["ReadTheSecretPolicy"]["Properties"]["PolicyDocument"]
    resource = policy["Statement"][0]["Resource"]["Fn::If"][2]
    resource = resource if isinstance(resource, list) else [resource]
    out = []
    for r in resource:
        if "Ref" in r:
            out.append(existing_arn)
        else:
            out.append(r["Fn::Sub"].replace("${ExistingSecretArn}", existing_arn))
    return out


def _iam_matches(pattern, arn):
    """IAM resource matching: `*` any run of characters, `?` exactly one."""
    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), arn) is not None


@pytest.mark.parametrize("given", ["full", "partial"])
def test_an_existing_secret_arn_is_readable_full_or_partial(template, given):
    base = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:videosdk/prod"
    actual = base + "-AbC123"
    arn = actual if given == "full" else base
    pattern = template["Parameters"]["ExistingSecretArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, arn)
    resources = _resources_for(template, arn)
    assert any(_iam_matches(r, actual) for r in resources), resources
    # Nothing else: no other secret of the account matches.
    for other in [base + "-other-XyZ789", base.replace("prod", "dev") + "-AbC123", base + "x-AbC123"]:
        assert not any(_iam_matches(r, other) for r in resources), (other, resources)


def test_existing_secret_arns_and_endpoints_are_constrained(template):
    arn_pattern = template["Parameters"]["ExistingSecretArn"]["AllowedPattern"]
    for bad in ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:videosdk?",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
                "videosdk/prod"]:
        assert not re.fullmatch(arn_pattern, bad), bad
    assert re.fullmatch(arn_pattern, "")
    endpoint = template["Parameters"]["VideoSdkApiEndpoint"]
    assert re.fullmatch(endpoint["AllowedPattern"], endpoint["Default"])
    for good in ["https://api.videosdk.live", "https://eu.example.com:8443/videosdk/"]:
        assert re.fullmatch(endpoint["AllowedPattern"], good), good
    for bad in ["http://api.videosdk.live", "https://api.videosdk.live/v2?x=1", "https://u@api.videosdk.live",
                "ftp://api.videosdk.live", "https://"]:
        assert not re.fullmatch(endpoint["AllowedPattern"], bad), bad


def test_the_access_log_names_the_caller(template):
    """Who called what: the authorizer's sub, and the Lambda request id that the function's own
    lines (caller, room, jti) carry."""
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    fields = json.loads(settings["Format"])
    assert fields["sub"] == "$context.authorizer.claims.sub"
    assert fields["lambdaRequestId"] == "$context.integration.requestId"
    assert fields["ip"] == "$context.identity.sourceIp"
    assert fields["route"] == "$context.routeKey"


def test_cors_throttling_logs_and_timeouts(template, rendered):
    api = template["Resources"]["HttpApi"]["Properties"]
    cors = api["CorsConfiguration"]
    assert cors["AllowOrigins"] == {"Ref": "CorsAllowedOrigins"}
    assert "*" not in template["Parameters"]["CorsAllowedOrigins"]["Default"]
    assert {"Authorization", "Content-Type"} <= set(cors["AllowHeaders"])
    assert api["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    # The function outlives the VideoSDK client's 10 s budget, and API Gateway's 30 s outlives it.
    assert 10 < template["Globals"]["Function"]["Timeout"] < 30
    resources = template["Resources"]
    for logical in functions(template):
        # As deployed: Globals' JSON format and levels, and the function's own log group.
        logging = rendered["Resources"][logical]["Properties"]["LoggingConfig"]
        assert (logging["LogFormat"], logging["ApplicationLogLevel"], logging["SystemLogLevel"]) == \
            ("JSON", "INFO", "WARN"), logical
        group = logging["LogGroup"]["Ref"]
        assert group == logical.removesuffix("Function") + "Logs", logical
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_outputs_name_the_api_and_every_endpoint(template):
    outputs = template["Outputs"]
    assert "ApiUrl" in outputs
    urls = " ".join(o["Value"]["Fn::Sub"] for o in outputs.values() if isinstance(o["Value"], dict) and "Fn::Sub" in o["Value"])
    for _, path in ROUTES:
        assert path in urls, path


def test_cargo_lambda_deploy_metadata_names_the_secret_for_every_binary():
    cargo = (ROOT / "Cargo.toml").read_text()
    assert "[workspace.metadata.lambda.deploy]" in cargo
    for binary in binaries():
        manifest = (ROOT / "functions" / binary / "Cargo.toml").read_text()
        assert "[package.metadata.lambda.deploy]" in manifest, binary
        assert re.search(r"VIDEOSDK_SECRET_ID", manifest) or "VIDEOSDK_SECRET_ID" in cargo, binary


def test_the_agent_token_route_is_aws_iam_in_every_auth_mode(template, rendered):
    # As deployed: the API the SAM translator renders (x-amazon-apigateway-auth is the documented
    # form for an HTTP API route's IAM authorization), not only the YAML text.
    [api] = [r for r in rendered["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    body = api["Properties"]["Body"]
    op = body["paths"]["/agent-token"]["post"]
    # Not behind a condition: the same in jwt, apps and none.
    assert list(body["paths"]["/agent-token"]) == ["post"]
    assert op["x-amazon-apigateway-auth"] == {"type": "AWS_IAM"}
    assert op["security"] == []
    assert op["x-amazon-apigateway-integration"]["uri"] == {"Fn::GetAtt": ["AgentTokenFunction", "Arn"]}
    fn = template["Resources"]["AgentTokenFunction"]
    assert "Condition" not in fn
    # One role, exactly this route.
    policy = template["Resources"]["AgentTokenInvokePolicy"]
    assert policy["Condition"] == "HasAgentRole"
    assert policy["Properties"]["Roles"] == [{"Ref": "AgentRoleName"}]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"]["Fn::Sub"].endswith("${HttpApi}/*/POST/agent-token")
    assert template["Outputs"]["AgentTokenInvokeArn"]["Value"] == statement["Resource"]


def test_webhooks_reach_a_bus_the_template_creates_and_rooms_derive_the_webhook_url(template):
    resources = template["Resources"]
    assert resources["VideoSdkEventBus"]["Type"] == "AWS::Events::EventBus"
    env = resources["VideosdkWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == {"Ref": "VideoSdkEventBus"}
    assert env["VIDEOSDK_WEBHOOK_PUBLIC_KEY"] == {"Ref": "WebhookPublicKey"}
    assert template["Parameters"]["WebhookPublicKey"]["NoEcho"] is True
    # No reference to HttpApi in any function's environment (it would be a circular dependency):
    # the URL's host is the request's own domain.
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    resolved = "{{resolve:secretsmanager:${WebhookKey}:SecretString}}"
    # The URL holds the key: only the functions that send it upstream (room creation, recordings,
    # transcription) have it.
    assert "WEBHOOK_URL" not in globals_env
    with_url = {logical for logical, fn in functions(template).items()
                if "WEBHOOK_URL" in fn["Properties"].get("Environment", {}).get("Variables", {})}
    assert with_url == {"CreateMeetingFunction", "StartRecordingFunction", "StartTranscriptionFunction"}
    for logical in with_url:
        assert resources[logical]["Properties"]["Environment"]["Variables"]["WEBHOOK_URL"] == {"Fn::If": [
            "HasWebhookUrl", {"Fn::Sub": "${WebhookUrl}/" + resolved},
            {"Fn::Sub": "https://{domainName}/videosdk-webhook/" + resolved}]}, logical
    # The key: generated (letters and digits, 48 of them), read by the function from its
    # environment (a dynamic reference: no call at cold start), never an output's value.
    generated = resources["WebhookKey"]["Properties"]["GenerateSecretString"]
    assert (generated["PasswordLength"], generated["ExcludePunctuation"], generated["IncludeSpace"]) == (48, True, False)
    assert env["WEBHOOK_KEY"] == {"Fn::Sub": resolved}
    assert env["WEBHOOK_DEDUPE_TABLE"] == {"Ref": "RateLimitTable"}
    assert "Condition" not in resources["RateLimitTable"], "the delivery record exists in every AuthMode"
    assert resolved not in json.dumps(template["Outputs"])
    # Its own throttle, apart from the stage's default.
    routes = resources["HttpApi"]["Properties"]["RouteSettings"]
    throttle = {"ThrottlingBurstLimit": {"Ref": "WebhookThrottlingBurstLimit"},
                "ThrottlingRateLimit": {"Ref": "WebhookThrottlingRateLimit"}}
    assert routes == {"POST /videosdk-webhook/{key}": throttle, "POST /videosdk-webhook": throttle}
    for logical, fn in functions(template).items():
        assert "HttpApi" not in json.dumps(fn["Properties"].get("Environment", {})), logical
    assert globals_env["RECORDING_DIR_PATH"] == {"Ref": "RecordingDirPath"}


def condition(template, name, params):
    """Evaluates one of the template's Conditions for the given parameter values."""
    def ev(node):
        if isinstance(node, str):
            return node
        (fn, args), = node.items()
        if fn == "Ref":
            return params.get(args, template["Parameters"].get(args, {}).get("Default"))
        if fn in ("Condition", "Fn::Condition"):
            return ev(template["Conditions"][args])
        if fn == "Fn::Equals":
            return ev(args[0]) == ev(args[1])
        if fn == "Fn::Not":
            return not ev(args[0])
        if fn == "Fn::And":
            return all(ev(a) for a in args)
        if fn == "Fn::Or":
            return any(ev(a) for a in args)
        if fn == "Fn::Join":
            return args[0].join(ev(args[1]) if not isinstance(ev(args[1]), list) else ev(args[1]))
        raise AssertionError(f"unexpected {fn}")
    return ev(template["Conditions"][name])


def evaluate(template, node, params):
    """An environment value (with !If, !Sub of parameters, !Ref) for the given parameter values."""
    if isinstance(node, str):
        return node
    (fn, args), = node.items()
    if fn == "Fn::If":
        cond, yes, no = args
        return evaluate(template, yes if condition(template, cond, params) else no, params)
    if fn == "Ref":
        return params.get(args, template["Parameters"].get(args, {}).get("Default", args))
    if fn == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(evaluate(template, {"Ref": m.group(1)}, params)), args)
    raise AssertionError(f"unexpected {fn}")


ALL_OFF = "token=off,room=off,stream=off,recording=off,agent=off,transcription=off"


@pytest.mark.parametrize("auth_mode,setting,limits", [
    # auto: every action in every mode, but signed-in get-token (and agent-token) count nothing.
    ("jwt", "auto", "{default},token=off"), ("apps", "auto", "{default}"), ("none", "auto", "{default}"),
    ("jwt", "on", "{default}"), ("apps", "on", "{default}"),
    ("jwt", "off", ALL_OFF), ("apps", "off", ALL_OFF), ("none", "off", ALL_OFF),
])
def test_what_each_rate_limiting_setting_counts(template, auth_mode, setting, limits):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    params = {"AuthMode": auth_mode, "RateLimiting": setting}
    default = template["Parameters"]["RateLimits"]["Default"]
    assert evaluate(template, env["RATE_LIMITS"], params) == limits.format(default=default)
    # The table, and the budgets, in every mode and setting.
    assert env["RATE_LIMIT_TABLE"] == {"Ref": "RateLimitTable"}
    assert env["BUDGETS"] == {"Ref": "Budgets"}
    assert evaluate(template, env["TOKEN_CALLER_AUTH"], params) == ("jwt" if auth_mode == "jwt" else "none")
    dispatch = template["Resources"]["DispatchAgentFunction"]["Properties"]["Environment"]["Variables"]
    opt_in = evaluate(template, dispatch["ANONYMOUS_AGENT_DISPATCH"], {**params, "AnonymousAgentDispatch": "allow"})
    assert opt_in == ("deny" if auth_mode == "jwt" else "allow")
    assert evaluate(template, dispatch["ANONYMOUS_AGENT_DISPATCH"], params) == "deny", "deny unless the operator allows"


def test_budgets_bound_spending_by_default(template):
    budgets = template["Parameters"]["Budgets"]
    assert budgets["Default"] == "agent=200/86400,transcription=100/86400,recording=100/86400,stream=50/86400"
    rust = (ROOT / "shared/src/config.rs").read_text()
    assert re.search(r'DEFAULT_BUDGETS: &str =\s*"([^"]+)"', rust).group(1) == budgets["Default"]
    for good in [budgets["Default"], "agent=off", "agent=10/3600,stream=off", "recording=1/2678400"]:
        assert re.fullmatch(budgets["AllowedPattern"], good), good
    for bad in ["", "token=1/60", "agent=1", "agent=1/60,", "agents=1/60", "agent=0/86400", "agent=1000001/60",
                "agent=1/0", "agent=1/2678401", "agent=1/9999999"]:
        assert not re.fullmatch(budgets["AllowedPattern"], bad), bad
    for good in ["agent=1000000/2678400", "stream=1/1", "agent=5/2599999", "agent=5/2678399"]:
        assert re.fullmatch(budgets["AllowedPattern"], good), good
    resources = template["Resources"]
    for action in ["agent", "transcription", "recording", "stream"]:
        alarm = resources[f"{action.capitalize()}BudgetAlarm"]["Properties"]
        assert (alarm["MetricName"], alarm["Dimensions"]) == ("BudgetUsed", [{"Name": "Action", "Value": action}])
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Maximum", 80, "GreaterThanOrEqualToThreshold")
    dispatched = resources["AgentsDispatchedAlarm"]["Properties"]
    assert (dispatched["MetricName"], dispatched["Statistic"], dispatched["Period"]) == ("AgentsDispatched", "Sum", 3600)
    assert dispatched["Threshold"] == {"Ref": "AgentsDispatchedAlarmThreshold"}
    assert template["Parameters"]["AgentsDispatchedAlarmThreshold"]["MinValue"] == 1
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert 'MetricName=\\"BudgetUsed\\"' in body and "{${MetricsNamespace},Action}" in body
    described = template["Parameters"]["RateLimiting"]["Description"]
    assert "every action in every AuthMode" in described and "off" in described


def test_the_rate_limit_table_and_its_settings(template):
    table = template["Resources"]["RateLimitTable"]
    assert table["Type"] == "AWS::DynamoDB::Table" and "Condition" not in table
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TOKEN_MAX_TTL_SECONDS"] == {"Ref": "TokenMaxTtlSeconds"}
    assert env["ANONYMOUS_MAX_TTL_SECONDS"] == {"Ref": "AnonymousMaxTtlSeconds"}
    limits = template["Parameters"]["RateLimits"]
    assert limits["Default"] == "token=30/60,room=10/60,stream=5/60,recording=5/60,agent=5/600,transcription=5/60"
    rust = (ROOT / "shared/src/config.rs").read_text()
    assert "".join(re.search(r'DEFAULT_RATE_LIMITS: &str =\s*"([^"]+)"', rust).groups()) == limits["Default"]
    for good in [limits["Default"], "token=100/1", "room=off", "token=5/60,recording=off", "agent=1/3600"]:
        assert re.fullmatch(limits["AllowedPattern"], good), good
    for bad in ["", "tokens=1/60", "token=1", "token=1/60,", "token=1/60;room=1/60"]:
        assert not re.fullmatch(limits["AllowedPattern"], bad), bad
    assert template["Parameters"]["AnonymousMaxTtlSeconds"]["Default"] == 3600


def test_role_less_tokens_need_signed_in_callers(template):
    rule = template["Rules"]["RoleLessTokensNeedSignedInCallers"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ParticipantTokenRole"}, "none"]}
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "jwt"]}


def test_cors_origins_refuse_wildcards(template):
    pattern = template["Parameters"]["CorsAllowedOrigins"]["AllowedPattern"]
    for good in ["http://localhost:3000", "https://app.example.com", "https://a-b.example.co.uk:8443"]:
        assert re.fullmatch(pattern, good), good
    for bad in ["*", "https://*.example.com", "https://app.example.com/", "app.example.com", "null", "https://*"]:
        assert not re.fullmatch(pattern, bad), bad


def test_the_docs_cargo_lambda_policy_names_exactly_the_one_secret():
    readme = (ROOT / "docs" / "deploy.md").read_text()
    start = readme.index("## Path 3: cargo-lambda")
    block = readme[readme.index("```json", start) + len("```json"):readme.index("```", readme.index("```json", start) + 7)]
    [statement] = json.loads(block)["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    resource = statement["Resource"].replace("<region>", "eu-west-1").replace("<account>", "123456789012")
    assert "*" not in resource
    assert _iam_matches(resource, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:videosdk/token-server-AbC123")
    assert not _iam_matches(resource, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:videosdk/token-server-old-AbC123")


METRICS_RS = (ROOT / "shared" / "src" / "metrics.rs").read_text()


def written_metrics():
    """The metric names `shared::metrics` writes: `count(on, "Name", n)`, `("Name", "Unit", …)`
    and the coded `….then_some("Name")`."""
    return (re.findall(r'\bcount\([^,]+, "(\w+)"', METRICS_RS)
            + re.findall(r'\("(\w+)", "(?:Count|Milliseconds|Percent)"', METRICS_RS)
            + re.findall(r'then_some\("(\w+)"\)', METRICS_RS))
# Our alarms: name -> the metrics they read, by namespace ("ours" = MetricsNamespace).
OUR_ALARMS = {
    "ApiServerErrorsAlarm": {("AWS/ApiGateway", "5xx"), ("AWS/ApiGateway", "Count")},
    "SecretUnavailableAlarm": {("ours", "SecretUnavailable")},
    "RateLimitUncheckedAlarm": {("ours", "RateLimitUnchecked")},
    "UpstreamErrorRateAlarm": {("ours", "UpstreamErrors"), ("ours", "UpstreamCalls")},
    "WebhooksRejectedAlarm": {("ours", "WebhooksRejected")},
    "EventBusErrorsAlarm": {("ours", "EventBusErrors")},
    "GetTokenLatencyAlarm": {("AWS/Lambda", "Duration")},
    "AgentBudgetAlarm": {("ours", "BudgetUsed")},
    "TranscriptionBudgetAlarm": {("ours", "BudgetUsed")},
    "RecordingBudgetAlarm": {("ours", "BudgetUsed")},
    "StreamBudgetAlarm": {("ours", "BudgetUsed")},
    "AgentsDispatchedAlarm": {("ours", "AgentsDispatched")},
}
# Alarms on a metric by one of its dimensions (not the total): each budget's use, by Action.
BY_DIMENSION = {"AgentBudgetAlarm", "TranscriptionBudgetAlarm", "RecordingBudgetAlarm", "StreamBudgetAlarm"}


def _alarm_metrics(alarm):
    props = alarm["Properties"]
    if "Metrics" in props:
        stats = [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
        [returned] = [m for m in props["Metrics"] if m.get("ReturnData")]
        assert "Expression" in returned
    else:
        stats = [props]
    ours = {"Ref": "MetricsNamespace"}
    return {("ours" if s["Namespace"] == ours else s["Namespace"], s["MetricName"]) for s in stats}, stats


def test_every_alarm_exists_and_reads_the_right_metric_and_namespace(template):
    resources = template["Resources"]
    for name, expected in OUR_ALARMS.items():
        alarm = resources[name]
        assert alarm["Type"] == "AWS::CloudWatch::Alarm"
        metrics, _ = _alarm_metrics(alarm)
        assert metrics == expected, name
        for namespace, metric in metrics:
            if namespace == "ours":
                # The metric the functions actually write.
                assert f'"{metric}"' in METRICS_RS, metric
        # Totals: the alarms on our metrics name no dimension (the functions publish `[]` too).
        for stat in _alarm_metrics(alarm)[1]:
            if stat["Namespace"] == {"Ref": "MetricsNamespace"} and name not in BY_DIMENSION:
                assert "Dimensions" not in stat
    assert resources["SecretUnavailableAlarm"]["Properties"]["EvaluationPeriods"] == 5
    assert resources["SecretUnavailableAlarm"]["Properties"]["Period"] * 5 == 300
    assert resources["EventBusErrorsAlarm"]["Properties"]["Threshold"] == 0
    unchecked = resources["RateLimitUncheckedAlarm"]["Properties"]
    assert (unchecked["Period"] * unchecked["EvaluationPeriods"], unchecked["DatapointsToAlarm"]) == (300, 5)
    assert (unchecked["Threshold"], unchecked["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    latency = resources["GetTokenLatencyAlarm"]["Properties"]
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "GetTokenFunction"}}]
    assert latency["Threshold"] == {"Ref": "GetTokenP99ThresholdMs"}
    # One errors-and-throttles alarm per function, deployed with it.
    for logical, fn in functions(template).items():
        alarm = resources[logical.replace("Function", "ErrorsAlarm")]
        metrics, stats = _alarm_metrics(alarm)
        assert metrics == {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles")}, logical
        assert all(s["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical}}] for s in stats)
        assert alarm.get("Condition") == fn.get("Condition"), logical
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) == len(OUR_ALARMS) + len(functions(template))
    topic = {"Fn::If": ["HasAlarmTopicArn", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == {"Fn::If": ["NotifiesSomeone", [topic], {"Ref": "AWS::NoValue"}]}, name
        assert props["TreatMissingData"] == "notBreaching", name
        assert props["AlarmDescription"], name


def test_alarm_notifications_and_the_metrics_namespace(template):
    params, conditions = template["Parameters"], template["Conditions"]
    assert template["Resources"]["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    assert template["Resources"]["AlarmTopic"]["Properties"]["Subscription"] == [
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    for email, arn, notifies, creates in [("", "", False, False), ("ops@example.com", "", True, True),
                                          ("", "arn:aws:sns:us-east-1:123456789012:ops", True, False),
                                          ("ops@example.com", "arn:aws:sns:us-east-1:123456789012:ops", True, False)]:
        values = {"AlarmEmail": email, "AlarmTopicArn": arn}
        assert condition(template, "NotifiesSomeone", values) is notifies
        assert condition(template, "CreateAlarmTopic", values) is creates
    for good in ["", "ops@example.com"]:
        assert re.fullmatch(params["AlarmEmail"]["AllowedPattern"], good)
    assert not re.fullmatch(params["AlarmEmail"]["AllowedPattern"], "not an address")
    assert not re.fullmatch(params["AlarmTopicArn"]["AllowedPattern"], "arn:aws:sns:*")
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    default = params["MetricsNamespace"]["Default"]
    assert f'DEFAULT_NAMESPACE: &str = "{default}"' in METRICS_RS
    assert re.fullmatch(params["MetricsNamespace"]["AllowedPattern"], default)
    assert not re.fullmatch(params["MetricsNamespace"]["AllowedPattern"], "/AWS")
    assert "HasAlarmTopicArn" in conditions


def test_the_dashboard_shows_every_metric_and_alarm(template):
    dashboard = template["Resources"]["Dashboard"]
    assert dashboard["Type"] == "AWS::CloudWatch::Dashboard"
    body_text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    substitutions = set(re.findall(r"\$\{([^}]+)\}", body_text))
    assert substitutions <= {"MetricsNamespace", "AWS::Region", "AWS::StackName", "HttpApi"} | {
        f"{a}.Arn" for a in OUR_ALARMS}, substitutions
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", body_text))
    text = json.dumps(body)
    written = set(written_metrics())
    assert {"TokensIssued", "UpstreamCalls", "UpstreamLatency", "SecretUnavailable", "RateLimited",
            "WebhooksReceived", "WebhooksRejected", "EventBusErrors", "ClientErrors", "UpstreamErrors"} <= written
    for metric in written:
        assert f'MetricName=\\\\"{metric}\\\\"' in text or f'MetricName=\\"{metric}\\"' in text, metric
    [alarms] = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarms["properties"]["alarms"]) == len(OUR_ALARMS)
    assert "${MetricsNamespace}" in body_text


def test_the_docs_document_every_metric_and_alarm(template):
    readme = (ROOT / "docs" / "operations.md").read_text()
    section = readme[readme.index("## Operating it"):readme.index("## Limits and budgets")]
    for name in OUR_ALARMS:
        assert f"`{name}`" in section, name
    assert "`<Function>ErrorsAlarm`" in section
    for metric in written_metrics():
        assert f"`{metric}`" in section, metric


def test_agents_are_the_operator_s_and_the_starter_apps_routes_take_participant_tokens(template):
    params = template["Parameters"]
    agents = params["Agents"]
    assert agents["Default"] == "", "no agent can be dispatched until the operator lists one"
    for good in ["", "support-bot", "tutor=v3,support-bot", "a.b_c-d=ver.1"]:
        assert re.fullmatch(agents["AllowedPattern"], good), good
    for bad in ["a b", "a,", "=v1", "a=", "a/b", "a=v1=v2", "*"]:
        assert not re.fullmatch(agents["AllowedPattern"], bad), bad
    session = params["AgentSessionMaxSeconds"]
    assert (session["Default"], session["MinValue"], session["MaxValue"]) == (1800, 60, 86400)
    fn = template["Resources"]["DispatchAgentFunction"]
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["AGENTS"] == {"Ref": "Agents"}
    assert env["AGENT_SESSION_MAX_SECONDS"] == {"Ref": "AgentSessionMaxSeconds"}
    # Only dispatch-agent knows the agents; only it may count dispatches.
    for logical, other in functions(template).items():
        if logical != "DispatchAgentFunction":
            assert "AGENTS" not in other["Properties"].get("Environment", {}).get("Variables", {}), logical
    body = template["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["paths"]
    for path, method in [("/v2/agent/dispatch", "post"), ("/ai/v1/agents/{agentId}/versions", "get")]:
        assert body[path][method]["security"] == [], path
        assert "Fn::If" not in body[path], f"{path} is served in every AuthMode"
    # The dashboard shows what dispatches cost.
    assert "AgentsDispatched" in template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


def test_the_serverless_repo_metadata_and_one_version(template):
    """`sam publish` needs the application's metadata; its SemanticVersion is not written here but
    by `make release` from Cargo.toml's workspace version, so the version lives in one place."""
    app = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert {"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl"} <= set(app)
    assert "SemanticVersion" not in app
    assert (ROOT / app["LicenseUrl"]).is_file() and (ROOT / app["ReadmeUrl"]).is_file()
    assert app["SpdxLicenseId"] == re.search(r'^license = "(.+)"', (ROOT / "Cargo.toml").read_text(), re.M)[1]
    members = [p for p in (ROOT / "functions").glob("*/Cargo.toml")] + [ROOT / "shared" / "Cargo.toml"]
    assert all("version.workspace = true" in p.read_text() for p in members), "every crate takes the workspace version"


def test_the_issuer_is_an_https_url_and_samconfig_an_example_that_cannot_deploy(template):
    import tomllib
    pattern = template["Parameters"]["JwtIssuer"]["AllowedPattern"]
    for good in ["", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123", "https://example.auth0.com/",
                 "https://login.example.com:8443/realms/videosdk"]:
        assert re.fullmatch(pattern, good), good
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = dict(o.split("=", 1) for o in config["default"]["deploy"]["parameters"]["parameter_overrides"])
    for bad in [overrides["JwtIssuer"], "http://cognito-idp.us-east-1.amazonaws.com/pool", "cognito-idp", "https://a b"]:
        assert not re.fullmatch(pattern, bad), bad
    # Guided deploys write the operator's answers to a file git ignores; the build is uncached, as make's.
    assert "samconfig.local.toml" in (ROOT / ".gitignore").read_text().split()
    assert "--config-file samconfig.local.toml" in (ROOT / "samconfig.toml").read_text()
    assert config["default"]["build"]["parameters"]["cached"] is False
    assert "--no-cached" in (ROOT / "Makefile").read_text()
