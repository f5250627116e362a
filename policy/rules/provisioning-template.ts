/**
 * Fleet provisioning templates: an enabled template must call a pre-provisioning hook, which decides each device
 * (without one, any holder of a claim certificate provisions any thing name it likes), and a template this project
 * declares should be enabled, since the Terraform provider under Pulumi's `aws` creates templates disabled by default
 * (AWS IoT Core Developer Guide, "Pre-provisioning hooks"; docs/fleet-provisioning.md#the-pre-provisioning-hook).
 */
import { type Props, record, type Report } from "./values";

/** `aws:iot/provisioningTemplate:ProvisioningTemplate`: an enabled fleet template has a hook. */
export function checkTemplateHook(props: Props, report: Report): void {
  if (props.enabled !== true || (props.type !== undefined && props.type !== "FLEET_PROVISIONING")) return;
  const hook = record(props, "preProvisioningHook");
  if (typeof hook.targetArn !== "string" || hook.targetArn === "") {
    report("the template is enabled without a pre-provisioning hook: every claim certificate would provision any device");
  }
}

/** `aws:iot/provisioningTemplate:ProvisioningTemplate`: enabled. */
export function checkTemplateEnabled(props: Props, report: Report): void {
  if (props.enabled !== true) report("the template is not enabled: devices asking to be provisioned through it are refused");
}
