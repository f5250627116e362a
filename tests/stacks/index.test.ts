import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../stacks/config";
import { setupMocks, unwrap } from "../../support/pulumi-mocks";
import { readStackFile } from "../../support/stack-files";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => mockArchive(),
}));
function mockArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
}

describe("stacks/index.ts, the program Pulumi runs", () => {
  it("exports the authorizer's, the device grant's and fleet provisioning's outputs as stack outputs", async () => {
    setupMocks({
      project: PROJECT,
      config: { ...(readStackFile("dev") as Record<string, object>), [`${PROJECT}:sharedSecret`]: Buffer.alloc(32, 3).toString("base64") },
      secretKeys: [`${PROJECT}:sharedSecret`],
    });
    const program = await import("../../stacks");
    expect(Object.keys(program).sort()).toEqual([
      "alarmTopicArn",
      "authorizerArn",
      "authorizerName",
      "callbackUrl",
      "claimEndpoint",
      "claimFunctionRoleArn",
      "dataEndpoint",
      "deviceAuthorizationEndpoint",
      "deviceClientIds",
      "deviceClientSecrets",
      "deviceGrantDomainTarget",
      "deviceGrantFunctionName",
      "deviceGrantTableName",
      "devicePolicyName",
      "deviceTokenEndpoint",
      "functionArn",
      "functionName",
      "hookFunctionRoleArn",
      "hostedUiUrl",
      "installerIdentityPoolId",
      "metadataUrl",
      "operationsDashboardName",
      "privateKeyPem",
      "provisioningRoleArn",
      "provisioningTemplateArn",
      "provisioningTemplateName",
      "publicKeyPem",
      "signingKeys",
      "signingPrivateKeys",
      "tokenKeyName",
      "userPoolId",
      "userPoolIssuer",
      "userPoolPrincipalPrefix",
      "verificationUri",
    ]);
    expect(await unwrap(program.userPoolPrincipalPrefix as pulumi.Output<string>)).toBe("cognito");
    expect(await unwrap(program.verificationUri as pulumi.Output<string>)).toMatch(
      /^https:\/\/\w+\.execute-api\.eu-west-1\.amazonaws\.com\/device$/,
    );
    expect(await pulumi.isSecret(program.deviceClientSecrets as pulumi.Output<unknown>)).toBe(true);
    expect(await unwrap(program.dataEndpoint)).toMatch(/-ats\.iot\.eu-west-1\.amazonaws\.com$/);
    expect(await pulumi.isSecret(program.privateKeyPem)).toBe(true);
    expect(await pulumi.isSecret(program.signingPrivateKeys)).toBe(true);
    expect((await unwrap(program.signingKeys)).map((k) => k.name)).toEqual(["primary"]);
    // The claim route is the device grant's API's, under its base URL.
    expect(await unwrap(program.claimEndpoint as pulumi.Output<string>)).toMatch(
      /^https:\/\/\w+\.execute-api\.eu-west-1\.amazonaws\.com\/provisioning\/claims$/,
    );
  });
});
