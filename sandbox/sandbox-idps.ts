/**
 * Every issuer the sandbox's authorizer trusts, as the stack lists them: the stack's `issuers`, each stood in for
 * by the local enterprise IdP (started here when the stack has any; stack-issuers.ts says how), and the device
 * grant's user pool (cognito-local, started by the device grant chain). For each, what a device and a person need:
 * its device flow endpoints, its client, its test user, and the principal id and topics that user gets, which
 * `sandbox.json` lists under `idps` and the banner prints (`formatIdpLines`).
 *
 * The enterprise IdP's test user is `demo` (OpenAM's demonstration user), with a new password at every start,
 * printed as the pool's test user's is; the client secret is kept in the owner-only `sandbox.json`, never
 * printed.
 */
import { randomBytes } from "node:crypto";
import { type GrantRule, type IssuerConfig } from "../functions/authorizer/config";
import { principalIdFor } from "../functions/authorizer/principal";
import { resourcesFor } from "./banner";
import { type DeviceGrantChain } from "./device-grant-chain";
import { type EnterpriseIdp, type IdpIssuer, startEnterpriseIdp } from "./enterprise-idp";
import { idpSecrets, idpState } from "./enterprise-idp-files";
import { IdpStore } from "./enterprise-idp-store";
import { type SandboxSettings } from "./settings";
import { idpProfiles, sharedSecretBytes, standInIssuers } from "./stack-issuers";

/** OpenAM's demonstration user, the enterprise IdP's test user. */
export const ENTERPRISE_TEST_USERNAME = "demo";

/** One trusted issuer, as `sandbox.json` (`idps.<key>`) and the banner describe it. */
export interface IdpDescription {
  /** `enterprise` (the stack's first issuer), `enterprise2`, …, and `cognito` (the device grant's user pool). */
  key: string;
  /** What it is, in words. */
  name: string;
  issuer: string;
  /** The stack's issuer this one stands in for. */
  standsInFor?: string;
  algorithm: string;
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  /** Where people enter a device's code. */
  verificationUri: string;
  jwksUri?: string;
  clientId: string;
  /** The enterprise IdP's confidential client's secret (sandbox.json only: it is owner-only). */
  clientSecret?: string;
  scope: string;
  username: string;
  password: string;
  principalPrefix: string;
  principalId: string;
  topics: { connect: string[]; publishReceive: string[]; subscribe: string[] };
  /** The HMAC shared secret's file, with a data directory (HS issuers). */
  sharedSecretFile?: string;
}

/** The enterprise IdP as the sandbox runs it. */
export interface SandboxEnterpriseIdp {
  idp: EnterpriseIdp;
  /** One per stack issuer, in the stack's order. */
  issuers: IdpIssuer[];
  /** The base64 shared secret the HS issuers sign with (the stack's `sharedSecret`, stood in for). */
  sharedSecret: string;
  sharedSecretFile?: string;
  /** The test user; its principal id is the first issuer's (`principalPrefix` + `demo`). */
  user: { username: string; password: string; sub: string; principalId: string };
}

export interface SandboxIdps {
  enterprise?: SandboxEnterpriseIdp;
  /** The authorizer's issuers for the stack's, stand-ins substituted (the pool's comes after them). */
  authorizerIssuers: IssuerConfig[];
  stop(): Promise<void>;
}

export interface IdpPlacement {
  host: string;
  /** The port asked for; with a data directory and none asked, the last start's; otherwise any free one. */
  port?: number | undefined;
  /** The sandbox's data directory, when it has one. */
  dataDir?: string | undefined;
  accessTokenLifetimeSeconds?: number | undefined;
  log: (level: string, fields: Record<string, unknown>) => void;
}

