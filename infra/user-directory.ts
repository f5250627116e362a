/**
 * `UserDirectory`: the Amazon Cognito user pool people sign in to when they approve a device (as in the AWS device-grant sample), with
 * its hosted UI, the IoT scopes, and one app client per kind of device. The device grant service
 * (`DeviceGrant`) sends the user's browser to this pool's authorization endpoint and exchanges the code with the
 * device's own client, so the tokens a device receives are this pool's, and the IoT authorizer trusts them.
 * Its arguments and their checks are in `user-directory-args.ts`; this file declares the children they shape.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { cognitoJwksUri } from "../functions/shared/oauth";
import * as random from "@pulumi/random";
import {
  checkUserDirectoryArgs,
  type CheckedUserDirectoryArgs,
  type ExistingUserPool,
  type UserDirectoryArgs,
} from "./user-directory-args";

/** What the rest of the component needs of the pool, whether it declared the pool or was given one. */
interface PoolParts {
  id: pulumi.Output<string>;
  arn: pulumi.Output<string>;
  /** `https://cognito-idp.<region>.<dns suffix>/<pool id>`. */
  issuer: pulumi.Output<string>;
  hostedUiUrl: pulumi.Output<string>;
  customDomainTarget: pulumi.Output<string | undefined>;
  /** Declared with a pool of our own; an existing pool has its own already. */
  resourceServer: aws.cognito.ResourceServer | undefined;
}

/**
 * A Cognito user pool for the people who approve devices, with:
 *
 * - a strong password policy (at least 12 characters of every class), optional or required TOTP MFA, recovery by
 *   verified email only, sign-in by email, deletion protection on by default, and no self-service admin API scope;
 * - the hosted UI (classic) on a Cognito prefix domain, unique by default, or your own domain;
 * - the feature plan named (`ESSENTIALS` by default), and threat protection only with `PLUS`;
 * - or none of the above, with `existingUserPool`: the pool your organisation runs, with app clients it has or new ones;
 * - a resource server `iot` with the IoT scopes that the authorizer's grants can require;
 * - one app client per kind of device: authorization code flow only, callback exactly the device grant's
 *   `/callback`, `preventUserExistenceErrors`, token revocation, explicit token lifetimes, refresh as the only
 *   direct auth flow. The device grant always sends PKCE S256, and a public client has no secret, so the code is
 *   useless without the verifier the service keeps.
 */
export class UserDirectory extends pulumi.ComponentResource {
  /** The pool's id, `<region>_<id>` (the existing pool's, with `existingUserPool`). */
  readonly userPoolId: pulumi.Output<string>;
  /** The pool's ARN. */
  readonly userPoolArn: pulumi.Output<string>;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the `iss` of the pool's tokens. */
  readonly issuer: pulumi.Output<string>;
  /** `<issuer>/.well-known/jwks.json`: the keys the pool signs its tokens with (an `IotTokenAuthorizer` issuer's `jwksUri`). */
  readonly jwksUri: pulumi.Output<string>;
  /** Base URL of the hosted UI, e.g. `https://devices-prod.auth.eu-west-1.amazoncognito.com`. */
  readonly hostedUiUrl: pulumi.Output<string>;
  /** `<hostedUiUrl>/oauth2/authorize` (a `DeviceGrant`'s `upstream.authorizationEndpoint`). */
  readonly authorizationEndpoint: pulumi.Output<string>;
  /** `<hostedUiUrl>/oauth2/token` (a `DeviceGrant`'s `upstream.tokenEndpoint`). */
  readonly tokenEndpoint: pulumi.Output<string>;
  /** Client key → client id. */
  readonly clientIds: pulumi.Output<Record<string, string>>;
  /** Client key → client secret, for confidential clients; secret. */
  readonly clientSecrets: pulumi.Output<Record<string, string>>;
  /** With a custom domain: the CloudFront distribution its DNS alias (CNAME or Route 53 alias) points at. */
  readonly customDomainTarget: pulumi.Output<string | undefined>;
  /** The checked arguments, for composing programs (e.g. which clients are confidential). */
  readonly settings: CheckedUserDirectoryArgs;

