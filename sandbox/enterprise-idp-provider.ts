/**
 * One issuer of the enterprise IdP stand-in: a node-oidc-provider configured the way the OpenAM walkthrough
 * ("AWS IoT & ForgeRock OpenAM Device OAuth 2.0 Flow") configures OpenAM's OAuth2 provider:
 *
 * - the device flow on, at OpenAM's endpoint names: `<issuer>/device/code` (device authorization) and
 *   `<issuer>/access_token` (token), the user's pages at `<issuer>/device`;
 * - one confidential client (`deviceagent` in the walkthrough; the client id the stack's issuer pins), allowed the device
 *   code and refresh token grants, authenticating with its secret in the form (as the walkthrough's curl does)
 *   or with HTTP Basic;
 * - stateless JWT access tokens, signed HS256 with the base64 shared secret (or RS256 with the IdP's key, for an
 *   RS issuer of the stack), carrying OpenAM's claims: `aud` = the client id, `scope` as a JSON array, `sub` =
 *   the user's id; a refresh token with every access token;
 * - the device authorization answer's `interval`: the stack's `pollingIntervalSeconds` (OpenAM answers its own);
 * - the walkthrough's token request, `grant_type=http://oauth.net/grant_type/device/1.0` with `code=<device
 *   code>` (OpenAM 13.5 implemented a draft of the device flow), accepted as another name for RFC 8628's grant.
 *
 * How the HS256 access token is produced: with oidc-provider's resource indicators (RFC 8707), the supported
 * way to get JWT access tokens. Every request gets one default resource (`urn:iot-enterprise-auth:iot`, the IoT
 * gateway), whose resource server says: format `jwt`, audience the requesting client's id, signing
 * `{ alg: "HS256", key: <the shared secret> }` (oidc-provider signs HS* with a symmetric key given here,
 * RS* with its own key set, published at `<issuer>/jwks`). A formats customizer then only reshapes the
 * payload into OpenAM's: `scope` as an array, no `client_id` (OpenAM puts none in), header `typ: JWT`.
 * Signing in the customizer instead would bypass the library's own key handling for nothing.
 */
import { type KeyObject } from "node:crypto";
import { deviceCodeGrantHandler, inMainRealm, loadProvider, oidcErrors, type OidcContext, type OidcProvider } from "./oidc-provider-module";
import { errorPage, PAGE_HEADERS, successPage, userCodeConfirmPage, userCodeInputPage } from "./enterprise-idp-pages";
import { type IdpAdapter } from "./enterprise-idp-store";

/** RFC 8628's grant type, and the draft's that OpenAM 13.5 took (the walkthrough's token request). */
export const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
export const DRAFT_DEVICE_GRANT_TYPE = "http://oauth.net/grant_type/device/1.0";
/** The one resource every token is for: the IoT gateway (RFC 8707 resource indicator). */
export const IOT_RESOURCE = "urn:iot-enterprise-auth:iot";

/** How one issuer of the stack is stood in for. */
export interface IdpProfile {
  /** Its name in sandbox.json and on the command line: `enterprise`, `enterprise2`, … */
  key: string;
  /** Where its issuer lives on the IdP's server, e.g. `/openam/oauth2`. */
  path: string;
  /** The signing algorithm of its access tokens: HS256/384/512 (shared secret) or RS256/384/512 (the IdP's key). */
  algorithm: string;
  /** The device client's id, which is also the tokens' `aud`. */
  clientId: string;
  /** Scopes the client may ask for (besides `openid` and `offline_access`). */
  scopes: string[];
  /** Claims the stack's issuer checks beyond `aud`: `token_use`, `client_id` (kept when pinned), another principal claim. */
  tokenUse?: string;
  keepClientId?: boolean;
  /** The stack's `principalClaim` when it is not `sub`: the user's id goes there too. */
  principalClaim?: string;
}

/** One user of the IdP: `sub` is the user's id in the realm (OpenAM puts it in `sub`). */
export interface IdpAccount {
  username: string;
  password: string;
  sub: string;
}

export interface ProviderParts {
  issuer: string;
  clientSecret: string;
  /** The decoded shared secret (HS profiles). */
  sharedSecret: KeyObject;
  /** The IdP's RSA signing key as a private JWK with `kid`: ID tokens, and access tokens of RS profiles. */
  signingJwk: Record<string, unknown>;
  cookieKeys: string[];
  adapter: (model: string) => IdpAdapter;
  findAccount: (sub: string) => IdpAccount | undefined;
  accessTokenLifetimeSeconds: number;
  deviceCodeLifetimeSeconds: number;
  /** The `interval` of its device authorization answers (oidc-provider sends none; OpenAM sends its own). */
  pollingIntervalSeconds: number;
  /** Where interactions (sign-in, consent) are served, e.g. `/openam/oauth2/interaction/<uid>`. */
  interactionPath: (uid: string) => string;
}

export const REFRESH_TOKEN_LIFETIME_SECONDS = 14 * 24 * 3600;

type Ctx = { oidc: { client?: { clientId: string; clientName?: string } }; set(name: string, value: string): void; body: unknown };

function render(ctx: Ctx, html: string): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.body = html;
}

/** The device flow's pages (oidc-provider renders them with its forms and CSRF tokens). */
function deviceFlowPages() {
  return {
    userCodeInputSource: async (ctx: Ctx, form: string, _out: unknown, err?: { name?: string; userCode?: unknown }) => {
      const problem = !err
        ? undefined
        : err.userCode || err.name === "NoCodeError"
          ? "wrong-code"
          : err.name === "AbortedError"
            ? "aborted"
            : "other";
      render(ctx, userCodeInputPage(form, problem));
    },
    userCodeConfirmSource: async (
      ctx: Ctx,
      form: string,
      client: { clientId: string; clientName?: string },
      _info: unknown,
      userCode: string,
    ) => render(ctx, userCodeConfirmPage(form, client.clientName ?? client.clientId, userCode)),
    successSource: async (ctx: Ctx) => render(ctx, successPage(ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? "The device")),
  };
}

