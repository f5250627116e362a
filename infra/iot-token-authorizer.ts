/**
 * `IotTokenAuthorizer`: an AWS IoT Core custom authorizer that lets devices connect with access tokens from
 * an enterprise identity provider (OpenAM/ForgeRock with HS256 shared secrets, Cognito or any OIDC provider
 * with RS256 and a JWKS), as seeds 000-002 describe.
 *
 * Over 400 lines as one concept: the component's arguments (documented where they are declared), the checks
 * that refuse bad ones before any child is declared, and the children they shape. The stack program and the
 * tests take all three from here.
 */
import { createPublicKey } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import { decodeSharedSecret, type Algorithm } from "../functions/authorizer/algorithms";
import {
  checkAuthorizerSettings,
  ConfigurationError,
  loadAuthorizerConfig,
  type AuthorizerConfig,
  type GrantRule,
  type IssuerConfig,
} from "../functions/authorizer/config";
import { REPO_ROOT } from "./bundle";
import { defineBundledFunction } from "./bundled-function";
import { authorizerRolePolicy, ssmParameterArn } from "./policies";

/** The authorizer function's entry, bundled while the program runs. */
export const AUTHORIZER_ENTRY = path.join(REPO_ROOT, "functions", "authorizer", "index.ts");

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];

/** The retention periods CloudWatch Logs accepts (`0`, never expire, is deliberately not offered). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Defaults of the component's own settings; the authorizer's are `DEFAULT_SETTINGS` in the function's config. */
export const COMPONENT_DEFAULTS = {
  signingEnabled: true,
  rsaBits: 2048 as RsaKeySize,
  signingKeyName: "primary",
  enableCachingForHttp: false,
  memorySize: 256,
  timeoutSeconds: 3,
  logRetentionDays: 30,
  architecture: "arm64" as "arm64" | "x86_64",
  allowAuthorizerOverride: false,
} as const;

/**
 * A trusted issuer, as the function's configuration describes it (`IssuerConfig`), except for where an
 * HMAC issuer's shared secret comes from. Give either:
 *
 * - `sharedSecret`: the base64-encoded secret itself, as OpenAM's console shows it. The component stores it
 *   in an SSM SecureString parameter it owns and the function reads it from there; it never appears in the
 *   function's environment. Pass it as a secret (`config.requireSecret(...)`).
 * - `secretParameter`: the name of an SSM SecureString parameter you manage, in this account and region.
 *
 * An inline `secret` is for tests and the local sandbox only, and is refused here.
 */
export interface IotTokenAuthorizerIssuer extends Omit<IssuerConfig, "secret" | "issuer" | "jwksUri" | "audiences" | "clientIds"> {
  /**
   * `issuer`, `jwksUri`, `audiences` and `clientIds` may be outputs of resources declared in the same program
   * (a user pool's issuer and app client ids, say). Plain values are checked at preview; an output is checked
   * with a stand-in at preview (so prefixes and algorithms are still compared) and again, with every other
   * setting, once its value is known, failing the deployment with every problem before the function changes.
   */
  issuer: pulumi.Input<string>;
  jwksUri?: pulumi.Input<string>;
  audiences?: pulumi.Input<string[]>;
  clientIds?: pulumi.Input<string[]>;
  sharedSecret?: pulumi.Input<string>;
}

/** The issuer fields that may be known only at deployment. */
const DEFERRABLE_FIELDS = ["issuer", "jwksUri", "audiences", "clientIds"] as const;
type DeferrableField = (typeof DEFERRABLE_FIELDS)[number];

/** What an output-valued field stands for while it is checked at preview. `.invalid` (RFC 2606) resolves nowhere. */
function standIn(field: DeferrableField, index: number): string | string[] {
  const base = `https://issuer-${index}.pending.invalid`;
  return { issuer: base, jwksUri: `${base}/.well-known/jwks.json`, audiences: ["pending"], clientIds: ["pending"] }[field];
}

function isPlain(field: DeferrableField, value: unknown): boolean {
  return field === "issuer" || field === "jwksUri" ? typeof value === "string" : Array.isArray(value) && value.every((v) => typeof v === "string");
}

