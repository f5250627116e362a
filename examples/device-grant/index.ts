/**
 * Composing `UserDirectory` and `DeviceGrant` in your own program: a TV and a printer sign their users in with
 * the OAuth 2.0 device authorization grant (RFC 8628). The user approves on a phone after signing in to a
 * Cognito user pool; the device receives the pool's tokens.
 *
 * Settings (`pulumi config set …`): `aws:region`, and optionally `verificationDomain` with `certificateArn`.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeviceGrant, UserDirectory } from "../../infra";

const config = new pulumi.Config();
const verificationDomain = config.get("verificationDomain") || undefined;
const certificateArn = config.get("certificateArn") || undefined;

// The app clients must know the device grant's /callback, and the device grant must know the clients: the
// callback URL depends only on the API (or the domain), so it is handed over through a deferred output.
const [callbackUrl, resolveCallbackUrl] = pulumi.deferredOutput<string>();

const users = new UserDirectory("users", {
  callbackUrls: [callbackUrl],
  clients: [
    { key: "tv", name: "Living-room TV" },
    { key: "printer", name: "Office printer", type: "confidential", scopes: ["iot/device"] },
  ],
  mfa: "OPTIONAL",
});

const grant = new DeviceGrant("devices", {
  clients: users.settings.clients.map((c) => ({
    clientId: users.clientIds.apply((ids) => ids[c.key]),
    name: c.name,
    type: c.type,
    scopes: c.scopes,
    ...(c.type === "confidential" && { clientSecret: pulumi.secret(users.clientSecrets.apply((s) => s[c.key])) }),
  })),
  upstream: {
    issuer: users.issuer,
    authorizationEndpoint: users.authorizationEndpoint,
    tokenEndpoint: users.tokenEndpoint,
    jwksUri: users.jwksUri,
  },
  // The AWS device-grant sample's knobs; unset ones keep their defaults (8-consonant user codes, 30-minute codes, 5 s polling).
  settings: { resultTokenSet: ["ACCESS", "REFRESH"], codeExpirySeconds: 600 },
  customDomain: verificationDomain && certificateArn ? { domainName: verificationDomain, certificateArn } : undefined,
  tags: { application: "device-sign-in" },
});
resolveCallbackUrl(grant.callbackUrl);

export const deviceAuthorizationEndpoint = grant.deviceAuthorizationEndpoint;
export const tokenEndpoint = grant.tokenEndpoint;
export const verificationUri = grant.verificationUri;
export const metadataUrl = grant.metadataUrl;
export const issuer = users.issuer;
export const clientIds = users.clientIds;
/** `pulumi stack output --show-secrets clientSecrets`. */
export const clientSecrets = users.clientSecrets;
export const dnsTarget = grant.customDomainTarget;
