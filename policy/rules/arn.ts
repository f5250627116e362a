/**
 * ARNs as the rules read them: `arn:<partition>:<service>:<region>:<account>:<resource>`, the resource part kept
 * whole (it may contain `:` and `/`). See the IAM User Guide's "IAM identifiers" for the format.
 */
export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function parseArn(text: string): Arn | undefined {
  const parts = text.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition, service, region, account] = parts;
  return { partition, service, region, account, resource: parts.slice(5).join(":") };
}

/** A 12-digit AWS account id. */
export function isAccountId(text: string): boolean {
  return /^\d{12}$/.test(text);
}
