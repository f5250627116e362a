/**
 * The `UserDirectory` component's arguments: what a program passes, the defaults, and the checks that run before
 * any resource is declared. The stack program (`stacks/config.ts`) calls `userDirectoryProblems` to list these
 * problems with every other one, under its own setting names; the component throws them at once.
 */
import type * as pulumi from "@pulumi/pulumi";
import { integerSetting, isIntegerInRange } from "../functions/shared/checks";
import { checkedOrThrow, type Problem, problem, problemAt, problemWithText, unknownFields } from "../functions/shared/problems";

export type MfaMode = "OFF" | "OPTIONAL" | "ON";
export const MFA_MODES: readonly MfaMode[] = ["OFF", "OPTIONAL", "ON"];
export type AdvancedSecurityMode = "OFF" | "AUDIT" | "ENFORCED";
/** Cognito's user pool feature plans ("tiers"); threat protection needs PLUS. */
export type FeaturePlan = "LITE" | "ESSENTIALS" | "PLUS";
export const FEATURE_PLANS: readonly FeaturePlan[] = ["LITE", "ESSENTIALS", "PLUS"];

export const USER_DIRECTORY_DEFAULTS = {
  mfa: "OPTIONAL" as MfaMode,
  deletionProtection: true,
  advancedSecurity: "OFF" as AdvancedSecurityMode,
  /** What Cognito gives a new pool when no plan is named. */
  featurePlan: "ESSENTIALS" as FeaturePlan,
  minimumPasswordLength: 12,
  resourceServerIdentifier: "iot",
  scopes: [{ name: "device", description: "Connect to AWS IoT Core as the signed-in user" }],
  /** Minutes. A device refreshes through the device grant's token endpoint, so short access tokens cost little. */
  accessTokenValidityMinutes: 60,
  idTokenValidityMinutes: 60,
  refreshTokenValidityDays: 30,
} as const;

export interface UserDirectoryScope {
  /** Scope name under the resource server, e.g. `device` (requested as `iot/device`). */
  name: string;
  /** What the scope allows, shown in the Cognito console (1-256 characters). */
  description: string;
}

export interface UserDirectoryClient {
  /** Key of the client among this directory's clients: names the child resource and its outputs; never rename. */
  key: string;
  /**
   * With `existingUserPool`: the id of an app client that pool already has, adopted instead of created (its
   * settings stay yours; register the device grant's `/callback` URL on it and allow the authorization code flow).
   */
  existingClientId?: pulumi.Input<string>;
  /** With `existingClientId` of a confidential client: its secret. */
  existingClientSecret?: pulumi.Input<string>;
  /** Name shown in the Cognito console. */
  name: string;
  /**
   * `public` (default): the device holds no secret. `confidential`: Cognito generates a client secret the device
   * must present; it is an output marked secret.
   */
  type?: "public" | "confidential";
  /**
   * Scopes the client may request: standard ones (`openid`, `email`, `profile`) and the resource server's, in full
   * (`iot/device`). Default: `openid` and every resource server scope.
   */
  scopes?: string[];
}

export interface UserDirectoryDomainArgs {
  /**
   * Prefix of the Cognito-hosted domain `https://<prefix>.auth.<region>.amazoncognito.com` (lowercase letters,
   * digits and hyphens, not containing `aws`, `amazon` or `cognito`). Prefixes are unique across every AWS account
   * in a region, so the default is `<name>-<stack>-<8 random hex digits>`, drawn once and kept in the stack's state.
   */
  prefix?: string;
  /** Your own domain for the hosted UI instead, e.g. `login.example.com`; needs `certificateArn`. */
  customDomain?: string;
  /** ACM certificate for `customDomain`, in us-east-1 (Cognito serves custom domains through CloudFront). */
  certificateArn?: pulumi.Input<string>;
}

/**
 * A user pool your organisation already runs, used instead of a new one. The component then declares no pool,
 * domain or resource server: the pool must already have its hosted UI (or managed login) domain and a resource
 * server whose identifier and scopes are `resourceServerIdentifier` and `scopes`. It still declares the `clients`
 * without an `existingClientId`, and the `groups`, in that pool.
 */