export interface IotTokenAuthorizerSigningArgs {
  /**
   * Whether IoT checks an RSA signature of the token before invoking the function (default `true`). With
   * signing on, requests without a valid signature never reach (or bill) the function. Changing it replaces
   * the authorizer, since IoT cannot change it in place.
   */
  enabled?: boolean;
  /** Size of the generated signing key: 2048 (default), 3072 or 4096 bits. */
  rsaBits?: RsaKeySize;
  /**
   * Your own public key (PEM, RSA of at least 2048 bits) instead of a generated one; then no private key is
   * created and the `privateKeyPem` output is undefined.
   */
  publicKeyPem?: pulumi.Input<string>;
  /** Name of the key in the authorizer's `tokenSigningPublicKeys` (default `primary`). */
  keyName?: string;
}

export interface IotTokenAuthorizerFunctionArgs {
  /** Memory of the function in MB (default 256; 128 to 10,240). */
  memorySize?: number;
  /** Timeout in seconds (default 3). IoT waits 5 s for an authorizer, so 1 to 4. */
  timeoutSeconds?: number;
  /** Retention of the function's log group in days (default 30; one of CloudWatch's allowed values). */
  logRetentionDays?: number;
  /** Instruction set (default `arm64`). */
  architecture?: "arm64" | "x86_64";
}

export interface IotTokenAuthorizerDomainArgs {
  /** Name of the domain configuration (letters, digits, `_ . -`; not starting with `iot:`). */
  name: string;
  /** Your own domain, e.g. `iot.example.com`; needs `serverCertificateArns`. */
  domainName?: string;
  /** ACM certificate ARNs for `domainName`. */
  serverCertificateArns?: pulumi.Input<string>[];
  /** ACM certificate proving ownership of `domainName`, when its server certificate is not public. */
  validationCertificateArn?: pulumi.Input<string>;
  /** Whether a client may name another authorizer on this domain (default `false`). */
  allowAuthorizerOverride?: boolean;
}

export interface IotTokenAuthorizerArgs {
  /** The identity providers whose tokens are accepted; at least one. */
  issuers: IotTokenAuthorizerIssuer[];
  /** What an authenticated principal may do; default: its own client id and `devices/{principal}/…` topics. */
  grants?: GrantRule[];
  /** Name of the header, query parameter or MQTT username parameter carrying the token (default `token`). */
  tokenKeyName?: string;
  /** Seconds before IoT asks the function again about a live connection (default 3,600; 300 to 86,400). */
  refreshAfterSeconds?: number;
  /** Longest a connection may stay open, in seconds (default 86,400; 300 to 86,400; capped at token expiry). */
  disconnectAfterSeconds?: number;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 30; at most 300). */
  clockToleranceSeconds?: number;
  /** Tokens longer than this are refused before parsing (default 8,192 bytes). */
  maxTokenBytes?: number;
  /** Token signature validation by IoT. */
  signing?: IotTokenAuthorizerSigningArgs;
  /** Let IoT cache the function's answer on persistent HTTP connections (default `false`). */
  enableCachingForHttp?: boolean;
  /** The authorizer function. */
  lambda?: IotTokenAuthorizerFunctionArgs;
  /** Also create a domain configuration whose default authorizer is this one. */
  domainConfiguration?: IotTokenAuthorizerDomainArgs;
  /**
   * Physical name of the function and the authorizer, and prefix of the log group and secret parameters
   * (default `<component name>-<stack>`): 1-64 letters, digits, `-` or `_`, unique in the account and region.
   */
  resourcePrefix?: string;
  /** Tags for every child that takes them. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const RESOURCE_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
const KEY_NAME = /^[A-Za-z0-9:_-]{1,128}$/;
const DOMAIN_CONFIGURATION_NAME = /^[\w.-]{1,128}$/;

/** Name of the SecureString parameter holding issuer `index`'s shared secret. */
export function sharedSecretParameterName(resourcePrefix: string, index: number): string {
  return `/iot-enterprise-auth/${resourcePrefix}/issuers/${index}/shared-secret`;
}

/** The shared secret, trimmed, if `algorithms` can use it; otherwise a `ConfigurationError` that never contains it. */
export function usableSharedSecret(secret: string, algorithms: readonly Algorithm[], label: string, subject: string): string {
  const decoded = decodeSharedSecret(secret, algorithms, label);
  if (decoded.problem) throw new ConfigurationError([decoded.problem], subject);
  return secret.trim();
}

