/**
 * No wildcard in an IoT policy resource unless it only widens within one device's own namespace: IoT policy
 * resources take IAM's wildcards (`*` any run of characters, `/` included, and `?` one character), so a `*` is
 * allowed only after a variable that names the device itself. Documented exceptions
 * (docs/policy-pack.md#documented-exceptions):
 *
 * - in an `aws.iot.Policy` document: after `${iot:Connection.Thing.ThingName}` or `${iot:ClientId}`, which IoT
 *   substitutes per connection (AWS IoT Core Developer Guide, "Basic policy variables", "Thing policy variables");
 * - in the authorizer's grants (its `AUTHORIZER_CONFIG`): after `{principal}`, which the authorizer substitutes
 *   with the token's own principal id, or `${iot:ClientId}`.
 *
 * IAM's escapes `${*}`, `${?}` and `${$}` are literal characters, not wildcards.
 */
import { parseArn } from "./arn";
import { parsePolicyDocument } from "./iam-documents";
import { environmentVariable, isRecord, parseJson, type Props, quote, type Report, stringList } from "./values";

/** The authorizer function's configuration variable (functions/authorizer/index.ts reads it). */
export const AUTHORIZER_CONFIG_ENV = "AUTHORIZER_CONFIG";

/** Variables that name one device, in an aws.iot.Policy and in the authorizer's grants. */
export const DEVICE_SCOPED_POLICY_VARIABLES = ["${iot:Connection.Thing.ThingName}", "${iot:ClientId}"] as const;
export const DEVICE_SCOPED_GRANT_PLACEHOLDERS = ["{principal}", "${iot:ClientId}"] as const;

/**
 * What is wrong with a wildcard in `name` (the resource after `client/`, `topic/` or `topicfilter/`, or a whole
 * ARN's resource part), or undefined when it has none or only after one of `scoped`.
 */
export function wildcardProblem(name: string, scoped: readonly string[]): string | undefined {
  const plain = name.replace(/\$\{[*?$]\}/g, "_");
  const at = plain.search(/[*?]/);
  if (at === -1) return undefined;
  const before = plain.slice(0, at);
  if (scoped.some((variable) => before.includes(variable))) return undefined;
  return `has a wildcard before any of ${scoped.join(", ")}: it reaches other devices' ${name.startsWith("client/") ? "client ids" : "topics"}`;
}

/** `aws:iot/policy:Policy`: every allowed resource of its document. */
export function checkIotPolicy(props: Props, report: Report): void {
  const statements = parsePolicyDocument(props.policy);
  if (statements === undefined) {
    report("the policy is not a JSON policy document with a Statement");
    return;
  }
  for (const s of statements) {
    if (s.effect !== "Allow") continue;
    if (s.notResource) report(`${s.label} allows NotResource: name the resources instead`);
    for (const resource of s.resources) {
      const arn = parseArn(resource);
      if (resource === "*" || arn === undefined) {
        report(`${s.label} allows ${s.actions.join(", ")} on ${quote(resource)}: name the client, topic or topic filter`);
        continue;
      }
      if (arn.region.includes("*") || arn.account.includes("*")) {
        report(`${s.label}: resource ${quote(resource)} has a wildcard region or account`);
      }
      const problem = wildcardProblem(arn.resource, DEVICE_SCOPED_POLICY_VARIABLES);
      if (problem) report(`${s.label}: resource ${quote(resource)} ${problem}`);
    }
  }
}

/** `aws:lambda/function:Function` with `AUTHORIZER_CONFIG`: every resource of the authorizer's grants. */
export function checkAuthorizerGrants(props: Props, report: Report): void {
  const raw = environmentVariable(props, AUTHORIZER_CONFIG_ENV);
  if (raw === undefined) return;
  const config = parseJson(raw);
  if (!isRecord(config)) {
    report(`${AUTHORIZER_CONFIG_ENV} is not a JSON object`);
    return;
  }
  // Without grants the function's defaults apply: a device's own client id and devices/{principal}/*.
  if (config.grants === undefined) return;
  const grants = Array.isArray(config.grants) ? config.grants : [];
  grants.forEach((grant, i) => {
    for (const resource of stringList(isRecord(grant) ? grant.resources : undefined)) {
      if (resource === "*") {
        report(`grants[${i}] allows "*": name the client, topic or topic filter`);
        continue;
      }
      const problem = wildcardProblem(resource, DEVICE_SCOPED_GRANT_PLACEHOLDERS);
      if (problem) report(`grants[${i}]: resource ${quote(resource)} ${problem}`);
    }
  });
}

/**
 * `aws:lambda/function:Function` with `AUTHORIZER_CONFIG`: each issuer names the audiences or client ids its tokens
 * must carry. Without either, the authorizer accepts a token its IdP issued to any application, for any purpose
 * (RFC 8725 §3.9; docs/security-model.md#known-limits).
 */
export function checkAuthorizerAudiences(props: Props, report: Report): void {
  const raw = environmentVariable(props, AUTHORIZER_CONFIG_ENV);
  if (raw === undefined) return;
  const config = parseJson(raw);
  // A configuration that is not an object is iot-policy-resources-scoped's to report.
  const issuers = isRecord(config) && Array.isArray(config.issuers) ? config.issuers : [];
  issuers.forEach((issuer, i) => {
    if (!isRecord(issuer)) return;
    if (stringList(issuer.audiences).length === 0 && stringList(issuer.clientIds).length === 0) {
      report(`issuers[${i}] (${quote(issuer.issuer)}) accepts tokens its IdP issued to any application: set audiences or clientIds`);
    }
  });
}
