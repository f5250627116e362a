/**
 * The authorizer tests' own fixtures: a configuration trusting both kinds of issuer, a logger that keeps what an
 * operator would read, and IoT's MQTT event. Keys, tokens and the JWKS server are shared with the bench
 * (support/), and re-exported here so a test imports its fixtures from one place.
 */
import { type AuthorizerConfig, loadAuthorizerConfig } from "../../functions/authorizer/config";
import { type LogFields, type Logger } from "../../functions/authorizer/logging";
import { type JwksOptions } from "../../functions/authorizer/jwks";
import { HS_ISSUER, RS_ISSUER, SHARED_SECRET } from "../../support/tokens";

export * from "../../support/jwks-server";
export * from "../../support/tokens";

/** The JWKS budgets of the tests: the defaults, with a deadline short enough for a test about a slow server. */
export const TEST_JWKS_OPTIONS: JwksOptions = {
  timeoutMs: 300,
  maxBytes: 16_384,
  cacheMaxAgeMs: 10 * 60_000,
  cooldownMs: 10_000,
  staleFallbackMs: 60 * 60_000,
};

export function config(overrides: Record<string, unknown> = {}, jwksUri = "https://example.invalid/jwks.json"): AuthorizerConfig {
  return loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [
      { issuer: RS_ISSUER, algorithms: ["RS256"], jwksUri, tokenUse: "access", clientIds: ["tvclient"], principalPrefix: "c" },
      { issuer: HS_ISSUER, algorithms: ["HS256"], secret: SHARED_SECRET, audiences: ["iot"], principalPrefix: "o" },
    ],
    ...overrides,
  });
}

/** A logger that keeps every line, so tests can read what an operator would. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; fields: LogFields }[] = [];
  warn(fields: LogFields): void {
    this.lines.push({ level: "warn", fields });
  }
  debug(fields: LogFields): void {
    this.lines.push({ level: "debug", fields });
  }
  error(fields: LogFields): void {
    this.lines.push({ level: "error", fields });
  }
  get checks(): unknown[] {
    return this.lines.filter((l) => l.fields.outcome === "deny").map((l) => l.fields.check);
  }
  get text(): string {
    return JSON.stringify(this.lines);
  }
}

/** The event IoT sends for an MQTT connection with the token in the username. */
export function mqttEvent(token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    token,
    signatureVerified: true,
    protocols: ["tls", "mqtt"],
    protocolData: { tls: { serverName: "example-ats.iot.eu-west-1.amazonaws.com" }, mqtt: { username: "device", clientId: "alice" } },
    connectionMetadata: { id: "d0adaaa7-b22d-4545-923c-8a4c6b5d1b7e" },
    ...extra,
  };
}
