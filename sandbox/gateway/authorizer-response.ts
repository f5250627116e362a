/**
 * IoT Core's checks of a custom authorizer's answer: anything IoT would reject (a bad principal id, too
 * many or too large policy documents, timers out of range) refuses the connection, exactly as an
 * `isAuthenticated: false` does. The authorizer under test must never depend on the gateway being lenient.
 */
import { type AuthorizerResponse } from "../../functions/authorizer/authorizer";
import { IOT_LIMITS } from "../../functions/authorizer/config";
import { PRINCIPAL_ID } from "../../functions/authorizer/principal";
import { type Refusal } from "./log";
import { type PolicyDocument } from "./policy";

/** What an accepted answer leaves a connection with: whose it is and the policies it is held to. */
export interface Session {
  principalId: string;
  policies: PolicyDocument[];
  /** Policy variables the connection brings besides `iot:ClientId` (a certificate's thing: certificate-auth.ts). */
  variables?: Readonly<Record<string, string>>;
  /** Condition keys the connection brings to every request, e.g. `iot:Connection.Thing.IsAttached`. */
  conditions?: Readonly<Record<string, readonly string[]>>;
}

/** An answer IoT accepts; its timers are in seconds. */
export interface Accepted {
  ok: true;
  session: Session;
  refreshAfter: number;
  disconnectAfter: number;
}

export type Decision = Accepted | { ok: false; reason: Refusal; principalId?: string; detail?: string };

function parseDocument(raw: unknown): PolicyDocument | undefined {
  let value = raw;
  if (typeof raw === "string") {
    if (raw.length > IOT_LIMITS.maxPolicyDocumentChars) return undefined;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  } else if (JSON.stringify(raw ?? null).length > IOT_LIMITS.maxPolicyDocumentChars) {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("Statement" in value)) return undefined;
  return value as PolicyDocument;
}

function validTimer(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= IOT_LIMITS.minTimerSeconds && value <= IOT_LIMITS.maxTimerSeconds;
}

export function checkResponse(response: unknown): Decision {
  const r = response as Partial<AuthorizerResponse> | null;
  if (typeof r !== "object" || r === null) return { ok: false, reason: "invalid-authorizer-response" };
  const principalId = typeof r.principalId === "string" && PRINCIPAL_ID.test(r.principalId) ? r.principalId : undefined;
  if (r.isAuthenticated !== true) return { ok: false, reason: "not-authenticated", principalId };
  if (principalId === undefined || !Array.isArray(r.policyDocuments) || r.policyDocuments.length > IOT_LIMITS.maxPolicyDocuments) {
    return { ok: false, reason: "invalid-authorizer-response", principalId };
  }
  const policies = r.policyDocuments.map(parseDocument);
  if (policies.some((p) => p === undefined) || !validTimer(r.refreshAfterInSeconds) || !validTimer(r.disconnectAfterInSeconds)) {
    return { ok: false, reason: "invalid-authorizer-response", principalId };
  }
  return {
    ok: true,
    session: { principalId, policies: policies as PolicyDocument[] },
    refreshAfter: r.refreshAfterInSeconds,
    disconnectAfter: r.disconnectAfterInSeconds,
  };
}
