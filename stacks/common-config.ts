/**
 * What the stack's reader does for every component alike: refuse a setting the program does not know (a typo such
 * as `userPoolMFA` would otherwise be ignored without a word), and read the arguments every component shares
 * (`ComponentArgs`: the customer managed key, the permissions boundary, the tags, the log retention) from one
 * stack setting each.
 */
import * as pulumi from "@pulumi/pulumi";
import { closest } from "../functions/shared/problems";
import type { ComponentArgs } from "../infra/component-args";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/shared/metric-lines";
import { type ConfigSource, readInteger, readJson, readOptionalString, type StackProblems } from "./reading";
import { SCALAR_SETTINGS, SECRET_SETTINGS, STRUCTURED_SETTINGS } from "./settings";

/** Every setting the program reads. */
export const KNOWN_SETTINGS: readonly string[] = [...Object.keys(SCALAR_SETTINGS), ...STRUCTURED_SETTINGS, ...SECRET_SETTINGS];

/** A problem per setting of the namespace that the program does not read, with the known one it is closest to. */
export function checkKnownSettings(source: ConfigSource, problems: StackProblems): void {
  for (const key of source.keys()) {
    if (KNOWN_SETTINGS.includes(key)) continue;
    const near = closest(key, KNOWN_SETTINGS);
    problems.add(
      key,
      `${key} is not a setting of this program${near ? ` (did you mean ${near}?)` : ""}: remove it, or see Pulumi.yaml and the README's Configuration table`,
    );
  }
}

/** AWS's limits on tags: at most 50 per resource, keys of 1-128 characters, values of at most 256, no `aws:` prefix. */
function checkTags(tags: unknown, problems: StackProblems): Record<string, string> | undefined {
  if (tags === undefined) return undefined;
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) {
    problems.add("tags", "tags must be an object of string values, e.g. {team: platform, cost-centre: iot}");
    return undefined;
  }
  const entries = Object.entries(tags);
  if (entries.length > 50) problems.add("tags", `tags: at most 50 tags per resource; got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128 || key.toLowerCase().startsWith("aws:")) {
      problems.add("tags", `tags: key ${JSON.stringify(key)} must be 1-128 characters and not start with aws:`);
    }
    if (typeof value !== "string" || value.length > 256) problems.add("tags", `tags.${key} must be a string of at most 256 characters`);
  }
  return tags as Record<string, string>;
}

export type SharedArgs = Pick<ComponentArgs, "kmsKeyArn" | "permissionsBoundary" | "tags" | "logRetentionDays" | "metricsNamespace">;

/** The arguments every component shares, from the stack settings of the same names. */
export function readSharedArgs(source: ConfigSource, problems: StackProblems): SharedArgs {
  const kmsKeyArn = readOptionalString(source, "kmsKeyArn");
  if (kmsKeyArn !== undefined) checkKeyRegion(kmsKeyArn, problems);
  const permissionsBoundary = readOptionalString(source, "permissionsBoundary");
  const tags = checkTags(readJson(source, "tags", problems, "an object of string values"), problems);
  const logRetentionDays = readInteger(source, "logRetentionDays", problems);
  const metricsNamespace = source.get("metricsNamespace");
  return {
    // Given to the functions only when it differs from their own default, so a stack that leaves it adds nothing.
    ...(metricsNamespace !== undefined && metricsNamespace !== DEFAULT_METRICS_NAMESPACE && { metricsNamespace }),
    ...(kmsKeyArn !== undefined && { kmsKeyArn }),
    ...(permissionsBoundary !== undefined && { permissionsBoundary }),
    ...(tags !== undefined && { tags }),
    ...(logRetentionDays !== undefined && { logRetentionDays }),
  };
}

/**
 * A customer managed key must be in the stack's region: DynamoDB, SSM, CloudWatch Logs and SNS encrypt only with keys
 * of their own region, so a key elsewhere would pass the preview and fail `pulumi up` half way.
 */
function checkKeyRegion(kmsKeyArn: string, problems: StackProblems): void {
  const region = new pulumi.Config("aws").get("region");
  const keyRegion = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(kmsKeyArn)?.[1];
  if (region !== undefined && keyRegion !== undefined && keyRegion !== region) {
    problems.add(
      "kmsKeyArn",
      `kmsKeyArn is a key in ${keyRegion}, but the stack deploys to ${region} (aws:region): use a key of ${region}`,
    );
  }
}

/** A reserved concurrency setting, where the declared default 0 means none is reserved. */
export function readReservedConcurrency(
  source: ConfigSource,
  key: "functionReservedConcurrency" | "deviceGrantReservedConcurrency",
  problems: StackProblems,
): number | undefined {
  const value = readInteger(source, key, problems);
  return value === 0 ? undefined : value;
}
