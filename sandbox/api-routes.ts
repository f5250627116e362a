/**
 * Routes of a local HTTP API besides its default integration, as an HTTP API has them: a request whose method
 * and path match a route's key (`POST /provisioning/claims`) goes to that route, with `routeKey` set in the
 * payload 2.0 event as API Gateway sets it; every other request goes to the default integration (the device
 * grant's function, which answers every path of its API).
 */
import { type LocalHandler } from "./api-gateway";

export interface ApiRoute {
  /** `METHOD /path`, e.g. `POST /provisioning/claims`. */
  routeKey: string;
  handle: LocalHandler;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** The handler that sends each request to its route, or to `fallback`. */
export function withRoutes(fallback: LocalHandler, routes: readonly ApiRoute[]): LocalHandler {
  if (routes.length === 0) return fallback;
  return (event) => {
    const e = record(event);
    const context = record(e.requestContext);
    const key = `${String(record(context.http).method ?? "")} ${String(e.rawPath ?? "")}`;
    const route = routes.find((r) => r.routeKey === key);
    if (route === undefined) return fallback(event);
    return route.handle({ ...e, routeKey: route.routeKey, requestContext: { ...context, routeKey: route.routeKey } });
  };
}
