/**
 * No `*` in what an IAM policy allows, beyond the exceptions documented here (docs/policy-pack.md#documented-exceptions):
 *
 * - an allowed action never contains `*` (no `s3:*`, no `dynamodb:Get*`), and no statement allows `NotAction`;
 * - an allowed resource is `*` only for an action whose resource cannot be known in advance, narrowed by a
 *   condition instead (`WILDCARD_RESOURCE_EXCEPTIONS`); no statement allows `NotResource`;
 * - no trust policy lets `*` assume a role;
 * - a role gets AWS managed policies (whose actions are not reviewed here) only from `MANAGED_POLICY_EXCEPTIONS`.
 *
 * Deny statements may use wildcards: they only take permissions away.
 */
import { parseArn } from "./arn";
import { conditionKeys, parsePolicyDocument, type Statement } from "./iam-documents";
import { isRecord, type Props, quote, type Report } from "./values";

/** Actions allowed on `Resource: "*"`, each only with all of its condition keys present. */
export const WILDCARD_RESOURCE_EXCEPTIONS: readonly { actions: readonly string[]; conditionKeys: readonly string[]; why: string }[] = [
  {
    actions: ["kms:Decrypt"],
    conditionKeys: ["kms:ViaService", "kms:EncryptionContext:PARAMETER_ARN"],
    why: "SecureString parameters under the AWS managed key aws/ssm: that key's ARN is not known before it exists; decryption is allowed only through SSM and only for the named parameters",
  },
];

/** AWS managed policies a role may be given, by name (the ARN's `policy/…` part). */
export const MANAGED_POLICY_EXCEPTIONS: readonly { name: string; why: string }[] = [
  {
    name: "service-role/AWSIoTThingsRegistration",
    why: "the provisioning role of a fleet provisioning template, as AWS IoT's documentation gives it",
  },
];

function wildcardResourceAllowed(statement: Statement): boolean {
  const keys = conditionKeys(statement);
  return WILDCARD_RESOURCE_EXCEPTIONS.some(
    (e) => statement.actions.every((a) => e.actions.includes(a)) && e.conditionKeys.every((k) => keys.includes(k)),
  );
}

/** Checks one policy document; `what` names it in messages ("policy", "trust policy", "inline policy x"). */
export function checkPolicyDocument(document: unknown, what: string, report: Report): void {
  const statements = parsePolicyDocument(document);
  if (statements === undefined) {
    report(`the ${what} is not a JSON policy document with a Statement`);
    return;
  }
  for (const s of statements) {
    if (s.effect !== "Allow") continue;
    const where = `${what}, ${s.label}`;
    if (s.notAction) report(`${where} allows NotAction (every action but ${s.actions.join(", ")}): list the actions instead`);
    for (const action of s.actions.filter((a) => a.includes("*"))) {
      if (!s.notAction) report(`${where} allows the wildcard action ${quote(action)}: list the actions it needs`);
    }
    if (s.notResource) report(`${where} allows NotResource: name the resources instead`);
    if (!s.notResource && s.resources.includes("*") && !wildcardResourceAllowed(s)) {
      report(`${where} allows ${s.actions.join(", ")} on Resource "*": name the resources, or see the documented exceptions`);
    }
    if (s.principals.includes("*")) report(`${where} lets any principal ("*") in`);
  }
}

/** `aws:iam/rolePolicy:RolePolicy`, `aws:iam/policy:Policy` and the user and group policies: their `policy`. */
export function checkIamPolicy(props: Props, report: Report): void {
  checkPolicyDocument(props.policy, "policy", report);
}

/** `aws:iam/role:Role`: its trust policy, inline policies and managed policy ARNs. */
export function checkIamRole(props: Props, report: Report): void {
  checkPolicyDocument(props.assumeRolePolicy, "trust policy", report);
  const inline = Array.isArray(props.inlinePolicies) ? props.inlinePolicies : [];
  for (const p of inline) {
    if (isRecord(p) && p.policy !== undefined) checkPolicyDocument(p.policy, `inline policy ${quote(p.name ?? "")}`, report);
  }
  const managed = Array.isArray(props.managedPolicyArns) ? props.managedPolicyArns : [];
  for (const arn of managed) checkManagedPolicyArn(arn, report);
}

/** `aws:iam/rolePolicyAttachment:RolePolicyAttachment` and the user and group attachments: their `policyArn`. */
export function checkPolicyAttachment(props: Props, report: Report): void {
  checkManagedPolicyArn(props.policyArn, report);
}

function checkManagedPolicyArn(value: unknown, report: Report): void {
  const arn = typeof value === "string" ? parseArn(value) : undefined;
  // A customer managed policy of this stack is an aws:iam/policy:Policy, checked on its own document.
  if (arn === undefined || arn.account !== "aws") return;
  const name = arn.resource.replace(/^policy\//, "");
  if (!MANAGED_POLICY_EXCEPTIONS.some((e) => e.name === name)) {
    report(
      `the AWS managed policy ${quote(name)} is not reviewed by this pack: write an inline policy with the actions needed, or add it to the documented exceptions`,
    );
  }
}
