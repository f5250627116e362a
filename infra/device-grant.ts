/**
 * `DeviceGrant`: the OAuth 2.0 device authorization grant (RFC 8628) of the AWS device-grant sample, rebuilt as a serverless service: one
 * DynamoDB table, one Lambda function serving every endpoint, and an API Gateway HTTP API in front of it.
 * Its arguments, their defaults and checks are in `device-grant-args.ts`.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { DEVICE_GRANT_CONFIG_ENV, loadDeviceGrantConfig, type DeviceGrantConfig } from "../functions/device-grant/config";
import { PATHS, ROUTES, routeKey } from "../functions/device-grant/routes";

export { ACCESS_LOG_FORMAT, routeSlug } from "./device-grant-api";
import { KMS_KEY_SPECS, KMS_SIGNING_ALGORITHMS } from "../functions/device-grant/signer";
import { PARTITION_KEY, TABLE_DEFINITION, TTL_ATTRIBUTE } from "../functions/device-grant/table";
import { cognitoJwksUri } from "../functions/shared/oauth";
import { REPO_ROOT } from "./bundle";
import { type BundledFunction, defineBundledFunction } from "./bundled-function";
import { declareCustomDomain, declareRoutes, type DeviceGrantScope } from "./device-grant-api";
import { checkDeviceGrantArgs, type DeviceGrantArgs } from "./device-grant-args";
import { deviceGrantRolePolicy } from "./policies";

/** The function's entry, bundled while the program runs: one handler for every route (payload format 2.0). */
export const DEVICE_GRANT_ENTRY = path.join(REPO_ROOT, "functions", "device-grant", "index.ts");

/** The routes, exactly (`functions/device-grant/routes.ts`): anything else is API Gateway's 404, never the function's. */
export const DEVICE_GRANT_ROUTES: readonly string[] = ROUTES.map(routeKey);

/**
 * The item operations the store performs (functions/device-grant/table.ts: a request created with one
 * conditional `PutItem`, looked up with one strongly consistent `GetItem` by its key, moved on with one
 * conditional `UpdateItem` per transition; rate-limit counters updated with `UpdateItem`). No `Query`, no
 * `Scan`, no `DeleteItem` (TTL removes items), no batch or transaction operations.
 */
export const STORE_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] as const;

/** The MessageType the function signs ID tokens with (the digest of the JWS signing input: `kms-signer.ts`). */
export const ID_TOKEN_MESSAGE_TYPE = "DIGEST";

/** Name of the SecureString parameter with the confidential clients' secrets (JSON: client id → secret). */
export function clientSecretsParameterName(resourcePrefix: string): string {
  return `/iot-enterprise-auth/${resourcePrefix}/device-grant/client-secrets`;
}

/**
 * The device authorization grant service. It creates:
 *
 * - the table (on-demand, TTL on `ttl`, point-in-time recovery, encryption at rest with an AWS owned key or
 *   yours), laid out as `functions/device-grant/table.ts` defines;
 * - with `ID` in the token set, an asymmetric KMS key (`SIGN_VERIFY`, RSA_2048 or ECC_NIST_P256, no automatic
 *   rotation: KMS rotates symmetric keys only) the service signs its own ID tokens with; its public key is read
 *   at deployment and handed to the function, which may only `kms:Sign` with that key;
 * - with confidential clients, an SSM SecureString parameter holding their secrets, never the environment;
 * - one function (Node.js 22) for every route, its log group with retention and JSON logs, and a role with one
 *   inline policy: its log group, the store's item operations on the table, the secrets parameter, `kms:Sign`
 *   on the ID token key;
 * - an HTTP API with exactly the routes of `functions/device-grant/routes.ts`, a `$default` stage with access logs (no query strings, no
 *   headers) and throttling, and one Lambda permission per route;
 * - optionally a custom domain with its API mapping.
 *
 * Arguments are all checked, with `checkDeviceGrantSettings`/`checkClients` (`checkDeviceGrantArgs`), before anything is declared.
 */
