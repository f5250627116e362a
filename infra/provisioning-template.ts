/**
 * The fleet provisioning template `FleetProvisioning` declares, built from typed inputs: one function of plain
 * values, so the component checks the exact body against IoT's limits at preview, the tests read it whole, and
 * the pre-provisioning hook is configured with exactly the parameters it declares.
 *
 * What the body does (docs/fleet-provisioning.md#the-template):
 * - declares the device's parameters (the thing name, then any others) and the owner parameter, which only the
 *   hook supplies (`parameterOverrides`);
 * - creates the thing, named from the thing name parameter, with the owner and the other parameters as
 *   attributes; an existing thing with other attributes fails the request (`OverrideSettings: FAIL`);
 * - activates the device's new certificate (`AWS::IoT::Certificate::Id`);
 * - attaches the device policy, an IoT policy the component owns, by name;
 * - tells the device its topic root (`DeviceConfiguration`).
 */
import { type DeclaredParameter } from "../functions/shared/provisioning-parameters";

/** IoT's limits on templates (CreateProvisioningTemplate): the body's and the name's length. */
export const TEMPLATE_LIMITS = { bodyCharacters: 10_240, nameCharacters: 36, descriptionCharacters: 500 } as const;

/** A parameter the device sends, stored on the thing as `attribute`. */
export interface TemplateParameter extends DeclaredParameter {
  attribute: string;
}

export interface TemplateSpec {
  thingNameParameter: string;
  thingNamePattern: string;
  ownerParameter: string;
  ownerAttribute: string;
  /** Parameters besides the thing name, each stored as an attribute. */
  parameters: readonly TemplateParameter[];
  thingTypeName?: string;
  thingGroups?: readonly string[];
  /** The IoT policy attached to each device's certificate. */
  devicePolicyName: string;
  /** Each device's topics are `<topicPrefix>/<thing name>` and below. */
  topicPrefix: string;
}

/** The parameters a device sends, exactly: the thing name first, then the others (the hook's `parameters`). */
export function deviceParameters(spec: TemplateSpec): DeclaredParameter[] {
  return [
    { name: spec.thingNameParameter, pattern: spec.thingNamePattern },
    ...spec.parameters.map(({ name, pattern }) => ({ name, pattern })),
  ];
}

/** The template body as an object (`provisioningTemplateBody` is its JSON). */
export function provisioningTemplate(spec: TemplateSpec): Record<string, unknown> {
  const ref = (name: string) => ({ Ref: name });
  const parameters = Object.fromEntries(
    [...deviceParameters(spec).map((p) => p.name), spec.ownerParameter].map((name) => [name, { Type: "String" }]),
  );
  const attributes = Object.fromEntries([
    [spec.ownerAttribute, ref(spec.ownerParameter)],
    ...spec.parameters.map((p) => [p.attribute, ref(p.name)]),
  ]);
  const thingProperties: Record<string, unknown> = { ThingName: ref(spec.thingNameParameter), AttributePayload: attributes };
  const overrides: Record<string, string> = { AttributePayload: "FAIL" };
  if (spec.thingTypeName !== undefined) {
    thingProperties.ThingTypeName = spec.thingTypeName;
    overrides.ThingTypeName = "FAIL";
  }
  if (spec.thingGroups !== undefined && spec.thingGroups.length > 0) {
    thingProperties.ThingGroups = [...spec.thingGroups];
    overrides.ThingGroups = "FAIL";
  }
  return {
    Parameters: parameters,
    Resources: {
      thing: { Type: "AWS::IoT::Thing", Properties: thingProperties, OverrideSettings: overrides },
      certificate: { Type: "AWS::IoT::Certificate", Properties: { CertificateId: ref("AWS::IoT::Certificate::Id"), Status: "ACTIVE" } },
      policy: { Type: "AWS::IoT::Policy", Properties: { PolicyName: spec.devicePolicyName } },
    },
    DeviceConfiguration: { topicRoot: { "Fn::Join": ["/", [spec.topicPrefix, ref(spec.thingNameParameter)]] } },
  };
}

/** The template body IoT stores: compact JSON (its length is what IoT's 10,240-character limit counts). */
export function provisioningTemplateBody(spec: TemplateSpec): string {
  return JSON.stringify(provisioningTemplate(spec));
}
