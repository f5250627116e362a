/**
 * `IotTokenAuthorizer`: an AWS IoT Core custom authorizer that lets devices connect with access tokens from
 * an enterprise identity provider (OpenAM/ForgeRock with HS256 shared secrets, Cognito or any OIDC provider
 * with RS256 and a JWKS), as ForgeRock OpenAM's device flow, AWS IoT token signing and Cognito per-user topics use it
 * (docs/README.md#original-articles). Its arguments and their checks are in
 * `iot-token-authorizer-args.ts`; this file declares the children they shape.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import { loadAuthorizerConfig, type AuthorizerConfig, type IssuerConfig } from "../functions/authorizer/config";
import { ConfigurationError } from "../functions/shared/problems";
import { REPO_ROOT } from "./bundle";
import { type BundledFunction, defineBundledFunction } from "./bundled-function";
import {
  checkedSharedSecret,
  checkIotTokenAuthorizerArgs,
  type CheckedIotTokenAuthorizerArgs as CheckedArgs,
  IOT_TOKEN_AUTHORIZER_DEFAULTS,
  type IotTokenAuthorizerArgs,
  previousSharedSecretParameterName,
  sharedSecretParameterName,
} from "./iot-token-authorizer-args";
import { authorizerRolePolicy, ssmParameterArn } from "./policies";
import { authorizerPhysicalName, AUTHORIZER_REPLACING_INPUTS } from "./authorizer-name";
import { knownPublicKeys, signingKeyResourceName } from "./token-signing-keys";

/** The authorizer function's entry, bundled while the program runs. */
export const AUTHORIZER_ENTRY = path.join(REPO_ROOT, "functions", "authorizer", "index.ts");

/**
 * An AWS IoT Core custom authorizer backed by a Lambda function that verifies enterprise IdP tokens
 * (`functions/authorizer`). It creates:
 *
 * - the function (Node.js 22, arm64 by default), bundled from this repository while the program runs, with
 *   its configuration in the `AUTHORIZER_CONFIG` environment variable (no secrets in it);
 * - the function's log group with a retention period, JSON logs, and a role allowed exactly: writing to that
 *   log group and, with HMAC issuers, reading and decrypting their secret parameters;
 * - an SSM SecureString parameter per HMAC issuer given a `sharedSecret`;
 * - an RSA key pair per generated token-signing key (none when signing is off or you bring your own public keys);
 * - the IoT authorizer, and the Lambda permission letting IoT invoke the function for that authorizer only;
 * - optionally a domain configuration using the authorizer by default.
 *
 * A change IoT cannot make in place (toggling signing) replaces the authorizer create-first: the new one gets a name
 * of its own (`authorizer-name.ts`), the permission and the domain configuration move to it, and only then is the old
 * one retired (the provider sets it INACTIVE, then deletes it). docs/aws-iot-custom-auth.md#replacing-the-authorizer
 *
 * Arguments are all checked before anything is declared; every problem is reported in one `ConfigurationError`.
 */
export class IotTokenAuthorizer extends pulumi.ComponentResource {
  /** Name devices pass as `x-amz-customauthorizer-name`. */
  readonly authorizerName: pulumi.Output<string>;
  /** The authorizer's ARN, e.g. for an IAM policy allowing `iot:TestInvokeAuthorizer` or a domain configuration of your own. */
  readonly authorizerArn: pulumi.Output<string>;
  /** Name of the header / query parameter / MQTT username parameter that carries the token. */
  readonly tokenKeyName: pulumi.Output<string>;
  /** The first signing key's public half; undefined when signing is off. */
  readonly publicKeyPem: pulumi.Output<string | undefined>;
  /** The first signing key's private half, which devices (or the app handing out tokens) sign with; secret; undefined unless generated. */
  readonly privateKeyPem: pulumi.Output<string | undefined>;
  /** Every signing key, in the order given: its name in `tokenSigningPublicKeys` and its public PEM. Empty when signing is off. */
  readonly signingKeys: pulumi.Output<{ name: string; publicKeyPem: string }[]>;
  /** Name → private PEM of every key generated here; secret. */
  readonly signingPrivateKeys: pulumi.Output<Record<string, string>>;
  /** The authorizer function's name (the resource prefix), for its CloudWatch metrics and alarms. */
  readonly functionName: pulumi.Output<string>;
  /** The authorizer function's ARN. */
  readonly functionArn: pulumi.Output<string>;
  /** The function's execution role, to attach what your organisation adds to every role. */
  readonly functionRoleArn: pulumi.Output<string>;
  /** The function's log group (`/aws/lambda/<resourcePrefix>`), for metric filters, subscriptions and queries. */
  readonly logGroupName: pulumi.Output<string>;
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