/** The access token's resource server: JWT, `aud` = the client, signed as the profile says. */
function resourceServer(profile: IdpProfile, parts: ProviderParts) {
  const hmac = profile.algorithm.startsWith("HS");
  return {
    enabled: true,
    defaultResource: async () => IOT_RESOURCE,
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx: unknown, _resource: string, client: { clientId: string }) =>
      inMainRealm({
        scope: profile.scopes.join(" "),
        audience: client.clientId,
        accessTokenFormat: "jwt",
        accessTokenTTL: parts.accessTokenLifetimeSeconds,
        jwt: { sign: hmac ? { alg: profile.algorithm, key: parts.sharedSecret } : { alg: profile.algorithm } },
      }),
  };
}

/** The payload as OpenAM shapes it (see the header). */
function openAmClaims(profile: IdpProfile) {
  return async (_ctx: unknown, _token: unknown, jwt: { header?: Record<string, unknown>; payload: Record<string, unknown> }) => {
    const { scope } = jwt.payload;
    jwt.payload.scope = inMainRealm(typeof scope === "string" ? scope.split(" ").filter((s) => s !== "") : []);
    if (!profile.keepClientId) delete jwt.payload.client_id;
    if (profile.tokenUse !== undefined) jwt.payload.token_use = profile.tokenUse;
    if (profile.principalClaim !== undefined) jwt.payload[profile.principalClaim] = jwt.payload.sub;
    jwt.payload.tokenName = "access_token";
    jwt.payload.token_type = "Bearer";
    jwt.header = inMainRealm({ typ: "JWT" });
  };
}

/** The oidc-provider configuration of one profile. */
function configuration(profile: IdpProfile, parts: ProviderParts): Record<string, unknown> {
  const ttl = parts.accessTokenLifetimeSeconds;
  return {
    adapter: parts.adapter,
    clients: [
      {
        client_id: profile.clientId,
        client_secret: parts.clientSecret,
        client_name: profile.clientId,
        grant_types: [DEVICE_CODE_GRANT_TYPE, DRAFT_DEVICE_GRANT_TYPE, "refresh_token"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    jwks: { keys: [parts.signingJwk] },
    // Each issuer has its own cookies (they share a host): signing in at one is not signing in at another.
    cookies: {
      keys: parts.cookieKeys,
      names: {
        session: `_session_${profile.key}`,
        interaction: `_interaction_${profile.key}`,
        resume: `_interaction_resume_${profile.key}`,
      },
    },
    scopes: ["openid", "offline_access"],
    claims: { openid: ["sub"] },
    findAccount: async (_ctx: unknown, sub: string) =>
      parts.findAccount(sub) ? inMainRealm({ accountId: sub, claims: async () => inMainRealm({ sub }) }) : undefined,
    routes: { device_authorization: "/device/code", token: "/access_token", code_verification: "/device", jwks: "/jwks" },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true, ...deviceFlowPages() },
      // A client revokes its own tokens only.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      resourceIndicators: resourceServer(profile, parts),
    },
    formats: { customizers: { jwt: openAmClaims(profile) } },
    // OpenAM hands out a refresh token with every access token, whatever the scopes; it lives on its own.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    rotateRefreshToken: () => false,
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => parts.interactionPath(interaction.uid) },
    renderError: async (ctx: Ctx, out: { error?: unknown; error_description?: unknown }) => render(ctx, errorPage(out)),
    clientBasedCORS: () => false,
    pkce: { required: () => false },
    ttl: {
      AccessToken: ttl,
      DeviceCode: parts.deviceCodeLifetimeSeconds,
      IdToken: ttl,
      RefreshToken: REFRESH_TOKEN_LIFETIME_SECONDS,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: REFRESH_TOKEN_LIFETIME_SECONDS,
    },
  };
}

/** A provider for one profile, at `parts.issuer`, with the draft grant type registered beside RFC 8628's. */
export function createProvider(profile: IdpProfile, parts: ProviderParts, onError: (err: unknown) => void): OidcProvider {
  const Provider = loadProvider();
  const { InvalidRequest } = oidcErrors();
  const provider = new Provider(parts.issuer, inMainRealm(configuration(profile, parts)));
  // The draft request carries the device code as `code`; the rest (client authentication, pending, expiry,
  // one-time use) is RFC 8628's handler, unchanged. Only clients allowed the draft grant type may use it.
  const deviceCode = deviceCodeGrantHandler(provider);
  provider.registerGrantType(
    DRAFT_DEVICE_GRANT_TYPE,
    async (ctx: OidcContext) => {
      if (typeof ctx.oidc.params.code !== "string" || ctx.oidc.params.code === "")
        throw new InvalidRequest("missing required parameter 'code'");
      ctx.oidc.params.device_code = ctx.oidc.params.code;
      await deviceCode(ctx);
    },
    ["code", "resource"],
    ["resource"],
  );
  provider.on("server_error", (_ctx, err) => onError(err));
  // RFC 8628 §3.2's `interval`, which clients otherwise take to be 5 s.
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.oidc?.route === "device_authorization" && ctx.status === 200 && body) body.interval = parts.pollingIntervalSeconds;
  });
  return provider;
}
