/**
 * The package as a platform team meets it: `npm pack`, installed into an empty Pulumi TypeScript program with only
 * its declared dependencies (and the peer `@pulumi/pulumi`), type-checked in a program that composes every
 * component and the device client, and run under the runtime's mocks the way Pulumi's Node language host loads a
 * program (ts-node): it must declare the same resources as this repository's own stack program.
 *
 * The install resolves from npm's cache where it can (`npm ci` filled it), so the test costs a minute, not a
 * download of the world.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../infra/bundle";
import { readStackFile } from "../../support/stack-files";

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const npm = (args: string[], cwd: string): string =>
  execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const installedVersion = (name: string): string =>
  (JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), "package-test-"));
  // `npm pack` runs `prepack` (npm run build) first.
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], REPO_ROOT)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("what npm pack puts in the package", () => {
  it("holds compiled code with declarations, the prebuilt functions and the docs; no sources, tests, sandbox or benchmarks", () => {
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE", "CHANGELOG.md", "docs/README.md"]));
    expect(files).toEqual(
      expect.arrayContaining(["dist/infra/index.js", "dist/infra/index.d.ts", "dist/device/client.js", "dist/stacks/program.js"]),
    );
    for (const fn of ["authorizer", "device-grant", "provisioning-claim", "pre-provisioning-hook"]) {
      expect(files).toContain(`dist/lambda/${fn}/index.js`);
    }
    const unwanted = files.filter(
      (f) =>
        /^(tests|sandbox|bench|support|scripts|examples|functions|infra|stacks|device)\//.test(f) ||
        /\.ts$/.test(f.replace(/\.d\.ts$/, "")),
    );
    expect(unwanted).toEqual([]);
  });

  it("requires at run time only Node's own modules, its own files and its declared dependencies", () => {
    const allowed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    const extracted = path.join(work, "extracted");
    execFileSync("tar", ["-xzf", tarball, "-C", work]);
    execFileSync("mv", [path.join(work, "package"), extracted]);
    const undeclared = new Set<string>();
    for (const file of files.filter((f) => f.endsWith(".js") && !f.startsWith("dist/lambda/"))) {
      const code = readFileSync(path.join(extracted, file), "utf8");
      for (const [, request] of code.matchAll(/require\("([^"]+)"\)/g)) {
        if (request.startsWith(".") || request.startsWith("node:") || builtinModules.includes(request)) continue;
        const name = request.startsWith("@") ? request.split("/").slice(0, 2).join("/") : request.split("/")[0];
        if (!allowed.has(name)) undeclared.add(`${file}: ${request}`);
      }
    }
    expect([...undeclared]).toEqual([]);
    // The functions' bundles leave out only the AWS SDK, which Lambda's runtime provides.
    for (const fn of files.filter((f) => f.startsWith("dist/lambda/"))) {
      const requests = [...readFileSync(path.join(extracted, fn), "utf8").matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      expect(requests.filter((r) => !r.startsWith("@aws-sdk/") && !r.startsWith("node:") && !builtinModules.includes(r))).toEqual([]);
    }
  });
});

/** A program that composes every component and the device client, as a team's would. */
const COMPOSING_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { cognitoIssuer, cognitoJwksUri, DeviceGrant, FleetProvisioning, IotTokenAuthorizer, UserDirectory } from "${manifest.name}";
import { DeviceClient } from "${manifest.name}/device";
import { defineStack, stackOutputs } from "${manifest.name}/stack";