/**
 * The shared secret, marked secret and trimmed. A plain string was already checked with the other arguments;
 * a secret that is itself an Output (e.g. from `config.requireSecret`) can only be checked once it is known,
 * so a bad one fails the deployment at this point, with the same message.
 */
export function checkedSharedSecret(
  sharedSecret: pulumi.Input<string>,
  algorithms: readonly Algorithm[],
  label: string,
  subject: string,
): pulumi.Output<string> {
  return pulumi.secret(pulumi.output(sharedSecret).apply((secret) => usableSharedSecret(secret, algorithms, label, subject)));
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

interface CheckedArgs {
  resourcePrefix: string;
  /** The authorizer settings with defaults filled in; HMAC issuers given `sharedSecret` already point at their parameter. */
  settings: ReturnType<typeof checkAuthorizerSettings>["settings"];
  /** Issuer index → its shared secret, for issuers whose secret the component stores. */
  sharedSecrets: Map<number, pulumi.Input<string>>;
  /** Issuer index → its fields known only at deployment; `settings` holds stand-ins for them until then. */
  deferred: Map<number, Partial<Record<DeferrableField, pulumi.Input<string> | pulumi.Input<string[]>>>>;
  signingEnabled: boolean;
  rsaBits: RsaKeySize;
  signingKeyName: string;
  memorySize: number;
  timeoutSeconds: number;
  logRetentionDays: number;
  architecture: "arm64" | "x86_64";
}

/**
 * Checks every argument and returns them with defaults filled in, or throws one `ConfigurationError` listing
 * every problem. Runs before any resource is declared, so a bad configuration fails the preview, whole.
 */
export function checkIotTokenAuthorizerArgs(name: string, args: IotTokenAuthorizerArgs, stack: string): CheckedArgs {
  const problems: string[] = [];
  const a = (args ?? {}) as Partial<IotTokenAuthorizerArgs>;

  const resourcePrefix = a.resourcePrefix ?? `${name}-${stack}`.replace(/\./g, "-");
  if (!RESOURCE_PREFIX.test(resourcePrefix)) {
    problems.push(
      `resourcePrefix ${JSON.stringify(resourcePrefix)}${a.resourcePrefix === undefined ? " (derived from the component name and stack)" : ""} ` +
        `must be 1-64 letters, digits, - or _ (it names the Lambda function and the IoT authorizer)`,
    );
  }

  const { issuers, sharedSecrets, deferred } = issuersForFunction(a.issuers, resourcePrefix, problems);
  const checked = checkAuthorizerSettings({
    issuers,
    grants: a.grants,
    tokenKeyName: a.tokenKeyName,
    refreshAfterSeconds: a.refreshAfterSeconds,
    disconnectAfterSeconds: a.disconnectAfterSeconds,
    clockToleranceSeconds: a.clockToleranceSeconds,
    maxTokenBytes: a.maxTokenBytes,
  });
  problems.push(...checked.problems);

  const signing = checkSigningArgs(a.signing ?? {}, problems);
  if (a.enableCachingForHttp !== undefined && typeof a.enableCachingForHttp !== "boolean") {
    problems.push(`enableCachingForHttp must be true or false`);
  }
  const fn = checkFunctionArgs(a.lambda ?? {}, problems);
  checkDomainArgs(a.domainConfiguration, problems);

  if (problems.length > 0) throw new ConfigurationError(problems, `IotTokenAuthorizer "${name}" arguments`);
  return { resourcePrefix, settings: checked.settings, sharedSecrets, deferred, ...signing, ...fn };
}

/**
 * The issuers as the function's own checks should see them: each component-stored secret replaced by the
 * parameter that will hold it, and each field known only at deployment by a stand-in.
 */
function issuersForFunction(
  given: IotTokenAuthorizerIssuer[] | undefined,
  resourcePrefix: string,
  problems: string[],
): { issuers: unknown; sharedSecrets: CheckedArgs["sharedSecrets"]; deferred: CheckedArgs["deferred"] } {
  const sharedSecrets = new Map<number, pulumi.Input<string>>();
  const deferred: CheckedArgs["deferred"] = new Map();
  const issuers = Array.isArray(given)
    ? given.map((issuer, i) => {
        if (typeof issuer !== "object" || issuer === null) return issuer;
        const { sharedSecret, ...fields } = issuer;
        const rest: Record<string, unknown> = { ...fields };
        for (const field of DEFERRABLE_FIELDS) {
          const value = fields[field];
          if (value === undefined || isPlain(field, value)) continue;
          deferred.set(i, { ...deferred.get(i), [field]: value });
          rest[field] = standIn(field, i);
        }
        const label = typeof rest.issuer === "string" && rest.issuer ? `issuer ${rest.issuer}` : `issuers[${i}]`;
        if ("secret" in rest) {
          problems.push(`${label}: an inline secret would end up in the function's environment; pass sharedSecret instead`);
        }
        if (sharedSecret === undefined) return rest;
        if (fields.secretParameter !== undefined) {
          problems.push(`${label}: set sharedSecret or secretParameter, not both`);
          return rest;
        }
        sharedSecrets.set(i, sharedSecret);
        if (typeof sharedSecret === "string") {
          const decoded = decodeSharedSecret(sharedSecret, Array.isArray(fields.algorithms) ? fields.algorithms : [], label);
          if (decoded.problem) problems.push(decoded.problem);
        }
        return { ...rest, secretParameter: sharedSecretParameterName(resourcePrefix, i) };
      })
    : given;
  return { issuers, sharedSecrets, deferred };
}

function checkSigningArgs(
  signing: IotTokenAuthorizerSigningArgs,
  problems: string[],
): Pick<CheckedArgs, "signingEnabled" | "rsaBits" | "signingKeyName"> {
  const signingEnabled = signing.enabled ?? COMPONENT_DEFAULTS.signingEnabled;
  if (typeof signingEnabled !== "boolean") problems.push(`signing.enabled must be true or false`);
  const rsaBits = signing.rsaBits ?? COMPONENT_DEFAULTS.rsaBits;
  if (!(RSA_KEY_SIZES as readonly number[]).includes(rsaBits)) {
    problems.push(`signing.rsaBits must be one of ${RSA_KEY_SIZES.join(", ")}; got ${JSON.stringify(rsaBits)}`);
  }
  if (signing.publicKeyPem !== undefined && signing.rsaBits !== undefined) {
    problems.push(`signing.publicKeyPem and signing.rsaBits conflict: rsaBits sizes a generated key, publicKeyPem replaces it`);
  }
  if (signingEnabled === false && (signing.publicKeyPem !== undefined || signing.rsaBits !== undefined || signing.keyName !== undefined)) {
    problems.push(`signing.enabled is false but a signing key is configured (publicKeyPem, rsaBits or keyName)`);
  }
  if (typeof signing.publicKeyPem === "string") {
    try {
      const key = createPublicKey(signing.publicKeyPem);
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (key.asymmetricKeyType !== "rsa" || bits < 2048) {
        problems.push(`signing.publicKeyPem must be an RSA key of at least 2048 bits; got ${key.asymmetricKeyType} ${bits || ""}`.trim());
      }
    } catch {
      problems.push(`signing.publicKeyPem is not a PEM public key`);
    }
  }
  const signingKeyName = signing.keyName ?? COMPONENT_DEFAULTS.signingKeyName;
  if (typeof signingKeyName !== "string" || !KEY_NAME.test(signingKeyName)) {
    problems.push(`signing.keyName must be 1-128 letters, digits, : _ or -; got ${JSON.stringify(signingKeyName)}`);
  }
  return { signingEnabled, rsaBits, signingKeyName };
}

function checkFunctionArgs(
  fn: IotTokenAuthorizerFunctionArgs,
  problems: string[],
): Pick<CheckedArgs, "memorySize" | "timeoutSeconds" | "logRetentionDays" | "architecture"> {
  const memorySize = fn.memorySize ?? COMPONENT_DEFAULTS.memorySize;
  if (!isInteger(memorySize, 128, 10_240)) problems.push(`lambda.memorySize must be an integer from 128 to 10240 MB; got ${JSON.stringify(memorySize)}`);
  const timeoutSeconds = fn.timeoutSeconds ?? COMPONENT_DEFAULTS.timeoutSeconds;
  if (!isInteger(timeoutSeconds, 1, 4)) {
    problems.push(`lambda.timeoutSeconds must be an integer from 1 to 4: IoT gives an authorizer 5 s in all; got ${JSON.stringify(timeoutSeconds)}`);
  }
  const logRetentionDays = fn.logRetentionDays ?? COMPONENT_DEFAULTS.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(`lambda.logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(", ")}; got ${JSON.stringify(logRetentionDays)}`);
  }
  const architecture = fn.architecture ?? COMPONENT_DEFAULTS.architecture;
  if (architecture !== "arm64" && architecture !== "x86_64") {
    problems.push(`lambda.architecture must be arm64 or x86_64; got ${JSON.stringify(architecture)}`);
  }
  return { memorySize, timeoutSeconds, logRetentionDays, architecture };
}

