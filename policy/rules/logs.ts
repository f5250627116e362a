/**
 * Log retention: CloudWatch Logs keeps a log group's events for ever unless it has a retention period (Amazon
 * CloudWatch Logs API Reference, "PutRetentionPolicy"); the functions' logs name principals and addresses, so
 * they should expire. A Lambda function whose log group the stack does not declare writes to one Lambda creates
 * itself, without retention (AWS Lambda Developer Guide, "Sending Lambda function logs to CloudWatch Logs").
 */
import { isRecord, positiveNumber, type Props, record, type Report } from "./values";

export interface LogRetentionConfig {
  /** Longest retention accepted, in days. */
  maximumDays: number;
}

export const LOG_RETENTION_DEFAULTS: LogRetentionConfig = { maximumDays: 365 };

/** `aws:cloudwatch/logGroup:LogGroup`: a retention period, at most the maximum. */
export function checkLogRetention(props: Props, report: Report, config: LogRetentionConfig = LOG_RETENTION_DEFAULTS): void {
  const days = positiveNumber(props.retentionInDays);
  if (days === undefined) report("the log group has no retention period: its events would be kept for ever");
  else if (days > config.maximumDays) report(`the log group keeps events ${days} days; at most ${config.maximumDays} are expected`);
}

/** What a stack policy sees of a resource: its type, name and properties. */
export interface StackResource {
  type: string;
  name: string;
  props: Props;
}

/** The stack: every Lambda function's log group (`loggingConfig.logGroup`, else `/aws/lambda/<name>`) is declared in it. */
export function checkFunctionLogGroups(
  resources: readonly StackResource[],
  report: (message: string, resource: StackResource) => void,
): void {
  const groups = new Set(resources.filter((r) => r.type === "aws:cloudwatch/logGroup:LogGroup").map((r) => r.props.name));
  for (const fn of resources.filter((r) => r.type === "aws:lambda/function:Function")) {
    const configured = record(fn.props, "loggingConfig").logGroup;
    const group = typeof configured === "string" && configured !== "" ? configured : `/aws/lambda/${String(fn.props.name)}`;
    if (!groups.has(group)) {
      report(`function ${fn.name} logs to ${group}, which this stack does not declare: Lambda would create it without retention`, fn);
    }
  }
}

export function isStackResource(value: unknown): value is StackResource {
  return isRecord(value) && typeof value.type === "string" && typeof value.name === "string" && isRecord(value.props);
}