const users = new UserDirectory("users", {
  callbackUrls: ["https://device.example.com/callback"],
  clients: [{ key: "tv", name: "TV" }, { key: "installer", name: "Installer app", scopes: ["openid", "iot/provision"] }],
  scopes: [{ name: "device", description: "Connect" }, { name: "provision", description: "Provision" }],
  groups: [{ name: "installers" }],
});
const grant = new DeviceGrant("grant", {
  clients: [{ clientId: users.clientIds.apply((ids) => ids.tv), name: "TV", type: "public", scopes: ["openid", "iot/device"] }],
  upstream: { issuer: users.issuer, authorizationEndpoint: users.authorizationEndpoint, tokenEndpoint: users.tokenEndpoint, jwksUri: users.jwksUri },
});
const issuer = cognitoIssuer("eu-west-1", "eu-west-1_Example");
const authorizer = new IotTokenAuthorizer("auth", {
  issuers: [{ issuer, algorithms: ["RS256"], jwksUri: cognitoJwksUri(issuer), tokenUse: "access" }],
});
const fleet = new FleetProvisioning("fleet", {
  claims: { attachTo: { apiId: grant.apiId, executionArn: grant.apiExecutionArn, endpoint: grant.baseUrl }, jwt: { issuer: users.issuer, audiences: [users.clientIds.apply((ids) => ids.installer)] } },
});
const client = new DeviceClient({ baseUrl: "https://device.example.com", clientId: "tv", iotEndpoint: "example-ats.iot.eu-west-1.amazonaws.com" });
export const outputs = { verificationUri: grant.verificationUri, authorizerName: authorizer.authorizerName, claimEndpoint: fleet.claimEndpoint, tokenFile: client.tokenFile };
export const stack: typeof defineStack = defineStack;
export const flat: (o: ReturnType<typeof defineStack>) => { authorizerName: pulumi.Output<string>; alarmTopicArn?: pulumi.Output<string> } = stackOutputs;
export const name: pulumi.Output<string> = authorizer.functionName;
`;

/** Runs a module's `defineStack` under the mocks of support/pulumi-mocks.ts, on the Pulumi runtime that module loads. */
const RUNNER = `
// Everything resolves from the working directory: the program's own packages, or this repository's.
const fromCwd = require("node:module").createRequire(require("node:path").join(process.cwd(), "index.js"));
fromCwd("ts-node").register({ transpileOnly: true });
const pulumi = fromCwd("@pulumi/pulumi");
const { setupMocks } = require(${JSON.stringify(path.join(REPO_ROOT, "support", "pulumi-mocks.ts"))});
const recorder = setupMocks(
  { config: JSON.parse(process.env.STACK_CONFIG), secretKeys: ["iot-enterprise-auth:sharedSecret"], project: "iot-enterprise-auth", stack: "dev" },
  pulumi.runtime,
);
const { defineStack } = fromCwd(process.argv[2]);
const outputs = defineStack();
// Every output settles once the resources it depends on are registered; then wait until nothing more registers.
const settle = (value) => (value && typeof value.apply === "function" ? new Promise((resolve) => value.apply(resolve)) : Promise.resolve());
Promise.all(Object.values(outputs).flatMap((o) => (o && typeof o.apply !== "function" && typeof o === "object" ? Object.values(o) : [o])).map(settle)).then(async () => {
  let count = -1;
  while (count !== recorder.resources.length) {
    count = recorder.resources.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.stdout.write(JSON.stringify(recorder.resources.map((r) => r.type + " " + r.name).sort()));
});
`;

/** The README's TypeScript examples of using the package, which must compile as printed. */
function readmeExamples(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Use the components in your own program"), readme.indexOf("### Versions and upgrades"));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("the package in a fresh Pulumi TypeScript program", () => {
  let program: string;

  beforeAll(() => {
    program = path.join(work, "program");
    execFileSync("mkdir", ["-p", program]);
    writeFileSync(path.join(program, "package.json"), JSON.stringify({ name: "team-program", version: "1.0.0", private: true }, null, 2));
    // The tsconfig.json that `pulumi new typescript` writes (moduleResolution "node", which ignores "exports"), and
    // the modern resolution beside it: the package's entry points must type-check under both.
    const template = {
      strict: true,
      outDir: "bin",
      target: "es2020",
      module: "commonjs",
      moduleResolution: "node",
      sourceMap: true,
      experimentalDecorators: true,
      pretty: true,
      noFallthroughCasesInSwitch: true,
      noImplicitReturns: true,
      forceConsistentCasingInFileNames: true,
    };
    const examples = readmeExamples().map((code, i) => {
      writeFileSync(path.join(program, `readme-${i + 1}.ts`), code);
      return `readme-${i + 1}.ts`;
    });
    const files = ["index.ts", ...examples];
    writeFileSync(path.join(program, "tsconfig.json"), JSON.stringify({ compilerOptions: template, files }));
    writeFileSync(
      path.join(program, "tsconfig.node16.json"),
      JSON.stringify({ compilerOptions: { ...template, module: "node16", moduleResolution: "node16" }, files }),
    );
    writeFileSync(path.join(program, "index.ts"), COMPOSING_PROGRAM);
    writeFileSync(path.join(program, "runner.js"), RUNNER);
    const tools = ["@pulumi/pulumi", "typescript", "ts-node", "@types/node"].map((name) => `${name}@${installedVersion(name)}`);
    npm(["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball, ...tools], program);
  });

  it("installs with only its declared dependencies and the peer @pulumi/pulumi, and a program composing every component (and the README's examples, as printed) type-checks under pulumi new's tsconfig and under node16 resolution", () => {
    expect(readmeExamples().length).toBeGreaterThanOrEqual(2);
    const installed = JSON.parse(readFileSync(path.join(program, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(installed.dependencies).sort()).toEqual(
      [manifest.name, "@pulumi/pulumi", "@types/node", "ts-node", "typescript"].sort(),
    );
    for (const dev of ["esbuild", "jwks-rsa", "@aws-sdk/client-dynamodb"]) {
      expect(() => require.resolve(dev, { paths: [program] })).toThrow();
    }
    for (const project of ["tsconfig.json", "tsconfig.node16.json"]) {
      const tsc = spawnSync(process.execPath, [path.join(program, "node_modules", "typescript", "bin", "tsc"), "-p", project, "--noEmit"], {
        cwd: program,
        encoding: "utf8",
      });
      expect({ project, errors: tsc.stdout + tsc.stderr, status: tsc.status }).toEqual({ project, errors: "", status: 0 });
    }
  });

  it("declares, under the runtime's mocks, the same resources as this repository's stack program", () => {
    const config: Record<string, string> = { "iot-enterprise-auth:sharedSecret": Buffer.alloc(32, 5).toString("base64") };
    for (const [k, v] of Object.entries(readStackFile("dev"))) config[k] = typeof v === "string" ? v : JSON.stringify(v);
    const run = (cwd: string, module: string): string[] =>
      JSON.parse(
        execFileSync(process.execPath, [path.join(program, "runner.js"), module], {
          cwd,
          env: { ...process.env, STACK_CONFIG: JSON.stringify(config) },
          encoding: "utf8",
        }),
      );
    const fromPackage = run(program, `${manifest.name}/stack`);
    const fromRepository = run(REPO_ROOT, path.join(REPO_ROOT, "stacks", "program.ts"));
    expect(fromPackage.length).toBeGreaterThan(40);
    expect(fromPackage).toEqual(fromRepository);
    // The package ships its prebuilt functions: the installed program has neither esbuild nor our sources.
    expect(fromPackage).toContain("aws:lambda/function:Function iot-auth-function");
  });
});
