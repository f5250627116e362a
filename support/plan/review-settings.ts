/**
 * The settings of a declared resource that matter when reviewing a change, as one short line per resource: who may
 * invoke or assume what, what a policy allows on which resources, encryption, retention, throttling, key sizes,
 * lifetimes. Values marked secret are never shown (`<secret>`), and neither is any environment variable's value: the
 * functions' configurations are summarised by what the policy pack checks in them.
 */
import { parsePolicyDocument } from "../../policy/rules/iam-documents";
import { rsaPublicKeyBits } from "../../policy/rules/token-signing";
import { isRecord, parseJson, record, stringList } from "../../policy/rules/values";
import { type RecordedResource } from "../pulumi-mocks";

/** What a secret value shows as. */
export const REDACTED = "<secret>";

/** `inputs` with every value under a secret path replaced by `<secret>`. */
export function redact(inputs: Record<string, unknown>, secretPaths: readonly string[]): Record<string, unknown> {
  const walk = (value: unknown, path: string): unknown => {
    if (secretPaths.includes(path)) return REDACTED;
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, path === "" ? k : `${path}.${k}`)]));
    return value;
  };
  return walk(inputs, "") as Record<string, unknown>;
}

/** A summary reads the redacted inputs; `raw` only where it derives something that is never secret (a key's size). */
type Summary = (inputs: Record<string, unknown>, raw: Record<string, unknown>) => (string | undefined)[];

/** The sizes of the authorizer's public keys (a public key's size is not secret, even when the key is marked so). */
function keySizes(raw: Record<string, unknown>): string {
  const keys = Object.entries(record(raw, "tokenSigningPublicKeys"));
  if (keys.length === 0) return "keys none";
  const described = keys.map(([name, pem]) => {
    const bits = typeof pem === "string" ? rsaPublicKeyBits(pem) : "is not a PEM string";
    return typeof bits === "number" ? `${name} RSA ${bits}` : `${name} ${bits}`;
  });
  return `keys ${described.join(", ")}`;
}

function statements(document: unknown): string {
  const list = parsePolicyDocument(document);
  if (list === undefined) return "not a policy document";
  return list
    .map((s) => {
      const on = s.resources.length > 0 ? ` on ${s.resources.join(", ")}` : "";
      const who = s.principals.length > 0 ? ` for ${s.principals.join(", ")}` : "";
      const when = Object.keys(s.conditions).length > 0 ? ` if ${JSON.stringify(s.conditions)}` : "";
      return `${s.effect} ${s.notAction ? "NOT " : ""}${s.actions.join(", ")}${on}${who}${when}`;
    })
    .join("; ");
}

const flag = (name: string, value: unknown) => (value === undefined ? undefined : `${name} ${String(value)}`);

function lambdaEnvironment(inputs: Record<string, unknown>): string | undefined {
  const variables = record(record(inputs, "environment"), "variables");
  const names = Object.keys(variables);
  if (names.length === 0) return undefined;
  const grants = parseJson(variables.AUTHORIZER_CONFIG);
  const grant = parseJson(variables.DEVICE_GRANT_CONFIG);
  const parts = [`env ${names.join(", ")}`];
  if (isRecord(grants) && Array.isArray(grants.issuers)) {
    parts.push(
      `issuers ${grants.issuers.map((i) => (isRecord(i) ? `${String(i.issuer)} (${stringList(i.algorithms).join("/")})` : "?")).join(", ")}`,
    );
    const rules = Array.isArray(grants.grants) ? grants.grants : undefined;
    parts.push(rules ? `grants ${rules.flatMap((g) => (isRecord(g) ? stringList(g.resources) : [])).join(", ")}` : "default grants");
  }
  if (isRecord(grant) && isRecord(grant.settings)) {
    const s = grant.settings;
    parts.push(
      `codes: device ${String(s.deviceCodeLength)}×${String(s.deviceCodeFormat)}, user ${String(s.userCodeLength)}×${String(s.userCodeFormat)}, ` +
        `expiry ${String(s.codeExpirySeconds)} s, weak codes ${String(s.allowWeakCodes)}`,
    );
  }
  return parts.join("; ");
}

