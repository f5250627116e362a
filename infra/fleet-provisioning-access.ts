/**
 * How installers reach `CreateProvisioningClaim` in `FleetProvisioning`: the claim route (on an HTTP API of the
 * component's own, or attached to an existing one, behind a JWT authorizer requiring the provisioning scope),
 * and, optionally, the original write-up's direct path (a Cognito identity pool whose authenticated role may
 * call `CreateProvisioningClaim` for this template only). Split from fleet-provisioning.ts to keep each file
 * about one thing: this one is who may ask.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CLAIM_ROUTE, type CheckedFleetProvisioningArgs, type FleetProvisioningArgs } from "./fleet-provisioning-args";
import { installerRolePolicy, installerRoleTrustPolicy } from "./fleet-provisioning-policies";

/**
 * Access log fields of the component's own API. No path with values, no headers (the `Authorization` header
 * carries the installer's token), no bodies; the authorizer's error says why a token was refused.
 */
export const CLAIM_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLatency: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  authorizerError: "$context.authorizer.error",
  error: "$context.error.message",
});

export const CLAIM_ROUTE_KEY = `${CLAIM_ROUTE.method} ${CLAIM_ROUTE.path}`;

export interface AccessScope {
  name: string;
  parent: pulumi.Resource;
  args: FleetProvisioningArgs;
  checked: CheckedFleetProvisioningArgs;
}

/** The API the route is served on: the component's own (with its stage and access logs), or the attached one. */
function claimApi({ name, parent, args, checked }: AccessScope) {
  const attach = args.claims.attachTo;
  if (attach !== undefined)
    return {
      apiId: pulumi.output(attach.apiId),
      executionArn: pulumi.output(attach.executionArn),
      endpoint: pulumi.output(attach.endpoint),
      own: undefined,
    };
  const api = new aws.apigatewayv2.Api(
    `${name}-api`,
    {
      name: `${checked.resourcePrefix}-claims`,
      protocolType: "HTTP",
      description: "Provisioning claims for installers (fleet provisioning by trusted user)",
      tags: args.tags,
    },
    { parent },
  );
  const accessLogs = new aws.cloudwatch.LogGroup(
    `${name}-access-logs`,
    {
      name: `/aws/apigateway/${checked.resourcePrefix}-claims`,
      retentionInDays: checked.logRetentionDays,
      kmsKeyId: args.kmsKeyArn,
      tags: args.tags,
    },
    { parent },
  );
  return { apiId: api.id, executionArn: api.executionArn, endpoint: api.apiEndpoint, own: { api, accessLogs } };
}

/** The route's JWT authorizer: the attached API's, when one is named, or a new one on `issuer` and `audiences`. */
function claimAuthorizerId({ name, parent, args, checked }: AccessScope, apiId: pulumi.Output<string>): pulumi.Output<string> {
  const named = args.claims.attachTo?.authorizerId;
  if (named !== undefined) return pulumi.output(named);
  const jwt = args.claims.jwt;
  return new aws.apigatewayv2.Authorizer(
    `${name}-authorizer`,
    {
      apiId,
      name: `${checked.resourcePrefix}-installers`,
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: jwt?.issuer, audiences: jwt?.audiences },
    },
    { parent },
  ).id;
}

/** The component's own API's `$default` stage: deployed once the route exists, with access logs and throttling. */
function declareStage(
  { name, parent, args, checked }: AccessScope,
  apiId: pulumi.Output<string>,
  accessLogs: aws.cloudwatch.LogGroup,
  route: aws.apigatewayv2.Route,
): void {
  new aws.apigatewayv2.Stage(
    `${name}-stage`,
    {
      apiId,
      name: "$default",
      autoDeploy: true,
      accessLogSettings: { destinationArn: accessLogs.arn, format: CLAIM_ACCESS_LOG_FORMAT },
      defaultRouteSettings: {
        throttlingBurstLimit: checked.throttlingBurstLimit,
        throttlingRateLimit: checked.throttlingRateLimit,
        detailedMetricsEnabled: false,
      },
      tags: args.tags,
    },
    { parent, dependsOn: [route] },
  );
}

/**
 * The claim route: its JWT authorizer, the proxy integration, the route requiring the scope, API Gateway's
 * permission to invoke the function for this route of this API only, and, on the component's own API, the
 * `$default` stage. Returns the endpoint.
 */
