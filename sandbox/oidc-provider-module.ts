/**
 * node-oidc-provider 9 (ESM-only) loaded through Node's own loader (esm.ts), with the few types of it the
 * sandbox uses: the package ships no TypeScript declarations. It also reaches two of its modules by path
 * (the device code grant's handler and the grant helpers), to register the device flow's draft grant type as
 * an alias of the standard one (enterprise-idp-provider.ts); the package has no `exports` map, so they are
 * reachable, and `tests/sandbox/enterprise-idp.test.ts` fails if an upgrade moves them.
 *
 * Under jest the package runs in Node's main realm and the sandbox's code in jest's (esm.ts), and oidc-provider
 * tells a plain object by `value.constructor === Object`: a configuration written in jest's realm fails that
 * test. `inMainRealm` copies plain objects and arrays into the main realm, as `JSON.parse` there would; what the
 * sandbox hands the provider (its configuration, and what its callbacks return) goes through it. Outside jest
 * there is one realm and the copy changes nothing.
 */
import { type IncomingMessage, type ServerResponse } from "node:http";
import { nodeRequire } from "./esm";

/** The parts of an oidc-provider `Provider` the sandbox uses. */
export interface OidcProvider {
  readonly issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  registerGrantType(name: string, handler: (ctx: OidcContext) => Promise<void>, params: string[], dupes?: string[]): void;
  on(event: string, listener: (ctx: unknown, err: unknown) => void): void;
  /** Adds a middleware that runs around oidc-provider's own routes. */
  use(middleware: (ctx: { oidc?: { route?: string }; status: number; body: unknown }, next: () => Promise<void>) => Promise<void>): void;
  Grant: GrantModel;
}

export interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}

export interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

export interface GrantModel {
  new (properties: { accountId: string; clientId: string }): Grant;
  find(id: string): Promise<Grant | undefined>;
}

/** What a grant type handler sees: the request's parameters, after client authentication. */
export interface OidcContext {
  oidc: { params: Record<string, unknown> };
}

type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
type GrantHandler = (provider: OidcProvider, helpers: Record<string, unknown>, ctx: OidcContext) => Promise<void>;

/** The `Provider` class. */
export function loadProvider(): ProviderClass {
  return nodeRequire<{ Provider: ProviderClass }>("oidc-provider").Provider;
}

/**
 * The standard device code grant's handler, bound as oidc-provider binds its own grants (provider, helpers),
 * for a grant type that accepts the same request under other names.
 */
export function deviceCodeGrantHandler(provider: OidcProvider): (ctx: OidcContext) => Promise<void> {
  const { handler } = nodeRequire<{ handler: GrantHandler }>("oidc-provider/lib/actions/grants/device_code.js");
  const helpers = nodeRequire<Record<string, (...args: unknown[]) => unknown>>("oidc-provider/lib/helpers/grants.js");
  const bound = Object.fromEntries(Object.entries(helpers).map(([name, helper]) => [name, helper.bind(undefined, provider)]));
  return (ctx) => handler(provider, bound, ctx);
}

/** oidc-provider's OAuth errors: thrown in a handler, each becomes its protocol answer (status, `error`, description). */
export function oidcErrors(): { InvalidRequest: new (description: string) => Error } {
  return nodeRequire<{ errors: { InvalidRequest: new (description: string) => Error } }>("oidc-provider").errors;
}

const MainObject = (nodeRequire<object>("node:os") as { constructor: ObjectConstructor }).constructor;
const MainArray = MainObject.keys({}).constructor as ArrayConstructor;

/** A deep copy of plain objects and arrays made in the main realm; anything else (functions, keys, classes) as it is. */
export function inMainRealm<T>(value: T): T {
  if (Array.isArray(value)) return MainArray.from(value, (v) => inMainRealm(v)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value)?.constructor?.name === "Object") {
    const copy = new MainObject() as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) copy[k] = inMainRealm(v);
    return copy as T;
  }
  return value;
}