export interface ExistingUserPool {
  /** The pool's id, `<region>_<id>`, in the program's region. */
  userPoolId: pulumi.Input<string>;
  /** Base URL of the pool's hosted UI domain, e.g. `https://login.example.com` (https, no path). */
  hostedUiUrl: pulumi.Input<string>;
}

export interface UserDirectoryArgs {
  /** Where Cognito may send the authorization code: the device grant's `/callback` URL(s). At least one. */
  callbackUrls: pulumi.Input<string>[];
  /** The device app clients; at least one. */
  clients: UserDirectoryClient[];
  /** Use this pool instead of creating one; the pool-level arguments below are then refused (set them on the pool). */
  existingUserPool?: ExistingUserPool;
  /** Hosted UI domain; default: the prefix `<name>-<stack>-<random>`. */
  domain?: UserDirectoryDomainArgs;
  /** Resource server identifier, the first part of the IoT scopes (default `iot`). */
  resourceServerIdentifier?: string;
  /** The IoT scopes (default one: `device`). */
  scopes?: UserDirectoryScope[];
  /** Let people create their own account on the hosted UI (default `false`: an administrator invites them). */
  allowSelfSignUp?: boolean;
  /** Multi-factor authentication with an authenticator app (TOTP): `OFF`, `OPTIONAL` (default) or `ON`. */
  mfa?: MfaMode;
  /** Refuse to delete the pool, and its users with it, until this is turned off (default `true`). */
  deletionProtection?: boolean;
  /** Cognito threat protection (`OFF` by default; `AUDIT`/`ENFORCED` need `featurePlan: "PLUS"` and cost extra). */
  advancedSecurity?: AdvancedSecurityMode;
  /**
   * The pool's feature plan: `LITE`, `ESSENTIALS` (default, as Cognito gives a new pool) or `PLUS` (needed for
   * threat protection). Priced per monthly active user; see Cognito's pricing before choosing.
   */
  featurePlan?: FeaturePlan;
  /** Minimum password length (default 12; 12 to 99); every character class is always required. */
  minimumPasswordLength?: number;
  /**
   * Access token lifetime in minutes (default 60; 5 to 1,440). The authorizer accepts a token until it expires, so
   * this bounds how long a revoked user's device can still connect with the token it holds.
   */
  accessTokenValidityMinutes?: number;
  /** ID token lifetime in minutes (default 60; 5 to 1,440). */
  idTokenValidityMinutes?: number;
  /** Refresh token lifetime in days (default 30; 1 to 3,650); it must outlast the access and ID tokens. */
  refreshTokenValidityDays?: number;
  /**
   * User groups of the pool, e.g. `installers` (fleet provisioning's claim route can require one). Access tokens of
   * their members carry `cognito:groups`; an administrator adds people to them.
   */
  groups?: UserDirectoryGroup[];
  /** Tags for the user pool (the only child that takes them). */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** `-` and the 8 hex digits of 4 random bytes, appended to the default domain prefix. */
export const RANDOM_SUFFIX_LENGTH = 9;
const CLIENT_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const CLIENT_FIELDS = ["key", "name", "type", "scopes", "existingClientId", "existingClientSecret"];
const IDENTIFIER = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
const SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$/;
const STANDARD_SCOPES = ["openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"];

export interface UserDirectoryGroup {
  /** 1-128 characters without whitespace (Cognito's rule for group names). */
  name: string;
  /** What membership means, shown in the Cognito console (at most 2,048 characters). */
  description?: string;
}

export interface CheckedUserDirectoryArgs {
  /** With the default domain: the fixed part of the prefix, before `-<random hex>`. */
  domainPrefixBase?: string;
  domainPrefix?: string;
  customDomain?: string;
  resourceServerIdentifier: string;
  scopes: UserDirectoryScope[];
  /** Client key → its checked registration (type and full scope names). */
  clients: { key: string; name: string; type: "public" | "confidential"; scopes: string[]; existing: boolean }[];
  /** Whether the pool is one the caller already runs (`existingUserPool`). */
  existingPool: boolean;
  featurePlan: FeaturePlan;
  mfa: MfaMode;
  deletionProtection: boolean;
  advancedSecurity: AdvancedSecurityMode;
  minimumPasswordLength: number;
  accessTokenValidityMinutes: number;
  idTokenValidityMinutes: number;
  refreshTokenValidityDays: number;
  groups: UserDirectoryGroup[];
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkUserDirectoryArgs(name: string, args: UserDirectoryArgs, stack: string): CheckedUserDirectoryArgs {
  return checkedOrThrow(userDirectoryProblems(name, args, stack), `UserDirectory "${name}" arguments`);
}

/** The checks of `checkUserDirectoryArgs`, returning the problems instead of throwing (the stack lists them with others). */
export function userDirectoryProblems(
  name: string,
  args: UserDirectoryArgs,
  stack: string,
): { checked: CheckedUserDirectoryArgs; problems: Problem[] } {
  const problems: Problem[] = [];
  const a = (args ?? {}) as Partial<UserDirectoryArgs>;

  problems.push(...unknownFields(a.domain, ["prefix", "customDomain", "certificateArn"], "domain"));
  const existingPool = checkExistingPool(a, problems);
  const domain = existingPool ? {} : checkDomain(a.domain ?? {}, name, stack, problems);
  const { resourceServerIdentifier, scopes, resourceScopes } = checkResourceServer(a, problems);
  const clients = checkClients(a.clients, resourceScopes, existingPool, problems);
  checkCallbackUrls(a.callbackUrls, problems);
  const pool = checkPoolSettings(a, problems);
  const lifetimes = checkTokenLifetimes(a, problems);
  const groups = checkGroups(a.groups, problems);

  return {
    problems,
    checked: { ...domain, resourceServerIdentifier, scopes, clients, existingPool, ...pool, ...lifetimes, groups },
  };
}

/** What only a pool of our own can be given: refused, each by name, alongside `existingUserPool`. */
const POOL_LEVEL_ARGS = [
  "domain",
  "allowSelfSignUp",
  "mfa",
  "deletionProtection",
  "advancedSecurity",
  "featurePlan",
  "minimumPasswordLength",
] as const;

/** `existingUserPool`: its id and hosted UI URL, and no pool-level argument beside it. */
function checkExistingPool(a: Partial<UserDirectoryArgs>, problems: Problem[]): boolean {
  const existing = a.existingUserPool;
  if (existing === undefined) return false;
  if (typeof existing !== "object" || existing === null) {
    problems.push(problemAt("existingUserPool", "must be { userPoolId, hostedUiUrl }"));
    return true;
  }
  problems.push(...unknownFields(existing, ["userPoolId", "hostedUiUrl"], "existingUserPool"));
  if (existing.userPoolId === undefined) problems.push(problemAt("existingUserPool.userPoolId", "is required"));
  else if (typeof existing.userPoolId === "string" && !/^[a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+$/.test(existing.userPoolId)) {
    problems.push(
      problemAt(
        "existingUserPool.userPoolId",
        `must be a user pool id such as eu-west-1_AbCdEf123; got ${JSON.stringify(existing.userPoolId)}`,
      ),
    );
  }
  if (existing.hostedUiUrl === undefined) problems.push(problemAt("existingUserPool.hostedUiUrl", "is required"));
  else if (typeof existing.hostedUiUrl === "string" && !/^https:\/\/[a-z0-9.-]+$/.test(existing.hostedUiUrl)) {
    problems.push(
      problemAt(
        "existingUserPool.hostedUiUrl",
        `must be https://<domain>, without a path or trailing slash; got ${JSON.stringify(existing.hostedUiUrl)}`,
      ),
    );
  }
  for (const key of POOL_LEVEL_ARGS) {
    if (a[key] !== undefined) {
      problems.push(
        problem(key, (n) => `${n(key)} is a setting of the pool, and ${n("existingUserPool")} is not this program's: set it on that pool`),
      );
    }
  }
  return true;
}

/** Groups: Cognito's names (no whitespace, at most 128 characters), each once, descriptions of at most 2,048 characters. */
function checkGroups(given: UserDirectoryGroup[] | undefined, problems: Problem[]): UserDirectoryGroup[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) {
    problems.push(problemAt("groups", "must be a list of { name, description? }"));
    return [];
  }
  const seen = new Set<string>();
  given.forEach((group, i) => {
    problems.push(...unknownFields(group, ["name", "description"], `groups[${i}]`));
    if (typeof group?.name !== "string" || !/^[^\s]{1,128}$/.test(group.name)) {
      problems.push(problemAt(`groups[${i}].name`, "must be 1-128 characters without whitespace"));
    } else if (seen.has(group.name)) {
      problems.push(problemWithText(`groups[${i}].name`, `group ${group.name} is listed more than once`));
    } else seen.add(group.name);
    if (group?.description !== undefined && (typeof group.description !== "string" || group.description.length > 2048)) {
      problems.push(problemAt(`groups[${i}].description`, "must be at most 2048 characters"));
    }
  });
  return given;
}

/** The hosted UI's one domain: a Cognito prefix (derived from the name and stack by default), or the caller's own. */
function checkDomain(
  domain: UserDirectoryDomainArgs,
  name: string,
  stack: string,
  problems: Problem[],
): Pick<CheckedUserDirectoryArgs, "domainPrefixBase" | "domainPrefix" | "customDomain"> {
  let domainPrefix: string | undefined;
  let customDomain: string | undefined;
  if (domain.customDomain !== undefined) {
    customDomain = domain.customDomain;
    if (domain.prefix !== undefined) {
      problems.push(
        problem("domain.prefix", (n) => `${n("domain.prefix")} and ${n("domain.customDomain")} conflict: the hosted UI has one domain`),
      );
    }
    if (domain.certificateArn === undefined) {
      problems.push(
        problem(
          "domain.certificateArn",
          (n) => `${n("domain.customDomain")} ${customDomain} needs ${n("domain.certificateArn")} (ACM, us-east-1)`,
        ),
      );
    }
  } else {
    if (domain.certificateArn !== undefined) {
      problems.push(problem("domain.certificateArn", (n) => `${n("domain.certificateArn")} is set without ${n("domain.customDomain")}`));
    }
    // The default's random part (8 hex digits and a hyphen) cannot spell a reserved word or break the pattern.
    domainPrefix =
      domain.prefix ??
      `${name}-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 63 - RANDOM_SUFFIX_LENGTH);
    if (!DOMAIN_PREFIX.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix)) {
      problems.push(
        problemAt(
          "domain.prefix",
          `${JSON.stringify(domainPrefix)}${domain.prefix === undefined ? " (derived from the component name and stack)" : ""} ` +
            `must be 1-63 lowercase letters, digits or hyphens, not starting or ending with one, without aws, amazon or cognito`,
        ),
      );
    }
    if (domain.prefix === undefined) return { domainPrefixBase: domainPrefix, customDomain };
  }
  return { domainPrefix, customDomain };
}

/** The resource server and its IoT scopes; `resourceScopes` are their full names (`iot/device`), as clients request them. */
function checkResourceServer(
  a: Partial<UserDirectoryArgs>,
  problems: Problem[],
): { resourceServerIdentifier: string; scopes: UserDirectoryScope[]; resourceScopes: string[] } {
  const resourceServerIdentifier = a.resourceServerIdentifier ?? USER_DIRECTORY_DEFAULTS.resourceServerIdentifier;
  if (typeof resourceServerIdentifier !== "string" || !IDENTIFIER.test(resourceServerIdentifier)) {
    problems.push(
      problemAt(
        "resourceServerIdentifier",
        `must be 1-256 printable characters without " or \\; got ${JSON.stringify(resourceServerIdentifier)}`,
      ),
    );
  }
  const scopes = a.scopes ?? USER_DIRECTORY_DEFAULTS.scopes.map((s) => ({ ...s }));
  if (!Array.isArray(scopes) || scopes.length === 0) {
    problems.push(problemAt("scopes", "must list at least one IoT scope"));
  } else {
    const seen = new Set<string>();
    for (const [i, scope] of scopes.entries()) {
      problems.push(...unknownFields(scope, ["name", "description"], `scopes[${i}]`));
      if (typeof scope?.name !== "string" || !SCOPE_NAME.test(scope.name)) {
        problems.push(
          problemAt(`scopes[${i}].name`, `must be 1-256 printable characters without " \\ or /; got ${JSON.stringify(scope?.name)}`),
        );
      } else if (seen.has(scope.name)) {
        problems.push(problemWithText(`scopes[${i}].name`, `scope ${scope.name} is listed more than once`));
      } else seen.add(scope.name);
      if (typeof scope?.description !== "string" || scope.description.length === 0 || scope.description.length > 256) {
        problems.push(problemAt(`scopes[${i}].description`, "must be 1-256 characters"));
      }
    }
  }
  const resourceScopes = (Array.isArray(scopes) ? scopes : []).map((s) => `${resourceServerIdentifier}/${s?.name}`);
  return { resourceServerIdentifier, scopes: Array.isArray(scopes) ? scopes : [], resourceScopes };
}

