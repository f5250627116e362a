/**
 * The calls the cognito-local harness (cognito-local.ts) makes to cognito-local's API (AWS JSON 1.1 over
 * HTTP) and token endpoint: create a user pool, an app client, a confirmed user. With `reuse` (a user directory
 * kept on disk, as the sandbox's `--data-dir` keeps it) each first looks for what an earlier start created
 * under the same name and reuses it: the pool and its id, the app client and its id (its callback URLs and
 * scopes updated to this start's), the user and its `sub` (its password set to this start's). So a restart
 * keeps every id a device or a stored record refers to.
 */
import { basicAuthorizationHeader } from "../functions/shared/oauth";
import { type AppClient, type AppClientOptions, type CognitoLocal, type CognitoUser, type TokenEndpointAnswer } from "./cognito-local";

export function apiCaller(baseUrl: string): CognitoLocal["call"] {
  return async <T>(operation: string, body: Record<string, unknown>): Promise<T> => {
    const response = await fetch(`${baseUrl}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": `AWSCognitoIdentityProviderService.${operation}`,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`cognito-local ${operation} answered HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    return JSON.parse(text) as T;
  };
}

export async function createAppClient(call: CognitoLocal["call"], poolId: string, options: AppClientOptions): Promise<AppClient> {
  const { UserPoolClient } = await call<{ UserPoolClient: { ClientId: string; ClientSecret?: string } }>("CreateUserPoolClient", {
    UserPoolId: poolId,
    ClientName: options.name,
    GenerateSecret: options.generateSecret ?? false,
    CallbackURLs: options.callbackUrls,
    AllowedOAuthFlows: options.allowedOAuthFlows ?? ["code"],
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthScopes: options.allowedOAuthScopes ?? ["openid"],
    SupportedIdentityProviders: ["COGNITO"],
    ...(options.accessTokenValidityMinutes !== undefined && {
      AccessTokenValidity: options.accessTokenValidityMinutes,
      TokenValidityUnits: { AccessToken: "minutes" },
    }),
  });
  return { clientId: UserPoolClient.ClientId, ...(UserPoolClient.ClientSecret && { clientSecret: UserPoolClient.ClientSecret }) };
}

export async function createUser(
  call: CognitoLocal["call"],
  poolId: string,
  username: string,
  password: string,
  attributes: Record<string, string>,
): Promise<CognitoUser> {
  const { User } = await call<{ User: { Username: string; Attributes: { Name: string; Value: string }[] } }>("AdminCreateUser", {
    UserPoolId: poolId,
    Username: username,
    MessageAction: "SUPPRESS",
    UserAttributes: Object.entries(attributes).map(([Name, Value]) => ({ Name, Value })),
  });
  await call("AdminSetUserPassword", { UserPoolId: poolId, Username: username, Password: password, Permanent: true });
  const sub = User.Attributes.find((a) => a.Name === "sub")?.Value;
  if (!sub) throw new Error("cognito-local created a user without sub");
  return { username: User.Username, sub };
}

export async function tokenRequest(baseUrl: string, client: AppClient, parameters: Record<string, string>): Promise<TokenEndpointAnswer> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (client.clientSecret !== undefined) headers.authorization = basicAuthorizationHeader(client.clientId, client.clientSecret);
  const response = await fetch(`${baseUrl}/oauth2/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams({ client_id: client.clientId, ...parameters }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A pool an earlier start created under `name`, or a new one. */
export async function userPoolNamed(call: CognitoLocal["call"], name: string, reuse: boolean): Promise<string> {
  if (reuse) {
    const { UserPools } = await call<{ UserPools: { Id: string; Name: string }[] }>("ListUserPools", { MaxResults: 60 });
    const existing = UserPools.find((p) => p.Name === name);
    if (existing !== undefined) return existing.Id;
  }
  const { UserPool } = await call<{ UserPool: { Id: string } }>("CreateUserPool", { PoolName: name });
  return UserPool.Id;
}

/** The app client an earlier start created under `options.name`, brought up to this start's options, or a new one. */
export async function appClientNamed(
  call: CognitoLocal["call"],
  poolId: string,
  options: AppClientOptions,
  reuse: boolean,
): Promise<AppClient> {
  if (reuse) {
    const { UserPoolClients } = await call<{ UserPoolClients: { ClientId: string; ClientName: string }[] }>("ListUserPoolClients", {
      UserPoolId: poolId,
      MaxResults: 60,
    });
    const existing = UserPoolClients.find((c) => c.ClientName === options.name);
    if (existing !== undefined) {
      const { UserPoolClient } = await call<{ UserPoolClient: { ClientId: string; ClientSecret?: string } }>("UpdateUserPoolClient", {
        UserPoolId: poolId,
        ClientId: existing.ClientId,
        CallbackURLs: options.callbackUrls,
        AllowedOAuthFlows: options.allowedOAuthFlows ?? ["code"],
        AllowedOAuthScopes: options.allowedOAuthScopes ?? ["openid"],
      });
      return { clientId: UserPoolClient.ClientId, ...(UserPoolClient.ClientSecret && { clientSecret: UserPoolClient.ClientSecret }) };
    }
  }
  return createAppClient(call, poolId, options);
}

/** The user an earlier start created under `username`, with this start's password, or a new one. */
export async function userNamed(
  call: CognitoLocal["call"],
  poolId: string,
  user: { username: string; password: string; attributes: Record<string, string> },
  reuse: boolean,
): Promise<CognitoUser> {
  if (reuse) {
    const found = await call<{ Username: string; UserAttributes: { Name: string; Value: string }[] }>("AdminGetUser", {
      UserPoolId: poolId,
      Username: user.username,
    }).catch((err: Error) => {
      if (/UserNotFoundException/.test(err.message)) return undefined;
      throw err;
    });
    const sub = found?.UserAttributes.find((a) => a.Name === "sub")?.Value;
    if (found !== undefined && sub !== undefined) {
      await call("AdminSetUserPassword", { UserPoolId: poolId, Username: user.username, Password: user.password, Permanent: true });
      return { username: found.Username, sub };
    }
  }
  return createUser(call, poolId, user.username, user.password, user.attributes);
}
