/**
 * Runs a CrossGuard pack's policies in this process, over resources recorded under Pulumi's mocks, the way the
 * policy SDK's analyzer server runs them for `pulumi preview --policy-pack`: every resource policy on every
 * resource's inputs, every stack policy once over all resources' outputs (with parents linked), each policy's
 * enforcement level (or the pack's config) deciding whether a violation is mandatory, `disabled` skipping it,
 * `remediate` counting as mandatory, `notApplicable` ending a policy's run quietly, and `getConfig` returning the
 * config schema's defaults overlaid with the pack's config. The offline plan (scripts/plan.ts) uses it, so a pull
 * request from a fork, without cloud credentials, still gets the pack's verdict.
 */
import type {
  EnforcementLevel,
  Policies,
  Policy,
  PolicyPackConfig,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";

/** A declared resource: its inputs (what `validateResource` sees) and state (what `validateStack` sees). */
export interface EvaluatedResource {
  type: string;
  name: string;
  urn: string;
  /** The parent's URN, when the resource has a parent. */
  parent?: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

export interface Violation {
  policy: string;
  enforcementLevel: "mandatory" | "advisory";
  message: string;
  /** The resource it is about (a stack policy may report the stack as a whole). */
  urn?: string;
}

class NotApplicable extends Error {}
const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** The type token a resource class carries (`aws.dynamodb.Table.__pulumiType`), as the SDK's `isType` reads it. */
function typeOf(resourceClass: unknown): string | undefined {
  return (resourceClass as { __pulumiType?: string }).__pulumiType;
}

function enforcement(policy: Policy, packDefault: EnforcementLevel, config: PolicyPackConfig): EnforcementLevel {
  const configured = config[policy.name];
  const fromConfig = typeof configured === "string" ? configured : configured?.enforcementLevel;
  return fromConfig ?? policy.enforcementLevel ?? packDefault;
}

function configOf(policy: Policy, config: PolicyPackConfig): Record<string, unknown> {
  const defaults = Object.fromEntries(
    Object.entries(policy.configSchema?.properties ?? {}).flatMap(([k, schema]) =>
      (schema as { default?: unknown }).default === undefined ? [] : [[k, (schema as { default?: unknown }).default]],
    ),
  );
  const configured = config[policy.name];
  return { ...defaults, ...(typeof configured === "object" ? configured : {}) };
}

function resourceArgs(r: EvaluatedResource, getConfig: () => Record<string, unknown>): ResourceValidationArgs {
  return {
    type: r.type,
    props: r.inputs,
    urn: r.urn,
    name: r.name,
    opts: { ...OPTIONS, ...(r.parent && { parent: r.parent }) },
    stackTags: new Map(),
    isType: (cls) => typeOf(cls) === r.type,
    asType: ((cls: unknown) => (typeOf(cls) === r.type ? r.inputs : undefined)) as ResourceValidationArgs["asType"],
    getConfig: getConfig as ResourceValidationArgs["getConfig"],
    notApplicable: throwNotApplicable,
  };
}

function stackResources(resources: readonly EvaluatedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const list = resources.map((r) => {
    const resource: PolicyResource = {
      type: r.type,
      props: r.state,
      urn: r.urn,
      name: r.name,
      opts: { ...OPTIONS, ...(r.parent && { parent: r.parent }) },
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => typeOf(cls) === r.type,
      asType: ((cls: unknown) => (typeOf(cls) === r.type ? r.state : undefined)) as PolicyResource["asType"],
    };
    byUrn.set(r.urn, resource);
    return resource;
  });
  resources.forEach((r, i) => {
    const parent = r.parent === undefined ? undefined : byUrn.get(r.parent);
    if (parent) list[i].parent = parent;
  });
  return list;
}

/** Runs one validation, turning `notApplicable` into nothing; anything else a policy throws is the caller's error. */
async function run(validation: () => Promise<void> | void): Promise<void> {
  try {
    await validation();
  } catch (err) {
    if (!(err instanceof NotApplicable)) throw err;
  }
}

/** Every violation the pack's policies report on `resources`, in policy order. */
export async function evaluatePolicies(
  policies: Policies,
  resources: readonly EvaluatedResource[],
  options: { packEnforcementLevel?: EnforcementLevel; config?: PolicyPackConfig } = {},
): Promise<Violation[]> {
  const config = options.config ?? {};
  const violations: Violation[] = [];
  for (const policy of policies) {
    const level = enforcement(policy, options.packEnforcementLevel ?? "advisory", config);
    if (level === "disabled") continue;
    const enforcementLevel = level === "advisory" ? "advisory" : "mandatory";
    const getConfig = () => configOf(policy, config);
    if ("validateStack" in policy) {
      const stack = policy as StackValidationPolicy;
      const args = { resources: stackResources(resources), stackTags: new Map(), getConfig, notApplicable: throwNotApplicable };
      await run(() =>
        stack.validateStack(args as Parameters<StackValidationPolicy["validateStack"]>[0], (message, urn) =>
          violations.push({ policy: policy.name, enforcementLevel, message, ...(urn && { urn }) }),
        ),
      );
      continue;
    }
    const validations = (policy as ResourceValidationPolicy).validateResource;
    const list = validations === undefined ? [] : Array.isArray(validations) ? validations : [validations];
    for (const r of resources) {
      const args = resourceArgs(r, getConfig);
      for (const validate of list) {
        await run(() => validate(args, (message) => violations.push({ policy: policy.name, enforcementLevel, message, urn: r.urn })));
      }
    }
  }
  return violations;
}