function checkDomainArgs(domain: IotTokenAuthorizerDomainArgs | undefined, problems: string[]): void {
  if (domain === undefined) return;
  if (typeof domain.name !== "string" || !DOMAIN_CONFIGURATION_NAME.test(domain.name) || domain.name.startsWith("iot:")) {
    problems.push(`domainConfiguration.name must be 1-128 letters, digits, _ . or - (names starting iot: are AWS's); got ${JSON.stringify(domain.name)}`);
  }
  if (domain.domainName !== undefined && (domain.serverCertificateArns ?? []).length === 0) {
    problems.push(`domainConfiguration.domainName ${domain.domainName} needs serverCertificateArns (an ACM certificate for it)`);
  }
}

/**
 * An AWS IoT Core custom authorizer backed by a Lambda function that verifies enterprise IdP tokens
 * (`functions/authorizer`). It creates:
 *
 * - the function (Node.js 22, arm64 by default), bundled from this repository while the program runs, with
 *   its configuration in the `AUTHORIZER_CONFIG` environment variable (no secrets in it);
 * - the function's log group with a retention period, JSON logs, and a role allowed exactly: writing to that
 *   log group and, with HMAC issuers, reading and decrypting their secret parameters;
 * - an SSM SecureString parameter per HMAC issuer given a `sharedSecret`;
 * - an RSA key pair for token signatures (unless signing is off or you bring your own public key);
 * - the IoT authorizer, and the Lambda permission letting IoT invoke the function for that authorizer only;
 * - optionally a domain configuration using the authorizer by default.
 *
 * Arguments are all checked before anything is declared; every problem is reported in one `ConfigurationError`.
 */