  constructor(name: string, args: UserDirectoryArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkUserDirectoryArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:cognito:UserDirectory", name, {}, opts);
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;

    const pool = args.existingUserPool ? this.existingPool(args.existingUserPool, region) : this.newPool(name, args, checked, region);
    const created = this.appClients(name, args, checked, pool.id, pool.resourceServer);
    for (const group of checked.groups) {
      new aws.cognito.UserGroup(
        `${name}-group-${group.name}`,
        { userPoolId: pool.id, name: group.name, description: group.description },
        parent,
      );
    }

    this.settings = checked;
    this.userPoolId = pool.id;
    this.userPoolArn = pool.arn;
    this.issuer = pool.issuer;
    this.jwksUri = this.issuer.apply(cognitoJwksUri);
    this.hostedUiUrl = pool.hostedUiUrl;
    this.authorizationEndpoint = pulumi.interpolate`${pool.hostedUiUrl}/oauth2/authorize`;
    this.tokenEndpoint = pulumi.interpolate`${pool.hostedUiUrl}/oauth2/token`;
    const clientIds = checked.clients.map(
      (_, i) => created[i]?.id ?? pulumi.output(args.clients[i].existingClientId as pulumi.Input<string>),
    );
    this.clientIds = pulumi.all(clientIds).apply((ids) => Object.fromEntries(checked.clients.map((c, i) => [c.key, ids[i]])));
    const confidential = checked.clients.flatMap((c, i) =>
      c.type === "confidential"
        ? [{ key: c.key, secret: created[i]?.clientSecret ?? pulumi.output(args.clients[i].existingClientSecret as pulumi.Input<string>) }]
        : [],
    );
    this.clientSecrets = pulumi.secret(
      pulumi.all(confidential.map((c) => c.secret)).apply((secrets) => Object.fromEntries(confidential.map((c, i) => [c.key, secrets[i]]))),
    );
    this.customDomainTarget = pool.customDomainTarget;
    this.registerOutputs({
      userPoolId: this.userPoolId,
      userPoolArn: this.userPoolArn,
      issuer: this.issuer,
      jwksUri: this.jwksUri,
      hostedUiUrl: this.hostedUiUrl,
      authorizationEndpoint: this.authorizationEndpoint,
      tokenEndpoint: this.tokenEndpoint,
      clientIds: this.clientIds,
      clientSecrets: this.clientSecrets,
      customDomainTarget: this.customDomainTarget,
    });
  }

  /** A pool of our own: the pool, its hosted UI domain and its resource server. */
  private newPool(name: string, args: UserDirectoryArgs, checked: CheckedUserDirectoryArgs, region: pulumi.Output<string>): PoolParts {
    const parent = { parent: this };
    const pool = this.userPool(name, args, checked);
    // Prefix domains are unique across every AWS account in the region: the default carries random hex digits,
    // drawn once and kept in the stack's state, so the first deployment does not collide and later ones keep it.
    const prefix =
      checked.domainPrefixBase !== undefined
        ? new random.RandomId(`${name}-domain-suffix`, { byteLength: 4, keepers: { base: checked.domainPrefixBase } }, parent).hex.apply(
            (hex) => `${checked.domainPrefixBase}-${hex}`,
          )
        : pulumi.output(checked.domainPrefix as string);
    const domain = new aws.cognito.UserPoolDomain(
      `${name}-domain`,
      {
        userPoolId: pool.id,
        // 1: the classic hosted UI, which needs no branding style per app client (managed login, 2, shows an error
        // page to a client without one).
        managedLoginVersion: 1,
        ...(checked.customDomain !== undefined
          ? { domain: checked.customDomain, certificateArn: args.domain?.certificateArn }
          : { domain: prefix }),
      },
      parent,
    );
    const resourceServer = new aws.cognito.ResourceServer(
      `${name}-resource-server`,
      {
        userPoolId: pool.id,
        identifier: checked.resourceServerIdentifier,
        name: checked.resourceServerIdentifier,
        scopes: checked.scopes.map((s) => ({ scopeName: s.name, scopeDescription: s.description })),
      },
      parent,
    );
    return {
      id: pool.id,
      arn: pool.arn,
      issuer: pulumi.interpolate`https://${pool.endpoint}`,
      hostedUiUrl:
        checked.customDomain !== undefined
          ? pulumi.output(`https://${checked.customDomain}`)
          : pulumi.interpolate`https://${domain.domain}.auth.${region}.amazoncognito.com`,
      customDomainTarget: checked.customDomain !== undefined ? domain.cloudfrontDistribution : pulumi.output(undefined),
      resourceServer,
    };
  }

