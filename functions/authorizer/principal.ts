/**
 * IoT principal ids from a token's principal claim. The authorizer returns one with every allowed request,
 * and the device client derives the same one for its default MQTT client id, so both import it from here.
 * IoT wants 1–128 letters and digits; claims may be anything, so the mapping must stay injective.
 */
import { createHash } from "node:crypto";
import { IOT_LIMITS } from "./config";

/** What IoT accepts as a principal id: 1 to 128 letters and digits. */
export const PRINCIPAL_ID = /^[A-Za-z0-9]{1,128}$/;
/** The shape of a derived principal id's tail; a natural id of that shape is derived too, so ids never collide. */
const DERIVED_TAIL = /h[0-9a-f]{64}$/;
/** A canonical (lower-case) UUID, as Cognito and many IdPs give `sub`. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What a UUID becomes: `u` and its 32 hex digits. A natural id of this shape is derived instead. */
const UUID_FORM = /^u[0-9a-f]{32}$/;

/**
 * The IoT principal id for a principal claim value, always 1–128 letters and digits, and injective:
 *
 * - a canonical lower-case UUID (a Cognito `sub`) becomes `u` and its 32 hex digits, short enough to read in
 *   topic names;
 * - a value that is already 1–128 letters and digits is kept as it is, unless it has one of the two shapes
 *   below or above (then it is derived, so it can never pass for another value's id);
 * - anything else is derived: its letters and digits (for people reading logs), `h`, and the SHA-256 of the
 *   whole value in hex. Two different values derive different ids unless SHA-256 collides.
 *
 * `prefix` (alphanumeric, prefix-free across issuers) keeps issuers' namespaces apart.
 */
export function principalIdFor(value: string, prefix = ""): string {
  const room = IOT_LIMITS.maxPrincipalIdChars - prefix.length;
  if (value.length <= room && PRINCIPAL_ID.test(value)) {
    if (!UUID_FORM.test(value) && !(value.length >= 65 && DERIVED_TAIL.test(value))) return prefix + value;
  } else if (UUID.test(value)) {
    return `${prefix}u${value.replace(/-/g, "")}`;
  }
  const digest = createHash("sha256").update(value, "utf8").digest("hex");
  const readable = value.replace(/[^A-Za-z0-9]/g, "").slice(0, Math.max(0, room - 65));
  return `${prefix}${readable}h${digest}`;
}