const SUMMARIES: Record<string, Summary> = {
  "aws:lambda/function:Function": (i) => [
    `${String(i.runtime)} ${stringList(i.architectures).join("/")}`,
    flag("memory MB", i.memorySize),
    flag("timeout s", i.timeout),
    flag("logs", record(i, "loggingConfig").logGroup),
    lambdaEnvironment(i),
  ],
  "aws:lambda/permission:Permission": (i) => [
    `${String(i.principal)} may ${String(i.action)} ${String(i.function)}`,
    flag("sourceArn", i.sourceArn),
    flag("sourceAccount", i.sourceAccount),
  ],
  "aws:iam/role:Role": (i) => [`trust: ${statements(i.assumeRolePolicy)}`, flag("managed policies", i.managedPolicyArns)],
  "aws:iam/rolePolicy:RolePolicy": (i) => [statements(i.policy)],
  "aws:iam/policy:Policy": (i) => [statements(i.policy)],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i) => [flag("attaches", i.policyArn)],
  "aws:iot/policy:Policy": (i) => [statements(i.policy)],
  "aws:iot/authorizer:Authorizer": (i, raw) => [
    `signing ${i.signingDisabled === true ? "OFF" : "on"}`,
    flag("status", i.status),
    flag("token key", i.tokenKeyName),
    keySizes(raw),
    flag("HTTP caching", i.enableCachingForHttp),
  ],
  "tls:index/privateKey:PrivateKey": (i) => [`${String(i.algorithm)} ${String(i.rsaBits ?? i.ecdsaCurve ?? "")}`.trim()],
  "aws:cloudwatch/logGroup:LogGroup": (i) => [
    String(i.name),
    `retention ${i.retentionInDays === undefined ? "NEVER EXPIRES" : `${String(i.retentionInDays)} days`}`,
  ],
  "aws:dynamodb/table:Table": (i) => [
    `encryption ${record(i, "serverSideEncryption").enabled === true ? String(record(i, "serverSideEncryption").kmsKeyArn ?? "AWS managed key") : "AWS owned key"}`,
    `TTL ${record(i, "ttl").enabled === true ? String(record(i, "ttl").attributeName) : "off"}`,
    `PITR ${record(i, "pointInTimeRecovery").enabled === true ? "on" : "off"}`,
    flag("billing", i.billingMode),
  ],
  "aws:apigatewayv2/stage:Stage": (i) => [
    `throttling burst ${String(record(i, "defaultRouteSettings").throttlingBurstLimit ?? "none")}, rate ${String(record(i, "defaultRouteSettings").throttlingRateLimit ?? "none")}`,
    `access logs ${String(record(i, "accessLogSettings").destinationArn ?? "none")}`,
  ],
  "aws:apigatewayv2/authorizer:Authorizer": (i) => [
    flag("type", i.authorizerType),
    flag("issuer", record(i, "jwtConfiguration").issuer),
    flag("audiences", stringList(record(i, "jwtConfiguration").audiences).join(", ")),
  ],
  "aws:cognito/userPool:UserPool": (i) => [
    `passwords ≥ ${String(record(i, "passwordPolicy").minimumLength ?? 8)} chars, temporary ${String(record(i, "passwordPolicy").temporaryPasswordValidityDays ?? 7)} days`,
    flag("MFA", i.mfaConfiguration),
    flag("deletion protection", i.deletionProtection),
    flag("admin-only sign-up", record(i, "adminCreateUserConfig").allowAdminCreateUserOnly),
  ],
  "aws:cognito/userPoolClient:UserPoolClient": (i) => [
    flag("flows", stringList(i.allowedOauthFlows).join(", ")),
    flag("scopes", stringList(i.allowedOauthScopes).join(", ")),
    flag("secret", i.generateSecret),
    flag("access token minutes", i.accessTokenValidity),
  ],
  "aws:cognito/identityPool:IdentityPool": (i) => [flag("unauthenticated identities", i.allowUnauthenticatedIdentities ?? false)],
  "aws:iot/provisioningTemplate:ProvisioningTemplate": (i) => [
    `${String(i.type)} ${i.enabled === true ? "enabled" : "DISABLED"}`,
    `hook ${String(record(i, "preProvisioningHook").targetArn ?? "none")}`,
  ],
  "aws:ssm/parameter:Parameter": (i) => [String(i.name), String(i.type), i.value === REDACTED ? "value <secret>" : undefined],
  "aws:kms/key:Key": (i) => [flag("usage", i.keyUsage), flag("spec", i.customerMasterKeySpec), flag("rotation", i.enableKeyRotation)],
};

/** The review line of `resource`; empty for types with nothing to review (routes, integrations, components). */
export function reviewSettings(resource: RecordedResource): string {
  const summary = SUMMARIES[resource.type];
  if (summary === undefined) return "";
  return summary(redact(resource.inputs, resource.secretPaths), resource.inputs)
    .filter((part): part is string => part !== undefined && part !== "")
    .join("; ");
}

/** The types whose settings the plan summarises (for the documentation). */
export const REVIEWED_TYPES = Object.keys(SUMMARIES);
