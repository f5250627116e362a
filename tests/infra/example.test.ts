import * as pulumi from "@pulumi/pulumi";
import { setupMocks, unwrap } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => mockArchive(),
}));
function mockArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
}

describe("examples/iot-token-authorizer", () => {
  it("runs: a Cognito RS256 issuer pinned to access tokens of one app client", async () => {
    const mocks = setupMocks({
      project: "iot-token-authorizer-example",
      config: {
        "aws:region": "eu-west-1",
        "iot-token-authorizer-example:userPoolId": "eu-west-1_AbCdEf123",
        "iot-token-authorizer-example:appClientId": "1example23456789",
      },
    });
    const example = await import("../../examples/iot-token-authorizer");
    expect(await unwrap(example.endpoint)).toBe("a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com");
    await unwrap(example.authorizerName);

    const fn = mocks.one("aws:lambda/function:Function");
    const config = JSON.parse((fn.inputs.environment as { variables: Record<string, string> }).variables.AUTHORIZER_CONFIG);
    const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
    expect(config.issuers).toEqual([
      { issuer, algorithms: ["RS256"], jwksUri: `${issuer}/.well-known/jwks.json`, clientIds: ["1example23456789"], tokenUse: "access" },
    ]);
    expect(mocks.byType("aws:ssm/parameter:Parameter")).toHaveLength(0);
    expect(await pulumi.isSecret(example.signingKey)).toBe(true);
  });
});