export class DeviceGrant extends pulumi.ComponentResource {
  /** Where everything is served, without a trailing slash: the custom domain or the API's endpoint. */
  readonly baseUrl: pulumi.Output<string>;
  /** `<baseUrl>/oauth2/device_authorization`, where a device starts a grant (RFC 8628 §3.1). */
  readonly deviceAuthorizationEndpoint: pulumi.Output<string>;
  /** `<baseUrl>/oauth2/token`, where a device polls for its tokens and refreshes them. */
  readonly tokenEndpoint: pulumi.Output<string>;
  /** The page users open to enter their code (RFC 8628 `verification_uri`). */
  readonly verificationUri: pulumi.Output<string>;
  /** RFC 8414 metadata. */
  readonly metadataUrl: pulumi.Output<string>;
  /** The JWKS of the service's own ID tokens (the metadata's `jwks_uri`). */
  readonly jwksUri: pulumi.Output<string>;
  /** With `ID` in the token set: the asymmetric KMS key the service signs its ID tokens with. */
  readonly idTokenKeyArn: pulumi.Output<string | undefined>;
  /** Register this as the upstream client's redirect URI. Depends only on the API (or domain), never on the function. */
  readonly callbackUrl: pulumi.Output<string>;
  /** The HTTP API's id: `FleetProvisioning` can serve its claim route on this API (`claims.attachTo.apiId`). */
  readonly apiId: pulumi.Output<string>;
  /** The API's execution ARN: another component serving a route on this API scopes its Lambda permission with it. */
  readonly apiExecutionArn: pulumi.Output<string>;
  /** The DynamoDB table of requests in flight (one item per request, expired ones removed by TTL). */
  readonly tableName: pulumi.Output<string>;
  /** The table's ARN. */
  readonly tableArn: pulumi.Output<string>;
  /** The device grant function's name (the resource prefix), for its CloudWatch metrics and alarms. */
  readonly functionName: pulumi.Output<string>;
  /** The device grant function's ARN. */
  readonly functionArn: pulumi.Output<string>;
  /** The function's execution role, to attach what your organisation adds to every role. */
  readonly functionRoleArn: pulumi.Output<string>;
  /** The function's log group (`/aws/lambda/<resourcePrefix>`). */
  readonly logGroupName: pulumi.Output<string>;
  /** The API stage's access log group (`/aws/apigateway/<resourcePrefix>`). */
  readonly accessLogGroupName: pulumi.Output<string>;
  /** The API's stage (`$default`), for its CloudWatch metrics (`ApiId`, `Stage` dimensions). */
  readonly apiStageName: pulumi.Output<string>;
  /** With a custom domain: the target of its DNS alias (CNAME or Route 53 alias). */
  readonly customDomainTarget: pulumi.Output<string | undefined>;

  constructor(name: string, args: DeviceGrantArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkDeviceGrantArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:device:DeviceGrant", name, {}, opts);
    const scope: ChildScope = { name, component: this, args, checked };
    const parent = { parent: this };

    const region = aws.getRegionOutput({}, parent).region;
    const partitionInfo = aws.getPartitionOutput({}, parent);

    const table = declareTable(scope);
    const accessLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      {
        name: `/aws/apigateway/${checked.resourcePrefix}`,
        retentionInDays: checked.logRetentionDays,
        kmsKeyId: args.kmsKeyArn,
        tags: args.tags,
      },
      parent,
    );
    const secretsParameter = declareSecretsParameter(scope);
    const api = new aws.apigatewayv2.Api(
      `${name}-api`,
      {
        name: checked.resourcePrefix,
        protocolType: "HTTP",
        description: "OAuth 2.0 device authorization grant (RFC 8628)",
        disableExecuteApiEndpoint: args.customDomain !== undefined,
        tags: args.tags,
      },
      parent,
    );
    const baseUrl = args.customDomain !== undefined ? pulumi.output(`https://${args.customDomain.domainName}`) : api.apiEndpoint;
    const idTokenKey = declareIdTokenKey(scope);
    const config = runtimeConfig(scope, { baseUrl, tableName: table.name, region, idTokenKey });
    const dnsSuffix = partitionInfo.dnsSuffix;
    const { fn, role, logGroup } = declareFunction(scope, { config, table, secretsParameter, idTokenKey, region, dnsSuffix });
    const stage = declareRoutes(scope, { api, fn, accessLogGroup });
    const customDomainTarget = declareCustomDomain(scope, api, stage);

    this.baseUrl = baseUrl;
    this.deviceAuthorizationEndpoint = pulumi.interpolate`${baseUrl}${PATHS.deviceAuthorization}`;
    this.tokenEndpoint = pulumi.interpolate`${baseUrl}${PATHS.token}`;
    this.verificationUri = pulumi.interpolate`${baseUrl}${PATHS.device}`;
    this.metadataUrl = pulumi.interpolate`${baseUrl}${PATHS.metadata}`;
    this.jwksUri = pulumi.interpolate`${baseUrl}${PATHS.jwks}`;
    this.idTokenKeyArn = idTokenKey ? idTokenKey.key.arn : pulumi.output(undefined);
    this.callbackUrl = pulumi.interpolate`${baseUrl}${PATHS.callback}`;
    this.apiId = api.id;
    this.apiExecutionArn = api.executionArn;
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.functionRoleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.accessLogGroupName = accessLogGroup.name;
    this.apiStageName = stage.name;
    this.customDomainTarget = customDomainTarget;
    this.registerOutputs({
      baseUrl: this.baseUrl,
      deviceAuthorizationEndpoint: this.deviceAuthorizationEndpoint,
      tokenEndpoint: this.tokenEndpoint,
      verificationUri: this.verificationUri,
      metadataUrl: this.metadataUrl,
      jwksUri: this.jwksUri,
      idTokenKeyArn: this.idTokenKeyArn,
      callbackUrl: this.callbackUrl,
      apiId: this.apiId,
      apiExecutionArn: this.apiExecutionArn,
      tableName: this.tableName,
      tableArn: this.tableArn,
      functionName: this.functionName,
      functionArn: this.functionArn,
      functionRoleArn: this.functionRoleArn,
      logGroupName: this.logGroupName,
      accessLogGroupName: this.accessLogGroupName,
      apiStageName: this.apiStageName,
      customDomainTarget: this.customDomainTarget,
    });
  }
}