    const parameters = this.sharedSecretParameters(name, checked, args);
    const { fn, role, logGroup } = this.authorizerFunction(name, checked, account, parameters, args);
    const keys = this.declareSigningKeys(name, checked);
    const authorizer = this.iotAuthorizer(name, args, checked, fn, keys.publicKeys, accountId);

    this.authorizerName = authorizer.name;
    this.authorizerArn = authorizer.arn;
    this.tokenKeyName = pulumi.output(checked.settings.tokenKeyName);
    this.signingKeys = keys.publicKeys;
    this.signingPrivateKeys = keys.privateKeys;
    this.publicKeyPem = keys.publicKeys.apply((list) => list[0]?.publicKeyPem);
    this.privateKeyPem = pulumi.secret(
      pulumi.all([keys.publicKeys, keys.privateKeys]).apply(([list, privates]) => (list[0] ? privates[list[0].name] : undefined)),
    );
    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.functionRoleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.dataEndpoint = aws.iot.getEndpointOutput({ endpointType: "iot:Data-ATS" }, parent).endpointAddress;
    this.registerOutputs({
      authorizerName: this.authorizerName,
      authorizerArn: this.authorizerArn,
      tokenKeyName: this.tokenKeyName,
      publicKeyPem: this.publicKeyPem,
      privateKeyPem: this.privateKeyPem,
      signingKeys: this.signingKeys,
      signingPrivateKeys: this.signingPrivateKeys,
      functionName: this.functionName,
      functionArn: this.functionArn,
      functionRoleArn: this.functionRoleArn,
      logGroupName: this.logGroupName,
      dataEndpoint: this.dataEndpoint,
    });
  }

  /** One SecureString parameter per shared secret the component stores (and per previous one, during a rotation). */
  private sharedSecretParameters(name: string, checked: CheckedArgs, args: IotTokenAuthorizerArgs): aws.ssm.Parameter[] {
    const { resourcePrefix, settings } = checked;
    const slots = [
      { secrets: checked.sharedSecrets, parameterName: sharedSecretParameterName, suffix: "secret", what: "HMAC shared secret" },
      {
        secrets: checked.previousSharedSecrets,
        parameterName: previousSharedSecretParameterName,
        suffix: "previous-secret",
        what: "previous HMAC shared secret (rotation)",
      },
    ];
    return slots.flatMap((slot) =>
      [...slot.secrets].map(([index, secret]) => {
        const parameterName = slot.parameterName(resourcePrefix, index);
        const issuer = settings.issuers.find((i) => i.secretParameter === parameterName || i.previousSecretParameter === parameterName);
        const label = issuer ? `issuer ${issuer.issuer}` : `issuers[${index}]`;
        const value = checkedSharedSecret(secret, issuer?.algorithms ?? [], label, `IotTokenAuthorizer "${name}" arguments`);
        return new aws.ssm.Parameter(
          `${name}-issuer-${index}-${slot.suffix}`,
          {
            name: parameterName,
            type: "SecureString",
            value,
            description: `Base64 ${slot.what} of ${label}, read by the IoT authorizer ${resourcePrefix}`,
            keyId: args.kmsKeyArn,
            tags: args.tags,
          },
          { parent: this },
        );
      }),
    );
  }

  /** The function, its configuration in its environment, and a role allowed its log group and secret parameters. */
  private authorizerFunction(
    name: string,
    checked: CheckedArgs,
    account: AccountContext,
    parameters: aws.ssm.Parameter[],
    args: IotTokenAuthorizerArgs,
  ): BundledFunction {
    const { resourcePrefix, settings } = checked;
    const secretParameterNames = settings.issuers.flatMap((i) =>
      [i.secretParameter, i.previousSecretParameter].filter((n): n is string => n !== undefined),
    );
    const authorizerConfig = authorizerConfigOutput(name, checked, account);
    return defineBundledFunction(
      name,
      {
        resourcePrefix,
        description: "AWS IoT custom authorizer: verifies enterprise IdP tokens and returns the device's IoT policy",
        roleDescription: `Execution role of the IoT authorizer function ${resourcePrefix}`,
        entry: AUTHORIZER_ENTRY,
        architecture: checked.architecture,
        memorySize: checked.memorySize,
        timeoutSeconds: checked.timeoutSeconds,
        reservedConcurrency: checked.reservedConcurrency,
        logRetentionDays: checked.logRetentionDays,
        kmsKeyArn: args.kmsKeyArn,
        permissionsBoundary: args.permissionsBoundary,
        metricsNamespace: args.metricsNamespace,
        environment: { AUTHORIZER_CONFIG: authorizerConfig.apply((c) => JSON.stringify(c)) },
        policy: (logGroupArn) =>
          pulumi
            .all([logGroupArn, account.region, account.accountId, account.partition, account.dnsSuffix, args.kmsKeyArn])
            .apply(([arn, regionName, accountId, partition, dnsSuffix, kmsKeyArn]) =>
              JSON.stringify(
                authorizerRolePolicy({
                  logGroupArn: arn,
                  secretParameterArns: secretParameterNames.map((n) => ssmParameterArn(n, { partition, region: regionName, accountId })),
                  region: regionName,
                  dnsSuffix,
                  ...(kmsKeyArn !== undefined && { kmsKeyArn }),
                }),
              ),
            ),
        dependsOn: parameters,
        tags: args.tags,
      },
      this,
    );
  }

  /** The named public keys IoT checks token signatures with: the caller's own, or generated pairs' (private halves secret). */
  private declareSigningKeys(
    name: string,
    checked: CheckedArgs,
  ): { publicKeys: pulumi.Output<{ name: string; publicKeyPem: string }[]>; privateKeys: pulumi.Output<Record<string, string>> } {
    const declared = checked.signingKeys.map((key) => {
      if (key.publicKeyPem !== undefined)
        return { name: key.name, publicKeyPem: pulumi.output(key.publicKeyPem), privateKeyPem: undefined };
      const pair = new tls.PrivateKey(signingKeyResourceName(name, key.name), { algorithm: "RSA", rsaBits: key.rsaBits }, { parent: this });
      return { name: key.name, publicKeyPem: pair.publicKeyPem, privateKeyPem: pair.privateKeyPem };
    });
    // A public key given as an Output could not be checked at preview; it is checked once known, failing the deployment.
    const publicKeys = pulumi
      .all(declared.map((k) => pulumi.all([k.name, k.publicKeyPem])))
      .apply((pairs) => knownPublicKeys(pairs, `IotTokenAuthorizer "${name}" signing keys once known`));
    const generated = declared.filter((k) => k.privateKeyPem !== undefined);
    const privateKeys = pulumi.secret(
      pulumi
        .all(generated.map((k) => pulumi.all([k.name, k.privateKeyPem as pulumi.Output<string>])))
        .apply((pairs) => Object.fromEntries(pairs)),
    );
    return { publicKeys, privateKeys };
  }

  /** The IoT authorizer, IoT's permission to invoke the function for it alone, and the optional domain configuration. */
  private iotAuthorizer(
    name: string,
    args: IotTokenAuthorizerArgs,
    checked: CheckedArgs,
    fn: aws.lambda.Function,
    publicKeys: pulumi.Output<{ name: string; publicKeyPem: string }[]>,
    accountId: pulumi.Output<string>,
  ): aws.iot.Authorizer {
    const { resourcePrefix, settings, signingEnabled } = checked;
    const tags = args.tags;
    const authorizer = new aws.iot.Authorizer(
      `${name}-authorizer`,
      {
        name: authorizerPhysicalName(resourcePrefix, { signingDisabled: !signingEnabled }),
        authorizerFunctionArn: fn.arn,
        signingDisabled: !signingEnabled,
        status: "ACTIVE",
        tokenKeyName: settings.tokenKeyName,
        tokenSigningPublicKeys: signingEnabled
          ? publicKeys.apply((list) => Object.fromEntries(list.map((k) => [k.name, k.publicKeyPem])))
          : undefined,
        enableCachingForHttp: args.enableCachingForHttp ?? IOT_TOKEN_AUTHORIZER_DEFAULTS.enableCachingForHttp,
        tags,
      },
      // IoT cannot change signingDisabled in place, and the provider would "update" a new name without renaming: both
      // replace the authorizer. Create-first, as the new name can exist beside the old one; said explicitly, because the
      // Terraform bridge asks for delete-first when a provider-planned replacement keeps a manually set name.
      { parent: this, replaceOnChanges: [...AUTHORIZER_REPLACING_INPUTS, "name"], deleteBeforeReplace: false },
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
            allowAuthorizerOverride: domain.allowAuthorizerOverride ?? IOT_TOKEN_AUTHORIZER_DEFAULTS.allowAuthorizerOverride,
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