export class IotTokenAuthorizer extends pulumi.ComponentResource {
  /** Name devices pass as `x-amz-customauthorizer-name`. */
  readonly authorizerName: pulumi.Output<string>;
  readonly authorizerArn: pulumi.Output<string>;
  /** Name of the header / query parameter / MQTT username parameter that carries the token. */
  readonly tokenKeyName: pulumi.Output<string>;
  /** Public key IoT verifies token signatures with; undefined when signing is off. */
  readonly publicKeyPem: pulumi.Output<string | undefined>;
  /** Private key devices (or the app handing out tokens) sign tokens with; secret. Undefined when not generated here. */
  readonly privateKeyPem: pulumi.Output<string | undefined>;
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;
  /** The account's `iot:Data-ATS` endpoint, where devices connect. */
  readonly dataEndpoint: pulumi.Output<string>;

  constructor(name: string, args: IotTokenAuthorizerArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkIotTokenAuthorizerArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:iot:TokenAuthorizer", name, {}, opts);
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partitionInfo = aws.getPartitionOutput({}, parent);
    const account: AccountContext = { region, accountId, partition: partitionInfo.partition, dnsSuffix: partitionInfo.dnsSuffix };

    const parameters = this.sharedSecretParameters(name, checked, args.tags);
    const fn = this.authorizerFunction(name, checked, account, parameters, args.tags);
    const { publicKeyPem, privateKeyPem } = this.signingKey(name, args, checked);
    const authorizer = this.iotAuthorizer(name, args, checked, fn, publicKeyPem, accountId);

    this.authorizerName = authorizer.name;
    this.authorizerArn = authorizer.arn;
    this.tokenKeyName = pulumi.output(checked.settings.tokenKeyName);
    this.publicKeyPem = publicKeyPem;
    this.privateKeyPem = privateKeyPem;
    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.dataEndpoint = aws.iot.getEndpointOutput({ endpointType: "iot:Data-ATS" }, parent).endpointAddress;
    this.registerOutputs({
      authorizerName: this.authorizerName,
      authorizerArn: this.authorizerArn,
      tokenKeyName: this.tokenKeyName,
      publicKeyPem: this.publicKeyPem,
      privateKeyPem: this.privateKeyPem,
      functionName: this.functionName,
      functionArn: this.functionArn,
      dataEndpoint: this.dataEndpoint,
    });
  }

