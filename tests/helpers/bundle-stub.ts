/**
 * A stand-in for `infra/bundle` in component tests: what a component declares is the question there, and the
 * bundle has its own tests (tests/infra/bundle.test.ts), so a half-edited function cannot fail them. Use:
 *
 *   jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());
 */
import * as pulumi from "@pulumi/pulumi";

/** The entries components asked to bundle, in order. */
export const bundledEntries: string[] = [];

export function stubbedBundleModule(): Record<string, unknown> {
  return {
    ...jest.requireActual("../../infra/bundle"),
    functionArchive: (entry: string) => {
      bundledEntries.push(entry);
      return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
    },
  };
}
