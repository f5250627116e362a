/**
 * The sandbox's `POST /provisioning/claims` on the device grant's local API, as the stack serves it on AWS: the
 * local JWT authorizer (jwt-authorizer.ts) in front, then the claim function's real Lambda handler
 * (`functions/provisioning-claim/index.ts`) with the local control plane as IoT and the claim binding table in
 * dynalite. The route is declared before the API listens and configured once the user pool and the installer
 * app clients exist (their ids are the authorizer's audiences); until then it answers 503.
 */
import { createHandler } from "../../functions/provisioning-claim/index";
import { type ClaimLogger } from "../../functions/provisioning-claim/claim";
import { type ClaimBindingStore } from "../../functions/shared/claim-binding-store";
import { type LocalResult } from "../api-gateway";
import { type ApiRoute } from "../api-routes";
import { type JwtAuthorizerConfig, LocalJwtAuthorizer } from "./jwt-authorizer";
import { type LocalControlPlane } from "./control-plane";

export const CLAIM_ROUTE_KEY = "POST /provisioning/claims";

export interface ClaimRouteConfig {
  jwt: JwtAuthorizerConfig;
  /** The claim function's configuration (`PROVISIONING_CLAIM_CONFIG`), checked by its own loader. */
  functionConfig: Record<string, unknown>;
  controlPlane: LocalControlPlane;
  bindings: ClaimBindingStore;
  logger: ClaimLogger;
}

function json(statusCode: number, body: object, headers: Record<string, string> = {}): LocalResult {
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

export class ClaimRoute {
  private ready?: { authorizer: LocalJwtAuthorizer; handler: (event: unknown) => Promise<LocalResult> };

  /** The route for the API, answering 503 until `configure`. */
  route(): ApiRoute {
    return { routeKey: CLAIM_ROUTE_KEY, handle: (event) => this.handle(event) };
  }

  configure(config: ClaimRouteConfig): void {
    const handler = createHandler({
      environment: { PROVISIONING_CLAIM_CONFIG: JSON.stringify(config.functionConfig) },
      issuer: () => config.controlPlane.claimIssuer(),
      bindings: () => config.bindings,
      logger: config.logger,
    });
    this.ready = { authorizer: new LocalJwtAuthorizer(config.jwt), handler };
  }

  private async handle(event: unknown): Promise<LocalResult> {
    if (this.ready === undefined) return json(503, { message: "Service Unavailable" });
    const e = record(event);
    const verdict = await this.ready.authorizer.authorize(record(e.headers).authorization as string | undefined);
    if (!verdict.ok) {
      return json(
        verdict.status,
        { message: verdict.status === 403 ? "Forbidden" : "Unauthorized" },
        {
          "www-authenticate": this.ready.authorizer.challenge(verdict),
        },
      );
    }
    const context = record(e.requestContext);
    return this.ready.handler({
      ...e,
      requestContext: { ...context, authorizer: { jwt: { claims: verdict.claims, scopes: verdict.scopes } } },
    });
  }
}
