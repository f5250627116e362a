/**
 * Every setting of the `iot-enterprise-auth` program in one place: the scalar ones with their type, default and
 * meaning (`Pulumi.yaml` declares the same, the README's table says the same, and tests keep all three equal),
 * the structured and secret ones, and the one table that maps where a component reports a problem (a path in its
 * arguments, such as `lambda.timeoutSeconds`) to the stack setting a reader sets (`functionTimeoutSeconds`).
 */
import { DEFAULT_AUTHORIZER_SETTINGS } from "../functions/authorizer/config";
import { DEFAULT_DEVICE_GRANT_SETTINGS } from "../functions/device-grant/settings";
import { DEVICE_GRANT_DEFAULTS } from "../infra/device-grant-args";
import { FLEET_PROVISIONING_DEFAULTS } from "../infra/fleet-provisioning-args";
import { IOT_TOKEN_AUTHORIZER_DEFAULTS } from "../infra/iot-token-authorizer-args";
import { USER_DIRECTORY_DEFAULTS } from "../infra/user-directory-args";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/shared/metric-lines";

export interface ScalarSetting {
  type: "string" | "integer" | "boolean";
  default: string | number | boolean;
  description: string;
}

/** The scalar settings, as `Pulumi.yaml` declares them. */
export const SCALAR_SETTINGS = {
  tokenKeyName: {
    type: "string",
    default: DEFAULT_AUTHORIZER_SETTINGS.tokenKeyName,
    description: "Name of the header, query parameter or MQTT username parameter that carries the token.",
  },
  refreshAfterSeconds: {
    type: "integer",
    default: DEFAULT_AUTHORIZER_SETTINGS.refreshAfterSeconds,
    description: "Seconds before IoT re-checks a live connection's token (300 to 86400).",
  },
  disconnectAfterSeconds: {
    type: "integer",
    default: DEFAULT_AUTHORIZER_SETTINGS.disconnectAfterSeconds,
    description: "Longest a connection may stay open, in seconds (300 to 86400; never past the token's expiry).",
  },
  clockToleranceSeconds: {
    type: "integer",
    default: DEFAULT_AUTHORIZER_SETTINGS.clockToleranceSeconds,
    description: "Clock skew tolerated on exp, nbf and iat, in seconds (0 to 300).",
  },
  maxTokenBytes: {
    type: "integer",
    default: DEFAULT_AUTHORIZER_SETTINGS.maxTokenBytes,
    description: "Tokens longer than this many bytes are refused before parsing (256 to 65536).",
  },
  signingEnabled: {
    type: "boolean",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.signingEnabled,
    description: "Whether IoT checks the token's RSA signature before invoking the function (changing it replaces the authorizer).",
  },
  signingKeyBits: {
    type: "integer",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.rsaBits,
    description: "Size of the generated token-signing RSA key: 2048, 3072 or 4096.",
  },
  enableCachingForHttp: {
    type: "boolean",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.enableCachingForHttp,
    description:
      "Let IoT cache the function's answer on persistent HTTP connections for refreshAfterSeconds (fewer invocations; a revoked token keeps working that long).",
  },
  logRetentionDays: {
    type: "integer",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.logRetentionDays,
    description: "Retention of the functions' and access logs' log groups in days (a CloudWatch Logs value such as 7, 30, 90, 365).",
  },
  functionMemoryMb: {
    type: "integer",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.memorySize,
    description: "Memory of the authorizer function in MB (128 to 10240).",
  },
  functionTimeoutSeconds: {
    type: "integer",
    default: IOT_TOKEN_AUTHORIZER_DEFAULTS.timeoutSeconds,
    description: "Timeout of the authorizer function in seconds (1 to 4: IoT waits 5 s in all).",
  },
  functionReservedConcurrency: {
    type: "integer",
    default: 0,
    description: "Concurrent executions reserved for (and capping) the authorizer function; 0: none reserved.",
  },
  kmsKeyArn: {
    type: "string",
    default: "",
    description: "Customer managed KMS key (ARN) for every table, SecureString parameter and log group; empty: AWS owned or managed keys.",
  },
  permissionsBoundary: {
    type: "string",
    default: "",
    description: "ARN of the IAM managed policy set as permissions boundary of every role the stack creates; empty: none.",
  },
  tableDeletionProtection: {
    type: "boolean",
    default: DEVICE_GRANT_DEFAULTS.deletionProtection,
    description: "Refuse to delete the device grant's and fleet provisioning's tables until this is turned off.",
  },
  deviceGrantEnabled: {
    type: "boolean",
    default: false,
    description: "Deploy the OAuth 2.0 device grant: a Cognito user pool, the device grant API, and trust in the pool's access tokens.",
  },
  codeExpirySeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.codeExpirySeconds,
    description: "Device grant: lifetime of a device code and its user code, in seconds (60 to 86400).",
  },
  deviceCodeFormat: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.deviceCodeFormat,
    description: "Device grant: characters of the device code (# digits, a/A letters, b/B consonants, ! specials).",
  },
  deviceCodeLength: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.deviceCodeLength,
    description: "Device grant: length of the device code (at least 128 bits of entropy unless allowWeakCodes).",
  },
  userCodeFormat: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeFormat,
    description: "Device grant: characters of the user code, one case only (B = 20 uppercase consonants).",
  },
  userCodeLength: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeLength,
    description: "Device grant: length of the user code (at least 30 bits of entropy unless allowWeakCodes).",
  },
  userCodeMask: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeMask,
    description: "Device grant: how the user code is shown, one # per character (change it with userCodeLength).",
  },
  pollingIntervalSeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.pollingIntervalSeconds,
    description: "Device grant: minimum seconds between a device's polls (1 to 60).",
  },
  resultTokenSet: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.resultTokenSet.join("+"),
    description: "Device grant: tokens the device receives, ACCESS required, joined by + (ACCESS, ID, REFRESH).",
  },
  maxFailedEntriesPerIp: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.maxFailedEntriesPerIp,
    description:
      "Device grant: code entries and Approve/Deny answers one IP address (IPv6: one /64) may send per attemptWindowSeconds; a completed sign-in gives its own back.",
  },
  maxFailedAttemptsPerCode: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.maxFailedAttemptsPerCode,
    description: "Device grant: sign-ins started with Approve that may fail for one user code before it can no longer be approved.",
  },
  attemptWindowSeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.attemptWindowSeconds,
    description: "Device grant: length of the rate-limit window, in seconds (60 to 86400).",
  },
  approvalLockSeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.approvalLockSeconds,
    description: "Device grant: how long an Approve keeps other browsers from approving or denying the same code, in seconds (30 to 3600).",
  },
  allowWeakCodes: {
    type: "boolean",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.allowWeakCodes,
    description: "Device grant: accept codes below the entropy minimums (never for production).",
  },
  userPoolMfa: {
    type: "string",
    default: USER_DIRECTORY_DEFAULTS.mfa,
    description: "Device grant: multi-factor authentication with an authenticator app: OFF, OPTIONAL or ON.",
  },
  userPoolDeletionProtection: {
    type: "boolean",
    default: USER_DIRECTORY_DEFAULTS.deletionProtection,
    description: "Device grant: refuse to delete the user pool (and its users) until this is turned off.",
  },
  userPoolFeaturePlan: {
    type: "string",
    default: USER_DIRECTORY_DEFAULTS.featurePlan,
    description: "Device grant: the user pool's feature plan: LITE, ESSENTIALS or PLUS (threat protection needs PLUS).",
  },
  userPoolAdvancedSecurity: {
    type: "string",
    default: USER_DIRECTORY_DEFAULTS.advancedSecurity,
    description: "Device grant: Cognito threat protection: OFF, AUDIT or ENFORCED (needs userPoolFeaturePlan PLUS).",
  },
  userPoolMinimumPasswordLength: {
    type: "integer",
    default: USER_DIRECTORY_DEFAULTS.minimumPasswordLength,
    description: "Device grant: minimum password length of the pool's users (12 to 99; every character class is required).",
  },
  userPoolAccessTokenMinutes: {
    type: "integer",
    default: USER_DIRECTORY_DEFAULTS.accessTokenValidityMinutes,
    description: "Device grant: lifetime of the pool's access tokens in minutes (5 to 1440).",
  },
  userPoolIdTokenMinutes: {
    type: "integer",
    default: USER_DIRECTORY_DEFAULTS.idTokenValidityMinutes,
    description: "Device grant: lifetime of the pool's ID tokens in minutes (5 to 1440).",
  },
  userPoolRefreshTokenDays: {
    type: "integer",
    default: USER_DIRECTORY_DEFAULTS.refreshTokenValidityDays,
    description: "Device grant: lifetime of the pool's refresh tokens in days (1 to 3650).",
  },
  userPoolPrincipalPrefix: {
    type: "string",
    default: "cognito",
    description: "Device grant: principal id prefix of the user pool's users at the authorizer (letters and digits).",
  },
  apiThrottlingBurstLimit: {
    type: "integer",
    default: DEVICE_GRANT_DEFAULTS.throttlingBurstLimit,
    description: "Device grant: burst of requests the API accepts before throttling (1 to 5000).",
  },
  apiThrottlingRateLimit: {
    type: "integer",
    default: DEVICE_GRANT_DEFAULTS.throttlingRateLimit,
    description: "Device grant: steady requests per second the API accepts (1 to 10000).",
  },
  deviceGrantReservedConcurrency: {
    type: "integer",
    default: 0,
    description: "Device grant: concurrent executions reserved for (and capping) its function; 0: none reserved.",
  },
  fleetProvisioningEnabled: {
    type: "boolean",
    default: false,
    description:
      "Fleet provisioning by trusted user (needs deviceGrantEnabled): installers of the user pool get claim certificates on the device grant's API.",
  },
  provisioningThingNamePattern: {
    type: "string",
    default: FLEET_PROVISIONING_DEFAULTS.thingNamePattern,
    description: "Fleet provisioning: the pattern every provisioned thing's name must match as a whole (e.g. a serial number format).",
  },
  provisioningRequiredGroup: {
    type: "string",
    default: "",
    description: "Fleet provisioning: the user pool group an installer must belong to (created by the stack); empty: any user of the pool.",
  },
  provisioningDirectPath: {
    type: "boolean",
    default: false,
    description:
      "Fleet provisioning: also let installers call CreateProvisioningClaim through an identity pool (claims without a binding).",
  },
  metricsNamespace: {
    type: "string",
    default: DEFAULT_METRICS_NAMESPACE,
    description: "CloudWatch namespace of the metrics the functions' decision lines carry (embedded metric format); empty: no metrics.",
  },
  alarmsEnabled: {
    type: "boolean",
    default: false,
    description: "Declare the operations alarms and dashboard (also on when alarmTopicArn or alarmEmails is set).",
  },
  alarmTopicArn: {
    type: "string",
    default: "",
    description: "Existing SNS topic (ARN) the alarms notify; empty: the stack creates one.",
  },
  alarmEmails: {
    type: "string",
    default: "",
    description: "Comma-separated e-mail addresses subscribed to the alarm topic the stack creates (each must confirm).",
  },
  authorizerDurationAlarmMs: {
    type: "integer",
    default: 0,
    description: "p99 duration of the authorizer (ms) above which its alarm fires; 0: 80% of its timeout (at most IoT's 5 s).",
  },
} as const satisfies Record<string, ScalarSetting>;

