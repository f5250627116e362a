/**
 * The stack's outputs as `pulumi stack output` lists them: one flat record of every component output a team needs,
 * under the names the README's "Stack outputs" table gives (a test keeps them equal). The program's entry point
 * (`stacks/index.ts`) exports it, and so can a program of your own:
 *
 *     import { defineStack, stackOutputs } from "iot-enterprise-auth/stack";
 *     export = stackOutputs(defineStack());
 *
 * Outputs of a part the stack leaves off (the device grant, fleet provisioning, the alarms) are undefined, which
 * Pulumi does not list.
 */
import { type StackOutputs } from "./program";

/** The flat record of `outputs`, by the stack output names. */
export function stackOutputs(outputs: StackOutputs) {
  const device = outputs.deviceGrant;
  const fleet = outputs.fleetProvisioning;
  const alarms = outputs.alarms;
  return {
    authorizerName: outputs.authorizerName,
    authorizerArn: outputs.authorizerArn,
    tokenKeyName: outputs.tokenKeyName,
    publicKeyPem: outputs.publicKeyPem,
    /** Secret; read it with `pulumi stack output --show-secrets privateKeyPem`. */
    privateKeyPem: outputs.privateKeyPem,
    /** Every token-signing key's name and public PEM; during a rotation, the old and the new. */
    signingKeys: outputs.signingKeys,
    /** Secret; `pulumi stack output --show-secrets signingPrivateKeys` (key name → private PEM of each generated key). */
    signingPrivateKeys: outputs.signingPrivateKeys,
    functionName: outputs.functionName,
    functionArn: outputs.functionArn,
    /** The authorizer function's execution role and log group: attach your organisation's policies, alarms, subscriptions. */
    authorizerFunctionRoleArn: outputs.authorizerFunctionRoleArn,
    authorizerLogGroupName: outputs.authorizerLogGroupName,
    dataEndpoint: outputs.dataEndpoint,

    // The device grant's outputs, with deviceGrantEnabled (undefined otherwise).
    /** Where devices start (RFC 8628 §3.1), get tokens, and what users open: give these to device makers. */
    deviceAuthorizationEndpoint: device?.deviceAuthorizationEndpoint,
    deviceTokenEndpoint: device?.deviceTokenEndpoint,
    verificationUri: device?.verificationUri,
    metadataUrl: device?.metadataUrl,
    callbackUrl: device?.callbackUrl,
    deviceGrantTableName: device?.deviceGrantTableName,
    deviceGrantTableArn: device?.deviceGrantTableArn,
    deviceGrantFunctionName: device?.deviceGrantFunctionName,
    deviceGrantFunctionRoleArn: device?.deviceGrantFunctionRoleArn,
    deviceGrantLogGroupName: device?.deviceGrantLogGroupName,
    /** The HTTP API (CloudWatch dimensions `ApiId` and `Stage`) and its access log group. */
    deviceGrantApiId: device?.deviceGrantApiId,
    deviceGrantApiStageName: device?.deviceGrantApiStageName,
    deviceGrantAccessLogGroupName: device?.deviceGrantAccessLogGroupName,
    /** With deviceGrantDomain: point the domain's DNS alias here. */
    deviceGrantDomainTarget: device?.deviceGrantDomainTarget,
    userPoolId: device?.userPoolId,
    userPoolArn: device?.userPoolArn,
    userPoolIssuer: device?.userPoolIssuer,
    hostedUiUrl: device?.hostedUiUrl,
    /** With a custom hosted UI domain (`userPoolDomain.domain`): point its DNS alias at this CloudFront distribution. */
    userPoolDomainTarget: device?.userPoolDomainTarget,
    deviceClientIds: device?.deviceClientIds,
    /** Secret; read it with `pulumi stack output --show-secrets deviceClientSecrets`. */
    deviceClientSecrets: device?.deviceClientSecrets,
    /** The device client (`npm run device -- --stack-output`) derives its MQTT client id with it. */
    userPoolPrincipalPrefix: device?.userPoolPrincipalPrefix,

    // Fleet provisioning by trusted user, with fleetProvisioningEnabled (undefined otherwise).
    /** Installers POST here, with an access token of an installer app client, for a claim certificate. */
    claimEndpoint: fleet?.claimEndpoint,
    /** Devices publish to $aws/provisioning-templates/<name>/provision/json with the claim. */
    provisioningTemplateName: fleet?.provisioningTemplateName,
    provisioningTemplateArn: fleet?.provisioningTemplateArn,
    provisioningRoleArn: fleet?.provisioningRoleArn,
    claimFunctionRoleArn: fleet?.claimFunctionRoleArn,
    claimFunctionName: fleet?.claimFunctionName,
    claimLogGroupName: fleet?.claimLogGroupName,
    hookFunctionRoleArn: fleet?.hookFunctionRoleArn,
    hookFunctionName: fleet?.hookFunctionName,
    hookLogGroupName: fleet?.hookLogGroupName,
    claimTableName: fleet?.claimTableName,
    claimTableArn: fleet?.claimTableArn,
    devicePolicyName: fleet?.devicePolicyName,
    installerIdentityPoolId: fleet?.installerIdentityPoolId,
    installerRoleArn: fleet?.installerRoleArn,

    // The operations alarms, with alarmsEnabled, alarmTopicArn or alarmEmails (undefined otherwise).
    /** The SNS topic every alarm notifies (docs/operations.md#alarms). */
    alarmTopicArn: alarms?.alarmTopicArn,
    /** The CloudWatch dashboard of the decisions and the alarms' metrics (docs/operations.md#reading-the-dashboard). */
    operationsDashboardName: alarms?.dashboardName,
  };
}