/** What every child of one `DeviceGrant` is declared with (`device-grant-api.ts`). */
type ChildScope = DeviceGrantScope;

/** The ID token key and its public key, with `ID` in the token set. */
interface IdTokenKey {
  key: aws.kms.Key;
  algorithm: "RS256" | "ES256";
  publicKeyPem: pulumi.Output<string>;
}

/**
 * With `ID` in the token set, the asymmetric KMS key of the service's ID tokens: `SIGN_VERIFY`, its key spec
 * from the algorithm, no automatic rotation (KMS rotates symmetric keys only; replace the key to rotate it:
 * the JWKS `kid` follows), the default key policy (the account's IAM policies decide who may use it, and the
 * function's role may only sign with it). Its public key is read at deployment (`kms:GetPublicKey` by the
 * deployer), so the function needs no permission but `kms:Sign`.
 */
function declareIdTokenKey({ name, component, args, checked }: ChildScope): IdTokenKey | undefined {
  if (!checked.settings.resultTokenSet.includes("ID")) return undefined;
  const algorithm = args.idTokenAlgorithm ?? "RS256";
  const key = new aws.kms.Key(
    `${name}-id-token-key`,
    {
      description: `Signs the ID tokens of the device grant ${checked.resourcePrefix} (${algorithm})`,
      keyUsage: "SIGN_VERIFY",
      customerMasterKeySpec: KMS_KEY_SPECS[algorithm],
      enableKeyRotation: false,
      deletionWindowInDays: 30,
      tags: args.tags,
    },
    { parent: component },
  );
  const publicKeyPem = aws.kms.getPublicKeyOutput({ keyId: key.arn }, { parent: component }).publicKeyPem;
  return { key, algorithm, publicKeyPem };
}

/** The table, laid out as `functions/device-grant/table.ts` defines it. */
function declareTable({ name, component, args, checked }: ChildScope): aws.dynamodb.Table {
  const indexes = TABLE_DEFINITION.GlobalSecondaryIndexes ?? [];
  return new aws.dynamodb.Table(
    `${name}-table`,
    {
      name: checked.resourcePrefix,
      billingMode: "PAY_PER_REQUEST",
      deletionProtectionEnabled: checked.deletionProtection,
      hashKey: PARTITION_KEY,
      attributes: (TABLE_DEFINITION.AttributeDefinitions ?? []).map((a) => ({
        name: a.AttributeName as string,
        type: a.AttributeType as string,
      })),
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
      tags: args.tags,
    },
    { parent: component },
  );
}

/** With confidential clients, the SecureString holding their secrets (JSON: client id → secret); never the environment. */
function declareSecretsParameter({ name, component, args, checked }: ChildScope): aws.ssm.Parameter | undefined {
  const confidential = args.clients.flatMap((c) => (c.type === "confidential" ? [c] : []));
  if (confidential.length === 0) return undefined;
  const value = pulumi
    .all([pulumi.all(confidential.map((c) => c.clientId)), pulumi.all(confidential.map((c) => c.clientSecret as pulumi.Input<string>))])
    .apply(([ids, secrets]) => JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, secrets[i]]))));
  return new aws.ssm.Parameter(
    `${name}-client-secrets`,
    {
      name: clientSecretsParameterName(checked.resourcePrefix),
      type: "SecureString",
      value: pulumi.secret(value),
      keyId: args.kmsKeyArn,
      description: `Secrets of the device grant's confidential clients (JSON: client id → secret), read by ${checked.resourcePrefix}`,
      tags: args.tags,
    },
    { parent: component },
  );
}

/**
 * The function's `DEVICE_GRANT_CONFIG`. Every Output-valued input is resolved here, once: real client ids
 * replace the stand-ins the static checks used.
 */
