export * from "./bundle";
export * from "./policies";
export * from "./iot-token-authorizer";
