/**
 * `npm test` and `npm start` print no AWS SDK Node-version warning on Node 20 (issue: 16 copies per test run),
 * and the suppression is as narrow as it says: Node < 22 only, the SDK's own switch, a user's setting kept.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { quietSdkNodeVersionWarning, SDK_NODE_WARNING_SWITCH } from "../../sandbox/sdk-node-warning";

/** Builds a DynamoDB client in a fresh Node process, as every test file and `npm start` do, and returns its stderr. */
async function stderrOfSdkClient(env: NodeJS.ProcessEnv): Promise<string> {
  const script = `new (require("@aws-sdk/client-dynamodb").DynamoDBClient)({ region: "eu-west-1" }); setTimeout(() => {}, 50);`;
  const { stderr } = await promisify(execFile)(process.execPath, ["-e", script], { env, cwd: process.cwd() });
  return stderr;
}

describe("the AWS SDK's Node-version warning", () => {
  const saved = process.env[SDK_NODE_WARNING_SWITCH];
  afterEach(() => {
    if (saved === undefined) delete process.env[SDK_NODE_WARNING_SWITCH];
    else process.env[SDK_NODE_WARNING_SWITCH] = saved;
  });

  test("is turned off on Node 20 and left alone on Node 22 and later", () => {
    delete process.env[SDK_NODE_WARNING_SWITCH];
    quietSdkNodeVersionWarning("v22.12.0");
    expect(process.env[SDK_NODE_WARNING_SWITCH]).toBeUndefined();
    quietSdkNodeVersionWarning("v20.19.0");
    expect(process.env[SDK_NODE_WARNING_SWITCH]).toBe("true");
  });

  test("a value the user set is kept", () => {
    process.env[SDK_NODE_WARNING_SWITCH] = "false";
    quietSdkNodeVersionWarning("v20.19.0");
    expect(process.env[SDK_NODE_WARNING_SWITCH]).toBe("false");
  });

  test("with the switch the process prints nothing; without it, on Node 20, the SDK warns", async () => {
    const env = { ...process.env };
    delete env[SDK_NODE_WARNING_SWITCH];
    const major = Number(process.versions.node.split(".")[0]);
    if (major < 22) expect(await stderrOfSdkClient(env)).toContain("NodeVersionSupportWarning");
    expect(await stderrOfSdkClient({ ...env, [SDK_NODE_WARNING_SWITCH]: "true" })).not.toContain("NodeVersionSupportWarning");
  });

  test("the test run itself has it off (jest.config.js setupFiles) on Node 20", () => {
    if (Number(process.versions.node.split(".")[0]) < 22) expect(saved).toBe("true");
  });
});
