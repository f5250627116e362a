/**
 * Runs a fleet provisioning template body (the one `infra/provisioning-template.ts` builds) with a request's
 * parameters, as IoT does after the pre-provisioning hook allowed it (docs/fleet-provisioning.md#the-template):
 * resolves `Ref` (a declared parameter, its `Default`, or `AWS::IoT::Certificate::Id`) and `Fn::Join`, and
 * reads the three resources a fleet provisioning template holds: the thing (name, attributes, type, groups),
 * the certificate (it must be the device's new one; its status) and the policies (by name), plus the
 * `DeviceConfiguration` returned to the device. Pure: what it returns is applied to the registry in one step.
 *
 * What it does not do: other intrinsic functions (`Fn::FindInMap`, `Fn::Sub`, conditions), inline policy
 * documents, and override settings other than `FAIL` (every existing thing with other properties fails the
 * request). The project's template uses none of them; a body that does is refused with a `TemplateError`.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

export interface TemplateRun {
  thing: { thingName: string; attributes: Record<string, string>; thingTypeName?: string; thingGroups: string[] };
  status: "ACTIVE" | "INACTIVE";
  policies: string[];
  deviceConfiguration: Record<string, string>;
}

export const CERTIFICATE_ID_PARAMETER = "AWS::IoT::Certificate::Id";

type Json = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A template value resolved to a string. */
function resolve(value: Json, parameters: ReadonlyMap<string, string>): string {
  if (typeof value === "string") return value;
  if (!isRecord(value)) throw new TemplateError(`cannot resolve ${JSON.stringify(value)}`);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "Ref" && typeof value.Ref === "string") {
    const resolved = parameters.get(value.Ref);
    if (resolved === undefined) throw new TemplateError(`Cannot resolve reference value: ${value.Ref}`);
    return resolved;
  }
  if (keys.length === 1 && keys[0] === "Fn::Join") {
    const join = value["Fn::Join"];
    if (!Array.isArray(join) || join.length !== 2 || typeof join[0] !== "string" || !Array.isArray(join[1])) {
      throw new TemplateError("Fn::Join takes a separator and a list");
    }
    return (join[1] as Json[]).map((part) => resolve(part, parameters)).join(join[0]);
  }
  throw new TemplateError(`the sandbox resolves Ref and Fn::Join only; got ${keys.join(", ")}`);
}

/** The request's parameters over the declared defaults, and the certificate id IoT supplies. */
function parameterValues(body: Record<string, unknown>, given: Record<string, string>, certificateId: string): Map<string, string> {
  const values = new Map<string, string>();
  const declared = isRecord(body.Parameters) ? body.Parameters : {};
  for (const [name, declaration] of Object.entries(declared)) {
    const fallback = isRecord(declaration) ? declaration.Default : undefined;
    const value = given[name] ?? (typeof fallback === "string" ? fallback : undefined);
    if (value !== undefined) values.set(name, value);
  }
  values.set(CERTIFICATE_ID_PARAMETER, certificateId);
  return values;
}

function readThing(properties: Record<string, unknown>, parameters: ReadonlyMap<string, string>): TemplateRun["thing"] {
  const attributes = isRecord(properties.AttributePayload) ? properties.AttributePayload : {};
  return {
    thingName: resolve(properties.ThingName, parameters),
    attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, resolve(v, parameters)])),
    ...(properties.ThingTypeName !== undefined && { thingTypeName: resolve(properties.ThingTypeName, parameters) }),
    thingGroups: Array.isArray(properties.ThingGroups) ? properties.ThingGroups.map((g: Json) => resolve(g, parameters)) : [],
  };
}

/** Runs the template for the device's new certificate; a `TemplateError` says why it cannot. */
export function runTemplate(body: Record<string, unknown>, given: Record<string, string>, certificateId: string): TemplateRun {
  const parameters = parameterValues(body, given, certificateId);
  const resources = isRecord(body.Resources) ? body.Resources : {};
  let thing: TemplateRun["thing"] | undefined;
  let status: TemplateRun["status"] | undefined;
  const policies: string[] = [];
  for (const [logicalName, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || !isRecord(resource.Properties)) throw new TemplateError(`resource ${logicalName} has no Properties`);
    const properties = resource.Properties;
    if (resource.Type === "AWS::IoT::Thing") {
      thing = readThing(properties, parameters);
    } else if (resource.Type === "AWS::IoT::Certificate") {
      if (resolve(properties.CertificateId, parameters) !== certificateId)
        throw new TemplateError("the certificate is not the device's new one");
      const wanted = resolve(properties.Status ?? "ACTIVE", parameters).toUpperCase();
      if (wanted !== "ACTIVE" && wanted !== "INACTIVE")
        throw new TemplateError(`certificate status ${wanted} is neither ACTIVE nor INACTIVE`);
      status = wanted;
    } else if (resource.Type === "AWS::IoT::Policy") {
      if (properties.PolicyName === undefined) throw new TemplateError("the sandbox attaches policies by PolicyName only");
      policies.push(resolve(properties.PolicyName, parameters));
    } else {
      throw new TemplateError(`unknown resource type ${String(resource.Type)}`);
    }
  }
  if (thing === undefined || status === undefined) throw new TemplateError("the template needs a thing and a certificate resource");
  const configuration = isRecord(body.DeviceConfiguration) ? body.DeviceConfiguration : {};
  const deviceConfiguration = Object.fromEntries(Object.entries(configuration).map(([k, v]) => [k, resolve(v, parameters)]));
  return { thing, status, policies, deviceConfiguration };
}
