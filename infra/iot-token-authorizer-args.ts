/**
 * The `IotTokenAuthorizer` component's arguments: what a program passes, the defaults, and the checks that run
 * before any resource is declared. The issuers, grants and token settings are the function's own settings,
 * checked by the function's own checks (functions/authorizer/config.ts), so the component refuses exactly what
 * the function would refuse at cold start; the rest is the component's (signing, the function's size, the
 * domain configuration). The stack program (`stacks/config.ts`) calls `iotTokenAuthorizerProblems` to list these
 * problems with every other one, under its own setting names.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeSharedSecret, type Algorithm } from "../functions/authorizer/algorithms";
import { type AuthorizerSettings, type GrantRule, inspectAuthorizerSettings, type IssuerConfig } from "../functions/authorizer/config";
import { issuerProblem } from "../functions/authorizer/issuer-checks";
import { checkedOrThrow, ConfigurationError, type Problem, problemAt, unknownFields } from "../functions/shared/problems";
import { type Architecture, checkFunctionArgs, checkLogRetentionDays, checkResourcePrefix, type FunctionArgs } from "./bundled-function";
import { type ComponentArgs, checkComponentArgs } from "./component-args";
import { standInClientId, standInIssuer, standInJwksUri } from "./stand-ins";
import {
  type CheckedSigningKey,
  checkSigning,
  DEFAULT_SIGNING_KEY_NAME,
  type RsaKeySize,
  type TokenSigningKeyArgs,
} from "./token-signing-keys";

export { RSA_KEY_SIZES, type RsaKeySize, type TokenSigningKeyArgs } from "./token-signing-keys";

/** Defaults of the component's own arguments; the authorizer's settings default to `DEFAULT_AUTHORIZER_SETTINGS`. */
export const IOT_TOKEN_AUTHORIZER_DEFAULTS = {
  signingEnabled: true,
  rsaBits: 2048 as RsaKeySize,
  signingKeyName: DEFAULT_SIGNING_KEY_NAME,
  enableCachingForHttp: false,
  memorySize: 256,
  timeoutSeconds: 3,
  logRetentionDays: 30,
  architecture: "arm64" as Architecture,
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
export interface IotTokenAuthorizerIssuer extends Omit<
  IssuerConfig,
  "secret" | "previousSecret" | "issuer" | "jwksUri" | "audiences" | "clientIds"
> {
  /**
   * Exact `iss` value of the tokens this issuer signs; each issuer once. `issuer`, `jwksUri`, `audiences` and
   * `clientIds` may be outputs of resources declared in the same program (a user pool's issuer and app client ids,
   * say). Plain values are checked at preview; an output is checked with a stand-in at preview (so prefixes and
   * algorithms are still compared) and again, with every other setting, once its value is known, failing the
   * deployment with every problem before the function changes.
   */
  issuer: pulumi.Input<string>;
  /**
   * RSA issuers: where the signing keys are published (https; http only on loopback, for local use). Required with
   * RS algorithms. The function caches the whole set and fetches it again at most once per 10 seconds.
   */
  jwksUri?: pulumi.Input<string>;
  /** When set, the token's `aud` (a string or a list) must contain one of these; default: `aud` is not checked. */
  audiences?: pulumi.Input<string[]>;
  /**
   * When set, the token's `client_id` claim must be one of these (Cognito access tokens carry it instead of `aud`);
   * default: not checked.
   */
  clientIds?: pulumi.Input<string[]>;
  /**
   * HMAC issuers: the base64-encoded shared secret, as OpenAM's console shows it (at least 32 bytes decoded for
   * HS256). The component stores it in an SSM SecureString parameter of its own; pass it as a secret. Not with
   * `secretParameter`.
   */
  sharedSecret?: pulumi.Input<string>;
  /**
   * During a rotation of `sharedSecret`, a second secret the function also accepts (the one being retired, or the
   * next one), stored the same way in a SecureString parameter of its own; or name your own parameter with
   * `previousSecretParameter`. docs/operations.md#rotating-an-hs256-shared-secret
   */
  previousSharedSecret?: pulumi.Input<string>;
}

/** The issuer fields that may be known only at deployment. */
const DEFERRABLE_FIELDS = ["issuer", "jwksUri", "audiences", "clientIds"] as const;
type DeferrableField = (typeof DEFERRABLE_FIELDS)[number];

/** What an output-valued field stands for while it is checked at preview. */
function standIn(field: DeferrableField, index: number): string | string[] {
  const tag = `issuer-${index}`;
  return { issuer: standInIssuer(tag), jwksUri: standInJwksUri(tag), audiences: [standInClientId(tag)], clientIds: [standInClientId(tag)] }[
    field
  ];
}

function isPlain(field: DeferrableField, value: unknown): boolean {
  return field === "issuer" || field === "jwksUri"
    ? typeof value === "string"
    : Array.isArray(value) && value.every((v) => typeof v === "string");
}

/**
 * Token signing: either one key (`keyName`, `publicKeyPem`, `rsaBits`, as in the first releases) or several named
 * keys (`keys`), which is how a key rotates without downtime (docs/operations.md#rotating-the-token-signing-key).
 */
export interface IotTokenAuthorizerSigningArgs {
  /**
   * Whether IoT checks an RSA signature of the token before invoking the function (default `true`). With
   * signing on, requests without a valid signature never reach (or bill) the function. Changing it replaces
   * the authorizer (a new one is created under a new name before the old one goes; see `authorizerName`).
   */
  enabled?: boolean;
  /** One generated key: its size, 2048 (default), 3072 or 4096 bits. */
  rsaBits?: RsaKeySize;
  /**
   * One key of your own (PEM, RSA of at least 2048 bits) instead of a generated one; then no private key is
   * created and the `privateKeyPem` output is undefined.
   */
  publicKeyPem?: pulumi.Input<string>;
  /** Name of the one key in the authorizer's `tokenSigningPublicKeys` (default `primary`). */
  keyName?: string;
  /**
   * Several named keys, each generated here or given as a public PEM; IoT accepts a token signed by any of them.
   * Not with `keyName`, `publicKeyPem` or `rsaBits`. A generated key named `primary` is the key the one-key form
   * generated, so moving to this form keeps it.
   */
  keys?: TokenSigningKeyArgs[];
}

/** The authorizer function: memory in MB (default 256), timeout in seconds (default 3; at most 4, as IoT waits 5 s), instruction set. */
export type IotTokenAuthorizerFunctionArgs = FunctionArgs;

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

export interface IotTokenAuthorizerArgs extends ComponentArgs {
  /** The identity providers whose tokens are accepted; at least one. */
  issuers: IotTokenAuthorizerIssuer[];
  /** What an authenticated principal may do; default: its own client id and `devices/{principal}/…` topics. */
  grants?: GrantRule[];
  /**
   * Name of the header, query parameter or MQTT username parameter carrying the token (default `token`; 1-128
   * letters, digits, `_` or `-`, not one of IoT's own `x-amz-customauthorizer-*` names).
   */
  tokenKeyName?: string;
  /** Seconds before IoT asks the function again about a live connection (default 3,600; 300 to 86,400). */
  refreshAfterSeconds?: number;
  /** Longest a connection may stay open, in seconds (default 86,400; 300 to 86,400; capped at token expiry). */
  disconnectAfterSeconds?: number;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 30; at most 300). */
  clockToleranceSeconds?: number;
  /** Tokens longer than this are refused before parsing (default 8,192 bytes; 256 to 65,536). */
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
}

