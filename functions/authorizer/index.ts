/**
 * The Lambda entry point. Once per cold start it reads `AUTHORIZER_CONFIG`, fetches the shared secrets of HMAC
 * issuers (and, during a rotation, their previous secrets) from SSM (SecureString, decrypted; never from a plain
 * environment variable, never logged) and builds the authorizer; every invocation after that is pure computation
 * unless an RSA issuer's key is not cached yet. A configuration or SSM problem denies every request, logged once
 * per cold start with every problem, and the next invocation tries again (SSM may only have been throttled).
 */
import { type Authorizer, type AuthorizerResponse, createAuthorizer, deniedResponse } from "./authorizer";
import { type Logger } from "./logging";
import { authorizerLogger } from "./metrics";
import { type AuthorizerConfig, parseAuthorizerConfig } from "./config";
import { ConfigurationError } from "../shared/problems";
import { coldStart, startFailureReason } from "../shared/cold-start";
import { type ParameterReader, ssmParameterReader } from "../shared/ssm";

export interface HandlerOptions {
  environment?: NodeJS.ProcessEnv;
  /** How parameters are read; SSM in the configured region by default. */
  readParameter?: ParameterReader;
  /** Where every line goes; by default, `authorizerLogger`: decision lines with their metric to stdout, the others to the console. */
  logger?: Logger;
  /** Where the default logger writes a metric line (stdout by default); tests read the lines here. */
  writeLine?: (line: string) => void;
  /** Attempts per parameter; SSM throttles bursts of cold starts. */
  ssmAttempts?: number;
}

/** The secrets read from SSM, by issuer: the current ones, and the previous ones of issuers in a rotation. */
export interface SharedSecrets {
  current: Map<string, string>;
  previous: Map<string, string>;
}

/** Reads one SecureString parameter, retrying what may pass (throttling); never puts the value in an error. */
async function readSecretParameter(name: string, issuer: string, read: ParameterReader, attempts: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await read(name);
      if (value === undefined || value === "") throw new ConfigurationError([`SSM parameter ${name} (issuer ${issuer}) has no value`]);
      return value;
    } catch (err) {
      const errorName = (err as Error).name;
      const permanent =
        err instanceof ConfigurationError ||
        ["ParameterNotFound", "AccessDeniedException", "InvalidKeyId", "ParameterVersionNotFound"].includes(errorName);
      if (permanent || attempt >= attempts) {
        if (err instanceof ConfigurationError) throw err;
        throw new ConfigurationError([`SSM parameter ${name} (issuer ${issuer}) could not be read: ${errorName}`]);
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** Reads the shared secrets (and previous secrets) of every HMAC issuer configured with parameters, in parallel. */
export async function readSharedSecrets(config: AuthorizerConfig, read: ParameterReader, attempts = 3): Promise<SharedSecrets> {
  const wanted = config.issuers.flatMap((issuer) => [
    ...(issuer.secretParameter !== undefined ? [{ issuer: issuer.issuer, name: issuer.secretParameter, slot: "current" as const }] : []),
    ...(issuer.previousSecretParameter !== undefined
      ? [{ issuer: issuer.issuer, name: issuer.previousSecretParameter, slot: "previous" as const }]
      : []),
  ]);
  const values = await Promise.all(wanted.map((w) => readSecretParameter(w.name, w.issuer, read, attempts)));
  const secrets: SharedSecrets = { current: new Map(), previous: new Map() };
  wanted.forEach((w, i) => secrets[w.slot].set(w.issuer, values[i]));
  return secrets;
}

/** Builds a handler; `handler` below is the one Lambda runs. Tests build their own with fakes. */
export function createHandler(options: HandlerOptions = {}): (event: unknown) => Promise<AuthorizerResponse> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? authorizerLogger(environment, options.writeLine);

  async function build(): Promise<Authorizer> {
    const config = parseAuthorizerConfig(environment.AUTHORIZER_CONFIG);
    const needsSsm = config.issuers.some((i) => i.secretParameter !== undefined || i.previousSecretParameter !== undefined);
    const secrets = needsSsm
      ? await readSharedSecrets(config, options.readParameter ?? ssmParameterReader(config.region), options.ssmAttempts)
      : undefined;
    return createAuthorizer(config, { logger, sharedSecrets: secrets?.current, previousSharedSecrets: secrets?.previous });
  }

  const authorizer = coldStart(build);
  return async (event) => {
    const ready = authorizer.get();
    if (ready === undefined) return deniedResponse();
    let authorize: Authorizer;
    try {
      authorize = await ready;
    } catch (err) {
      authorizer.failed();
      logger.error({ outcome: "deny", check: "configuration", reason: startFailureReason(err) });
      return deniedResponse();
    }
    return authorize(event);
  };
}

export const handler = createHandler();
