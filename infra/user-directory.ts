/**
 * `UserDirectory`: the Amazon Cognito user pool people sign in to when they approve a device (seed 003), with
 * its hosted UI, the IoT scopes, and one app client per kind of device. The device grant service
 * (`DeviceGrant`) sends the user's browser to this pool's authorization endpoint and exchanges the code with the
 * device's own client, so the tokens a device receives are this pool's, and the IoT authorizer trusts them.
 *
 * Over 400 lines as one concept, like `IotTokenAuthorizer`: the arguments, their checks, and the children they shape.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ConfigurationError } from "../functions/authorizer/config";

export type MfaMode = "OFF" | "OPTIONAL" | "ON";
export const MFA_MODES: readonly MfaMode[] = ["OFF", "OPTIONAL", "ON"];
export type AdvancedSecurityMode = "OFF" | "AUDIT" | "ENFORCED";

export const USER_DIRECTORY_DEFAULTS = {
  mfa: "OPTIONAL" as MfaMode,
  deletionProtection: true,
  advancedSecurity: "OFF" as AdvancedSecurityMode,
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
  description: string;
}

export interface UserDirectoryClient {
  /** Key of the client among this directory's clients: names the child resource and its outputs; never rename. */
  key: string;
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
   * digits and hyphens, unique in the region, not containing `aws`, `amazon` or `cognito`).
   */
  prefix?: string;
  /** Your own domain for the hosted UI instead, e.g. `login.example.com`; needs `certificateArn`. */
  customDomain?: string;
  /** ACM certificate for `customDomain`, in us-east-1 (Cognito serves custom domains through CloudFront). */
  certificateArn?: pulumi.Input<string>;
}

