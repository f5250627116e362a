/**
 * What stands in, while arguments are checked at preview, for values known only once resources exist: an issuer
 * URL that a user pool will have, an app client's id, a secret that is an output. The checks then still run whole
 * (prefixes compared, algorithms matched, every problem listed), and the real values are checked again once known.
 *
 * Every stand-in lives under the `.invalid` top-level domain (RFC 2606) or says `pending`, so one that somehow
 * stayed in a deployed configuration would trust nothing and reach nothing.
 */

import { cognitoJwksUri } from "../functions/shared/oauth";

/** An issuer's `iss` until its real value is known; `tag` tells stand-ins apart (an index, a client key). */
export function standInIssuer(tag: string): string {
  return `https://${tag}.pending.invalid`;
}

/** The JWKS URI of `standInIssuer(tag)`. */
export function standInJwksUri(tag: string): string {
  return cognitoJwksUri(standInIssuer(tag));
}

/** An endpoint of a stand-in service, e.g. `standInUrl("user-pool", "/oauth2/token")`. */
export function standInUrl(tag: string, path: string): string {
  return `${standInIssuer(tag)}${path}`;
}

/** A client id not known yet: printable, no spaces, so the client checks accept its shape. */
export function standInClientId(tag: string): string {
  return `pending-${tag}`;
}

/** A secret not known yet, or not readable at preview: 64 zero bytes in base64, long enough for any HMAC algorithm. */
export const STAND_IN_SECRET = Buffer.alloc(64).toString("base64");
