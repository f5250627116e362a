/**
 * `DeviceGrant`: the OAuth 2.0 device authorization grant (RFC 8628) of seed 003 as a serverless service: one
 * DynamoDB table, one Lambda function serving every endpoint, and an API Gateway HTTP API in front of it.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ConfigurationError } from "../functions/authorizer/config";
import { DEVICE_GRANT_CONFIG_ENV, loadDeviceGrantConfig, type DeviceGrantConfig } from "../functions/device-grant/config";
import type { ClientRegistration, DeviceGrantSettings } from "../functions/device-grant/model";
import { checkClients, checkDeviceGrantSettings } from "../functions/device-grant/settings";
import { PARTITION_KEY, TABLE_DEFINITION, TTL_ATTRIBUTE } from "../functions/device-grant/table";
import { REPO_ROOT } from "./bundle";
import { defineBundledFunction } from "./bundled-function";
import { LOG_RETENTION_DAYS } from "./iot-token-authorizer";
import { deviceGrantRolePolicy } from "./policies";

/** The function's entry, bundled while the program runs: one handler for every route (payload format 2.0). */
export const DEVICE_GRANT_ENTRY = path.join(REPO_ROOT, "functions", "device-grant", "index.ts");

/** The routes, exactly: anything else is API Gateway's 404, never the function's. */
export const DEVICE_GRANT_ROUTES = [
  "POST /oauth2/device_authorization",
  "POST /oauth2/token",
  "GET /.well-known/oauth-authorization-server",
  "GET /device",
  "POST /device",
  "GET /callback",
] as const;

/**
 * The item operations the store performs (functions/device-grant/table.ts: every lookup a strongly consistent
 * `GetItem` through pointer items, every transition a conditional `UpdateItem`, codes claimed with conditional
 * `PutItem`, a lost race undone with `DeleteItem`). No `Scan`, no batch or transaction operations.
 */
export const STORE_TABLE_ACTIONS = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] as const;

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

export const DEVICE_GRANT_COMPONENT_DEFAULTS = {
  memorySize: 256,
  /** Seconds: a token poll may wait on the upstream token endpoint; API Gateway waits at most 30 s. */
  timeoutSeconds: 10,
  logRetentionDays: 30,
  architecture: "arm64" as "arm64" | "x86_64",
  throttlingBurstLimit: 100,
  throttlingRateLimit: 50,
} as const;

export interface DeviceGrantClient {
  /** The upstream IdP's client id (e.g. a `UserDirectory` client's). */
  clientId: pulumi.Input<string>;
  /** Shown on the confirmation page. */
  name: string;
  type: "public" | "confidential";
  /** Scopes the client may request. */
  scopes: string[];
  /** Confidential clients: the upstream client secret, stored in an SSM SecureString parameter. Pass it as a secret. */
  clientSecret?: pulumi.Input<string>;
}

export interface DeviceGrantUpstream {
  /** The `iss` of the upstream IdP (advertised, and compared by the function where it checks ID tokens). */
  issuer: pulumi.Input<string>;
  authorizationEndpoint: pulumi.Input<string>;
  tokenEndpoint: pulumi.Input<string>;
}

