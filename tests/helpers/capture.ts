/**
 * Captures the resource options of a component's children. Mock `newResource` calls do not carry options,
 * and new-style `transforms` do not run under mocks (docs/local-stand-ins.md#pulumi-programs-under-mocks), so this uses the legacy
 * `transformations` option, which a component passes on to its children.
 */
import * as pulumi from "@pulumi/pulumi";
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

/**
 * Waits until a component's own outputs have resolved and their registration has run, so that no registration of
 * this test reaches the next test's mocks (which answer "unknown resource").
 */
export async function outputsRegistered(component: pulumi.ComponentResource, timeoutMs = 5_000): Promise<void> {
  const outputs = Object.values(component).filter((value): value is pulumi.Output<unknown> => pulumi.Output.isInstance(value));
  await Promise.allSettled(outputs.map((output) => unwrap(output, timeoutMs)));
  await new Promise((resolve) => setTimeout(resolve, 0));
}
