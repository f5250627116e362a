export * from "./bundle";
export * from "./policies";
export * from "./iot-token-authorizer";
export * from "./user-directory";
export * from "./device-grant";
export * from "./device-grant-args";
