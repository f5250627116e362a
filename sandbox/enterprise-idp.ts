/**
 * The enterprise IdP stand-in: one HTTP server with one node-oidc-provider per issuer it stands in for, each
 * mounted at its issuer's path (`http://127.0.0.1:8082/openam/oauth2` for the dev stack's OpenAM issuer), so
 * that the endpoints keep OpenAM's names (`…/device/code`, `…/access_token`, `…/device`). Every issuer shares
 * the server's users (one realm, whose test user the banner prints), its shared secret, its RSA key and its
 * store (enterprise-idp-store.ts); how each issuer signs its tokens is its profile's (enterprise-idp-provider.ts).
 *
 * `startEnterpriseIdp` listens, builds the providers and resolves with each issuer's endpoints and client;
 * `stop()` closes every connection. Unknown paths get a JSON 404; a failure inside oidc-provider is its own
 * protocol answer, and is logged without the request's secrets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type KeyObject } from "node:crypto";
import { closeServer, listen, urlHost } from "./servers";
import { createProvider, type IdpAccount, type IdpProfile } from "./enterprise-idp-provider";
import { IdpAccounts, InteractionRoutes } from "./enterprise-idp-interactions";
import { type IdpStore } from "./enterprise-idp-store";

export { type IdpAccount, type IdpProfile } from "./enterprise-idp-provider";

/** The secrets the IdP signs and authenticates with (enterprise-idp-files.ts makes and keeps them). */
export interface IdpKeys {
  sharedSecret: KeyObject;
  clientSecret: string;
  signingJwk: Record<string, unknown>;
  cookieKeys: string[];
}

export interface EnterpriseIdpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  profiles: IdpProfile[];
  keys: IdpKeys;
  store: IdpStore;
  users: IdpAccount[];
  /** One hour by default, as OpenAM's default access token lifetime. */
  accessTokenLifetimeSeconds?: number;
  deviceCodeLifetimeSeconds?: number;
  /** The `interval` its device authorization answers carry; 5 s (RFC 8628's default) unless given. */
  pollingIntervalSeconds?: number;
  log?: (level: string, fields: Record<string, unknown>) => void;
}

/** One issuer as a device (and sandbox.json) needs it. */
export interface IdpIssuer {
  key: string;
  issuer: string;
  algorithm: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  verificationUri: string;
  jwksUri: string;
}

export interface EnterpriseIdp {
  /** The server's base URL, no trailing slash. */
  url: string;
  port: number;
  issuers: IdpIssuer[];
  /** Adds a user to the realm (the tests' second user, a `sub` another IdP also has). */
  addUser(account: IdpAccount): void;
  stop(): Promise<void>;
}

export const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
export const DEFAULT_DEVICE_CODE_LIFETIME_SECONDS = 600;

interface Mounted {
  path: string;
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  interactions: InteractionRoutes;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify({ error: "not_found" }));
}

/** Routes a request to the provider whose issuer path starts it, stripped of that path (oidc-provider reads it back from `originalUrl`). */
function route(mounted: Mounted[], log: NonNullable<EnterpriseIdpOptions["log"]>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const pathname = url.split("?")[0];
    const target = mounted.find((m) => pathname === m.path || pathname.startsWith(`${m.path}/`));
    if (!target) return notFound(res);
    const rest = url.slice(target.path.length) || "/";
    target.interactions
      .handle(req, res, rest.split("?")[0])
      .then((handled) => {
        if (handled) return;
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
        req.url = rest;
        target.callback(req, res);
      })
      .catch((err: unknown) => {
        log("error", { message: "interaction failed", error: (err as Error)?.name ?? typeof err });
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "server_error" }));
      });
  };
}

export async function startEnterpriseIdp(options: EnterpriseIdpOptions): Promise<EnterpriseIdp> {
  const log = options.log ?? (() => undefined);
  const accounts = new IdpAccounts();
  for (const user of options.users) accounts.add(user);
  const mounted: Mounted[] = [];
  const server = createServer(route(mounted, log));
  const port = await listen(server, options.port, options.host);
  const url = `http://${urlHost(options.host)}:${port}`;
  try {
    const issuers = options.profiles.map((profile) => {
      const issuer = `${url}${profile.path}`;
      const provider = createProvider(
        profile,
        {
          issuer,
          clientSecret: options.keys.clientSecret,
          sharedSecret: options.keys.sharedSecret,
          signingJwk: options.keys.signingJwk,
          cookieKeys: options.keys.cookieKeys,
          adapter: options.store.adapterFactory(profile.key),
          findAccount: (sub) => accounts.findBySub(sub),
          accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
          deviceCodeLifetimeSeconds: options.deviceCodeLifetimeSeconds ?? DEFAULT_DEVICE_CODE_LIFETIME_SECONDS,
          pollingIntervalSeconds: options.pollingIntervalSeconds ?? 5,
          interactionPath: (uid) => `${profile.path}/interaction/${uid}`,
        },
        (err) => log("error", { message: "oidc-provider server error", issuer: profile.key, error: (err as Error)?.name ?? typeof err }),
      );
      mounted.push({
        path: profile.path,
        callback: provider.callback(),
        interactions: new InteractionRoutes(provider, profile.path, url, accounts),
      });
      return {
        key: profile.key,
        issuer,
        algorithm: profile.algorithm,
        clientId: profile.clientId,
        clientSecret: options.keys.clientSecret,
        scopes: profile.scopes,
        deviceAuthorizationEndpoint: `${issuer}/device/code`,
        tokenEndpoint: `${issuer}/access_token`,
        verificationUri: `${issuer}/device`,
        jwksUri: `${issuer}/jwks`,
      };
    });
    // The longest path first, so that `/a/b` is not served by `/a`.
    mounted.sort((a, b) => b.path.length - a.path.length);
    return {
      url,
      port,
      issuers,
      addUser: (account) => accounts.add(account),
      stop: async () => {
        await closeServer(server);
        await options.store.flush();
      },
    };
  } catch (err) {
    await closeServer(server);
    throw err;
  }
}
