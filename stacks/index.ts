/** Entry point of the `iot-enterprise-auth` Pulumi program (`main: stacks/` in Pulumi.yaml). */
import { defineStack } from "./program";

const outputs = defineStack();

export const authorizerName = outputs.authorizerName;
export const authorizerArn = outputs.authorizerArn;
export const tokenKeyName = outputs.tokenKeyName;
export const publicKeyPem = outputs.publicKeyPem;
/** Secret; read it with `pulumi stack output --show-secrets privateKeyPem`. */
export const privateKeyPem = outputs.privateKeyPem;
/** Every token-signing key's name and public PEM; during a rotation, the old and the new. */
export const signingKeys = outputs.signingKeys;
/** Secret; `pulumi stack output --show-secrets signingPrivateKeys` (key name → private PEM of each generated key). */
export const signingPrivateKeys = outputs.signingPrivateKeys;
export const functionName = outputs.functionName;
export const functionArn = outputs.functionArn;
/** The authorizer function's execution role and log group: attach your organisation's policies, alarms, subscriptions. */
export const authorizerFunctionRoleArn = outputs.authorizerFunctionRoleArn;
export const authorizerLogGroupName = outputs.authorizerLogGroupName;
export const dataEndpoint = outputs.dataEndpoint;

// The device grant's outputs, with deviceGrantEnabled (undefined otherwise).
const device = outputs.deviceGrant;
/** Where devices start (RFC 8628 §3.1), get tokens, and what users open: give these to device makers. */
export const deviceAuthorizationEndpoint = device?.deviceAuthorizationEndpoint;
export const deviceTokenEndpoint = device?.deviceTokenEndpoint;
export const verificationUri = device?.verificationUri;
export const metadataUrl = device?.metadataUrl;
export const callbackUrl = device?.callbackUrl;
export const deviceGrantTableName = device?.deviceGrantTableName;
export const deviceGrantTableArn = device?.deviceGrantTableArn;
export const deviceGrantFunctionName = device?.deviceGrantFunctionName;
export const deviceGrantFunctionRoleArn = device?.deviceGrantFunctionRoleArn;
export const deviceGrantLogGroupName = device?.deviceGrantLogGroupName;
/** The HTTP API (CloudWatch dimensions `ApiId` and `Stage`) and its access log group. */
export const deviceGrantApiId = device?.deviceGrantApiId;
export const deviceGrantApiStageName = device?.deviceGrantApiStageName;
export const deviceGrantAccessLogGroupName = device?.deviceGrantAccessLogGroupName;
/** With deviceGrantDomain: point the domain's DNS alias here. */
export const deviceGrantDomainTarget = device?.deviceGrantDomainTarget;
export const userPoolId = device?.userPoolId;
export const userPoolArn = device?.userPoolArn;
export const userPoolIssuer = device?.userPoolIssuer;
export const hostedUiUrl = device?.hostedUiUrl;
/** With a custom hosted UI domain (`userPoolDomain.domain`): point its DNS alias at this CloudFront distribution. */
export const userPoolDomainTarget = device?.userPoolDomainTarget;
export const deviceClientIds = device?.deviceClientIds;
/** Secret; read it with `pulumi stack output --show-secrets deviceClientSecrets`. */
export const deviceClientSecrets = device?.deviceClientSecrets;
/** The device client (`npm run device -- --stack-output`) derives its MQTT client id with it. */
export const userPoolPrincipalPrefix = device?.userPoolPrincipalPrefix;

// Fleet provisioning by trusted user, with fleetProvisioningEnabled (undefined otherwise).
const fleet = outputs.fleetProvisioning;
/** Installers POST here, with an access token of an installer app client, for a claim certificate. */
export const claimEndpoint = fleet?.claimEndpoint;
/** Devices publish to $aws/provisioning-templates/<name>/provision/json with the claim. */
export const provisioningTemplateName = fleet?.provisioningTemplateName;
export const provisioningTemplateArn = fleet?.provisioningTemplateArn;
export const provisioningRoleArn = fleet?.provisioningRoleArn;
export const claimFunctionRoleArn = fleet?.claimFunctionRoleArn;
export const claimFunctionName = fleet?.claimFunctionName;
export const claimLogGroupName = fleet?.claimLogGroupName;
export const hookFunctionRoleArn = fleet?.hookFunctionRoleArn;
export const hookFunctionName = fleet?.hookFunctionName;
export const hookLogGroupName = fleet?.hookLogGroupName;
export const claimTableName = fleet?.claimTableName;
export const claimTableArn = fleet?.claimTableArn;
export const devicePolicyName = fleet?.devicePolicyName;
export const installerIdentityPoolId = fleet?.installerIdentityPoolId;
export const installerRoleArn = fleet?.installerRoleArn;

// The operations alarms, with alarmsEnabled, alarmTopicArn or alarmEmails (undefined otherwise).
/** The SNS topic every alarm notifies (docs/operations.md#alarms). */
export const alarmTopicArn = outputs.alarms?.alarmTopicArn;
/** The CloudWatch dashboard of the decisions and the alarms' metrics (docs/operations.md#reading-the-dashboard). */
export const operationsDashboardName = outputs.alarms?.dashboardName;