export interface DeviceGrantArgs {
  /** The grant's settings (seed 003's knobs and more); unset ones take `DEFAULT_DEVICE_GRANT_SETTINGS`. */
  settings?: Partial<DeviceGrantSettings>;
  clients: DeviceGrantClient[];
  /** Scopes advertised in the metadata; default: every scope some client may request. */
  scopes?: string[];
  /** The IdP the user signs in at on Approve. */
  upstream: DeviceGrantUpstream;
  /**
   * Serve the API on your own (short) domain, e.g. `device.example.com`: users type the `verification_uri`.
   * The default `execute-api` endpoint is then disabled, so there is one way in.
   */
  customDomain?: { domainName: string; certificateArn: pulumi.Input<string> };
  /** Customer managed KMS key for the table and the secrets parameter (default: AWS owned / managed keys). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Stage throttling for every route: burst (requests) and steady rate (requests per second). */
  throttling?: { burstLimit?: number; rateLimit?: number };
  lambda?: { memorySize?: number; timeoutSeconds?: number; architecture?: "arm64" | "x86_64" };
  /** Retention of the function's and the access logs' log groups in days (default 30). */
  logRetentionDays?: number;
  /** Names the function, table and log groups (default `<component name>-<stack>`). */
  resourcePrefix?: string;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const RESOURCE_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** A stand-in for a client id that is not known yet (an Output), so the static checks can still run. */
function standInClientId(index: number): string {
  return `pendingclient${index}`;
}

export interface CheckedDeviceGrantArgs {
  resourcePrefix: string;
  settings: DeviceGrantSettings;
  /** The clients as checked, with stand-in ids where the real id is an Output. */
  clients: ClientRegistration[];
  scopes: string[];
  memorySize: number;
  timeoutSeconds: number;
  architecture: "arm64" | "x86_64";
  logRetentionDays: number;
  throttlingBurstLimit: number;
  throttlingRateLimit: number;
}

/** The checks of `checkDeviceGrantArgs`, returning the problems instead of throwing (the stack lists them with others). */
export function deviceGrantProblems(name: string, args: DeviceGrantArgs, stack: string): { checked: CheckedDeviceGrantArgs; problems: string[] } {
  const problems: string[] = [];
  const a = (args ?? {}) as Partial<DeviceGrantArgs>;
  const d = DEVICE_GRANT_COMPONENT_DEFAULTS;

  const resourcePrefix = a.resourcePrefix ?? `${name}-${stack}`.replace(/\./g, "-");
  if (!RESOURCE_PREFIX.test(resourcePrefix)) {
    problems.push(
      `resourcePrefix ${JSON.stringify(resourcePrefix)}${a.resourcePrefix === undefined ? " (derived from the component name and stack)" : ""} ` +
        `must be 1-64 letters, digits, - or _ (it names the function and the table)`,
    );
  }

  const settings = checkDeviceGrantSettings(a.settings ?? {});
  problems.push(...settings.problems);

  const rawClients = Array.isArray(a.clients) ? a.clients : [];
  const registrations = rawClients.map((c, i) => ({
    clientId: typeof c?.clientId === "string" ? c.clientId : standInClientId(i),
    name: c?.name,
    type: c?.type,
    scopes: c?.scopes,
  }));
  const clients = checkClients(Array.isArray(a.clients) ? registrations : a.clients);
  problems.push(...clients.problems);
  rawClients.forEach((c, i) => {
    const label = typeof c?.name === "string" && c.name ? `client ${c.name}` : `clients[${i}]`;
    if (c?.type === "confidential" && c.clientSecret === undefined) problems.push(`${label} is confidential and needs clientSecret`);
    if (c?.type !== "confidential" && c?.clientSecret !== undefined) problems.push(`${label} is public and must not have a clientSecret`);
  });

  const scopes = a.scopes ?? [...new Set(clients.clients.flatMap((c) => c.scopes))];
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === "string" && s.length > 0)) {
    problems.push(`scopes must be a non-empty list of scope names`);
  } else {
    for (const client of clients.clients) {
      const foreign = client.scopes.filter((s) => !scopes.includes(s));
      if (foreign.length > 0) problems.push(`client ${client.name}: scope(s) ${foreign.join(", ")} are not among the offered scopes`);
    }
  }

  const upstream = (a.upstream ?? {}) as Partial<DeviceGrantUpstream>;
  for (const key of ["issuer", "authorizationEndpoint", "tokenEndpoint"] as const) {
    const value = upstream[key];
    if (value === undefined) problems.push(`upstream.${key} is required`);
    else if (typeof value === "string" && !value.startsWith("https://")) problems.push(`upstream.${key} must use https; got ${value}`);
  }

  if (a.customDomain !== undefined) {
    if (typeof a.customDomain.domainName !== "string" || !DOMAIN_NAME.test(a.customDomain.domainName)) {
      problems.push(`customDomain.domainName must be a lowercase DNS name; got ${JSON.stringify(a.customDomain.domainName)}`);
    }
    if (a.customDomain.certificateArn === undefined) problems.push(`customDomain.certificateArn is required (ACM, same region)`);
  }

  const fn = a.lambda ?? {};
  const memorySize = fn.memorySize ?? d.memorySize;
  if (!isInteger(memorySize, 128, 10_240)) problems.push(`lambda.memorySize must be an integer from 128 to 10240 MB; got ${JSON.stringify(memorySize)}`);
  const timeoutSeconds = fn.timeoutSeconds ?? d.timeoutSeconds;
  if (!isInteger(timeoutSeconds, 1, 10)) problems.push(`lambda.timeoutSeconds must be an integer from 1 to 10; got ${JSON.stringify(timeoutSeconds)}`);
  const architecture = fn.architecture ?? d.architecture;
  if (architecture !== "arm64" && architecture !== "x86_64") problems.push(`lambda.architecture must be arm64 or x86_64; got ${JSON.stringify(architecture)}`);
  const logRetentionDays = a.logRetentionDays ?? d.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(", ")}; got ${JSON.stringify(logRetentionDays)}`);
  }
  const throttlingBurstLimit = a.throttling?.burstLimit ?? d.throttlingBurstLimit;
  if (!isInteger(throttlingBurstLimit, 1, 5_000)) {
    problems.push(`throttling.burstLimit must be an integer from 1 to 5000; got ${JSON.stringify(throttlingBurstLimit)}`);
  }
  const throttlingRateLimit = a.throttling?.rateLimit ?? d.throttlingRateLimit;
  if (!isInteger(throttlingRateLimit, 1, 10_000)) {
    problems.push(`throttling.rateLimit must be an integer from 1 to 10000; got ${JSON.stringify(throttlingRateLimit)}`);
  }

  return {
    problems,
    checked: {
      resourcePrefix,
      settings: settings.settings,
      clients: clients.clients,
      scopes: Array.isArray(scopes) ? scopes : [],
      memorySize,
      timeoutSeconds,
      architecture,
      logRetentionDays,
      throttlingBurstLimit,
      throttlingRateLimit,
    },
  };
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkDeviceGrantArgs(name: string, args: DeviceGrantArgs, stack: string): CheckedDeviceGrantArgs {
  const { checked, problems } = deviceGrantProblems(name, args, stack);
  if (problems.length > 0) throw new ConfigurationError(problems, `DeviceGrant "${name}" arguments`);
  return checked;
}

/** Name of the SecureString parameter with the confidential clients' secrets (JSON: client id → secret). */
export function clientSecretsParameterName(resourcePrefix: string): string {
  return `/iot-enterprise-auth/${resourcePrefix}/device-grant/client-secrets`;
}

/**
 * The device authorization grant service. It creates:
 *
 * - the table (on-demand, TTL on `ttl`, point-in-time recovery, encryption at rest with an AWS owned key or
 *   yours), laid out as `functions/device-grant/table.ts` defines;
 * - with confidential clients, an SSM SecureString parameter holding their secrets, never the environment;
 * - one function (Node.js 22) for every route, its log group with retention and JSON logs, and a role with one
 *   inline policy: its log group, the store's item operations on the table, the secrets parameter;
 * - an HTTP API with exactly the six routes, a `$default` stage with access logs (no query strings, no
 *   headers) and throttling, and one Lambda permission per route;
 * - optionally a custom domain with its API mapping.
 *
 * Arguments are all checked, with `checkDeviceGrantSettings`/`checkClients`, before anything is declared.
 */
export class DeviceGrant extends pulumi.ComponentResource {
  /** Where everything is served, without a trailing slash: the custom domain or the API's endpoint. */
  readonly baseUrl: pulumi.Output<string>;
  readonly deviceAuthorizationEndpoint: pulumi.Output<string>;
  readonly tokenEndpoint: pulumi.Output<string>;
  /** The page users open to enter their code (RFC 8628 `verification_uri`). */
  readonly verificationUri: pulumi.Output<string>;
  /** RFC 8414 metadata. */
  readonly metadataUrl: pulumi.Output<string>;
  /** Register this as the upstream client's redirect URI. Depends only on the API (or domain), never on the function. */
  readonly callbackUrl: pulumi.Output<string>;
  readonly apiId: pulumi.Output<string>;
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;
  /** With a custom domain: the target of its DNS alias (CNAME or Route 53 alias). */
  readonly customDomainTarget: pulumi.Output<string | undefined>;

  constructor(name: string, args: DeviceGrantArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkDeviceGrantArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:device:DeviceGrant", name, {}, opts);
    const { resourcePrefix } = checked;
    const parent = { parent: this };
    const tags = args.tags;

    const region = aws.getRegionOutput({}, parent).region;
    const partitionInfo = aws.getPartitionOutput({}, parent);

    const indexes = TABLE_DEFINITION.GlobalSecondaryIndexes ?? [];
    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        name: resourcePrefix,
        billingMode: "PAY_PER_REQUEST",
        hashKey: PARTITION_KEY,
        attributes: (TABLE_DEFINITION.AttributeDefinitions ?? []).map((a) => ({ name: a.AttributeName as string, type: a.AttributeType as string })),
        globalSecondaryIndexes:
          indexes.length === 0
            ? undefined
            : indexes.map((index) => ({
                name: index.IndexName as string,
                hashKey: index.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName,
                rangeKey: index.KeySchema?.find((k) => k.KeyType === "RANGE")?.AttributeName,
                projectionType: index.Projection?.ProjectionType ?? "ALL",
                nonKeyAttributes: index.Projection?.NonKeyAttributes,
              })),
        ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: args.kmsKeyArn === undefined ? { enabled: true } : { enabled: true, kmsKeyArn: args.kmsKeyArn },
        tags,
      },
      parent,
    );

    const accessLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      { name: `/aws/apigateway/${resourcePrefix}`, retentionInDays: checked.logRetentionDays, tags },
      parent,
    );

    // Every Output-valued input is resolved here, once: real client ids (and secrets) replace the stand-ins.
    const clientIds = pulumi.all(args.clients.map((c) => c.clientId));
    const confidential = args.clients.flatMap((c) => (c.type === "confidential" ? [c] : []));
    let secretsParameter: aws.ssm.Parameter | undefined;
    if (confidential.length > 0) {
      const value = pulumi
        .all([pulumi.all(confidential.map((c) => c.clientId)), pulumi.all(confidential.map((c) => c.clientSecret as pulumi.Input<string>))])
        .apply(([ids, secrets]) => JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, secrets[i]]))));
      secretsParameter = new aws.ssm.Parameter(
        `${name}-client-secrets`,
        {
          name: clientSecretsParameterName(resourcePrefix),
          type: "SecureString",
          value: pulumi.secret(value),
          keyId: args.kmsKeyArn,
          description: `Secrets of the device grant's confidential clients (JSON: client id → secret), read by ${resourcePrefix}`,
          tags,
        },
        parent,
      );
    }

    const api = new aws.apigatewayv2.Api(
      `${name}-api`,
      {
        name: resourcePrefix,
        protocolType: "HTTP",
        description: "OAuth 2.0 device authorization grant (RFC 8628)",
        disableExecuteApiEndpoint: args.customDomain !== undefined,
        tags,
      },
      parent,
    );
    const baseUrl = args.customDomain !== undefined ? pulumi.output(`https://${args.customDomain.domainName}`) : api.apiEndpoint;
    const callbackUrl = pulumi.interpolate`${baseUrl}/callback`;

    const config: pulumi.Output<DeviceGrantConfig> = pulumi
      .all([clientIds, baseUrl, table.name, region, args.upstream.issuer, args.upstream.authorizationEndpoint, args.upstream.tokenEndpoint])
      .apply(([ids, publicBaseUrl, tableName, regionName, issuer, authorizationEndpoint, tokenEndpoint]) =>
        // The function's own cold-start checks, now with the real ids and URLs: what it would refuse fails the
        // deployment here instead (a duplicate client id, say), and what it accepts is exactly what it gets.
        loadDeviceGrantConfig({
          settings: checked.settings,
          clients: args.clients.map((c, i) => ({ clientId: ids[i], name: c.name, type: c.type, scopes: c.scopes })),
          scopes: checked.scopes,
          upstream: { issuer, authorizationEndpoint, tokenEndpoint, redirectUri: `${publicBaseUrl}/callback` },
          publicBaseUrl,
          tableName,
          region: regionName,
          ...(confidential.length > 0 && { clientSecretsParameter: clientSecretsParameterName(resourcePrefix) }),
        }),
      );

    const { fn } = defineBundledFunction(
      name,
      {
        resourcePrefix,
        description: "OAuth 2.0 device authorization grant: device authorization, token, verification page, callback",
        roleDescription: `Execution role of the device grant function ${resourcePrefix}`,
        entry: DEVICE_GRANT_ENTRY,
        architecture: checked.architecture,
        memorySize: checked.memorySize,
        timeoutSeconds: checked.timeoutSeconds,
        logRetentionDays: checked.logRetentionDays,
        environment: { [DEVICE_GRANT_CONFIG_ENV]: config.apply((c) => JSON.stringify(c)) },
        policy: (logGroupArn) =>
          pulumi
            .all([logGroupArn, table.arn, secretsParameter?.arn, args.kmsKeyArn, region, partitionInfo.dnsSuffix])
            .apply(([logArn, tableArn, parameterArn, kmsKeyArn, regionName, dnsSuffix]) =>
              JSON.stringify(
                deviceGrantRolePolicy({
                  logGroupArn: logArn,
                  tableArn,
                  tableActions: [...STORE_TABLE_ACTIONS],
                  queriedIndexes: indexes.map((i) => i.IndexName as string),
                  clientSecretsParameterArn: parameterArn,
                  kmsKeyArn,
                  region: regionName,
                  dnsSuffix,
                }),
              ),
            ),
        dependsOn: secretsParameter ? [secretsParameter] : [],
        tags,
      },
      this,
    );

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

    const routes = DEVICE_GRANT_ROUTES.map(
      (routeKey) =>
        new aws.apigatewayv2.Route(
          `${name}-route-${routeSlug(routeKey)}`,
          { apiId: api.id, routeKey, target: pulumi.interpolate`integrations/${integration.id}` },
          parent,
        ),
    );

    // One permission per route: API Gateway may invoke the function for these method/path pairs of this API only.
    DEVICE_GRANT_ROUTES.forEach((routeKey) => {
      const [method, routePath] = routeKey.split(" ");
      new aws.lambda.Permission(
        `${name}-invoke-${routeSlug(routeKey)}`,
        {
          function: fn.name,
          action: "lambda:InvokeFunction",
          principal: "apigateway.amazonaws.com",
          sourceArn: pulumi.interpolate`${api.executionArn}/*/${method}${routePath}`,
        },
        parent,
      );
    });

    const stage = new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: api.id,
        name: "$default",
        autoDeploy: true,
        accessLogSettings: { destinationArn: accessLogGroup.arn, format: ACCESS_LOG_FORMAT },
        defaultRouteSettings: {
          throttlingBurstLimit: checked.throttlingBurstLimit,
          throttlingRateLimit: checked.throttlingRateLimit,
          detailedMetricsEnabled: false,
        },
        tags,
      },
      { parent: this, dependsOn: routes },
    );

    let customDomainTarget: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (args.customDomain !== undefined) {
      const domain = new aws.apigatewayv2.DomainName(
        `${name}-domain`,
        {
          domainName: args.customDomain.domainName,
          domainNameConfiguration: { certificateArn: args.customDomain.certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2" },
          tags,
        },
        parent,
      );
      new aws.apigatewayv2.ApiMapping(`${name}-mapping`, { apiId: api.id, domainName: domain.id, stage: stage.id }, parent);
      customDomainTarget = domain.domainNameConfiguration.targetDomainName;
    }

    this.baseUrl = baseUrl;
    this.deviceAuthorizationEndpoint = pulumi.interpolate`${baseUrl}/oauth2/device_authorization`;
    this.tokenEndpoint = pulumi.interpolate`${baseUrl}/oauth2/token`;
    this.verificationUri = pulumi.interpolate`${baseUrl}/device`;
    this.metadataUrl = pulumi.interpolate`${baseUrl}/.well-known/oauth-authorization-server`;
    this.callbackUrl = callbackUrl;
    this.apiId = api.id;
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.customDomainTarget = customDomainTarget;
    this.registerOutputs({
      baseUrl: this.baseUrl,
      deviceAuthorizationEndpoint: this.deviceAuthorizationEndpoint,
      tokenEndpoint: this.tokenEndpoint,
      verificationUri: this.verificationUri,
      metadataUrl: this.metadataUrl,
      callbackUrl: this.callbackUrl,
      apiId: this.apiId,
      tableName: this.tableName,
      tableArn: this.tableArn,
      functionName: this.functionName,
      functionArn: this.functionArn,
      customDomainTarget: this.customDomainTarget,
    });
  }
}

/** `POST /oauth2/device_authorization` → `post-oauth2-device-authorization`: a stable child name per route. */
export function routeSlug(routeKey: string): string {
  return routeKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}