/** The app clients: unique keys, and scopes that are known and include an IoT scope. */
function checkClients(
  given: UserDirectoryClient[] | undefined,
  resourceScopes: string[],
  existingPool: boolean,
  problems: Problem[],
): CheckedUserDirectoryArgs["clients"] {
  const knownScopes = new Set([...STANDARD_SCOPES, ...resourceScopes]);
  const clients: CheckedUserDirectoryArgs["clients"] = [];
  if (!Array.isArray(given) || given.length === 0) {
    problems.push(problemAt("clients", "must list at least one device app client"));
    return clients;
  }
  const keys = new Set<string>();
  for (const [i, client] of given.entries()) {
    const where = `clients[${i}]`;
    const label = typeof client?.key === "string" && client.key ? `client ${client.key}` : where;
    const about = (field: string, text: string) => problems.push(problemWithText(`${where}.${field}`, `${label}: ${text}`));
    problems.push(...unknownFields(client, CLIENT_FIELDS, where));
    if (typeof client?.key !== "string" || !CLIENT_KEY.test(client.key)) {
      about("key", "key must be 1-64 letters, digits, _ or -");
    } else if (keys.has(client.key)) {
      problems.push(problemWithText(`${where}.key`, `${label} is listed more than once`));
    } else keys.add(client.key);
    if (typeof client?.name !== "string" || client.name.length === 0 || client.name.length > 128)
      about("name", "name must be 1-128 characters");
    const type = client?.type ?? "public";
    if (type !== "public" && type !== "confidential") about("type", `type must be public or confidential; got ${JSON.stringify(type)}`);
    const clientScopes = client?.scopes ?? ["openid", ...resourceScopes];
    if (!Array.isArray(clientScopes) || clientScopes.length === 0) {
      about("scopes", "scopes must list at least one scope");
    } else {
      const unknown = clientScopes.filter((s) => !knownScopes.has(s));
      if (unknown.length > 0) about("scopes", `unknown scope(s) ${unknown.join(", ")}; known: ${[...knownScopes].join(", ")}`);
      if (!clientScopes.some((s) => resourceScopes.includes(s))) {
        about("scopes", `scopes must include an IoT scope (${resourceScopes.join(", ")}), or its tokens open nothing`);
      }
    }
    const existing = client?.existingClientId !== undefined;
    if (existing && !existingPool) about("existingClientId", "existingClientId needs existingUserPool: a new pool has no clients to adopt");
    if (client?.existingClientSecret !== undefined && !(existing && type === "confidential")) {
      about("existingClientSecret", "existingClientSecret goes with the existingClientId of a confidential client");
    }
    if (existing && type === "confidential" && client?.existingClientSecret === undefined) {
      about("existingClientSecret", "a confidential existingClientId needs its existingClientSecret");
    }
    clients.push({ key: client?.key, name: client?.name, type, scopes: Array.isArray(clientScopes) ? [...clientScopes] : [], existing });
  }
  return clients;
}

