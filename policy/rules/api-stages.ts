/**
 * API Gateway HTTP API stages: throttled (the device grant's endpoints are public, and a flood must be refused
 * by API Gateway before it reaches the function and DynamoDB) and access-logged (Amazon API Gateway Developer
 * Guide, "Throttle requests to your HTTP APIs", "Configure logging for HTTP APIs").
 */
import { positiveNumber, type Props, record, type Report } from "./values";

/** `aws:apigatewayv2/stage:Stage`: a burst and a rate limit on the default route settings. */
export function checkStageThrottling(props: Props, report: Report): void {
  const settings = record(props, "defaultRouteSettings");
  const missing = ["throttlingBurstLimit", "throttlingRateLimit"].filter((k) => positiveNumber(settings[k]) === undefined);
  if (missing.length > 0) report(`the stage has no ${missing.join(" or ")} in defaultRouteSettings: only the account's limits apply`);
}

/** `aws:apigatewayv2/stage:Stage`: access logs with a destination and a format. */
export function checkStageAccessLogs(props: Props, report: Report): void {
  const logs = record(props, "accessLogSettings");
  if (typeof logs.destinationArn !== "string" || logs.destinationArn === "" || typeof logs.format !== "string" || logs.format === "") {
    report("the stage writes no access logs (accessLogSettings needs destinationArn and format)");
  }
}
