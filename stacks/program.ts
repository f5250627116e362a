/**
 * The program: one `IotTokenAuthorizer` for the identity providers the stack configures (ForgeRock OpenAM's device flow: devices
 * sign in at OpenAM with the OAuth 2.0 device flow and connect to IoT Core with the access token), and, with
 * `deviceGrantEnabled`, the AWS device-grant sample rebuilt on AWS: a Cognito `UserDirectory`, the `DeviceGrant`
 * service in front of it, and the authorizer trusting the pool's access tokens for the device clients; with
 * `fleetProvisioningEnabled`, fleet provisioning by trusted user, its claim route on the device grant's API.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeviceGrant } from "../infra/device-grant";
import { FleetProvisioning } from "../infra/fleet-provisioning";
import { IotTokenAuthorizer } from "../infra/iot-token-authorizer";
import { OperationsAlarms } from "../infra/operations-alarms";
import { OPERATIONS_ALARMS_NAME } from "./alarms-config";
import { UserDirectory } from "../infra/user-directory";
import {
  COMPONENT_NAME,
  DEVICE_GRANT_NAME,
  PENDING_USER_POOL_ISSUER,
  readStackConfig,
  USER_DIRECTORY_NAME,
  type ConfigSource,
  type DeviceGrantStackConfig,
} from "./config";
export { stackOutputs } from "./outputs";
import { FLEET_PROVISIONING_NAME, type FleetProvisioningStackConfig, isInstallerApp } from "./fleet-provisioning-config";

export interface DeviceGrantOutputs {
  deviceAuthorizationEndpoint: pulumi.Output<string>;
  deviceTokenEndpoint: pulumi.Output<string>;
  verificationUri: pulumi.Output<string>;
  metadataUrl: pulumi.Output<string>;
  callbackUrl: pulumi.Output<string>;
  deviceGrantTableName: pulumi.Output<string>;
  deviceGrantTableArn: pulumi.Output<string>;
  deviceGrantFunctionName: pulumi.Output<string>;
  deviceGrantFunctionRoleArn: pulumi.Output<string>;
  deviceGrantLogGroupName: pulumi.Output<string>;
  /** The HTTP API and its stage, for alarms on its metrics (`ApiId`, `Stage`) and for routes of your own. */
  deviceGrantApiId: pulumi.Output<string>;
  deviceGrantApiStageName: pulumi.Output<string>;
  deviceGrantAccessLogGroupName: pulumi.Output<string>;
  /** With `deviceGrantDomain`: where its DNS alias points. */
  deviceGrantDomainTarget: pulumi.Output<string | undefined>;
  userPoolId: pulumi.Output<string>;
  userPoolArn: pulumi.Output<string>;
  userPoolIssuer: pulumi.Output<string>;
  hostedUiUrl: pulumi.Output<string>;
  /** With a custom hosted UI domain (`userPoolDomain.domain`): the CloudFront distribution its DNS alias points to. */
  userPoolDomainTarget: pulumi.Output<string | undefined>;
  /** Device client key → client id. */
  deviceClientIds: pulumi.Output<Record<string, string>>;
  /** Confidential device client key → secret; secret. */
  deviceClientSecrets: pulumi.Output<Record<string, string>>;
  /** Prefix of the pool's users' IoT principal ids: a device's MQTT client id starts with prefix + principal. */
  userPoolPrincipalPrefix: pulumi.Output<string>;
}

export interface StackOutputs {
  authorizerName: pulumi.Output<string>;
  authorizerArn: pulumi.Output<string>;
  tokenKeyName: pulumi.Output<string>;
  publicKeyPem: pulumi.Output<string | undefined>;
  /** Secret: `pulumi stack output --show-secrets privateKeyPem`. */
  privateKeyPem: pulumi.Output<string | undefined>;
  /** Every token-signing key: its name and public PEM (with `signingKeys`, in that order). */
  signingKeys: pulumi.Output<{ name: string; publicKeyPem: string }[]>;
  /** Secret: key name → private PEM of each key the stack generated. */
  signingPrivateKeys: pulumi.Output<Record<string, string>>;
  functionName: pulumi.Output<string>;
  functionArn: pulumi.Output<string>;
  /** The authorizer function's execution role and log group, for policies and alarms of your own. */
  authorizerFunctionRoleArn: pulumi.Output<string>;
  authorizerLogGroupName: pulumi.Output<string>;
  dataEndpoint: pulumi.Output<string>;
  /** Present with `deviceGrantEnabled`. */
  deviceGrant?: DeviceGrantOutputs;
  /** Present with `fleetProvisioningEnabled`. */
  fleetProvisioning?: FleetProvisioningOutputs;
  /** Present with `alarmsEnabled` (or an alarm topic or e-mail): the topic the alarms notify and the dashboard's name. */
  alarms?: { alarmTopicArn: pulumi.Output<string>; dashboardName: pulumi.Output<string> };
}

