/**
 * What the client's HTTP calls (the OAuth endpoints and IoT's HTTPS publish) share: one timeout, so a
 * silent server cannot hang a device, and the wording of a network failure, which fetch hides.
 */

export const HTTP_TIMEOUT_MS = 30_000;

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a TLS error…). */
export function networkReason(err: unknown): string {
  const e = err as { message?: string; name?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return "no answer within 30 s";
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? "failed"}: ${cause}` : (e.message ?? String(err));
}