function runtimeConfig(
  { args, checked }: ChildScope,
  deployed: {
    baseUrl: pulumi.Output<string>;
    tableName: pulumi.Output<string>;
    region: pulumi.Output<string>;
    idTokenKey: IdTokenKey | undefined;
  },
): pulumi.Output<DeviceGrantConfig> {
  const clientIds = pulumi.all(args.clients.map((c) => c.clientId));
  const hasConfidential = args.clients.some((c) => c.type === "confidential");
  const upstream = args.upstream;
  const jwksUri = upstream.jwksUri ?? pulumi.output(upstream.issuer).apply(cognitoJwksUri);
  const idTokenKey = deployed.idTokenKey;
  const idTokenKeyConfig = idTokenKey
    ? pulumi.all([idTokenKey.key.arn, idTokenKey.publicKeyPem]).apply(([kmsKeyArn, publicKeyPem]) => ({
        kmsKeyArn,
        algorithm: idTokenKey.algorithm,
        publicKeyPem,
      }))
    : pulumi.output(undefined);
  return pulumi
    .all([
      clientIds,
      deployed.baseUrl,
      deployed.tableName,
      deployed.region,
      pulumi.all([upstream.issuer, upstream.authorizationEndpoint, upstream.tokenEndpoint, jwksUri]),
      idTokenKeyConfig,
    ])
    .apply(([ids, publicBaseUrl, tableName, regionName, [issuer, authorizationEndpoint, tokenEndpoint, jwks], idTokenKeyValue]) =>
      // The function's own cold-start checks, now with the real ids and URLs: what it would refuse fails the
      // deployment here instead (a duplicate client id, say), and what it accepts is exactly what it gets.
      loadDeviceGrantConfig({
        settings: checked.settings,
        clients: args.clients.map((c, i) => ({ clientId: ids[i], name: c.name, type: c.type, scopes: c.scopes })),
        scopes: checked.scopes,
        upstream: { issuer, authorizationEndpoint, tokenEndpoint, redirectUri: `${publicBaseUrl}${PATHS.callback}`, jwksUri: jwks },
        publicBaseUrl,
        tableName,
        region: regionName,
        ...(hasConfidential && { clientSecretsParameter: clientSecretsParameterName(checked.resourcePrefix) }),
        ...(idTokenKeyValue && { idTokenKey: idTokenKeyValue }),
      }),
    );
}

/** The one function for every route, with its log group and a role whose one policy names exactly what it uses. */
function declareFunction(
  { name, component, args, checked }: ChildScope,
  uses: {
    config: pulumi.Output<DeviceGrantConfig>;
    table: aws.dynamodb.Table;
    secretsParameter: aws.ssm.Parameter | undefined;
    idTokenKey: IdTokenKey | undefined;
    region: pulumi.Output<string>;
    dnsSuffix: pulumi.Output<string>;
  },
): BundledFunction {
  const { config, table, secretsParameter } = uses;
  const indexes = TABLE_DEFINITION.GlobalSecondaryIndexes ?? [];
  return defineBundledFunction(
    name,
    {
      resourcePrefix: checked.resourcePrefix,
      description: "OAuth 2.0 device authorization grant: device authorization, token, verification page, callback",
      roleDescription: `Execution role of the device grant function ${checked.resourcePrefix}`,
      entry: DEVICE_GRANT_ENTRY,
      architecture: checked.architecture,
      memorySize: checked.memorySize,
      timeoutSeconds: checked.timeoutSeconds,
      reservedConcurrency: checked.reservedConcurrency,
      logRetentionDays: checked.logRetentionDays,
      kmsKeyArn: args.kmsKeyArn,
      permissionsBoundary: args.permissionsBoundary,
      metricsNamespace: args.metricsNamespace,
      environment: { [DEVICE_GRANT_CONFIG_ENV]: config.apply((c) => JSON.stringify(c)) },
      policy: (logGroupArn) =>
        pulumi
          .all([logGroupArn, table.arn, secretsParameter?.arn, args.kmsKeyArn, uses.region, uses.dnsSuffix, uses.idTokenKey?.key.arn])
          .apply(([logArn, tableArn, parameterArn, kmsKeyArn, regionName, dnsSuffix, idTokenKeyArn]) =>
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
                ...(idTokenKeyArn !== undefined &&
                  uses.idTokenKey && {
                    idTokenSigning: {
                      keyArn: idTokenKeyArn,
                      signingAlgorithm: KMS_SIGNING_ALGORITHMS[uses.idTokenKey.algorithm],
                      messageType: ID_TOKEN_MESSAGE_TYPE,
                    },
                  }),
              }),
            ),
          ),
      dependsOn: secretsParameter ? [secretsParameter] : [],
      tags: args.tags,
    },
    component,
  );
}
