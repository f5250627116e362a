/**
 * The `DeviceGrant` component's HTTP API: the proxy integration, exactly the routes of the route table
 * (`functions/device-grant/routes.ts`) with one Lambda permission each, the `$default` stage with access
 * logs and throttling, and the optional custom domain. Its own module so `device-grant.ts` stays readable.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ROUTES, routeKey } from "../functions/device-grant/routes";
import { type CheckedDeviceGrantArgs, type DeviceGrantArgs } from "./device-grant-args";

/** What every child of one `DeviceGrant` is declared with: its names, its parent, its checked arguments. */
export interface DeviceGrantScope {
  name: string;
  component: pulumi.ComponentResource;
  args: DeviceGrantArgs;
  checked: CheckedDeviceGrantArgs;
}

/**
 * Access log fields. Deliberately absent: `$context.path` and anything with the query string (`/device?code=…`
 * carries a user code, `/callback?code=…&state=…` an authorization code), request headers (`Authorization`) and
 * bodies. The route key names the endpoint without any of them.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  routeKey: "$context.routeKey",
  protocol: "$context.protocol",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  integrationLatency: "$context.integrationLatency",
  integrationError: "$context.integrationErrorMessage",
  error: "$context.error.message",
});

/**
 * The API's proxy integration, exactly the routes of the table with one Lambda permission each (API Gateway
 * may invoke the function for these method/path pairs of this API only), and the `$default` stage with
 * access logs and throttling, deployed once every route exists.
 */
export function declareRoutes(
  { name, component, args, checked }: DeviceGrantScope,
  uses: { api: aws.apigatewayv2.Api; fn: aws.lambda.Function; accessLogGroup: aws.cloudwatch.LogGroup },
): aws.apigatewayv2.Stage {
  const { api, fn } = uses;
  const parent = { parent: component };
  const integration = new aws.apigatewayv2.Integration(
    `${name}-integration`,
    {
      apiId: api.id,
      integrationType: "AWS_PROXY",
      integrationMethod: "POST",
      integrationUri: fn.invokeArn,
      payloadFormatVersion: "2.0",
      // A little over the function's own timeout, so the function's answer (or Lambda's timeout) wins.
      timeoutMilliseconds: Math.min(30_000, (checked.timeoutSeconds + 1) * 1_000),
    },
    parent,
  );
  const routes = ROUTES.map(
    (route) =>
      new aws.apigatewayv2.Route(
        `${name}-route-${routeSlug(routeKey(route))}`,
        { apiId: api.id, routeKey: routeKey(route), target: pulumi.interpolate`integrations/${integration.id}` },
        parent,
      ),
  );
  for (const route of ROUTES) {
    new aws.lambda.Permission(
      `${name}-invoke-${routeSlug(routeKey(route))}`,
      {
        function: fn.name,
        action: "lambda:InvokeFunction",
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${api.executionArn}/*/${route.method}${route.path}`,
      },
      parent,
    );
  }
  return new aws.apigatewayv2.Stage(
    `${name}-stage`,
    {
      apiId: api.id,
      name: "$default",
      autoDeploy: true,
      accessLogSettings: { destinationArn: uses.accessLogGroup.arn, format: ACCESS_LOG_FORMAT },
      defaultRouteSettings: {
        throttlingBurstLimit: checked.throttlingBurstLimit,
        throttlingRateLimit: checked.throttlingRateLimit,
        detailedMetricsEnabled: false,
      },
      tags: args.tags,
    },
    { parent: component, dependsOn: routes },
  );
}

/** With a custom domain: the domain name and its API mapping; the target of its DNS alias, or undefined. */
export function declareCustomDomain(
  { name, component, args }: DeviceGrantScope,
  api: aws.apigatewayv2.Api,
  stage: aws.apigatewayv2.Stage,
): pulumi.Output<string | undefined> {
  if (args.customDomain === undefined) return pulumi.output(undefined);
  const parent = { parent: component };
  const domain = new aws.apigatewayv2.DomainName(
    `${name}-domain`,
    {
      domainName: args.customDomain.domainName,
      domainNameConfiguration: { certificateArn: args.customDomain.certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2" },
      tags: args.tags,
    },
    parent,
  );
  new aws.apigatewayv2.ApiMapping(`${name}-mapping`, { apiId: api.id, domainName: domain.id, stage: stage.id }, parent);
  return domain.domainNameConfiguration.targetDomainName;
}

/** `POST /oauth2/device_authorization` → `post-oauth2-device-authorization`: a stable child name per route. */
export function routeSlug(routeKey: string): string {
  return routeKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}
