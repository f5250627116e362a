/**
 * The user pool's stack settings (with `deviceGrantEnabled`): a pool of the stack's own, its feature plan, threat
 * protection, password length, MFA, deletion protection and token lifetimes, or an existing pool
 * (`existingUserPool`) whose app clients the stack adopts (`existingClientId` in `deviceClients`, their secrets in
 * the secret setting `existingClientSecrets`). `UserDirectory`'s own checks judge the values; this only reads them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { FeaturePlan, AdvancedSecurityMode, MfaMode, UserDirectoryArgs, UserDirectoryClient } from "../infra/user-directory-args";
import { type ConfigSource, readBoolean, readInteger, readJson, type StackProblems } from "./reading";

type PoolSettings = Pick<
  UserDirectoryArgs,
  | "scopes"
  | "domain"
  | "existingUserPool"
  | "mfa"
  | "deletionProtection"
  | "featurePlan"
  | "advancedSecurity"
  | "minimumPasswordLength"
  | "accessTokenValidityMinutes"
  | "idTokenValidityMinutes"
  | "refreshTokenValidityDays"
>;

/** The pool's settings as the stack gives them; unset ones stay undefined and take the component's defaults. */
export function readUserPoolSettings(source: ConfigSource, problems: StackProblems): PoolSettings {
  const settings: PoolSettings = {
    scopes: readJson(source, "deviceScopes", problems) as UserDirectoryArgs["scopes"],
    domain: readJson(source, "userPoolDomain", problems, "an object") as UserDirectoryArgs["domain"],
    existingUserPool: readJson(source, "existingUserPool", problems, "an object") as UserDirectoryArgs["existingUserPool"],
    mfa: source.get("userPoolMfa") as MfaMode | undefined,
    deletionProtection: readBoolean(source, "userPoolDeletionProtection", problems),
    featurePlan: source.get("userPoolFeaturePlan") as FeaturePlan | undefined,
    advancedSecurity: source.get("userPoolAdvancedSecurity") as AdvancedSecurityMode | undefined,
    minimumPasswordLength: readInteger(source, "userPoolMinimumPasswordLength", problems),
    accessTokenValidityMinutes: readInteger(source, "userPoolAccessTokenMinutes", problems),
    idTokenValidityMinutes: readInteger(source, "userPoolIdTokenMinutes", problems),
    refreshTokenValidityDays: readInteger(source, "userPoolRefreshTokenDays", problems),
  };
  // Unset settings are left out, so that "given beside existingUserPool" means "set in the stack".
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as PoolSettings;
}

/**
 * The device clients with the secrets of the adopted confidential ones, from the secret setting
 * `existingClientSecrets` (`{"printer": "…"}`), each passed on as a secret.
 */
export function withAdoptedSecrets(source: ConfigSource, clients: UserDirectoryClient[], problems: StackProblems): UserDirectoryClient[] {
  const secrets = readJson(source, "existingClientSecrets", problems, "an object of client key → secret");
  if (secrets === undefined) return clients;
  if (typeof secrets !== "object" || secrets === null || Array.isArray(secrets)) {
    problems.add("existingClientSecrets", "existingClientSecrets must be an object of client key → secret");
    return clients;
  }
  const given = secrets as Record<string, unknown>;
  const adopted = new Set(clients.filter((c) => c?.existingClientId !== undefined && c?.type === "confidential").map((c) => c.key));
  for (const key of Object.keys(given).filter((k) => !adopted.has(k))) {
    problems.add(
      "existingClientSecrets",
      `existingClientSecrets has a secret for ${JSON.stringify(key)}, which is no confidential client of deviceClients with an existingClientId`,
    );
  }
  return clients.map((c) =>
    typeof given[c?.key] === "string" && adopted.has(c.key) ? { ...c, existingClientSecret: pulumi.secret(given[c.key] as string) } : c,
  );
}