/**
 * Settings that are lists of objects. Pulumi's project schema types only strings, integers, booleans and
 * arrays of those, so `Pulumi.yaml` documents these in comments instead of declaring them.
 */
export const STRUCTURED_SETTINGS = [
  "issuers",
  "grants",
  "tags",
  "iotDomainConfiguration",
  "signingKeys",
  "deviceClients",
  "deviceScopes",
  "userPoolDomain",
  "existingUserPool",
  "deviceGrantDomain",
] as const;

/**
 * The secret settings: the HMAC shared secret (base64, as OpenAM shows it), read by issuers that set
 * `"sharedSecret": true`; during a rotation, `previousSharedSecret`, a second secret the same issuers also accept
 * (docs/operations.md#rotating-an-hs256-shared-secret); and the secrets of confidential app clients adopted from an
 * existing user pool (a JSON object, client key → secret). Set them with `pulumi config set --secret …`. Optional, so
 * not declared in `Pulumi.yaml` (a declared setting without a default is required of every stack).
 */
export const SECRET_SETTINGS = ["sharedSecret", "previousSharedSecret", "existingClientSecrets"] as const;

/**
 * Where each component reports a problem (a path in its arguments), and the stack setting a reader sets instead.
 * A path not listed is the stack setting of the same name (`refreshAfterSeconds`); a listed one also renames the
 * paths below it (`domain.prefix` → `userPoolDomain.prefix`).
 */
