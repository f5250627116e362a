/**
 * The claim request's body: `{"thingName": "<name>"}` as JSON, nothing else. Every way it can be wrong is a
 * named refusal the caller reads in a 400 answer; a name never reaches IoT or the table unless it matches the
 * configured pattern and IoT's own rule for thing names.
 */
import { type JsonApiRequest } from "../shared/http-api-event";
import { isAcceptableThingName } from "../shared/provisioning-parameters";

/** Bodies longer than this are refused unread: the one field fits in far less. */
export const MAX_BODY_BYTES = 4_096;

export type BodyCheck = { ok: true; thingName: string } | { ok: false; description: string };

function isJsonRequest(request: JsonApiRequest): boolean {
  const type = (request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json";
}

/** The thing name the installer entered, or what is wrong with the request. */
export function readClaimRequest(request: JsonApiRequest, thingNamePattern: RegExp, patternSource: string): BodyCheck {
  if (!isJsonRequest(request)) return { ok: false, description: "the body must be application/json" };
  if (Buffer.byteLength(request.body, "utf8") > MAX_BODY_BYTES)
    return { ok: false, description: `the body must be at most ${MAX_BODY_BYTES} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    return { ok: false, description: "the body is not valid JSON" };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { ok: false, description: 'the body must be a JSON object such as {"thingName": "…"}' };
  }
  const body = parsed as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => k !== "thingName");
  if (unknown.length > 0) return { ok: false, description: "only thingName may be sent" };
  if (body.thingName === undefined) return { ok: false, description: "thingName is required" };
  if (!isAcceptableThingName(body.thingName, thingNamePattern)) {
    return { ok: false, description: `thingName must match ${patternSource} (and IoT's rule for thing names: 1-128 of A-Z a-z 0-9 : _ -)` };
  }
  return { ok: true, thingName: body.thingName };
}