function checkCallbackUrls(callbackUrls: UserDirectoryArgs["callbackUrls"] | undefined, problems: Problem[]): void {
  if (!Array.isArray(callbackUrls) || callbackUrls.length === 0)
    problems.push(problemAt("callbackUrls", "must list the device grant's /callback URL"));
  for (const [i, url] of (Array.isArray(callbackUrls) ? callbackUrls : []).entries()) {
    // Outputs are checked by Cognito itself; a literal one can be checked now.
    if (typeof url === "string" && !/^https:\/\//.test(url) && !/^http:\/\/localhost[:/]/.test(url)) {
      problems.push(problemWithText(`callbackUrls[${i}]`, `callback URL ${url} must use https (Cognito allows http for localhost only)`));
    }
  }
}

function checkPoolSettings(
  a: Partial<UserDirectoryArgs>,
  problems: Problem[],
): Pick<CheckedUserDirectoryArgs, "mfa" | "deletionProtection" | "advancedSecurity" | "featurePlan" | "minimumPasswordLength"> {
  const d = USER_DIRECTORY_DEFAULTS;
  const mfa = a.mfa ?? d.mfa;
  if (!MFA_MODES.includes(mfa)) problems.push(problemAt("mfa", `must be OFF, OPTIONAL or ON; got ${JSON.stringify(mfa)}`));
  const deletionProtection = a.deletionProtection ?? d.deletionProtection;
  if (typeof deletionProtection !== "boolean") problems.push(problemAt("deletionProtection", "must be true or false"));
  const advancedSecurity = a.advancedSecurity ?? d.advancedSecurity;
  if (!["OFF", "AUDIT", "ENFORCED"].includes(advancedSecurity)) {
    problems.push(problemAt("advancedSecurity", `must be OFF, AUDIT or ENFORCED; got ${JSON.stringify(advancedSecurity)}`));
  }
  const featurePlan = a.featurePlan ?? d.featurePlan;
  if (!FEATURE_PLANS.includes(featurePlan)) {
    problems.push(problemAt("featurePlan", `must be LITE, ESSENTIALS or PLUS; got ${JSON.stringify(featurePlan)}`));
  } else if (advancedSecurity !== "OFF" && featurePlan !== "PLUS") {
    // Cognito refuses the pool otherwise: threat protection is a feature of the Plus plan.
    problems.push(
      problem(
        "advancedSecurity",
        (n) =>
          `${n("advancedSecurity")} ${advancedSecurity} needs ${n("featurePlan")} PLUS (threat protection is a Plus feature); got ${featurePlan}`,
      ),
    );
  }
  const minimumPasswordLength = integerSetting(
    "minimumPasswordLength",
    a.minimumPasswordLength ?? d.minimumPasswordLength,
    [12, 99],
    d.minimumPasswordLength,
    problems,
  );
  return { mfa, deletionProtection, advancedSecurity, featurePlan, minimumPasswordLength };
}