export function declareClaimRoute(scope: AccessScope, fn: aws.lambda.Function): pulumi.Output<string> {
  const { name, parent, checked } = scope;
  const api = claimApi(scope);
  const integration = new aws.apigatewayv2.Integration(
    `${name}-integration`,
    {
      apiId: api.apiId,
      integrationType: "AWS_PROXY",
      integrationMethod: "POST",
      integrationUri: fn.invokeArn,
      payloadFormatVersion: "2.0",
      timeoutMilliseconds: Math.min(30_000, (checked.claimFunction.timeoutSeconds + 1) * 1_000),
    },
    { parent },
  );
  const route = new aws.apigatewayv2.Route(
    `${name}-route`,
    {
      apiId: api.apiId,
      routeKey: CLAIM_ROUTE_KEY,
      target: pulumi.interpolate`integrations/${integration.id}`,
      authorizationType: "JWT",
      authorizerId: claimAuthorizerId(scope, api.apiId),
      authorizationScopes: [checked.scope],
    },
    { parent },
  );
  new aws.lambda.Permission(
    `${name}-claim-invoke`,
    {
      function: fn.name,
      action: "lambda:InvokeFunction",
      principal: "apigateway.amazonaws.com",
      sourceArn: pulumi.interpolate`${api.executionArn}/*/${CLAIM_ROUTE.method}${CLAIM_ROUTE.path}`,
    },
    { parent },
  );
  if (api.own !== undefined) declareStage(scope, api.apiId, api.own.accessLogs, route);
  return pulumi.interpolate`${api.endpoint}${CLAIM_ROUTE.path}`;
}

/**
 * The direct path: an identity pool that accepts the user pool's ID tokens (checked server-side) and never
 * unauthenticated identities, an installer role trusted by that pool's authenticated identities only, allowed
 * `CreateProvisioningClaim` on this template and nothing else, and, with a required group, a rule that gives
 * the role to members of the group and denies everyone else.
 */
export function declareIdentityPool(
  scope: AccessScope,
  uses: { templateArn: pulumi.Output<string>; region: pulumi.Output<string>; dnsSuffix: pulumi.Output<string> },
): { identityPoolId: pulumi.Output<string>; installerRoleArn: pulumi.Output<string> } | undefined {
  const { name, parent, args, checked } = scope;
  const direct = args.identityPool;
  if (direct === undefined) return undefined;
  const providerName = pulumi.interpolate`cognito-idp.${uses.region}.${uses.dnsSuffix}/${direct.userPoolId}`;
  const pool = new aws.cognito.IdentityPool(
    `${name}-identity-pool`,
    {
      identityPoolName: checked.resourcePrefix.replace(/-/g, "_"),
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: direct.clientIds.map((clientId) => ({ clientId, providerName, serverSideTokenCheck: true })),
      tags: args.tags,
    },
    { parent },
  );
  const role = new aws.iam.Role(
    `${name}-installer-role`,
    {
      description: `Installers of ${checked.resourcePrefix}: CreateProvisioningClaim for template ${checked.templateName} only`,
      assumeRolePolicy: pool.id.apply((id) => JSON.stringify(installerRoleTrustPolicy(id))),
      tags: args.tags,
    },
    { parent },
  );
  new aws.iam.RolePolicy(
    `${name}-installer-policy`,
    { role: role.name, policy: uses.templateArn.apply((arn) => JSON.stringify(installerRolePolicy(arn))) },
    { parent },
  );
  const group = checked.requiredGroup;
  new aws.cognito.IdentityPoolRoleAttachment(
    `${name}-identity-pool-roles`,
    {
      identityPoolId: pool.id,
      roles: { authenticated: role.arn },
      roleMappings:
        group === undefined
          ? undefined
          : direct.clientIds.map((clientId) => ({
              identityProvider: pulumi.interpolate`${providerName}:${clientId}`,
              type: "Rules",
              ambiguousRoleResolution: "Deny",
              mappingRules: [{ claim: "cognito:groups", matchType: "Contains", value: group, roleArn: role.arn }],
            })),
    },
    { parent },
  );
  return { identityPoolId: pool.id, installerRoleArn: role.arn };
}