  /** A pool the caller runs: its ARN and issuer from its id, in this program's account, region and partition. */
  private existingPool(existing: ExistingUserPool, region: pulumi.Output<string>): PoolParts {
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent);
    const id = pulumi.output(existing.userPoolId);
    return {
      id,
      arn: pulumi.interpolate`arn:${partition.partition}:cognito-idp:${region}:${accountId}:userpool/${id}`,
      issuer: pulumi.interpolate`https://cognito-idp.${region}.${partition.dnsSuffix}/${id}`,
      hostedUiUrl: pulumi.output(existing.hostedUiUrl),
      customDomainTarget: pulumi.output(undefined),
      resourceServer: undefined,
    };
  }

  private userPool(name: string, args: UserDirectoryArgs, checked: CheckedUserDirectoryArgs): aws.cognito.UserPool {
    return new aws.cognito.UserPool(
      `${name}-pool`,
      {
        name: `${name}-${pulumi.getStack()}`,
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        usernameConfiguration: { caseSensitive: false },
        passwordPolicy: {
          minimumLength: checked.minimumPasswordLength,
          requireLowercase: true,
          requireUppercase: true,
          requireNumbers: true,
          requireSymbols: true,
          temporaryPasswordValidityDays: 3,
        },
        mfaConfiguration: checked.mfa,
        // Cognito refuses a software token block with MFA off.
        softwareTokenMfaConfiguration: checked.mfa === "OFF" ? undefined : { enabled: true },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        // By default users are invited by an administrator; open sign-up is a decision to make explicitly.
        adminCreateUserConfig: { allowAdminCreateUserOnly: !(args.allowSelfSignUp ?? false) },
        deletionProtection: checked.deletionProtection ? "ACTIVE" : "INACTIVE",
        userPoolTier: checked.featurePlan,
        userPoolAddOns: checked.advancedSecurity === "OFF" ? undefined : { advancedSecurityMode: checked.advancedSecurity },
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /** One app client per kind of device not adopted from an existing pool, at its index in `checked.clients`. */
  private appClients(
    name: string,
    args: UserDirectoryArgs,
    checked: CheckedUserDirectoryArgs,
    userPoolId: pulumi.Output<string>,
    resourceServer: aws.cognito.ResourceServer | undefined,
  ): (aws.cognito.UserPoolClient | undefined)[] {
    return checked.clients.map((client) =>
      client.existing
        ? undefined
        : new aws.cognito.UserPoolClient(
            `${name}-client-${client.key}`,
            {
              name: client.name,
              userPoolId,
              generateSecret: client.type === "confidential",
              allowedOauthFlowsUserPoolClient: true,
              allowedOauthFlows: ["code"],
              allowedOauthScopes: client.scopes,
              callbackUrls: args.callbackUrls,
              supportedIdentityProviders: ["COGNITO"],
              // The hosted UI needs no direct auth flow; refreshing does.
              explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
              preventUserExistenceErrors: "ENABLED",
              enableTokenRevocation: true,
              accessTokenValidity: checked.accessTokenValidityMinutes,
              idTokenValidity: checked.idTokenValidityMinutes,
              refreshTokenValidity: checked.refreshTokenValidityDays,
              tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "days" },
            },
            // The client's scopes exist once the resource server does.
            { parent: this, dependsOn: resourceServer ? [resourceServer] : [] },
          ),
    );
  }
}