/** Token lifetimes, each in Cognito's range; a refresh token must outlive the tokens it renews. */
function checkTokenLifetimes(
  a: Partial<UserDirectoryArgs>,
  problems: Problem[],
): Pick<CheckedUserDirectoryArgs, "accessTokenValidityMinutes" | "idTokenValidityMinutes" | "refreshTokenValidityDays"> {
  const d = USER_DIRECTORY_DEFAULTS;
  const accessTokenValidityMinutes = a.accessTokenValidityMinutes ?? d.accessTokenValidityMinutes;
  integerSetting("accessTokenValidityMinutes", accessTokenValidityMinutes, [5, 1440], d.accessTokenValidityMinutes, problems);
  const idTokenValidityMinutes = a.idTokenValidityMinutes ?? d.idTokenValidityMinutes;
  integerSetting("idTokenValidityMinutes", idTokenValidityMinutes, [5, 1440], d.idTokenValidityMinutes, problems);
  const refreshTokenValidityDays = a.refreshTokenValidityDays ?? d.refreshTokenValidityDays;
  if (!isIntegerInRange(refreshTokenValidityDays, 1, 3650)) {
    integerSetting("refreshTokenValidityDays", refreshTokenValidityDays, [1, 3650], d.refreshTokenValidityDays, problems);
  } else if (refreshTokenValidityDays * 1440 <= Math.max(accessTokenValidityMinutes, idTokenValidityMinutes)) {
    problems.push(problemAt("refreshTokenValidityDays", "must outlast the access and ID tokens"));
  }
  return { accessTokenValidityMinutes, idTokenValidityMinutes, refreshTokenValidityDays };
}
