import { readFileSync } from "node:fs";
import path from "node:path";
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
    // `export =`: the module is the flat record itself (esModuleInterop puts it under `default`).
    const program = (await import("../../stacks")).default;
    expect(Object.keys(program).sort()).toEqual([
      "alarmTopicArn",
      "authorizerArn",
      "authorizerFunctionRoleArn",
      "authorizerLogGroupName",
      "authorizerName",
      "callbackUrl",
      "claimEndpoint",
      "claimFunctionName",
      "claimFunctionRoleArn",
      "claimLogGroupName",
      "claimTableArn",
      "claimTableName",
      "dataEndpoint",
      "deviceAuthorizationEndpoint",
      "deviceClientIds",
      "deviceClientSecrets",
      "deviceGrantAccessLogGroupName",
      "deviceGrantApiId",
      "deviceGrantApiStageName",
      "deviceGrantDomainTarget",
      "deviceGrantFunctionName",
      "deviceGrantFunctionRoleArn",
      "deviceGrantLogGroupName",
      "deviceGrantTableArn",
      "deviceGrantTableName",
      "devicePolicyName",
      "deviceTokenEndpoint",
      "functionArn",
      "functionName",
      "hookFunctionName",
      "hookFunctionRoleArn",
      "hookLogGroupName",
      "hostedUiUrl",
      "installerIdentityPoolId",
      "installerRoleArn",
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
      "userPoolArn",
      "userPoolDomainTarget",
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
    // The README's outputs table names every output, and which are secret.
    const table = readmeOutputs();
    expect([...table.keys()].sort()).toEqual(Object.keys(program).sort());
    for (const [name, secret] of table) {
      // Outputs of parts the dev stack leaves off (the alarms) are undefined: nothing to keep secret.
      const value = program[name as keyof typeof program] as pulumi.Output<unknown> | undefined;
      expect({ name, secret: value === undefined ? false : await pulumi.isSecret(value) }).toEqual({ name, secret });
    }
    // What a team attaches its own alarms and policies to: the real names and ARNs of the children.
    const out = <T>(name: string) => unwrap(program[name as keyof typeof program] as pulumi.Output<T>);
    const apiId = await out<string>("deviceGrantApiId");
    expect(await unwrap(program.verificationUri as pulumi.Output<string>)).toContain(`https://${apiId}.execute-api.`);
    expect(await out("deviceGrantApiStageName")).toBe("$default");
    expect(await out("deviceGrantTableArn")).toBe(
      `arn:aws:dynamodb:eu-west-1:123456789012:table/${await out<string>("deviceGrantTableName")}`,
    );
    expect(await out("userPoolArn")).toMatch(/^arn:aws:cognito-idp:eu-west-1:\d{12}:userpool\/eu-west-1_\w+$/);
    expect(await out("authorizerLogGroupName")).toBe(`/aws/lambda/${await out<string>("functionName")}`);
    expect(await out("deviceGrantLogGroupName")).toBe(`/aws/lambda/${await out<string>("deviceGrantFunctionName")}`);
    expect(await out("hookLogGroupName")).toBe(`/aws/lambda/${await out<string>("hookFunctionName")}`);
    for (const role of ["authorizerFunctionRoleArn", "deviceGrantFunctionRoleArn", "claimFunctionRoleArn", "hookFunctionRoleArn"]) {
      expect(await out(role)).toMatch(/^arn:aws:iam::\d{12}:role\//);
    }
    expect(await out("userPoolDomainTarget")).toBeUndefined();
    // The claim route is the device grant's API's, under its base URL.
    expect(await unwrap(program.claimEndpoint as pulumi.Output<string>)).toMatch(
      /^https:\/\/\w+\.execute-api\.eu-west-1\.amazonaws\.com\/provisioning\/claims$/,
    );
  });
});

/** The README's "Stack outputs" table: output name → secret. */
function readmeOutputs(): Map<string, boolean> {
  const readme = readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const start = readme.indexOf("## Stack outputs");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const rows = new Map<string, boolean>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (name) rows.set(name, cells[3] === "yes");
  }
  return rows;
}
