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
  sharedSecretParameterName,
} from "./iot-token-authorizer-args";
import { authorizerRolePolicy, ssmParameterArn } from "./policies";

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
    const { publicKeyPem, privateKeyPem } = this.signingKey(name, args, checked);
    const authorizer = this.iotAuthorizer(name, args, checked, fn, publicKeyPem, accountId);

    this.authorizerName = authorizer.name;
    this.authorizerArn = authorizer.arn;
    this.tokenKeyName = pulumi.output(checked.settings.tokenKeyName);
    this.publicKeyPem = publicKeyPem;
    this.privateKeyPem = privateKeyPem;
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
      functionName: this.functionName,
      functionArn: this.functionArn,
      functionRoleArn: this.functionRoleArn,
      logGroupName: this.logGroupName,
      dataEndpoint: this.dataEndpoint,
    });
  }

  /** One SecureString parameter per issuer whose shared secret the component stores. */
  private sharedSecretParameters(name: string, checked: CheckedArgs, args: IotTokenAuthorizerArgs): aws.ssm.Parameter[] {
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
          keyId: args.kmsKeyArn,
          tags: args.tags,
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
    args: IotTokenAuthorizerArgs,
  ): BundledFunction {
    const { resourcePrefix, settings } = checked;
    const secretParameterNames = settings.issuers.flatMap((i) => (i.secretParameter === undefined ? [] : [i.secretParameter]));
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
        tokenSigningPublicKeys: signingEnabled ? publicKeyPem.apply((pem) => ({ [checked.signingKeyName]: pem as string })) : undefined,
        enableCachingForHttp: args.enableCachingForHttp ?? IOT_TOKEN_AUTHORIZER_DEFAULTS.enableCachingForHttp,
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