  /** One SecureString parameter per issuer whose shared secret the component stores. */
  private sharedSecretParameters(name: string, checked: CheckedArgs, tags: IotTokenAuthorizerArgs["tags"]): aws.ssm.Parameter[] {
    const { resourcePrefix, settings } = checked;
    return [...checked.sharedSecrets].map(([index, sharedSecret]) => {
      const issuer = settings.issuers.find((i) => i.secretParameter === sharedSecretParameterName(resourcePrefix, index));
      const algorithms = issuer?.algorithms ?? [];
      const label = issuer ? `issuer ${issuer.issuer}` : `issuers[${index}]`;
      const value = checkedSharedSecret(sharedSecret, algorithms, label, `IotTokenAuthorizer "${name}" arguments`);
      return new aws.ssm.Parameter(
        `${name}-issuer-${index}-secret`,
        {
          name: sharedSecretParameterName(resourcePrefix, index),
          type: "SecureString",
          value,
          description: `Base64 HMAC shared secret of ${label}, read by the IoT authorizer ${resourcePrefix}`,
          tags,
        },
        { parent: this },
      );
    });
  }

  /** The function, its configuration in its environment, and a role allowed its log group and secret parameters. */
  private authorizerFunction(
    name: string,
    checked: CheckedArgs,
    account: AccountContext,
    parameters: aws.ssm.Parameter[],
    tags: IotTokenAuthorizerArgs["tags"],
  ): aws.lambda.Function {
    const { resourcePrefix, settings } = checked;
    const secretParameterNames = settings.issuers.flatMap((i) => (i.secretParameter === undefined ? [] : [i.secretParameter]));
    const authorizerConfig = authorizerConfigOutput(name, checked, account);
    const { fn } = defineBundledFunction(
      name,
      {
        resourcePrefix,
        description: "AWS IoT custom authorizer: verifies enterprise IdP tokens and returns the device's IoT policy",
        roleDescription: `Execution role of the IoT authorizer function ${resourcePrefix}`,
        entry: AUTHORIZER_ENTRY,
        architecture: checked.architecture,
        memorySize: checked.memorySize,
        timeoutSeconds: checked.timeoutSeconds,
        logRetentionDays: checked.logRetentionDays,
        environment: { AUTHORIZER_CONFIG: authorizerConfig.apply((c) => JSON.stringify(c)) },
        policy: (logGroupArn) =>
          pulumi
            .all([logGroupArn, account.region, account.accountId, account.partition, account.dnsSuffix])
            .apply(([arn, regionName, accountId, partition, dnsSuffix]) =>
              JSON.stringify(
                authorizerRolePolicy({
                  logGroupArn: arn,
                  secretParameterArns: secretParameterNames.map((n) => ssmParameterArn(n, { partition, region: regionName, accountId })),
                  region: regionName,
                  dnsSuffix,
                }),
              ),
            ),
        dependsOn: parameters,
        tags,
      },
      this,
    );
    return fn;
  }