/** Starts the enterprise IdP for the stack's issuers (none: nothing to start). */
export async function startSandboxIdps(settings: SandboxSettings, at: IdpPlacement): Promise<SandboxIdps> {
  if (settings.issuers.length === 0) return { authorizerIssuers: [], stop: async () => undefined };
  const secrets = await idpSecrets(at.dataDir, sharedSecretBytes(settings.issuers));
  const state = at.dataDir !== undefined ? await idpState(at.dataDir) : undefined;
  const store = await IdpStore.open(state ? { file: state.storeFile } : {});
  const password = randomBytes(12).toString("base64url");
  const user = { username: ENTERPRISE_TEST_USERNAME, password, sub: ENTERPRISE_TEST_USERNAME };
  const idp = await startEnterpriseIdp({
    host: at.host,
    port: at.port ?? state?.port ?? 0,
    profiles: idpProfiles(settings.issuers, settings.authorizer.grants),
    keys: secrets,
    store,
    users: [user],
    pollingIntervalSeconds: settings.deviceGrant.pollingIntervalSeconds,
    ...(at.accessTokenLifetimeSeconds !== undefined && { accessTokenLifetimeSeconds: at.accessTokenLifetimeSeconds }),
    log: at.log,
  });
  await state?.remember(idp.port);
  return {
    enterprise: {
      idp,
      issuers: idp.issuers,
      sharedSecret: secrets.sharedSecretBase64,
      ...(secrets.sharedSecretFile !== undefined && { sharedSecretFile: secrets.sharedSecretFile }),
      user: { ...user, principalId: principalIdFor(user.sub, settings.issuers[0].principalPrefix ?? "") },
    },
    authorizerIssuers: standInIssuers(settings.issuers, idp.issuers, secrets.sharedSecretBase64),
    stop: () => idp.stop(),
  };
}

function topicsFor(grants: GrantRule[], principalId: string): IdpDescription["topics"] {
  return {
    connect: resourcesFor(grants, "iot:Connect", principalId),
    publishReceive: resourcesFor(grants, "iot:Publish", principalId),
    subscribe: resourcesFor(grants, "iot:Subscribe", principalId),
  };
}

/** What the device grant's user pool looks like from a device: the chain's facts and this start's password. */
export interface PoolFacts {
  chain: Pick<DeviceGrantChain, "url" | "endpoints" | "clients" | "user">;
  password: string;
}

/** Every trusted issuer, the stack's first and the pool last, as `sandbox.json` lists them. */
export function describeIdps(settings: SandboxSettings, enterprise: SandboxEnterpriseIdp | undefined, pool: PoolFacts): IdpDescription[] {
  const { grants } = settings.authorizer;
  const stacked = (enterprise?.issuers ?? []).map((issuer, i): IdpDescription => {
    const stack = settings.issuers[i];
    const principalPrefix = stack.principalPrefix ?? "";
    const principalId = principalIdFor(enterprise?.user.sub ?? "", principalPrefix);
    return {
      key: issuer.key,
      name: "enterprise IdP (OpenAM stand-in, node-oidc-provider)",
      issuer: issuer.issuer,
      standsInFor: stack.issuer,
      algorithm: issuer.algorithm,
      deviceAuthorizationEndpoint: issuer.deviceAuthorizationEndpoint,
      tokenEndpoint: issuer.tokenEndpoint,
      verificationUri: issuer.verificationUri,
      jwksUri: issuer.jwksUri,
      clientId: issuer.clientId,
      clientSecret: issuer.clientSecret,
      scope: issuer.scopes.join(" "),
      username: enterprise?.user.username ?? "",
      password: enterprise?.user.password ?? "",
      principalPrefix,
      principalId,
      topics: topicsFor(grants, principalId),
      ...(issuer.algorithm.startsWith("HS") &&
        enterprise?.sharedSecretFile !== undefined && { sharedSecretFile: enterprise.sharedSecretFile }),
    };
  });
  const { chain, password } = pool;
  const poolPrincipal = principalIdFor(chain.user.sub, settings.principalPrefix);
  return [
    ...stacked,
    {
      key: "cognito",
      name: "the device grant's user pool (cognito-local)",
      issuer: chain.endpoints.issuer,
      algorithm: "RS256",
      deviceAuthorizationEndpoint: `${chain.url}/oauth2/device_authorization`,
      tokenEndpoint: `${chain.url}/oauth2/token`,
      verificationUri: `${chain.url}/device`,
      clientId: chain.clients[0].clientId,
      scope: settings.deviceClient.scopes.join(" "),
      username: chain.user.username,
      password,
      principalPrefix: settings.principalPrefix,
      principalId: poolPrincipal,
      topics: topicsFor(grants, poolPrincipal),
    },
  ];
}
