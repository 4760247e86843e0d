export { APP_MIGRATIONS, appMigrations, buildApp, BODY_LIMIT } from './app.js';
export type { BuildOptions } from './app.js';
export { ConfigError, parseConfig, SECRET_SPECS } from './config.js';
export type { AppConfig, Environment, Secrets } from './config.js';
export { loadConfig, SECRETS_FILE } from './secrets.js';
export { toErrorBody, errorBody } from './plugins/error-shape.js';
export type { ErrorBody } from './plugins/error-shape.js';
export { documentedRoutes, errorResponse } from './openapi.js';
export type { DocumentedRoute, RouteErrors } from './openapi.js';