export interface FleetProvisioningOutputs {
  /** Installers POST here, with their access token, for a claim certificate. */
  claimEndpoint: pulumi.Output<string>;
  provisioningTemplateName: pulumi.Output<string>;
  provisioningTemplateArn: pulumi.Output<string>;
  provisioningRoleArn: pulumi.Output<string>;
  claimFunctionRoleArn: pulumi.Output<string>;
  claimFunctionName: pulumi.Output<string>;
  claimLogGroupName: pulumi.Output<string>;
  hookFunctionRoleArn: pulumi.Output<string>;
  hookFunctionName: pulumi.Output<string>;
  hookLogGroupName: pulumi.Output<string>;
  /** The claim bindings' table (claim certificate → installer). */
  claimTableName: pulumi.Output<string>;
  claimTableArn: pulumi.Output<string>;
  devicePolicyName: pulumi.Output<string>;
  /** With `provisioningDirectPath`: the identity pool installers exchange their ID tokens at, and its installers' role. */
  installerIdentityPoolId: pulumi.Output<string | undefined>;
  installerRoleArn: pulumi.Output<string | undefined>;
}

/** Fleet provisioning by trusted user: installers of the pool, the claim route on the device grant's API. */
function defineFleetProvisioning(
  config: FleetProvisioningStackConfig,
  device: { directory: UserDirectory; grant: DeviceGrant },
): { outputs: FleetProvisioningOutputs; fleet: FleetProvisioning } {
  const { directory, grant } = device;
  const installerClientIds = config.installerClientKeys.map((key) => directory.clientIds.apply((ids) => ids[key]));
  const fleet = new FleetProvisioning(FLEET_PROVISIONING_NAME, {
    ...config.args,
    claims: {
      attachTo: { apiId: grant.apiId, executionArn: grant.apiExecutionArn, endpoint: grant.baseUrl },
      jwt: { issuer: directory.issuer, audiences: installerClientIds },
      ...(config.requiredGroup !== undefined && { requiredGroup: config.requiredGroup }),
    },
    ...(config.directPath && { identityPool: { userPoolId: directory.userPoolId, clientIds: installerClientIds } }),
  });
  const outputs = {
    claimEndpoint: fleet.claimEndpoint,
    provisioningTemplateName: fleet.templateName,
    provisioningTemplateArn: fleet.templateArn,
    provisioningRoleArn: fleet.provisioningRoleArn,
    claimFunctionRoleArn: fleet.claimFunctionRoleArn,
    claimFunctionName: fleet.claimFunctionName,
    claimLogGroupName: fleet.claimLogGroupName,
    hookFunctionRoleArn: fleet.hookFunctionRoleArn,
    hookFunctionName: fleet.hookFunctionName,
    hookLogGroupName: fleet.hookLogGroupName,
    claimTableName: fleet.tableName,
    claimTableArn: fleet.tableArn,
    devicePolicyName: fleet.devicePolicyName,
    installerIdentityPoolId: fleet.identityPoolId,
    installerRoleArn: fleet.installerRoleArn,
  };
  return { outputs, fleet };
}

/**
 * The user pool and the device grant. Their one cycle, the app clients' callback URL (the API's `/callback`)
 * against the function's configuration (the clients' ids), is broken by a deferred output: the clients take the
 * callback URL before the device grant exists, and the URL depends on the API (or custom domain) only.
 */
function defineDeviceGrant(config: DeviceGrantStackConfig): { directory: UserDirectory; grant: DeviceGrant } {
  const [callbackUrl, resolveCallbackUrl] = pulumi.deferredOutput<string>();
  const directory = new UserDirectory(USER_DIRECTORY_NAME, { ...config.directory, callbackUrls: [callbackUrl] });
  const grant = new DeviceGrant(DEVICE_GRANT_NAME, {
    ...config.grant,
    clients: directory.settings.clients.map((c) => ({
      clientId: directory.clientIds.apply((ids) => ids[c.key]),
      name: c.name,
      type: c.type,
      scopes: c.scopes,
      ...(c.type === "confidential" && { clientSecret: pulumi.secret(directory.clientSecrets.apply((secrets) => secrets[c.key])) }),
    })),
    upstream: {
      issuer: directory.issuer,
      authorizationEndpoint: directory.authorizationEndpoint,
      tokenEndpoint: directory.tokenEndpoint,
      jwksUri: directory.jwksUri,
    },
  });
  resolveCallbackUrl(grant.callbackUrl);
  return { directory, grant };
}

