/**
 * Real keys, a real JWKS server on loopback and real signed tokens for the authorizer tests.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import http from "node:http";
import { type AddressInfo, type Socket } from "node:net";
import jwt from "jsonwebtoken";
import { type AuthorizerConfig, loadAuthorizerConfig } from "../../functions/authorizer/config";
import { type LogFields, type Logger } from "../../functions/authorizer/logging";

export interface RsaKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

export function rsaKey(kid: string, bits = 2048): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return { kid, privateKey, publicKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" } };
}

/** What the JWKS server does on its next requests. */
export interface JwksBehaviour {
  keys: Record<string, unknown>[];
  /** Delay before answering, ms. */
  delayMs: number;
  /** Answer with this status instead of the document. */
  status: number;
  /** Raw body instead of the JSON document. */
  body?: string;
}

export class JwksServer {
  readonly behaviour: JwksBehaviour = { keys: [], delayMs: 0, status: 200 };
  requests = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    this.server = http.createServer((_req, res) => {
      this.requests++;
      const { delayMs, status, keys, body } = this.behaviour;
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body ?? JSON.stringify({ keys }));
      };
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<JwksServer> {
    const s = new JwksServer();
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    return s;
  }

  get uri(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUri(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

export const RS_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
export const HS_ISSUER = "https://openam.example.com:8443/openam/oauth2";
export const NOW_MS = Date.UTC(2026, 10, 24, 12, 0, 0);
export const NOW = NOW_MS / 1000;

/** A 32-byte shared secret as OpenAM's console takes it (base64), and the same bytes as a key. */
export const SHARED_SECRET_BYTES = randomBytes(32);
export const SHARED_SECRET = SHARED_SECRET_BYTES.toString("base64");

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

/** Claims of a valid Cognito access token at NOW. */
/** Drops keys set to `undefined`, so a test can remove a claim by overriding it. */
function defined(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

export function cognitoClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return defined({
    iss: RS_ISSUER,
    sub: "alice",
    client_id: "tvclient",
    token_use: "access",
    scope: "iot/device",
    iat: NOW - 10,
    exp: NOW + 3600,
    ...extra,
  });
}

export function openamClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return defined({ iss: HS_ISSUER, sub: "bob", aud: "iot", scope: ["openid", "iot"], iat: NOW - 10, exp: NOW + 3600, ...extra });
}

export function signRs(claims: Record<string, unknown>, key: RsaKey, header: Record<string, unknown> = {}): string {
  return jwt.sign(claims, key.privateKey, { algorithm: "RS256", keyid: key.kid, header: { alg: "RS256", ...header } as jwt.JwtHeader });
}

export function signHs(claims: Record<string, unknown>, secret: Buffer = SHARED_SECRET_BYTES, header: Record<string, unknown> = {}): string {
  return jwt.sign(claims, secret, { algorithm: "HS256", header: { alg: "HS256", ...header } as jwt.JwtHeader });
}

/**
 * An RS256 token signed by hand, for claims jsonwebtoken refuses to sign (it validates exp/nbf/iat types)
 * and would also add an `iat` of its own when none is given.
 */
export function signRsRaw(claims: Record<string, unknown>, key: RsaKey): string {
  const input = `${Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
}

/** A compact JWS assembled by hand, for shapes jsonwebtoken refuses to produce. */
export function rawToken(header: unknown, payload: unknown, signature = "c2ln"): string {
  const part = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
  return `${part(header)}.${part(payload)}.${signature}`;
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
