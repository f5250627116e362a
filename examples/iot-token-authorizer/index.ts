/**
 * Composing `IotTokenAuthorizer` in your own program: users signed in to an Amazon Cognito user pool
 * connect to AWS IoT Core with their access token, each limited to their own topic tree (Cognito per-user topics).
 *
 * Settings (`pulumi config set …`): `aws:region`, `userPoolId` (e.g. eu-west-1_AbCdEf123) and
 * `appClientId` (the app client the web and mobile apps sign in with).
 */
import * as pulumi from "@pulumi/pulumi";
import { cognitoIssuer, cognitoJwksUri, IotTokenAuthorizer } from "../../infra";

const config = new pulumi.Config();
const region = new pulumi.Config("aws").require("region");
const userPoolId = config.require("userPoolId");
const appClientId = config.require("appClientId");

// Cognito's issuer URL; its signing keys are published under it.
const issuer = cognitoIssuer(region, userPoolId);

const authorizer = new IotTokenAuthorizer("cognito", {
  issuers: [
    {
      issuer,
      algorithms: ["RS256"],
      jwksUri: cognitoJwksUri(issuer),
      // Access tokens carry no "aud": pin the token type and the app client instead (docs/jwt-verification.md#claim-shapes-by-issuer).
      tokenUse: "access",
      clientIds: [appClientId],
    },
  ],
  // Each user connects as themselves (or themselves-<device>) and uses event/<user>/… only.
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}", "topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}", "topicfilter/event/{principal}/*"] },
  ],
  // Browsers open WebSockets without custom headers: the token travels in the query string as `token`.
  tokenKeyName: "token",
  logRetentionDays: 90,
  tags: { application: "realtime-events" },
});

export const endpoint = authorizer.dataEndpoint;
export const authorizerName = authorizer.authorizerName;
export const tokenKeyName = authorizer.tokenKeyName;
/** Whoever hands tokens to clients signs them with this key; `pulumi stack output --show-secrets`. */
export const signingKey = authorizer.privateKeyPem;