/** Reads the configuration (failing with every problem before declaring anything) and declares the stack. */
export function defineStack(source?: ConfigSource): StackOutputs {
  const config = readStackConfig(source);
  const device = config.deviceGrant ? defineDeviceGrant(config.deviceGrant) : undefined;
  // The user pool's stand-in issuer (checked with the rest of the configuration) becomes the real pool.
  const issuers = config.authorizer.issuers.map((issuer) =>
    device && issuer.issuer === PENDING_USER_POOL_ISSUER
      ? {
          ...issuer,
          issuer: device.directory.issuer,
          jwksUri: device.directory.jwksUri,
          // The device clients: an installers' app signs installers in, never a device.
          clientIds: device.directory.clientIds.apply((ids) =>
            (config.deviceGrant?.directory.clients ?? []).filter((c) => !isInstallerApp(c)).map((c) => ids[c.key]),
          ),
        }
      : issuer,
  );
  const authorizer = new IotTokenAuthorizer(COMPONENT_NAME, { ...config.authorizer, issuers });
  const provisioning = config.fleetProvisioning && device ? defineFleetProvisioning(config.fleetProvisioning, device) : undefined;
  const fleet = provisioning?.fleet;
  const alarms =
    config.alarms &&
    new OperationsAlarms(OPERATIONS_ALARMS_NAME, {
      ...config.alarms,
      authorizerFunctionName: authorizer.functionName,
      ...(device && {
        deviceGrantFunctionName: device.grant.functionName,
        deviceGrantApiId: device.grant.apiId,
        deviceGrantApiStage: device.grant.apiStageName,
      }),
      ...(fleet && { provisioningClaimFunctionName: fleet.claimFunctionName, provisioningHookFunctionName: fleet.hookFunctionName }),
      tableNames: { ...(device && { "device-grant": device.grant.tableName }), ...(fleet && { "claim-bindings": fleet.tableName }) },
    });
  return {
    authorizerName: authorizer.authorizerName,
    authorizerArn: authorizer.authorizerArn,
    tokenKeyName: authorizer.tokenKeyName,
    publicKeyPem: authorizer.publicKeyPem,
    privateKeyPem: authorizer.privateKeyPem,
    signingKeys: authorizer.signingKeys,
    signingPrivateKeys: authorizer.signingPrivateKeys,
    functionName: authorizer.functionName,
    functionArn: authorizer.functionArn,
    authorizerFunctionRoleArn: authorizer.functionRoleArn,
    authorizerLogGroupName: authorizer.logGroupName,
    dataEndpoint: authorizer.dataEndpoint,
    ...(device && {
      deviceGrant: {
        deviceAuthorizationEndpoint: device.grant.deviceAuthorizationEndpoint,
        deviceTokenEndpoint: device.grant.tokenEndpoint,
        verificationUri: device.grant.verificationUri,
        metadataUrl: device.grant.metadataUrl,
        callbackUrl: device.grant.callbackUrl,
        deviceGrantTableName: device.grant.tableName,
        deviceGrantTableArn: device.grant.tableArn,
        deviceGrantFunctionName: device.grant.functionName,
        deviceGrantFunctionRoleArn: device.grant.functionRoleArn,
        deviceGrantLogGroupName: device.grant.logGroupName,
        deviceGrantApiId: device.grant.apiId,
        deviceGrantApiStageName: device.grant.apiStageName,
        deviceGrantAccessLogGroupName: device.grant.accessLogGroupName,
        deviceGrantDomainTarget: device.grant.customDomainTarget,
        userPoolId: device.directory.userPoolId,
        userPoolArn: device.directory.userPoolArn,
        userPoolIssuer: device.directory.issuer,
        hostedUiUrl: device.directory.hostedUiUrl,
        userPoolDomainTarget: device.directory.customDomainTarget,
        deviceClientIds: device.directory.clientIds,
        deviceClientSecrets: device.directory.clientSecrets,
        userPoolPrincipalPrefix: pulumi.output(config.deviceGrant?.principalPrefix ?? ""),
      },
    }),
    ...(provisioning && { fleetProvisioning: provisioning.outputs }),
    ...(alarms && { alarms: { alarmTopicArn: alarms.alarmTopicArn, dashboardName: alarms.dashboardName } }),
  };
}
