/**
 * The Lambda entry point IoT invokes before it provisions a device (payload version 2020-04-01). Once per cold
 * start it reads `PRE_PROVISIONING_HOOK_CONFIG` and builds the decision on DynamoDB and IoT. It never throws:
 * whatever goes wrong, the answer is `{ allowProvisioning: false }`, and every decision writes exactly one log
 * line naming its reason (never a certificate, never a key; values a device chose are truncated).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IoTClient } from "@aws-sdk/client-iot";
import { ClaimBindingStore } from "../shared/claim-binding-store";
import { coldStart, startFailureReason } from "../shared/cold-start";
import { type LogSink, loggable } from "../shared/logging";
import { parsePreProvisioningHookConfig, PRE_PROVISIONING_HOOK_CONFIG_ENV, type PreProvisioningHookConfig } from "./config";
import { createDecider, type Decider, type Decision, type HookStore, type ThingRegistry } from "./decide";
import { hookLogger } from "./metrics";
import { iotThingRegistry } from "./registry";

/** The hook's answer (docs/fleet-provisioning.md#the-pre-provisioning-hook). */
export type HookResponse = { allowProvisioning: true; parameterOverrides: Record<string, string> } | { allowProvisioning: false };

export type HookLogger = Pick<LogSink, "info" | "warn" | "error">;

export interface HookHandlerOptions {
  environment?: NodeJS.ProcessEnv;
  /** The claim bindings; DynamoDB in the configured region and table by default. */
  store?: (config: PreProvisioningHookConfig) => HookStore;
  /** The thing registry; IoT in the configured region by default. */
  registry?: (config: PreProvisioningHookConfig) => ThingRegistry;
  /** Where every line goes; by default `hookLogger`: decision lines with their metric to stdout, the others to the console. */
  logger?: HookLogger;
  /** Where the default logger writes a metric line (stdout by default); tests read the lines here. */
  writeLine?: (line: string) => void;
  now?: () => number;
}

const denied = (): HookResponse => ({ allowProvisioning: false });

/** The one log line of a decision. */
function logDecision(logger: HookLogger, decision: Decision): void {
  const request = decision.request;
  const fields = {
    event: "pre-provisioning",
    decision: decision.allow ? "allow" : "deny",
    reason: decision.reason,
    claimCertificateId: request?.claimCertificateId,
    certificateId: request?.certificateId,
    clientId: loggable(request?.clientId),
    ...(!decision.allow && decision.parameter !== undefined && { parameter: loggable(decision.parameter) }),
  };
  if (decision.allow) logger.info(fields);
  else logger.warn(fields);
}

/** Builds a handler; `handler` below is the one Lambda runs. Tests and the local sandbox build their own. */
export function createHandler(options: HookHandlerOptions = {}): (event: unknown) => Promise<HookResponse> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? hookLogger(environment, options.writeLine);

  async function build(): Promise<Decider> {
    const config = parsePreProvisioningHookConfig(environment[PRE_PROVISIONING_HOOK_CONFIG_ENV]);
    const store = options.store
      ? options.store(config)
      : new ClaimBindingStore({ client: new DynamoDBClient({ region: config.region }), tableName: config.tableName });
    const registry = options.registry ? options.registry(config) : iotThingRegistry(new IoTClient({ region: config.region }));
    return createDecider(config, { store, registry, ...(options.now && { now: options.now }) });
  }

  const decider = coldStart(build);
  return async (event) => {
    let decide: Decider;
    try {
      const ready = decider.get();
      if (ready === undefined) {
        logger.warn({ event: "pre-provisioning", decision: "deny", reason: "not-configured" });
        return denied();
      }
      decide = await ready;
    } catch (err) {
      decider.failed();
      logger.error({ event: "pre-provisioning", decision: "deny", reason: "not-configured", detail: startFailureReason(err) });
      return denied();
    }
    let decision: Decision;
    try {
      decision = await decide(event);
    } catch {
      decision = { allow: false, reason: "internal-error" };
    }
    logDecision(logger, decision);
    return decision.allow ? { allowProvisioning: true, parameterOverrides: decision.overrides } : denied();
  };
}

export const handler = createHandler();
