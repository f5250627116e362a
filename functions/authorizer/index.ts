/**
 * The Lambda entry point. Once per cold start it reads `AUTHORIZER_CONFIG`, fetches the shared secrets of
 * HMAC issuers from SSM (SecureString, decrypted; never from a plain environment variable, never logged)
 * and builds the authorizer; every invocation after that is pure computation unless an RSA issuer's
 * key is not cached yet. A configuration or SSM problem denies every request, logged once per cold start
 * with every problem, and the next invocation tries again (SSM may only have been throttled).
 */
import { type Authorizer, type AuthorizerResponse, createAuthorizer, deniedResponse } from "./authorizer";
import { consoleLogger, type Logger } from "./logging";
import { type AuthorizerConfig, parseAuthorizerConfig } from "./config";
import { ConfigurationError } from "../shared/problems";
import { coldStart, startFailureReason } from "../shared/cold-start";
import { type ParameterReader, ssmParameterReader } from "../shared/ssm";

export interface HandlerOptions {
  environment?: NodeJS.ProcessEnv;
  /** How parameters are read; SSM in the configured region by default. */
  readParameter?: ParameterReader;
  logger?: Logger;
  /** Attempts per parameter; SSM throttles bursts of cold starts. */
  ssmAttempts?: number;
}

/** Reads the shared secrets of every HMAC issuer configured with `secretParameter`, in parallel. */
export async function readSharedSecrets(config: AuthorizerConfig, read: ParameterReader, attempts = 3): Promise<Map<string, string>> {
  const wanted = config.issuers.filter((i) => i.secretParameter !== undefined);
  const values = await Promise.all(
    wanted.map(async (issuer) => {
      const name = issuer.secretParameter as string;
      for (let attempt = 1; ; attempt++) {
        try {
          const value = await read(name);
          if (value === undefined || value === "") {
            throw new ConfigurationError([`SSM parameter ${name} (issuer ${issuer.issuer}) has no value`]);
          }
          return value;
        } catch (err) {
          const name_ = (err as Error).name;
          const permanent =
            err instanceof ConfigurationError ||
            ["ParameterNotFound", "AccessDeniedException", "InvalidKeyId", "ParameterVersionNotFound"].includes(name_);
          if (permanent || attempt >= attempts) {
            if (err instanceof ConfigurationError) throw err;
            throw new ConfigurationError([`SSM parameter ${name} (issuer ${issuer.issuer}) could not be read: ${name_}`]);
          }
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
    }),
  );
  return new Map(wanted.map((issuer, i) => [issuer.issuer, values[i]]));
}

/** Builds a handler; `handler` below is the one Lambda runs. Tests build their own with fakes. */
export function createHandler(options: HandlerOptions = {}): (event: unknown) => Promise<AuthorizerResponse> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? consoleLogger;

  async function build(): Promise<Authorizer> {
    const config = parseAuthorizerConfig(environment.AUTHORIZER_CONFIG);
    const needsSsm = config.issuers.some((i) => i.secretParameter !== undefined);
    const sharedSecrets = needsSsm
      ? await readSharedSecrets(config, options.readParameter ?? ssmParameterReader(config.region), options.ssmAttempts)
      : undefined;
    return createAuthorizer(config, { logger, sharedSecrets });
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
