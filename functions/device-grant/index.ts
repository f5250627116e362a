/**
 * The Lambda entry point for every route of the device grant. Once per cold start it reads
 * `DEVICE_GRANT_CONFIG`, and, when a client is confidential, the SSM SecureString naming the clients'
 * secrets (`{ "<clientId>": "<secret>" }`, decrypted; the SSM SDK is loaded only then), and builds the
 * core on DynamoDB, with the KMS key of `idTokenKey` as the signer of its own ID tokens (the KMS SDK is
 * loaded at the first signature). Every invocation after that is the core's work. It never throws: a configuration or
 * SSM problem is logged once per attempt with every problem, and the caller gets `server_error` (JSON
 * endpoints) or an error page, and the next invocation after a short pause tries again.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { fromApiGatewayEvent, type ApiGatewayV2Result, toApiGatewayResult } from "./apigw";
import { DEVICE_GRANT_CONFIG_ENV, type DeviceGrantConfig, parseDeviceGrantConfig } from "./config";
import { ConfigurationError } from "../shared/problems";
import { DynamoStore } from "./dynamo-store";
import { type ServiceLogger } from "./errors";
import { deviceGrantLogger } from "./metrics";
import { jsonResponse } from "./http";
import { createKmsSigner } from "./kms-signer";
import { type Clock, type RandomSource, type Store, type TokenSigner, type UpstreamIdp } from "./model";
import { PAGES, pageResponse } from "./pages";
import { createDeviceGrantService, type DeviceGrantService } from "./service";
import { createOidcUpstream } from "./upstream";
import { coldStart, startFailureReason } from "../shared/cold-start";
import { type ParameterReader, ssmParameterReader } from "../shared/ssm";

export interface DeviceGrantHandlerOptions {
  environment?: NodeJS.ProcessEnv;
  /** How the client secrets parameter is read; SSM in the configured region by default. */
  readParameter?: ParameterReader;
  /** The store; DynamoDB in the configured region and table by default. */
  store?: (config: DeviceGrantConfig) => Store;
  upstream?: (config: DeviceGrantConfig) => UpstreamIdp;
  /** The signer of the service's ID tokens; the KMS key of `idTokenKey` by default. The sandbox and tests pass a local key. */
  signer?: (config: DeviceGrantConfig) => TokenSigner;
  clock?: Clock;
  random?: RandomSource;
  /** Where every line goes; by default `deviceGrantLogger`: outcome lines with their metric to stdout, the others to the console. */
  logger?: ServiceLogger;
  /** Where the default logger writes a metric line (stdout by default); tests read the lines here. */
  writeLine?: (line: string) => void;
}

/** Reads and checks the confidential clients' secrets: a JSON object with one string per confidential client. */
export async function readClientSecrets(config: DeviceGrantConfig, read: ParameterReader): Promise<Map<string, string>> {
  const confidential = config.clients.filter((c) => c.type === "confidential").map((c) => c.clientId);
  if (confidential.length === 0) return new Map();
  const name = config.clientSecretsParameter as string;
  let value: string | undefined;
  try {
    value = await read(name);
  } catch (err) {
    throw new ConfigurationError(
      [`SSM parameter ${name} (client secrets) could not be read: ${(err as Error)?.name ?? typeof err}`],
      "device grant configuration",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? "");
  } catch {
    // Never quote the value: it is the secrets.
    throw new ConfigurationError([`SSM parameter ${name} (client secrets) is not a JSON object`], "device grant configuration");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigurationError([`SSM parameter ${name} (client secrets) is not a JSON object`], "device grant configuration");
  }
  const record = parsed as Record<string, unknown>;
  const problems = confidential
    .filter((id) => typeof record[id] !== "string" || record[id] === "")
    .map((id) => `SSM parameter ${name} has no secret for confidential client ${id}`);
  if (problems.length > 0) throw new ConfigurationError(problems, "device grant configuration");
  return new Map(confidential.map((id) => [id, record[id] as string]));
}

/** Builds a handler; `handler` below is the one Lambda runs. Tests and the local sandbox build their own. */
export function createHandler(options: DeviceGrantHandlerOptions = {}): (event: unknown) => Promise<ApiGatewayV2Result> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? deviceGrantLogger(environment, options.writeLine);

  async function build(): Promise<DeviceGrantService> {
    const config = parseDeviceGrantConfig(environment[DEVICE_GRANT_CONFIG_ENV]);
    const secrets = await readClientSecrets(config, options.readParameter ?? ssmParameterReader(config.region));
    const store = options.store
      ? options.store(config)
      : new DynamoStore({ client: new DynamoDBClient({ region: config.region }), tableName: config.tableName });
    const upstream = options.upstream
      ? options.upstream(config)
      : createOidcUpstream({ authorizationEndpoint: config.upstream.authorizationEndpoint, tokenEndpoint: config.upstream.tokenEndpoint });
    const signer = options.signer
      ? options.signer(config)
      : config.idTokenKey &&
        createKmsSigner({
          keyArn: config.idTokenKey.kmsKeyArn,
          algorithm: config.idTokenKey.algorithm,
          publicKeyPem: config.idTokenKey.publicKeyPem,
          region: config.region,
        });
    if (config.settings.resultTokenSet.includes("ID") && !signer) {
      throw new ConfigurationError(
        ["ID in resultTokenSet needs idTokenKey: the KMS key the service signs its own ID tokens with"],
        "device grant configuration",
      );
    }
    return createDeviceGrantService({
      config,
      store,
      upstream,
      ...(signer && { signer }),
      clientSecrets: (clientId) => secrets.get(clientId),
      logger,
      ...(options.clock && { clock: options.clock }),
      ...(options.random && { random: options.random }),
    });
  }

  const service = coldStart(build);
  return async (event) => {
    const request = fromApiGatewayEvent(event);
    const ready = service.get();
    if (ready === undefined) return toApiGatewayResult(unavailable(request.path));
    let built: DeviceGrantService;
    try {
      built = await ready;
    } catch (err) {
      service.failed();
      logger.error({ event: "start-up", reason: startFailureReason(err) });
      return toApiGatewayResult(unavailable(request.path));
    }
    return toApiGatewayResult(await built.handle(request));
  };
}

/** Before the configuration is known there is no IdP origin for the CSP: the page allows forms to 'self' only. */
function unavailable(path: string) {
  return path.startsWith("/oauth2/") || path.startsWith("/.well-known/")
    ? jsonResponse(500, { error: "server_error", error_description: "the service is not configured correctly; try again later" })
    : pageResponse(PAGES.unavailable(), "'self'");
}

export const handler = createHandler();
