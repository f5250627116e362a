import * as path from "node:path";
import { builtinModules, createRequire } from "node:module";
import type * as pulumi from "@pulumi/pulumi";
import { functionArchive, REPO_ROOT } from "../../infra/bundle";
import { bundleAliases, bundleFunction } from "../../infra/esbuild-bundler";
import { JwksServer } from "../../support/jwks-server";
import { cognitoClaims, RS_ISSUER, rsaKey, signRs } from "../../support/tokens";

const FIXTURE = "tests/infra/fixtures/ssm-and-jwt-handler.ts";
const AUTHORIZER_ENTRY = "functions/authorizer/index.ts";

/** Loads a CommonJS bundle the way Lambda does, resolving its external modules from this repository. */
function loadBundle(code: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  const requireFromRepo = createRequire(path.join(REPO_ROOT, "package.json"));
  new Function("module", "exports", "require", code)(module, module.exports, requireFromRepo);
  return module.exports;
}

describe("bundleFunction", () => {
  it("gives the same bytes on every build", () => {
    const first = bundleFunction(FIXTURE, { bypassCache: true });
    const second = bundleFunction(FIXTURE, { bypassCache: true });
    expect(second.code).toBe(first.code);
    expect(second.sha256).toBe(first.sha256);
    expect(second.bytes).toBe(Buffer.byteLength(first.code));
  });

  it("caches per entry within the process", () => {
    expect(bundleFunction(FIXTURE)).toBe(bundleFunction(FIXTURE));
  });

  it("minifies", () => {
    const minified = bundleFunction(FIXTURE, { bypassCache: true });
    const plain = bundleFunction(FIXTURE, { bypassCache: true, minify: false });
    expect(minified.bytes).toBeLessThan(plain.bytes * 0.6);
    // Line breaks survive only inside template literals and in the licence notes at the end.
    const lines = (code: string) => code.split("\n").length;
    expect(lines(minified.code)).toBeLessThan(20);
    expect(lines(minified.code)).toBeLessThan(lines(plain.code) / 50);
    expect(minified.code).toMatch(/\/\*! Bundled license information:[^]*\*\/\n$/);
  });

  it("keeps the AWS SDK external and inlines everything else", () => {
    const { code } = bundleFunction(FIXTURE);
    expect(code).toContain('require("@aws-sdk/client-ssm")');
    expect(code).not.toMatch(/require\("jsonwebtoken"\)/);
    expect(code).not.toMatch(/require\("jws"\)/);
    // The SDK's own sources are not in the bundle.
    expect(code).not.toContain("GetParameterCommand extends");
  });

  it("writes no machine-specific paths into the output", () => {
    const { code } = bundleFunction(FIXTURE);
    expect(code).not.toContain(REPO_ROOT);
    expect(code).not.toContain("node_modules/");
  });

  it("loads as CommonJS and exports a working handler", async () => {
    const exports = loadBundle(bundleFunction(FIXTURE).code);
    expect(typeof exports.handler).toBe("function");
    const result = await (exports.handler as (e: unknown) => Promise<{ sdk: string; decoded: unknown }>)({
      token: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
    });
    expect(result).toEqual({ sdk: "SSMClient:GetParameterCommand", decoded: { sub: "alice" } });
  });

  it("reports a missing entry instead of producing an empty function", () => {
    expect(() => bundleFunction("tests/infra/fixtures/does-not-exist.ts", { bypassCache: true })).toThrow(/does-not-exist/);
  });
});

describe("functionArchive", () => {
  it("holds exactly one index.js with the bundle", async () => {
    const archive = functionArchive(FIXTURE);
    const assets = await archive.assets;
    expect(Object.keys(assets)).toEqual(["index.js"]);
    const asset = assets["index.js"] as pulumi.asset.StringAsset;
    expect(await asset.text).toBe(bundleFunction(FIXTURE).code);
  });
});

describe(`the authorizer bundle (${AUTHORIZER_ENTRY})`, () => {
  it("is deterministic, inlines its libraries, keeps the SDK external, and exports handler", () => {
    const first = bundleFunction(AUTHORIZER_ENTRY, { bypassCache: true });
    const second = bundleFunction(AUTHORIZER_ENTRY, { bypassCache: true });
    expect(second.sha256).toBe(first.sha256);
    // The SDK stays a run-time reference (a require, or an import() that loads it only when needed).
    expect(/(?:require|import)\("@aws-sdk\/client-ssm"\)/.test(first.code)).toBe(true);
    // Everything it still loads at run time is the AWS SDK or part of Node.js itself.
    const required = [...first.code.matchAll(/(?:require|import)\("([^"]+)"\)/g)].map((m) => m[1]);
    const provided = (name: string) => name.startsWith("@aws-sdk/") || builtinModules.includes(name.replace(/^node:/, ""));
    expect(required.filter((name) => !provided(name))).toEqual([]);
    expect(first.code.includes(REPO_ROOT)).toBe(false);
    const exports = loadBundle(first.code);
    expect(typeof exports.handler).toBe("function");
  });
});

describe("stand-ins declared beside an entry (bundle-aliases.json)", () => {
  it("are resolved against the entry's directory and given to esbuild relative to the repository", () => {
    expect(bundleAliases(path.join(REPO_ROOT, AUTHORIZER_ENTRY))).toEqual({
      jose: "./functions/authorizer/shims/jose.ts",
      debug: "./functions/authorizer/shims/debug.ts",
      "lru-memoizer": "./functions/authorizer/shims/not-bundled.ts",
      "lru-cache": "./functions/authorizer/shims/not-bundled.ts",
      limiter: "./functions/authorizer/shims/not-bundled.ts",
    });
    expect(bundleAliases(path.join(REPO_ROOT, FIXTURE))).toEqual({});
  });

  it("keep jose and jwks-rsa's unused libraries out of the authorizer, which stays within 80 KiB", () => {
    const { code, bytes } = bundleFunction(AUTHORIZER_ENTRY);
    expect(bytes).toBeLessThanOrEqual(80 * 1024);
    // jose's own error names and jwks-rsa's integrations would show if they were bundled.
    expect(code).not.toContain("JOSENotSupported");
    expect(code).not.toContain("expressJwtSecret");
    expect(code).not.toContain("useColors"); // debug
    expect(code).not.toContain("lodash"); // lru-memoizer's deep clone
  });

  it("still verify: the bundled authorizer fetches a real JWKS and accepts an RS256 token", async () => {
    const jwks = await JwksServer.start();
    const key = rsaKey("bundle-key");
    jwks.behaviour.keys = [key.jwk];
    const previous = process.env.AUTHORIZER_CONFIG;
    process.env.AUTHORIZER_CONFIG = JSON.stringify({
      region: "eu-west-1",
      accountId: "123456789012",
      issuers: [{ issuer: RS_ISSUER, algorithms: ["RS256"], jwksUri: jwks.uri, principalPrefix: "c" }],
    });
    const debug = console.debug;
    console.debug = () => undefined;
    try {
      const handler = loadBundle(bundleFunction(AUTHORIZER_ENTRY, { bypassCache: true }).code).handler as (e: unknown) => Promise<unknown>;
      const now = Math.floor(Date.now() / 1000);
      const token = signRs(cognitoClaims({ iat: now, exp: now + 600 }), key);
      await expect(handler({ token })).resolves.toMatchObject({ isAuthenticated: true, principalId: "calice" });
      expect(jwks.requests).toBe(1);
    } finally {
      console.debug = debug;
      process.env.AUTHORIZER_CONFIG = previous;
      await jwks.stop();
    }
  });
});
