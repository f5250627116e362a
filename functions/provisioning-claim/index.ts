/**
 * The Lambda entry point of `POST /provisioning/claims` (API Gateway HTTP API, payload format 2.0, behind a JWT
 * authorizer). Once per cold start it reads `PROVISIONING_CLAIM_CONFIG` and builds the core on IoT and
 * DynamoDB; every invocation after that is the core's work. It never throws: a configuration problem is
 * logged once per attempt with every problem, and the caller gets a JSON `server_error`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IoTClient } from "@aws-sdk/client-iot";
import { awsErrorName } from "../shared/aws-errors";
import { ClaimBindingStore } from "../shared/claim-binding-store";
import { coldStart, startFailureReason } from "../shared/cold-start";
import { type HttpApiResult, readHttpApiEvent } from "../shared/http-api-event";
import { type BindingRecorder, type ClaimIssuer, type ClaimLogger, createClaimService } from "./claim";
import { parseProvisioningClaimConfig, PROVISIONING_CLAIM_CONFIG_ENV, type ProvisioningClaimConfig } from "./config";
import { iotClaimIssuer } from "./iot";
import { claimLogger } from "./metrics";
import { serverError } from "./responses";

export interface ClaimHandlerOptions {
  environment?: NodeJS.ProcessEnv;
  /** The claim issuer; IoT in the configured region by default. */
  issuer?: (config: ProvisioningClaimConfig) => ClaimIssuer;
  /** The binding store; DynamoDB in the configured region and table by default. */
  bindings?: (config: ProvisioningClaimConfig) => BindingRecorder;
  /** Where every line goes; by default `claimLogger`: claim lines with their metric to stdout, the others to the console. */
  logger?: ClaimLogger;
  /** Where the default logger writes a metric line (stdout by default); tests read the lines here. */
  writeLine?: (line: string) => void;
  now?: () => number;
}

/** Builds a handler; `handler` below is the one Lambda runs. Tests and the local sandbox build their own. */
export function createHandler(options: ClaimHandlerOptions = {}): (event: unknown) => Promise<HttpApiResult> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? claimLogger(environment, options.writeLine);

  async function build() {
    const config = parseProvisioningClaimConfig(environment[PROVISIONING_CLAIM_CONFIG_ENV]);
    const issuer = options.issuer ? options.issuer(config) : iotClaimIssuer(new IoTClient({ region: config.region }));
    const bindings = options.bindings
      ? options.bindings(config)
      : new ClaimBindingStore({ client: new DynamoDBClient({ region: config.region }), tableName: config.tableName });
    return createClaimService({ config, issuer, bindings, logger, ...(options.now && { now: options.now }) });
  }

  const service = coldStart(build);
  return async (event) => {
    const ready = service.get();
    if (ready === undefined) return serverError("the service is not configured correctly; try again later");
    let handle: Awaited<typeof ready>;
    try {
      handle = await ready;
    } catch (err) {
      service.failed();
      logger.error({ event: "start-up", reason: startFailureReason(err) });
      return serverError("the service is not configured correctly; try again later");
    }
    try {
      return await handle(readHttpApiEvent(event));
    } catch (err) {
      // The core answers every failure it knows; this is the last line, so the caller still gets JSON.
      logger.error({ event: "provisioning-claim", outcome: "internal-error", error: awsErrorName(err) });
      return serverError("the claim could not be issued");
    }
  };
}

export const handler = createHandler();
