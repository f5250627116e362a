/**
 * The gateway's IoT policy evaluation against a table of cases: wildcards, policy variables, Deny over
 * Allow, topic vs topic filter ARNs, action wildcards, case sensitivity and several documents.
 */
import { type PolicyDocument as AuthorizerPolicyDocument } from "../../functions/authorizer/policy";
import { evaluatePolicies, iotArn, type IotPolicyAction, type PolicyDocument, type PolicyStatement } from "../../sandbox/gateway/policy";

const P = "arn:aws:iot:eu-west-1:123456789012:";
const client = (id: string) => `${P}client/${id}`;
const topic = (name: string) => `${P}topic/${name}`;
const filter = (f: string) => `${P}topicfilter/${f}`;

function allow(action: string | string[], resource: string | string[]): PolicyStatement {
  return { Effect: "Allow", Action: action, Resource: resource };
}
function deny(action: string | string[], resource: string | string[]): PolicyStatement {
  return { Effect: "Deny", Action: action, Resource: resource };
}
function doc(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

interface Case {
  name: string;
  documents: PolicyDocument[];
  action: IotPolicyAction;
  resource: string;
  variables?: Record<string, string>;
  expected: "allow" | "deny";
}

/** The policy the project's authorizer writes for principal `alice` (DEFAULT_GRANTS). */
const ALICE = doc(
  allow(["iot:Connect"], [client("alice"), client("alice-*")]),
  allow(["iot:Publish", "iot:Receive"], [topic("devices/alice/*")]),
  allow(["iot:Subscribe"], [filter("devices/alice/*")]),
);

const cases: Case[] = [
  // Default deny and exact matches
  { name: "no documents: default deny", documents: [], action: "iot:Connect", resource: client("alice"), expected: "deny" },
  { name: "empty statement list: deny", documents: [doc()], action: "iot:Connect", resource: client("alice"), expected: "deny" },
  { name: "exact client ARN", documents: [ALICE], action: "iot:Connect", resource: client("alice"), expected: "allow" },
  { name: "client id with suffix via *", documents: [ALICE], action: "iot:Connect", resource: client("alice-tv"), expected: "allow" },
  { name: "another client id", documents: [ALICE], action: "iot:Connect", resource: client("bob"), expected: "deny" },
  {
    name: "client id that merely starts like alice",
    documents: [ALICE],
    action: "iot:Connect",
    resource: client("alicex"),
    expected: "deny",
  },
  { name: "empty suffix still needs the dash", documents: [ALICE], action: "iot:Connect", resource: client("alice-"), expected: "allow" },
  // Resource wildcards
  {
    name: "* matches several levels",
    documents: [ALICE],
    action: "iot:Publish",
    resource: topic("devices/alice/a/b/c"),
    expected: "allow",
  },
  { name: "* matches nothing at all", documents: [ALICE], action: "iot:Publish", resource: topic("devices/alice/"), expected: "allow" },
  { name: "topic of another device", documents: [ALICE], action: "iot:Publish", resource: topic("devices/bob/temp"), expected: "deny" },
  {
    name: "the parent topic itself is not under /*",
    documents: [ALICE],
    action: "iot:Publish",
    resource: topic("devices/alice"),
    expected: "deny",
  },
  {
    name: "? matches exactly one character",
    documents: [doc(allow("iot:Publish", topic("room/?")))],
    action: "iot:Publish",
    resource: topic("room/7"),
    expected: "allow",
  },
  {
    name: "? does not match two characters",
    documents: [doc(allow("iot:Publish", topic("room/?")))],
    action: "iot:Publish",
    resource: topic("room/42"),
    expected: "deny",
  },
  {
    name: "? does not match zero characters",
    documents: [doc(allow("iot:Publish", topic("room/?")))],
    action: "iot:Publish",
    resource: topic("room/"),
    expected: "deny",
  },
  {
    name: "* in the middle",
    documents: [doc(allow("iot:Publish", topic("devices/*/status")))],
    action: "iot:Publish",
    resource: topic("devices/x/y/status"),
    expected: "allow",
  },
  {
    name: "regex characters in a resource are literal",
    documents: [doc(allow("iot:Publish", topic("a.b")))],
    action: "iot:Publish",
    resource: topic("aXb"),
    expected: "deny",
  },
  {
    name: "Resource as a plain string",
    documents: [doc(allow("iot:Publish", topic("t")))],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "allow",
  },
  {
    name: "Resource * allows any resource",
    documents: [doc(allow("iot:Publish", "*"))],
    action: "iot:Publish",
    resource: topic("anything/at/all"),
    expected: "allow",
  },
  {
    name: "other region is another resource",
    documents: [ALICE],
    action: "iot:Connect",
    resource: "arn:aws:iot:us-east-1:123456789012:client/alice",
    expected: "deny",
  },
  // Topic vs topic filter ARNs
  {
    name: "a topic grant does not allow a subscription",
    documents: [doc(allow("iot:Subscribe", topic("devices/alice/*")))],
    action: "iot:Subscribe",
    resource: filter("devices/alice/#"),
    expected: "deny",
  },
  {
    name: "a topicfilter grant does not allow a publish",
    documents: [doc(allow("iot:Publish", filter("devices/alice/*")))],
    action: "iot:Publish",
    resource: topic("devices/alice/x"),
    expected: "deny",
  },
  {
    name: "# in the requested filter is matched by a policy *",
    documents: [ALICE],
    action: "iot:Subscribe",
    resource: filter("devices/alice/#"),
    expected: "allow",
  },
  {
    name: "+ in the requested filter is matched by a policy *",
    documents: [ALICE],
    action: "iot:Subscribe",
    resource: filter("devices/alice/+/temp"),
    expected: "allow",
  },
  {
    name: "a filter wider than the grant is refused",
    documents: [ALICE],
    action: "iot:Subscribe",
    resource: filter("devices/#"),
    expected: "deny",
  },
  {
    name: "a filter with + at another device's level is refused",
    documents: [ALICE],
    action: "iot:Subscribe",
    resource: filter("devices/+/temp"),
    expected: "deny",
  },
  {
    name: "# in a policy is a literal, not an MQTT wildcard",
    documents: [doc(allow("iot:Subscribe", filter("devices/alice/#")))],
    action: "iot:Subscribe",
    resource: filter("devices/alice/temp"),
    expected: "deny",
  },
  {
    name: "# in a policy matches the same literal filter",
    documents: [doc(allow("iot:Subscribe", filter("devices/alice/#")))],
    action: "iot:Subscribe",
    resource: filter("devices/alice/#"),
    expected: "allow",
  },
  {
    name: "+ in a policy is a literal, not an MQTT wildcard",
    documents: [doc(allow("iot:Publish", topic("devices/+/temp")))],
    action: "iot:Publish",
    resource: topic("devices/bob/temp"),
    expected: "deny",
  },
  {
    name: "Receive is checked against topic ARNs",
    documents: [ALICE],
    action: "iot:Receive",
    resource: topic("devices/alice/temp"),
    expected: "allow",
  },
  {
    name: "Receive of another device's topic",
    documents: [ALICE],
    action: "iot:Receive",
    resource: topic("devices/bob/temp"),
    expected: "deny",
  },
  // Actions
  { name: "action not listed", documents: [ALICE], action: "iot:RetainPublish", resource: topic("devices/alice/x"), expected: "deny" },
  {
    name: "iot:* covers every IoT action",
    documents: [doc(allow("iot:*", topic("t")))],
    action: "iot:RetainPublish",
    resource: topic("t"),
    expected: "allow",
  },
  {
    name: "* covers every action",
    documents: [doc(allow("*", client("c")))],
    action: "iot:Connect",
    resource: client("c"),
    expected: "allow",
  },
  {
    name: "iot:Pub* covers Publish",
    documents: [doc(allow("iot:Pub*", topic("t")))],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "allow",
  },
  {
    name: "iot:Pub* does not cover Receive",
    documents: [doc(allow("iot:Pub*", topic("t")))],
    action: "iot:Receive",
    resource: topic("t"),
    expected: "deny",
  },
  {
    name: "another service's wildcard",
    documents: [doc(allow("s3:*", topic("t")))],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "deny",
  },
  {
    name: "action names are case-insensitive",
    documents: [doc(allow("IOT:publish", topic("t")))],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "allow",
  },
  // Case sensitivity of resources
  { name: "topics are case-sensitive", documents: [ALICE], action: "iot:Publish", resource: topic("devices/Alice/temp"), expected: "deny" },
  { name: "client ids are case-sensitive", documents: [ALICE], action: "iot:Connect", resource: client("ALICE"), expected: "deny" },
  // Deny overrides Allow
  {
    name: "Deny in the same statement list wins",
    documents: [doc(allow("iot:*", "*"), deny("iot:Publish", topic("devices/alice/secret")))],
    action: "iot:Publish",
    resource: topic("devices/alice/secret"),
    expected: "deny",
  },
  {
    name: "Deny of one topic leaves the others",
    documents: [doc(allow("iot:*", "*"), deny("iot:Publish", topic("devices/alice/secret")))],
    action: "iot:Publish",
    resource: topic("devices/alice/open"),
    expected: "allow",
  },
  {
    name: "Deny before the Allow still wins",
    documents: [doc(deny("iot:*", topic("t")), allow("iot:Publish", topic("t")))],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "deny",
  },
  {
    name: "Deny in another document wins",
    documents: [ALICE, doc(deny("iot:Connect", client("alice-*")))],
    action: "iot:Connect",
    resource: client("alice-tv"),
    expected: "deny",
  },
  {
    name: "Deny of another action does not deny",
    documents: [ALICE, doc(deny("iot:Subscribe", "*"))],
    action: "iot:Publish",
    resource: topic("devices/alice/x"),
    expected: "allow",
  },
  { name: "Deny alone denies", documents: [doc(deny("iot:Publish", "*"))], action: "iot:Publish", resource: topic("t"), expected: "deny" },
  // Several documents
  {
    name: "an Allow in the second document counts",
    documents: [doc(allow("iot:Connect", client("x"))), doc(allow("iot:Publish", topic("y")))],
    action: "iot:Publish",
    resource: topic("y"),
    expected: "allow",
  },
  {
    name: "Statement given as one object",
    documents: [{ Version: "2012-10-17", Statement: allow("iot:Publish", topic("y")) }],
    action: "iot:Publish",
    resource: topic("y"),
    expected: "allow",
  },
  // Policy variables
  {
    name: "${iot:ClientId} substituted",
    documents: [doc(allow("iot:Connect", `${P}client/\${iot:ClientId}`))],
    action: "iot:Connect",
    resource: client("dev1"),
    variables: { "iot:ClientId": "dev1" },
    expected: "allow",
  },
  {
    name: "${iot:ClientId} of another client",
    documents: [doc(allow("iot:Connect", `${P}client/\${iot:ClientId}`))],
    action: "iot:Connect",
    resource: client("dev2"),
    variables: { "iot:ClientId": "dev1" },
    expected: "deny",
  },
  {
    name: "variable inside a topic with a wildcard after it",
    documents: [doc(allow("iot:Publish", `${P}topic/things/\${iot:ClientId}/*`))],
    action: "iot:Publish",
    resource: topic("things/dev1/a/b"),
    variables: { "iot:ClientId": "dev1" },
    expected: "allow",
  },
  {
    name: "an absent variable makes the resource match nothing",
    documents: [doc(allow("iot:Publish", `${P}topic/things/\${iot:Connection.Thing.ThingName}/*`))],
    action: "iot:Publish",
    resource: topic("things/dev1/x"),
    variables: { "iot:ClientId": "dev1" },
    expected: "deny",
  },
  {
    name: "an absent variable does not make a Deny match",
    documents: [doc(allow("iot:*", "*"), deny("iot:Publish", `${P}topic/\${iot:Connection.Thing.ThingName}`))],
    action: "iot:Publish",
    resource: topic("x"),
    expected: "allow",
  },
  {
    name: "a thing-name variable when present",
    documents: [doc(allow("iot:Publish", `${P}topic/things/\${iot:Connection.Thing.ThingName}/*`))],
    action: "iot:Publish",
    resource: topic("things/lamp/x"),
    variables: { "iot:Connection.Thing.ThingName": "lamp" },
    expected: "allow",
  },
  {
    name: "a * in a variable's value is literal",
    documents: [doc(allow("iot:Publish", `${P}topic/things/\${iot:ClientId}`))],
    action: "iot:Publish",
    resource: topic("things/anything"),
    variables: { "iot:ClientId": "*" },
    expected: "deny",
  },
  {
    name: "a * in a variable's value matches a literal *",
    documents: [doc(allow("iot:Publish", `${P}topic/things/\${iot:ClientId}`))],
    action: "iot:Publish",
    resource: topic("things/*"),
    variables: { "iot:ClientId": "*" },
    expected: "allow",
  },
  {
    name: "variable names are case-insensitive",
    documents: [doc(allow("iot:Connect", `${P}client/\${iot:clientid}`))],
    action: "iot:Connect",
    resource: client("dev1"),
    variables: { "iot:ClientId": "dev1" },
    expected: "allow",
  },
  {
    name: "${*} is a literal *",
    documents: [doc(allow("iot:Publish", `${P}topic/a\${*}`))],
    action: "iot:Publish",
    resource: topic("ab"),
    expected: "deny",
  },
  {
    name: "an unclosed ${ matches nothing",
    documents: [doc(allow("iot:Publish", `${P}topic/\${iot:ClientId`))],
    action: "iot:Publish",
    resource: topic("${iot:ClientId"),
    variables: { "iot:ClientId": "x" },
    expected: "deny",
  },
  {
    name: "one resource with an absent variable, another that matches",
    documents: [doc(allow("iot:Publish", [`${P}topic/\${iot:Connection.Thing.ThingName}`, topic("shared")]))],
    action: "iot:Publish",
    resource: topic("shared"),
    expected: "allow",
  },
  // What the gateway cannot evaluate
  {
    name: "an Allow with a Condition does not apply",
    documents: [doc({ ...allow("iot:Publish", "*"), Condition: { Bool: { "iot:Connection.Thing.IsAttached": "true" } } })],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "deny",
  },
  {
    name: "a Deny with NotResource applies to everything",
    documents: [doc(allow("iot:*", "*"), { Effect: "Deny", Action: "iot:*", NotResource: topic("t") })],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "deny",
  },
  {
    name: "a statement without Resource does not allow",
    documents: [doc({ Effect: "Allow", Action: "iot:*" })],
    action: "iot:Publish",
    resource: topic("t"),
    expected: "deny",
  },
];

describe("evaluatePolicies", () => {
  test("the table has enough cases to mean something", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  test.each(cases)("$name → $expected", ({ documents, action, resource, variables, expected }) => {
    expect(evaluatePolicies(documents, { action, resource }, variables)).toBe(expected);
  });

  test("accepts the policy documents the project's authorizer returns", () => {
    const fromAuthorizer: AuthorizerPolicyDocument[] = [
      { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iot:Connect"], Resource: [client("alice")] }] },
    ];
    expect(evaluatePolicies(fromAuthorizer, { action: "iot:Connect", resource: client("alice") }, {})).toBe("allow");
  });

  describe("iot:ConnectAttributes conditions (the connect policy examples)", () => {
    const connect = (attributes: string[]) => ({
      action: "iot:Connect" as const,
      resource: client("alice"),
      conditions: { "iot:ConnectAttributes": attributes },
    });
    const withCondition = (effect: "Allow" | "Deny", operator: string, values: string[]) => ({
      Effect: effect,
      Action: "iot:Connect",
      Resource: client("alice"),
      Condition: { [operator]: { "iot:ConnectAttributes": values } },
    });
    test.each<[string, object[], string[], "allow" | "deny"]>([
      ["a plain Allow lets a Will connect", [allow("iot:Connect", client("alice"))], ["LastWill"], "allow"],
      [
        "ForAllValues:StringEquals [LastWill] allows a Will",
        [withCondition("Allow", "ForAllValues:StringEquals", ["LastWill"])],
        ["LastWill"],
        "allow",
      ],
      [
        "ForAllValues:StringEquals [LastWill] allows no attribute at all",
        [withCondition("Allow", "ForAllValues:StringEquals", ["LastWill"])],
        [],
        "allow",
      ],
      [
        "ForAllValues:StringEquals [PersistentConnect] refuses a Will",
        [withCondition("Allow", "ForAllValues:StringEquals", ["PersistentConnect"])],
        ["LastWill"],
        "deny",
      ],
      [
        "ForAllValues:StringNotEquals [LastWill] refuses a Will",
        [withCondition("Allow", "ForAllValues:StringNotEquals", ["LastWill"])],
        ["LastWill"],
        "deny",
      ],
      [
        "an Allow and a Deny ForAnyValue:StringEquals [LastWill] refuse a Will",
        [allow("iot:Connect", client("alice")), withCondition("Deny", "ForAnyValue:StringEquals", ["LastWill"])],
        ["LastWill"],
        "deny",
      ],
      [
        "the same Deny lets a connection without a Will in",
        [allow("iot:Connect", client("alice")), withCondition("Deny", "ForAnyValue:StringEquals", ["LastWill"])],
        [],
        "allow",
      ],
    ])("%s", (_name, statements, attributes, expected) => {
      expect(evaluatePolicies([doc(...(statements as Parameters<typeof doc>))], connect(attributes))).toBe(expected);
    });
  });

  test("iotArn builds the ARNs the gateway checks", () => {
    expect(iotArn("aws", "eu-west-1", "123456789012", "topicfilter", "devices/alice/#")).toBe(filter("devices/alice/#"));
  });
});