  /** The public key IoT checks token signatures with: the caller's own, or a generated pair's (private key secret). */
  private signingKey(
    name: string,
    args: IotTokenAuthorizerArgs,
    checked: CheckedArgs,
  ): { publicKeyPem: pulumi.Output<string | undefined>; privateKeyPem: pulumi.Output<string | undefined> } {
    if (!checked.signingEnabled) return { publicKeyPem: pulumi.output(undefined), privateKeyPem: pulumi.output(undefined) };
    if (args.signing?.publicKeyPem !== undefined) {
      return { publicKeyPem: pulumi.output(args.signing.publicKeyPem), privateKeyPem: pulumi.output(undefined) };
    }
    const key = new tls.PrivateKey(`${name}-signing-key`, { algorithm: "RSA", rsaBits: checked.rsaBits }, { parent: this });
    return { publicKeyPem: key.publicKeyPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
  }

  /** The IoT authorizer, IoT's permission to invoke the function for it alone, and the optional domain configuration. */
  private iotAuthorizer(
    name: string,
    args: IotTokenAuthorizerArgs,
    checked: CheckedArgs,
    fn: aws.lambda.Function,
    publicKeyPem: pulumi.Output<string | undefined>,
    accountId: pulumi.Output<string>,
  ): aws.iot.Authorizer {
    const { resourcePrefix, settings, signingEnabled } = checked;
    const tags = args.tags;
    const authorizer = new aws.iot.Authorizer(
      `${name}-authorizer`,
      {
        name: resourcePrefix,
        authorizerFunctionArn: fn.arn,
        signingDisabled: !signingEnabled,
        status: "ACTIVE",
        tokenKeyName: settings.tokenKeyName,
        tokenSigningPublicKeys: signingEnabled
          ? publicKeyPem.apply((pem) => ({ [checked.signingKeyName]: pem as string }))
          : undefined,
        enableCachingForHttp: args.enableCachingForHttp ?? COMPONENT_DEFAULTS.enableCachingForHttp,
        tags,
      },
      // IoT cannot change signingDisabled in place; the name is fixed, so the old one goes first.
      { parent: this, replaceOnChanges: ["signingDisabled"], deleteBeforeReplace: true },
    );

    const permission = new aws.lambda.Permission(
      `${name}-invoke`,
      {
        function: fn.name,
        action: "lambda:InvokeFunction",
        principal: "iot.amazonaws.com",
        sourceArn: authorizer.arn,
        sourceAccount: accountId,
      },
      { parent: this },
    );

    const domain = args.domainConfiguration;
    if (domain !== undefined) {
      new aws.iot.DomainConfiguration(
        `${name}-domain`,
        {
          name: domain.name,
          domainName: domain.domainName,
          serverCertificateArns: domain.serverCertificateArns,
          validationCertificateArn: domain.validationCertificateArn,
          serviceType: "DATA",
          authorizerConfig: {
            defaultAuthorizerName: authorizer.name,
            allowAuthorizerOverride: domain.allowAuthorizerOverride ?? COMPONENT_DEFAULTS.allowAuthorizerOverride,
          },
          tags,
        },
        { parent: this, dependsOn: [permission] },
      );
    }
    return authorizer;
  }
}

/** Where the stack is deployed, as the function's configuration and its role's policy need it. */
interface AccountContext {
  region: pulumi.Output<string>;
  accountId: pulumi.Output<string>;
  partition: pulumi.Output<string>;
  dnsSuffix: pulumi.Output<string>;
}

/**
 * The function's configuration once every issuer field is known: those known only now get their real values,
 * and the whole configuration is checked again by the function's own loader, so what reaches the function is
 * what its cold start accepts.
 */
function authorizerConfigOutput(name: string, checked: CheckedArgs, account: AccountContext): pulumi.Output<AuthorizerConfig> {
  const { settings } = checked;
  const issuers = pulumi.all(
    settings.issuers.map((issuer, index) => {
      const fields = checked.deferred.get(index);
      if (fields === undefined) return pulumi.output(issuer);
      return pulumi.all(fields).apply((values) => ({ ...issuer, ...values }) as IssuerConfig);
    }),
  );
  return pulumi
    .all([account.region, account.accountId, account.partition, issuers])
    .apply(([regionName, accountId, partition, resolved]): AuthorizerConfig => {
      try {
        return loadAuthorizerConfig({ ...settings, issuers: resolved, region: regionName, accountId, partition });
      } catch (err) {
        if (err instanceof ConfigurationError) {
          throw new ConfigurationError(err.problems, `IotTokenAuthorizer "${name}" configuration once its issuers are known`);
        }
        throw err;
      }
    });
}
