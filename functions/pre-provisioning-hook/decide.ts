/**
 * The hook's decision, deny by default. IoT asks before it provisions anything; the answer is "allow" only
 * when every rule holds, in this order (docs/fleet-provisioning.md#the-hooks-rules):
 *
 * 1. the event is one IoT sends, for the expected template;
 * 2. the parameters are exactly the declared ones, each matching its pattern;
 * 3. the claim certificate is bound (or, only where configured, unbound), unexpired, unused, and bound to
 *    this thing name;
 * 4. the thing name is free in the registry;
 * 5. the claim is consumed with a conditional write (one claim, one device), and the thing name reserved the
 *    same way (one device per name, however many claims race for it).
 *
 * Every AWS call shares one deadline well inside IoT's 5 s. Pure of AWS: the store and the registry are ports.
 */
import { type ClaimBinding, type WriteOutcome } from "../shared/claim-binding-store";
import { remainingMs, withDeadline } from "../shared/deadline";
import { IOT_THING_NAME, ownerAttributeValue } from "../shared/provisioning-parameters";
import { type PreProvisioningHookConfig } from "./config";
import { checkParameters, compileParameters, type HookRequest, readHookRequest } from "./request";

/** The owner recorded for a thing provisioned with a claim no installer bound (the direct path). */
export const UNBOUND_OWNER = "unbound";
/** How long a thing name stays reserved for the claim that won it, while IoT creates the thing. */
export const THING_RESERVATION_SECONDS = 600;
/** IoT's claim certificates live five minutes; an unbound claim's record lives as long. */
export const CLAIM_LIFETIME_SECONDS = 300;

export type DenyReason =
  | "malformed-event"
  | "template-mismatch"
  | "missing-parameter"
  | "extra-parameter"
  | "malformed-parameter"
  | "unbound"
  | "expired"
  | "already-used"
  | "thing-name-mismatch"
  | "thing-name-taken"
  | "registry-unavailable"
  | "store-unavailable"
  | "internal-error";

export type Decision =
  | { allow: true; reason: "bound-claim" | "unbound-claim"; overrides: Record<string, string>; request: HookRequest }
  | { allow: false; reason: DenyReason; request?: HookRequest; parameter?: string };

/** The claim bindings, as the hook uses them. */
export interface HookStore {
  get(certificateId: string, options: { abortSignal?: AbortSignal }): Promise<ClaimBinding | undefined>;
  consume(
    certificateId: string,
    use: { nowSeconds: number; deviceCertificateId: string },
    options: { abortSignal?: AbortSignal },
  ): Promise<WriteOutcome>;
  recordUnboundUse(
    certificateId: string,
    use: { nowSeconds: number; expiresAt: number; deviceCertificateId: string },
    options: { abortSignal?: AbortSignal },
  ): Promise<WriteOutcome>;
  reserveThingName(
    thingName: string,
    reservation: { certificateId: string; nowSeconds: number; untilSeconds: number },
    options: { abortSignal?: AbortSignal },
  ): Promise<WriteOutcome>;
}

/** The thing registry: whether a thing of this name exists. Throws when the registry cannot say. */
export interface ThingRegistry {
  exists(thingName: string, signal: AbortSignal): Promise<boolean>;
}

export interface Decider {
  (event: unknown): Promise<Decision>;
}

export function createDecider(
  config: PreProvisioningHookConfig,
  ports: { store: HookStore; registry: ThingRegistry; now?: () => number },
): Decider {
  const now = ports.now ?? Date.now;
  const declared = compileParameters(config.parameters);
  const deny = (reason: DenyReason, request?: HookRequest, parameter?: string): Decision => ({ allow: false, reason, request, parameter });

  /** Rule 3 for a bound claim: unused, unexpired, and bound to this thing name. */
  function bindingRefusal(binding: ClaimBinding, thingName: string, nowSeconds: number): DenyReason | undefined {
    if (binding.status !== "bound" || binding.unbound === true) return "already-used";
    if (binding.expiresAt <= nowSeconds) return "expired";
    if (binding.thingName !== thingName) return "thing-name-mismatch";
    return undefined;
  }

  return async (event) => {
    const request = readHookRequest(event);
    if (request === undefined) return deny("malformed-event");
    if (request.templateArn !== config.templateArn) return deny("template-mismatch", request);
    const parameters = checkParameters(request.parameters, declared);
    if (!parameters.ok) return deny(parameters.reason, request, parameters.parameter);
    const thingName = parameters.values[config.thingNameParameter];
    if (!IOT_THING_NAME.test(thingName)) return deny("malformed-parameter", request, config.thingNameParameter);

    const deadline = now() + config.deadlineMs;
    const call = <T>(operation: string, run: (signal: AbortSignal) => Promise<T>) =>
      withDeadline(operation, remainingMs(deadline, now), run);
    const nowSeconds = Math.floor(now() / 1000);
    const claimId = request.claimCertificateId;

    let binding: ClaimBinding | undefined;
    try {
      binding = await call("GetItem(claim)", (abortSignal) => ports.store.get(claimId, { abortSignal }));
    } catch {
      return deny("store-unavailable", request);
    }
    if (binding === undefined && !config.allowUnboundClaims) return deny("unbound", request);
    const refusal = binding && bindingRefusal(binding, thingName, nowSeconds);
    if (refusal !== undefined) return deny(refusal, request);

    try {
      if (await call("DescribeThing", (signal) => ports.registry.exists(thingName, signal))) return deny("thing-name-taken", request);
    } catch {
      return deny("registry-unavailable", request);
    }

    try {
      const use = { nowSeconds, deviceCertificateId: request.certificateId };
      const consumed = binding
        ? await call("UpdateItem(claim)", (abortSignal) => ports.store.consume(claimId, use, { abortSignal }))
        : await call("PutItem(claim)", (abortSignal) =>
            ports.store.recordUnboundUse(claimId, { ...use, expiresAt: nowSeconds + CLAIM_LIFETIME_SECONDS }, { abortSignal }),
          );
      if (consumed === "conflict") return deny("already-used", request);
      const reservation = { certificateId: claimId, nowSeconds, untilSeconds: nowSeconds + THING_RESERVATION_SECONDS };
      const reserved = await call("PutItem(thing)", (abortSignal) => ports.store.reserveThingName(thingName, reservation, { abortSignal }));
      if (reserved === "conflict") return deny("thing-name-taken", request);
    } catch {
      return deny("store-unavailable", request);
    }

    const owner = binding ? ownerAttributeValue(binding.installerSub) : UNBOUND_OWNER;
    const overrides = binding
      ? { [config.thingNameParameter]: binding.thingName, [config.ownerParameter]: owner }
      : { [config.ownerParameter]: owner };
    return { allow: true, reason: binding ? "bound-claim" : "unbound-claim", overrides, request };
  };
}
