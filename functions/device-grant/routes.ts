/**
 * The device grant's routes, defined once: each one's method, path, the endpoint that answers it, and
 * whether it answers in JSON (the OAuth endpoints and the metadata) or in HTML (the pages a person sees).
 * The service dispatches from this table (`service.ts`), and the `DeviceGrant` component declares exactly
 * these API Gateway routes, with one Lambda permission each (`infra/device-grant.ts`), so anything else is
 * API Gateway's 404, never the function's.
 *
 * It imports nothing: infra reads it while the Pulumi program runs, without loading the core or an SDK.
 */

export const PATHS = {
  deviceAuthorization: "/oauth2/device_authorization",
  token: "/oauth2/token",
  metadata: "/.well-known/oauth-authorization-server",
  jwks: "/.well-known/jwks.json",
  device: "/device",
  callback: "/callback",
} as const;

export interface RouteDefinition {
  method: "GET" | "POST";
  path: string;
  /** The endpoint's name; the service maps every name to its module, and the compiler holds it to that. */
  endpoint: string;
  /** How this path answers a method it does not serve: JSON 405 with `allow`, or the 405 page. */
  answers: "json" | "page";
}

export const ROUTES = [
  { method: "POST", path: PATHS.deviceAuthorization, endpoint: "deviceAuthorization", answers: "json" },
  { method: "POST", path: PATHS.token, endpoint: "token", answers: "json" },
  { method: "GET", path: PATHS.metadata, endpoint: "metadata", answers: "json" },
  { method: "GET", path: PATHS.jwks, endpoint: "jwks", answers: "json" },
  { method: "GET", path: PATHS.device, endpoint: "verificationPage", answers: "page" },
  { method: "POST", path: PATHS.device, endpoint: "verificationSubmit", answers: "page" },
  { method: "GET", path: PATHS.callback, endpoint: "callback", answers: "page" },
] as const satisfies readonly RouteDefinition[];

export type Route = (typeof ROUTES)[number];
export type EndpointName = Route["endpoint"];

/** API Gateway's route key, `METHOD /path`. */
export function routeKey(route: Route): string {
  return `${route.method} ${route.path}`;
}

export type RouteMatch =
  | { found: "route"; route: Route }
  /** A known path asked with a method it does not serve. */
  | { found: "wrong-method"; allow: string[]; answers: RouteDefinition["answers"] }
  | { found: "nothing" };

export function matchRoute(method: string, path: string): RouteMatch {
  const atPath = ROUTES.filter((r) => r.path === path);
  if (atPath.length === 0) return { found: "nothing" };
  const route = atPath.find((r) => r.method === method);
  if (route) return { found: "route", route };
  return { found: "wrong-method", allow: atPath.map((r) => r.method), answers: atPath[0].answers };
}