const DOMAIN_CONFIGURATION_NAME = /^[\w.-]{1,128}$/;

/** Name of the SecureString parameter holding issuer `index`'s shared secret. */
export function sharedSecretParameterName(resourcePrefix: string, index: number): string {
  return `/iot-enterprise-auth/${resourcePrefix}/issuers/${index}/shared-secret`;
}

/** Name of the SecureString parameter holding issuer `index`'s previous shared secret, during a rotation. */
export function previousSharedSecretParameterName(resourcePrefix: string, index: number): string {
  return `/iot-enterprise-auth/${resourcePrefix}/issuers/${index}/previous-shared-secret`;
}

/** The shared secret, trimmed, if `algorithms` can use it; otherwise a `ConfigurationError` that never contains it. */
export function usableSharedSecret(secret: string, algorithms: readonly Algorithm[], label: string, subject: string): string {
  const decoded = decodeSharedSecret(secret, algorithms);
  if (decoded.problem) throw new ConfigurationError([`${label}: ${decoded.problem}`], subject);
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

export interface CheckedIotTokenAuthorizerArgs {
  resourcePrefix: string;
  /** The authorizer settings with defaults filled in; HMAC issuers given `sharedSecret` already point at their parameter. */
  settings: AuthorizerSettings;
  /** Issuer index → its shared secret, for issuers whose secret the component stores. */
  sharedSecrets: Map<number, pulumi.Input<string>>;
  /** Issuer index → its previous shared secret, for issuers in a rotation whose secrets the component stores. */
  previousSharedSecrets: Map<number, pulumi.Input<string>>;
  /** Issuer index → its fields known only at deployment; `settings` holds stand-ins for them until then. */
  deferred: Map<number, Partial<Record<DeferrableField, pulumi.Input<string> | pulumi.Input<string[]>>>>;
  signingEnabled: boolean;
  /** The authorizer's signing keys, in the order given; empty when signing is off. */
  signingKeys: CheckedSigningKey[];
  memorySize: number;
  timeoutSeconds: number;
  reservedConcurrency?: number;
  logRetentionDays: number;
  architecture: Architecture;
}
type CheckedArgs = CheckedIotTokenAuthorizerArgs;

/**
 * Checks every argument and returns them with defaults filled in, or throws one `ConfigurationError` listing
 * every problem. Runs before any resource is declared, so a bad configuration fails the preview, whole.
 */
export function checkIotTokenAuthorizerArgs(name: string, args: IotTokenAuthorizerArgs, stack: string): CheckedArgs {
  return checkedOrThrow(iotTokenAuthorizerProblems(name, args, stack), `IotTokenAuthorizer "${name}" arguments`);
}

/** The checks of `checkIotTokenAuthorizerArgs`, returning the problems instead of throwing (the stack names them its own way). */
export function iotTokenAuthorizerProblems(
  name: string,
  args: IotTokenAuthorizerArgs,
  stack: string,
): { checked: CheckedArgs; problems: Problem[] } {
  const problems: Problem[] = [];
  const a = (args ?? {}) as Partial<IotTokenAuthorizerArgs>;
  const resourcePrefix = checkResourcePrefix(name, a.resourcePrefix, stack, "the Lambda function and the IoT authorizer", problems);

  const { issuers, sharedSecrets, previousSharedSecrets, deferred } = issuersForFunction(a.issuers, resourcePrefix, problems);
  const checked = inspectAuthorizerSettings({
    issuers,
    grants: a.grants,
    tokenKeyName: a.tokenKeyName,
    refreshAfterSeconds: a.refreshAfterSeconds,
    disconnectAfterSeconds: a.disconnectAfterSeconds,
    clockToleranceSeconds: a.clockToleranceSeconds,
    maxTokenBytes: a.maxTokenBytes,
  });
  problems.push(...checked.problems);

  const signing = checkSigning(a.signing ?? {}, checked.settings.tokenKeyName, problems);
  if (a.enableCachingForHttp !== undefined && typeof a.enableCachingForHttp !== "boolean") {
    problems.push(problemAt("enableCachingForHttp", "must be true or false"));
  }
  const d = IOT_TOKEN_AUTHORIZER_DEFAULTS;
  const fn = checkFunctionArgs(a.lambda, d, { max: 4, why: "IoT gives an authorizer 5 s in all" }, problems);
  const logRetentionDays = checkLogRetentionDays(a.logRetentionDays ?? d.logRetentionDays, problems);
  checkDomainArgs(a.domainConfiguration, problems);
  checkComponentArgs(a, problems);
  return {
    checked: {
      resourcePrefix,
      settings: checked.settings,
      sharedSecrets,
      previousSharedSecrets,
      deferred,
      ...signing,
      ...fn,
      logRetentionDays,
    },
    problems,
  };
}

/**
 * The issuers as the function's own checks should see them: each component-stored secret replaced by the
 * parameter that will hold it, and each field known only at deployment by a stand-in.
 */
function issuersForFunction(
  given: IotTokenAuthorizerIssuer[] | undefined,
  resourcePrefix: string,
  problems: Problem[],
): Pick<CheckedArgs, "sharedSecrets" | "previousSharedSecrets" | "deferred"> & { issuers: unknown } {
  const stored: Pick<CheckedArgs, "sharedSecrets" | "previousSharedSecrets"> = {
    sharedSecrets: new Map(),
    previousSharedSecrets: new Map(),
  };
  const deferred: CheckedArgs["deferred"] = new Map();
  const issuers = Array.isArray(given)
    ? given.map((issuer, i) => {
        if (typeof issuer !== "object" || issuer === null) return issuer;
        const { sharedSecret, previousSharedSecret, ...fields } = issuer;
        const rest: Record<string, unknown> = { ...fields };
        for (const field of DEFERRABLE_FIELDS) {
          const value = fields[field];
          if (value === undefined || isPlain(field, value)) continue;
          deferred.set(i, { ...deferred.get(i), [field]: value });
          rest[field] = standIn(field, i);
        }
        const about = (field: string, text: string) => problems.push(issuerProblem(`issuers[${i}]`, rest.issuer, field, text));
        for (const [inline, instead] of [
          ["secret", "sharedSecret"],
          ["previousSecret", "previousSharedSecret"],
        ]) {
          if (inline in rest) about(inline, `an inline ${inline} would end up in the function's environment; pass ${instead} instead`);
        }
        const algorithms = Array.isArray(fields.algorithms) ? fields.algorithms : [];
        const slots = [
          {
            secret: sharedSecret,
            field: "sharedSecret",
            own: "secretParameter",
            map: stored.sharedSecrets,
            name: sharedSecretParameterName,
          },
          {
            secret: previousSharedSecret,
            field: "previousSharedSecret",
            own: "previousSecretParameter",
            map: stored.previousSharedSecrets,
            name: previousSharedSecretParameterName,
          },
        ] as const;
        for (const slot of slots) {
          if (slot.secret === undefined) continue;
          if (fields[slot.own] !== undefined) {
            about(slot.field, `set ${slot.field} or ${slot.own}, not both`);
            continue;
          }
          slot.map.set(i, slot.secret);
          rest[slot.own] = slot.name(resourcePrefix, i);
          if (typeof slot.secret !== "string") continue;
          const decoded = decodeSharedSecret(slot.secret, algorithms);
          if (decoded.problem)
            about(
              slot.field,
              slot.field === "sharedSecret" ? decoded.problem : decoded.problem.replace("the shared", "the previous shared"),
            );
        }
        if (
          typeof sharedSecret === "string" &&
          typeof previousSharedSecret === "string" &&
          sharedSecret.trim() === previousSharedSecret.trim()
        ) {
          about("previousSharedSecret", "the previous shared secret is the current one; a rotation needs two different secrets");
        }
        return rest;
      })
    : given;
  return { issuers, ...stored, deferred };
}

function checkDomainArgs(domain: IotTokenAuthorizerDomainArgs | undefined, problems: Problem[]): void {
  if (domain === undefined) return;
  const fields = ["name", "domainName", "serverCertificateArns", "validationCertificateArn", "allowAuthorizerOverride"];
  problems.push(...unknownFields(domain, fields, "domainConfiguration"));
  if (typeof domain.name !== "string" || !DOMAIN_CONFIGURATION_NAME.test(domain.name) || domain.name.startsWith("iot:")) {
    problems.push(
      problemAt(
        "domainConfiguration.name",
        `must be 1-128 letters, digits, _ . or - (names starting iot: are AWS's); got ${JSON.stringify(domain.name)}`,
      ),
    );
  }
  if (domain.domainName !== undefined && (domain.serverCertificateArns ?? []).length === 0) {
    problems.push(
      problemAt("domainConfiguration.domainName", `${domain.domainName} needs serverCertificateArns (an ACM certificate for it)`),
    );
  }
}
