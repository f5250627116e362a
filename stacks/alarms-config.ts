/**
 * The stack's operations alarms (`OperationsAlarms`): on with `alarmsEnabled`, or as soon as an alarm topic or
 * e-mail address is given, since either says someone wants to be paged. The program fills in what to watch from
 * the components it declares; this reader checks the settings at preview, with every problem named by its setting.
 */
import * as pulumi from "@pulumi/pulumi";
import { operationsAlarmsProblems, type OperationsAlarmsArgs } from "../infra/operations-alarms-args";
import { STACK_SETTING_NAMES } from "./settings";
import { type ConfigSource, readBoolean, readInteger, readOptionalString, stackNamer, type StackProblems } from "./reading";
import { type SharedArgs } from "./common-config";

export const OPERATIONS_ALARMS_NAME = "operations";

/** The alarms' arguments from the stack settings, or undefined when the stack declares none. */
export function readOperationsAlarms(
  source: ConfigSource,
  problems: StackProblems,
  shared: SharedArgs,
  authorizerTimeoutSeconds: number | undefined,
): OperationsAlarmsArgs | undefined {
  const enabled = readBoolean(source, "alarmsEnabled", problems) ?? false;
  const alarmTopicArn = readOptionalString(source, "alarmTopicArn");
  const emails = (readOptionalString(source, "alarmEmails") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const durationMs = readInteger(source, "authorizerDurationAlarmMs", problems);
  if (!enabled && alarmTopicArn === undefined && emails.length === 0) return undefined;
  const args: OperationsAlarmsArgs = {
    ...(shared.kmsKeyArn !== undefined && { kmsKeyArn: shared.kmsKeyArn }),
    ...(shared.tags !== undefined && { tags: shared.tags }),
    ...(shared.metricsNamespace !== undefined && { metricsNamespace: shared.metricsNamespace }),
    ...(authorizerTimeoutSeconds !== undefined && { authorizerTimeoutSeconds }),
    ...(alarmTopicArn !== undefined && { alarmTopicArn }),
    ...(emails.length > 0 && { alarmEmails: emails }),
    ...(durationMs !== undefined && durationMs !== 0 && { thresholds: { authorizerDurationMs: durationMs } }),
  };
  const { problems: found } = operationsAlarmsProblems(OPERATIONS_ALARMS_NAME, args, pulumi.getStack());
  problems.addFrom(found, stackNamer(STACK_SETTING_NAMES.operationsAlarms));
  return args;
}