export const STACK_SETTING_NAMES = {
  authorizer: {
    "signing.enabled": "signingEnabled",
    "signing.rsaBits": "signingKeyBits",
    "signing.keys": "signingKeys",
    "lambda.memorySize": "functionMemoryMb",
    "lambda.timeoutSeconds": "functionTimeoutSeconds",
    "lambda.reservedConcurrency": "functionReservedConcurrency",
    domainConfiguration: "iotDomainConfiguration",
  },
  userDirectory: {
    clients: "deviceClients",
    domain: "userPoolDomain",
    scopes: "deviceScopes",
    mfa: "userPoolMfa",
    deletionProtection: "userPoolDeletionProtection",
    featurePlan: "userPoolFeaturePlan",
    advancedSecurity: "userPoolAdvancedSecurity",
    minimumPasswordLength: "userPoolMinimumPasswordLength",
    accessTokenValidityMinutes: "userPoolAccessTokenMinutes",
    idTokenValidityMinutes: "userPoolIdTokenMinutes",
    refreshTokenValidityDays: "userPoolRefreshTokenDays",
  },
  deviceGrant: {
    customDomain: "deviceGrantDomain",
    "throttling.burstLimit": "apiThrottlingBurstLimit",
    "throttling.rateLimit": "apiThrottlingRateLimit",
    "lambda.reservedConcurrency": "deviceGrantReservedConcurrency",
    deletionProtection: "tableDeletionProtection",
  },
  fleetProvisioning: {
    "thing.namePattern": "provisioningThingNamePattern",
    "claims.requiredGroup": "provisioningRequiredGroup",
    identityPool: "provisioningDirectPath",
    allowUnboundClaims: "provisioningDirectPath",
    deletionProtection: "tableDeletionProtection",
  },
  operationsAlarms: {
    "thresholds.authorizerDurationMs": "authorizerDurationAlarmMs",
    authorizerTimeoutSeconds: "functionTimeoutSeconds",
  },
} as const satisfies Record<string, Record<string, string>>;
