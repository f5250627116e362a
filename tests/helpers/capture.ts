/**
 * Captures the resource options of a component's children. Mock `newResource` calls do not carry options,
 * and new-style `transforms` do not run under mocks (docs/local-stand-ins.md#pulumi-programs-under-mocks), so this uses the legacy
 * `transformations` option, which a component passes on to its children.
 */
import type * as pulumi from "@pulumi/pulumi";
import { unwrap } from "../../support/pulumi-mocks";

export interface CapturedResource {
  type: string;
  name: string;
  opts: pulumi.ResourceOptions;
  resource: pulumi.Resource;
}

export function captureChildren(): { transformation: pulumi.ResourceTransformation; captured: CapturedResource[] } {
  const captured: CapturedResource[] = [];
  const transformation: pulumi.ResourceTransformation = (args) => {
    captured.push({ type: args.type, name: args.name, opts: args.opts, resource: args.resource });
    return undefined;
  };
  return { transformation, captured };
}

/** Waits until every captured resource is registered (or fails with the registration's error). */
export async function allRegistered(captured: CapturedResource[], timeoutMs = 5_000): Promise<void> {
  await Promise.all(captured.map((c) => unwrap(c.resource.urn, timeoutMs)));
}
