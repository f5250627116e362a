/**
 * Access token scopes as Amazon Cognito grants them, for the cognito-local harness (cognito-local.ts).
 * cognito-local 5.3 writes `scope: "aws.cognito.signin.user.admin"` into every access token whatever was asked
 * for; Cognito puts the scopes requested at `/oauth2/authorize` that the app client allows, and a refreshed
 * token keeps the scopes of its grant (docs/local-stand-ins.md#cognito-local). A route that requires a scope
 * (the claim route's `iot/provision`) can only be tried against the real rule.
 *
 * How, without changing cognito-local: the harness reads the form bodies of `POST /oauth2/authorize` and
 * `POST /oauth2/token` itself (body-parser then sees a finished request and keeps `req.body`), remembers the
 * scope asked for under the authorization code cognito-local redirects with, and runs the token request in an
 * AsyncLocalStorage context naming its code or refresh token. The token generator is wrapped: it re-signs the
 * access token cognito-local made with the granted scopes, with the same key and `kid` cognito-local signs
 * with. Codes are forgotten when used or after five minutes (cognito-local's own code lifetime); refresh
 * tokens are remembered in memory (at most `MAX_REMEMBERED`), so after a restart a refreshed token carries the
 * client's allowed scopes.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type IncomingMessage, type ServerResponse } from "node:http";
import jwt from "jsonwebtoken";
import type { AppClient } from "cognito-local/lib/services/appClient";
import type { Tokens } from "cognito-local/lib/services/tokenGenerator";

/** cognito-local keeps authorization codes five minutes. */
const CODE_LIFETIME_MS = 5 * 60_000;
/** Refresh tokens whose grant is remembered, oldest forgotten first. */
const MAX_REMEMBERED = 10_000;
/** Form bodies of these endpoints are small; anything longer is passed to cognito-local unread. */
const MAX_FORM_BYTES = 64 * 1024;

/** The key cognito-local signs every token with (`kid: "CognitoLocal"`), shipped in the package. */
interface SigningKey {
  pem: string;
}

/** What the current token request exchanges: an authorization code or a refresh token. */
interface Exchange {
  code?: string;
  refreshToken?: string;
}

type Generate = (...args: never[]) => Promise<Tokens>;

/** The scopes Cognito grants: those asked for that the client allows; all it allows when none were asked for. */
export function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  const asked = (requested ?? "").split(" ").filter((s) => s !== "");
  return asked.length === 0 ? [...allowed] : [...new Set(asked)].filter((s) => allowed.includes(s));
}

export class CognitoScopes {
  private readonly codes = new Map<string, { scope: string; at: number }>();
  private readonly grants = new Map<string, string>();
  private readonly exchange = new AsyncLocalStorage<Exchange>();

  constructor(private readonly key: SigningKey) {}

  /** The token generator with Cognito's scopes in its access tokens. */
  wrap<T extends { generate: Generate }>(generator: T): T {
    const generate = generator.generate.bind(generator) as (...args: Parameters<T["generate"]>) => Promise<Tokens>;
    const scoped = async (...args: Parameters<T["generate"]>): Promise<Tokens> => {
      const tokens = await generate(...args);
      const client = args[3] as unknown as AppClient;
      const requested = this.requestedScope();
      const scopes = grantedScopes(requested, client.AllowedOAuthScopes ?? []);
      if (scopes.length === 0) return tokens;
      const scope = scopes.join(" ");
      if (tokens.RefreshToken) this.remember(tokens.RefreshToken, scope);
      return { ...tokens, AccessToken: this.resign(tokens.AccessToken, scope) };
    };
    return Object.assign(Object.create(generator) as T, { generate: scoped });
  }

  /**
   * Runs a request of the harness: the two OAuth form posts are read here first (see the file comment), every
   * other request goes straight to `next`.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const path = (req.url ?? "").split("?")[0];
    const form = req.method === "POST" && /^application\/x-www-form-urlencoded\b/i.test(req.headers["content-type"] ?? "");
    if (!form || (path !== "/oauth2/authorize" && path !== "/oauth2/token")) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      const body = size <= MAX_FORM_BYTES ? Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))) : {};
      (req as IncomingMessage & { body?: unknown }).body = body;
      if (path === "/oauth2/authorize") {
        this.watchRedirect(res, body.scope);
        next();
      } else {
        this.exchange.run({ code: body.code, refreshToken: body.refresh_token }, next);
      }
    });
  }

  /** Remembers the scope of the code cognito-local puts in its redirect (`Location: …?code=…`). */
  private watchRedirect(res: ServerResponse, scope: string | undefined): void {
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => {
      if (name.toLowerCase() === "location" && typeof value === "string") {
        const code = URL.canParse(value) ? new URL(value).searchParams.get("code") : null;
        if (code !== null) this.rememberCode(code, scope ?? "");
      }
      return setHeader(name, value);
    };
  }

  private rememberCode(code: string, scope: string): void {
    const now = Date.now();
    for (const [old, { at }] of this.codes) {
      if (now - at < CODE_LIFETIME_MS) break;
      this.codes.delete(old);
    }
    this.codes.set(code, { scope, at: now });
  }

  /** The scope asked for in the grant the current token request exchanges, if known. */
  private requestedScope(): string | undefined {
    const current = this.exchange.getStore();
    if (current?.code !== undefined) {
      const entry = this.codes.get(current.code);
      this.codes.delete(current.code);
      return entry?.scope;
    }
    return current?.refreshToken !== undefined ? this.grants.get(current.refreshToken) : undefined;
  }

  private remember(refreshToken: string, scope: string): void {
    if (this.grants.size >= MAX_REMEMBERED) this.grants.delete(this.grants.keys().next().value as string);
    this.grants.set(refreshToken, scope);
  }

  /** The access token with `scope` replaced, signed again as cognito-local signs it. */
  private resign(accessToken: string, scope: string): string {
    const payload = jwt.decode(accessToken) as Record<string, unknown> | null;
    if (payload === null) return accessToken;
    return jwt.sign({ ...payload, scope }, this.key.pem, { algorithm: "RS256", keyid: "CognitoLocal", noTimestamp: true });
  }
}
