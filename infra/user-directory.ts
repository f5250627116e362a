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
import { checkUserDirectoryArgs, type CheckedUserDirectoryArgs, type UserDirectoryArgs } from "./user-directory-args";

/**
 * A Cognito user pool for the people who approve devices, with:
 *
 * - a strong password policy (at least 12 characters of every class), optional or required TOTP MFA, recovery by
 *   verified email only, sign-in by email, deletion protection on by default, and no self-service admin API scope;
 * - the hosted UI on a Cognito prefix domain or your own domain;
 * - a resource server `iot` with the IoT scopes that the authorizer's grants can require;
 * - one app client per kind of device: authorization code flow only, callback exactly the device grant's
 *   `/callback`, `preventUserExistenceErrors`, token revocation, explicit token lifetimes, refresh as the only
 *   direct auth flow. The device grant always sends PKCE S256, and a public client has no secret, so the code is
 *   useless without the verifier the service keeps.
 */
export class UserDirectory extends pulumi.ComponentResource {
  readonly userPoolId: pulumi.Output<string>;
  readonly userPoolArn: pulumi.Output<string>;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the `iss` of the pool's tokens. */
  readonly issuer: pulumi.Output<string>;
  readonly jwksUri: pulumi.Output<string>;
  /** Base URL of the hosted UI, e.g. `https://devices-prod.auth.eu-west-1.amazoncognito.com`. */
  readonly hostedUiUrl: pulumi.Output<string>;
  readonly authorizationEndpoint: pulumi.Output<string>;
  readonly tokenEndpoint: pulumi.Output<string>;
  /** Client key → client id. */
  readonly clientIds: pulumi.Output<Record<string, string>>;
  /** Client key → client secret, for confidential clients; secret. */
  readonly clientSecrets: pulumi.Output<Record<string, string>>;
  /** With a custom domain: the CloudFront distribution to point the domain's DNS alias at. */
  readonly cloudfrontDistribution: pulumi.Output<string | undefined>;
  /** The checked arguments, for composing programs (e.g. which clients are confidential). */
  readonly settings: CheckedUserDirectoryArgs;

  constructor(name: string, args: UserDirectoryArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkUserDirectoryArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:cognito:UserDirectory", name, {}, opts);
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;

    const pool = this.userPool(name, args, checked);
    const domain = new aws.cognito.UserPoolDomain(
      `${name}-domain`,
      checked.customDomain !== undefined
        ? { userPoolId: pool.id, domain: checked.customDomain, certificateArn: args.domain?.certificateArn }
        : { userPoolId: pool.id, domain: checked.domainPrefix as string },
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
    const clients = this.appClients(name, args, checked, pool, resourceServer);
    for (const group of checked.groups) {
      new aws.cognito.UserGroup(
        `${name}-group-${group.name}`,
        { userPoolId: pool.id, name: group.name, description: group.description },
        parent,
      );
    }

    const hostedUiUrl =
      checked.customDomain !== undefined
        ? pulumi.output(`https://${checked.customDomain}`)
        : pulumi.interpolate`https://${domain.domain}.auth.${region}.amazoncognito.com`;

    this.settings = checked;
    this.userPoolId = pool.id;
    this.userPoolArn = pool.arn;
    this.issuer = pulumi.interpolate`https://${pool.endpoint}`;
    this.jwksUri = this.issuer.apply(cognitoJwksUri);
    this.hostedUiUrl = hostedUiUrl;
    this.authorizationEndpoint = pulumi.interpolate`${hostedUiUrl}/oauth2/authorize`;
    this.tokenEndpoint = pulumi.interpolate`${hostedUiUrl}/oauth2/token`;
    this.clientIds = pulumi
      .all(clients.map((c) => c.id))
      .apply((ids) => Object.fromEntries(checked.clients.map((c, i) => [c.key, ids[i]])));
    const confidential = checked.clients.flatMap((c, i) => (c.type === "confidential" ? [{ key: c.key, client: clients[i] }] : []));
    this.clientSecrets = pulumi.secret(
      pulumi
        .all(confidential.map((c) => c.client.clientSecret))
        .apply((secrets) => Object.fromEntries(confidential.map((c, i) => [c.key, secrets[i]]))),
    );
    this.cloudfrontDistribution = checked.customDomain !== undefined ? domain.cloudfrontDistribution : pulumi.output(undefined);
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
      cloudfrontDistribution: this.cloudfrontDistribution,
    });
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
        userPoolAddOns: checked.advancedSecurity === "OFF" ? undefined : { advancedSecurityMode: checked.advancedSecurity },
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /** One app client per kind of device, in `checked.clients` order. */
  private appClients(
    name: string,
    args: UserDirectoryArgs,
    checked: CheckedUserDirectoryArgs,
    pool: aws.cognito.UserPool,
    resourceServer: aws.cognito.ResourceServer,
  ): aws.cognito.UserPoolClient[] {
    return checked.clients.map(
      (client) =>
        new aws.cognito.UserPoolClient(
          `${name}-client-${client.key}`,
          {
            name: client.name,
            userPoolId: pool.id,
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
          { parent: this, dependsOn: [resourceServer] },
        ),
    );
  }
}