export interface UserDirectoryArgs {
  /** Where Cognito may send the authorization code: the device grant's `/callback` URL(s). At least one. */
  callbackUrls: pulumi.Input<string>[];
  /** The device app clients; at least one. */
  clients: UserDirectoryClient[];
  /** Hosted UI domain; default: the prefix `<name>-<stack>`. */
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
  /** Cognito threat protection (`OFF` by default; `AUDIT`/`ENFORCED` need the Plus feature plan and cost extra). */
  advancedSecurity?: AdvancedSecurityMode;
  /** Minimum password length (default 12, at least 12); every character class is always required. */
  minimumPasswordLength?: number;
  /** Access and ID token lifetime in minutes (default 60 each; 5 to 1440). */
  accessTokenValidityMinutes?: number;
  idTokenValidityMinutes?: number;
  /** Refresh token lifetime in days (default 30; 1 to 3650). */
  refreshTokenValidityDays?: number;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CLIENT_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const IDENTIFIER = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
const SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$/;
const STANDARD_SCOPES = ["openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"];

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

export interface CheckedUserDirectoryArgs {
  domainPrefix?: string;
  customDomain?: string;
  resourceServerIdentifier: string;
  scopes: UserDirectoryScope[];
  /** Client key → its checked registration (type and full scope names). */
  clients: { key: string; name: string; type: "public" | "confidential"; scopes: string[] }[];
  mfa: MfaMode;
  deletionProtection: boolean;
  advancedSecurity: AdvancedSecurityMode;
  minimumPasswordLength: number;
  accessTokenValidityMinutes: number;
  idTokenValidityMinutes: number;
  refreshTokenValidityDays: number;
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkUserDirectoryArgs(name: string, args: UserDirectoryArgs, stack: string): CheckedUserDirectoryArgs {
  const problems = userDirectoryProblems(name, args, stack);
  if (problems.problems.length > 0) throw new ConfigurationError(problems.problems, `UserDirectory "${name}" arguments`);
  return problems.checked;
}

/** The checks of `checkUserDirectoryArgs`, returning the problems instead of throwing (the stack lists them with others). */
export function userDirectoryProblems(
  name: string,
  args: UserDirectoryArgs,
  stack: string,
): { checked: CheckedUserDirectoryArgs; problems: string[] } {
  const problems: string[] = [];
  const a = (args ?? {}) as Partial<UserDirectoryArgs>;

  const domain = checkDomain(a.domain ?? {}, name, stack, problems);
  const { resourceServerIdentifier, scopes, resourceScopes } = checkResourceServer(a, problems);
  const clients = checkClients(a.clients, resourceScopes, problems);
  checkCallbackUrls(a.callbackUrls, problems);
  const pool = checkPoolSettings(a, problems);
  const lifetimes = checkTokenLifetimes(a, problems);

  return {
    problems,
    checked: { ...domain, resourceServerIdentifier, scopes, clients, ...pool, ...lifetimes },
  };
}

/** The hosted UI's one domain: a Cognito prefix (derived from the name and stack by default), or the caller's own. */
function checkDomain(
  domain: UserDirectoryDomainArgs,
  name: string,
  stack: string,
  problems: string[],
): Pick<CheckedUserDirectoryArgs, "domainPrefix" | "customDomain"> {
  let domainPrefix: string | undefined;
  let customDomain: string | undefined;
  if (domain.customDomain !== undefined) {
    customDomain = domain.customDomain;
    if (domain.prefix !== undefined) problems.push(`domain.prefix and domain.customDomain conflict: the hosted UI has one domain`);
    if (domain.certificateArn === undefined) problems.push(`domain.customDomain ${customDomain} needs domain.certificateArn (ACM, us-east-1)`);
  } else {
    if (domain.certificateArn !== undefined) problems.push(`domain.certificateArn is set without domain.customDomain`);
    domainPrefix = domain.prefix ?? `${name}-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    if (!DOMAIN_PREFIX.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix)) {
      problems.push(
        `domain.prefix ${JSON.stringify(domainPrefix)}${domain.prefix === undefined ? " (derived from the component name and stack)" : ""} ` +
          `must be 1-63 lowercase letters, digits or hyphens, not starting or ending with one, without aws, amazon or cognito`,
      );
    }
  }
  return { domainPrefix, customDomain };
}

/** The resource server and its IoT scopes; `resourceScopes` are their full names (`iot/device`), as clients request them. */
function checkResourceServer(
  a: Partial<UserDirectoryArgs>,
  problems: string[],
): { resourceServerIdentifier: string; scopes: UserDirectoryScope[]; resourceScopes: string[] } {
  const resourceServerIdentifier = a.resourceServerIdentifier ?? USER_DIRECTORY_DEFAULTS.resourceServerIdentifier;
  if (typeof resourceServerIdentifier !== "string" || !IDENTIFIER.test(resourceServerIdentifier)) {
    problems.push(`resourceServerIdentifier must be 1-256 printable characters without " or \\; got ${JSON.stringify(resourceServerIdentifier)}`);
  }
  const scopes = a.scopes ?? USER_DIRECTORY_DEFAULTS.scopes.map((s) => ({ ...s }));
  if (!Array.isArray(scopes) || scopes.length === 0) {
    problems.push(`scopes must list at least one IoT scope`);
  } else {
    const seen = new Set<string>();
    for (const [i, scope] of scopes.entries()) {
      if (typeof scope?.name !== "string" || !SCOPE_NAME.test(scope.name)) {
        problems.push(`scopes[${i}].name must be 1-256 printable characters without " \\ or /; got ${JSON.stringify(scope?.name)}`);
      } else if (seen.has(scope.name)) {
        problems.push(`scope ${scope.name} is listed more than once`);
      } else seen.add(scope.name);
      if (typeof scope?.description !== "string" || scope.description.length === 0 || scope.description.length > 256) {
        problems.push(`scopes[${i}].description must be 1-256 characters`);
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
  problems: string[],
): CheckedUserDirectoryArgs["clients"] {
  const knownScopes = new Set([...STANDARD_SCOPES, ...resourceScopes]);
  const clients: CheckedUserDirectoryArgs["clients"] = [];
  if (!Array.isArray(given) || given.length === 0) {
    problems.push(`clients must list at least one device app client`);
    return clients;
  }
  const keys = new Set<string>();
  for (const [i, client] of given.entries()) {
    const label = typeof client?.key === "string" && client.key ? `client ${client.key}` : `clients[${i}]`;
    if (typeof client?.key !== "string" || !CLIENT_KEY.test(client.key)) {
      problems.push(`${label}: key must be 1-64 letters, digits, _ or -`);
    } else if (keys.has(client.key)) {
      problems.push(`${label} is listed more than once`);
    } else keys.add(client.key);
    if (typeof client?.name !== "string" || client.name.length === 0 || client.name.length > 128) {
      problems.push(`${label}: name must be 1-128 characters`);
    }
    const type = client?.type ?? "public";
    if (type !== "public" && type !== "confidential") problems.push(`${label}: type must be public or confidential; got ${JSON.stringify(type)}`);
    const clientScopes = client?.scopes ?? ["openid", ...resourceScopes];
    if (!Array.isArray(clientScopes) || clientScopes.length === 0) {
      problems.push(`${label}: scopes must list at least one scope`);
    } else {
      const unknown = clientScopes.filter((s) => !knownScopes.has(s));
      if (unknown.length > 0) {
        problems.push(`${label}: unknown scope(s) ${unknown.join(", ")}; known: ${[...knownScopes].join(", ")}`);
      }
      if (!clientScopes.some((s) => resourceScopes.includes(s))) {
        problems.push(`${label}: scopes must include an IoT scope (${resourceScopes.join(", ")}), or its tokens open nothing`);
      }
    }
    clients.push({ key: client?.key, name: client?.name, type, scopes: Array.isArray(clientScopes) ? [...clientScopes] : [] });
  }
  return clients;
}

function checkCallbackUrls(callbackUrls: UserDirectoryArgs["callbackUrls"] | undefined, problems: string[]): void {
  if (!Array.isArray(callbackUrls) || callbackUrls.length === 0) problems.push(`callbackUrls must list the device grant's /callback URL`);
  for (const url of Array.isArray(callbackUrls) ? callbackUrls : []) {
    // Outputs are checked by Cognito itself; a literal one can be checked now.
    if (typeof url === "string" && !/^https:\/\//.test(url) && !/^http:\/\/localhost[:/]/.test(url)) {
      problems.push(`callback URL ${url} must use https (Cognito allows http for localhost only)`);
    }
  }
}

function checkPoolSettings(
  a: Partial<UserDirectoryArgs>,
  problems: string[],
): Pick<CheckedUserDirectoryArgs, "mfa" | "deletionProtection" | "advancedSecurity" | "minimumPasswordLength"> {
  const d = USER_DIRECTORY_DEFAULTS;
  const mfa = a.mfa ?? d.mfa;
  if (!MFA_MODES.includes(mfa)) problems.push(`mfa must be OFF, OPTIONAL or ON; got ${JSON.stringify(mfa)}`);
  const deletionProtection = a.deletionProtection ?? d.deletionProtection;
  if (typeof deletionProtection !== "boolean") problems.push(`deletionProtection must be true or false`);
  const advancedSecurity = a.advancedSecurity ?? d.advancedSecurity;
  if (!["OFF", "AUDIT", "ENFORCED"].includes(advancedSecurity)) {
    problems.push(`advancedSecurity must be OFF, AUDIT or ENFORCED; got ${JSON.stringify(advancedSecurity)}`);
  }
  const minimumPasswordLength = a.minimumPasswordLength ?? d.minimumPasswordLength;
  if (!isInteger(minimumPasswordLength, 12, 99)) {
    problems.push(`minimumPasswordLength must be an integer from 12 to 99; got ${JSON.stringify(minimumPasswordLength)}`);
  }
  return { mfa, deletionProtection, advancedSecurity, minimumPasswordLength };
}

/** Token lifetimes, each in Cognito's range; a refresh token must outlive the tokens it renews. */
function checkTokenLifetimes(
  a: Partial<UserDirectoryArgs>,
  problems: string[],
): Pick<CheckedUserDirectoryArgs, "accessTokenValidityMinutes" | "idTokenValidityMinutes" | "refreshTokenValidityDays"> {
  const d = USER_DIRECTORY_DEFAULTS;
  const accessTokenValidityMinutes = a.accessTokenValidityMinutes ?? d.accessTokenValidityMinutes;
  if (!isInteger(accessTokenValidityMinutes, 5, 1440)) {
    problems.push(`accessTokenValidityMinutes must be an integer from 5 to 1440; got ${JSON.stringify(accessTokenValidityMinutes)}`);
  }
  const idTokenValidityMinutes = a.idTokenValidityMinutes ?? d.idTokenValidityMinutes;
  if (!isInteger(idTokenValidityMinutes, 5, 1440)) {
    problems.push(`idTokenValidityMinutes must be an integer from 5 to 1440; got ${JSON.stringify(idTokenValidityMinutes)}`);
  }
  const refreshTokenValidityDays = a.refreshTokenValidityDays ?? d.refreshTokenValidityDays;
  if (!isInteger(refreshTokenValidityDays, 1, 3650)) {
    problems.push(`refreshTokenValidityDays must be an integer from 1 to 3650; got ${JSON.stringify(refreshTokenValidityDays)}`);
  } else if (refreshTokenValidityDays * 1440 <= Math.max(accessTokenValidityMinutes, idTokenValidityMinutes)) {
    problems.push(`refreshTokenValidityDays must outlast the access and ID tokens`);
  }
  return { accessTokenValidityMinutes, idTokenValidityMinutes, refreshTokenValidityDays };
}

/**
 * A Cognito user pool for the people who approve devices, with:
 *
 * - a strong password policy (at least 12 characters of every class), optional or required TOTP MFA, recovery by
 *   verified email only, sign-in by email, deletion protection on by default, and no self-service admin API scope;
 * - the hosted UI on a Cognito prefix domain or your own domain;
 * - a resource server `iot` with the IoT scopes that the authorizer's grants can require;
 * - one app client per kind of device: authorization code flow only, callback exactly the device grant's
 *   `/callback`, `preventUserExistenceErrors`, token revocation, explicit token lifetimes, refresh as the only
 *   direct auth flow. The device grant always sends PKCE S256, and a public client has no secret, so the code is
 *   useless without the verifier the service keeps.
 */
export class UserDirectory extends pulumi.ComponentResource {
  readonly userPoolId: pulumi.Output<string>;
  readonly userPoolArn: pulumi.Output<string>;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the `iss` of the pool's tokens. */
  readonly issuer: pulumi.Output<string>;
  readonly jwksUri: pulumi.Output<string>;
  /** Base URL of the hosted UI, e.g. `https://devices-prod.auth.eu-west-1.amazoncognito.com`. */
  readonly hostedUiUrl: pulumi.Output<string>;
  readonly authorizationEndpoint: pulumi.Output<string>;
  readonly tokenEndpoint: pulumi.Output<string>;
  /** Client key → client id. */
  readonly clientIds: pulumi.Output<Record<string, string>>;
  /** Client key → client secret, for confidential clients; secret. */
  readonly clientSecrets: pulumi.Output<Record<string, string>>;
  /** With a custom domain: the CloudFront distribution to point the domain's DNS alias at. */
  readonly cloudfrontDistribution: pulumi.Output<string | undefined>;
  /** The checked arguments, for composing programs (e.g. which clients are confidential). */
  readonly settings: CheckedUserDirectoryArgs;

  constructor(name: string, args: UserDirectoryArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkUserDirectoryArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:cognito:UserDirectory", name, {}, opts);
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;

    const pool = this.userPool(name, args, checked);
    const domain = new aws.cognito.UserPoolDomain(
      `${name}-domain`,
      checked.customDomain !== undefined
        ? { userPoolId: pool.id, domain: checked.customDomain, certificateArn: args.domain?.certificateArn }
        : { userPoolId: pool.id, domain: checked.domainPrefix as string },
      parent,
    );
    const resourceServer = new aws.cognito.ResourceServer(
      `${name}-resource-server`,
      {
        userPoolId: pool.id,
        identifier: checked.resourceServerIdentifier,
        name: checked.resourceServerIdentifier,
        scopes: checked.scopes.map((s) => ({ scopeName: s.name, scopeDescription: s.description })),
      },
      parent,
    );
    const clients = this.appClients(name, args, checked, pool, resourceServer);

    const hostedUiUrl =
      checked.customDomain !== undefined
        ? pulumi.output(`https://${checked.customDomain}`)
        : pulumi.interpolate`https://${domain.domain}.auth.${region}.amazoncognito.com`;

    this.settings = checked;
    this.userPoolId = pool.id;
    this.userPoolArn = pool.arn;
    this.issuer = pulumi.interpolate`https://${pool.endpoint}`;
    this.jwksUri = pulumi.interpolate`https://${pool.endpoint}/.well-known/jwks.json`;
    this.hostedUiUrl = hostedUiUrl;
    this.authorizationEndpoint = pulumi.interpolate`${hostedUiUrl}/oauth2/authorize`;
    this.tokenEndpoint = pulumi.interpolate`${hostedUiUrl}/oauth2/token`;
    this.clientIds = pulumi
      .all(clients.map((c) => c.id))
      .apply((ids) => Object.fromEntries(checked.clients.map((c, i) => [c.key, ids[i]])));
    const confidential = checked.clients.flatMap((c, i) => (c.type === "confidential" ? [{ key: c.key, client: clients[i] }] : []));
    this.clientSecrets = pulumi.secret(
      pulumi
        .all(confidential.map((c) => c.client.clientSecret))
        .apply((secrets) => Object.fromEntries(confidential.map((c, i) => [c.key, secrets[i]]))),
    );
    this.cloudfrontDistribution = checked.customDomain !== undefined ? domain.cloudfrontDistribution : pulumi.output(undefined);
    this.registerOutputs({
      userPoolId: this.userPoolId,
      userPoolArn: this.userPoolArn,
      issuer: this.issuer,
      jwksUri: this.jwksUri,
      hostedUiUrl: this.hostedUiUrl,
      authorizationEndpoint: this.authorizationEndpoint,
      tokenEndpoint: this.tokenEndpoint,
      clientIds: this.clientIds,
      clientSecrets: this.clientSecrets,
      cloudfrontDistribution: this.cloudfrontDistribution,
    });
  }

  private userPool(name: string, args: UserDirectoryArgs, checked: CheckedUserDirectoryArgs): aws.cognito.UserPool {
    return new aws.cognito.UserPool(
      `${name}-pool`,
      {
        name: `${name}-${pulumi.getStack()}`,
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        usernameConfiguration: { caseSensitive: false },
        passwordPolicy: {
          minimumLength: checked.minimumPasswordLength,
          requireLowercase: true,
          requireUppercase: true,
          requireNumbers: true,
          requireSymbols: true,
          temporaryPasswordValidityDays: 3,
        },
        mfaConfiguration: checked.mfa,
        // Cognito refuses a software token block with MFA off.
        softwareTokenMfaConfiguration: checked.mfa === "OFF" ? undefined : { enabled: true },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        // By default users are invited by an administrator; open sign-up is a decision to make explicitly.
        adminCreateUserConfig: { allowAdminCreateUserOnly: !(args.allowSelfSignUp ?? false) },
        deletionProtection: checked.deletionProtection ? "ACTIVE" : "INACTIVE",
        userPoolAddOns: checked.advancedSecurity === "OFF" ? undefined : { advancedSecurityMode: checked.advancedSecurity },
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /** One app client per kind of device, in `checked.clients` order. */
  private appClients(
    name: string,
    args: UserDirectoryArgs,
    checked: CheckedUserDirectoryArgs,
    pool: aws.cognito.UserPool,
    resourceServer: aws.cognito.ResourceServer,
  ): aws.cognito.UserPoolClient[] {
    return checked.clients.map(
      (client) =>
        new aws.cognito.UserPoolClient(
          `${name}-client-${client.key}`,
          {
            name: client.name,
            userPoolId: pool.id,
            generateSecret: client.type === "confidential",
            allowedOauthFlowsUserPoolClient: true,
            allowedOauthFlows: ["code"],
            allowedOauthScopes: client.scopes,
            callbackUrls: args.callbackUrls,
            supportedIdentityProviders: ["COGNITO"],
            // The hosted UI needs no direct auth flow; refreshing does.
            explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
            preventUserExistenceErrors: "ENABLED",
            enableTokenRevocation: true,
            accessTokenValidity: checked.accessTokenValidityMinutes,
            idTokenValidity: checked.idTokenValidityMinutes,
            refreshTokenValidity: checked.refreshTokenValidityDays,
            tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "days" },
          },
          // The client's scopes exist once the resource server does.
          { parent: this, dependsOn: [resourceServer] },
        ),
    );
  }
}
