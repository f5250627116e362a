/**
 * The device grant function's configuration (`DEVICE_GRANT_CONFIG`) that the handler tests deploy it with: one
 * confidential client (`console`) whose secret is in an SSM parameter, Cognito as the upstream IdP, a dynalite table.
 */
export function consoleClientConfig(tableName: string, clientSecretsParameter: string): string {
  return JSON.stringify({
    settings: {},
    clients: [{ clientId: "console", name: "Games console", type: "confidential", scopes: ["openid"] }],
    scopes: ["openid"],
    upstream: {
      issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
      authorizationEndpoint: "https://users.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
      tokenEndpoint: "https://users.auth.eu-west-1.amazoncognito.com/oauth2/token",
      redirectUri: "https://device.example.com/callback",
    },
    publicBaseUrl: "https://device.example.com",
    tableName,
    region: "eu-west-1",
    clientSecretsParameter,
  });
}
