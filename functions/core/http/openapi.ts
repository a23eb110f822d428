// The API's OpenAPI 3.1 description, served at /api/openapi.json. Each route module's paths (with their access) merged here and
// checked against them by the HTTP tests: every route is described, every description has a route.

import { open } from './access.js';
import { ACCOUNT_PATHS } from './account-routes.js';
import { APPROVAL_PATHS } from './approval-routes.js';
import { CHAT_PATHS } from './chat-routes.js';
import { MCP_PATHS } from './mcp-routes.js';
import { json } from './openapi-parts.js';
import { RUN_PATHS } from './run-routes.js';
import { SCHEDULE_PATHS } from './schedule-routes.js';
import { TEMPLATE_PATHS } from './template-routes.js';
import { TOKEN_PATHS } from './token-routes.js';
import { USERS_PATHS } from './users-routes.js';
import { VAULT_PATHS } from './vault-routes.js';
import { WORKFLOW_PATHS } from './workflow-routes.js';

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Stepgate API', version: '0.1.0', description: 'Workflows, runs, approvals.' },
  servers: [{ url: '/' }],
  security: [{ session: [] }, { token: [] }],
  components: {
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'stepgate_session' },
      token: { type: 'http', scheme: 'bearer' },
    },
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          field: { type: 'string', description: 'the field at fault, when one is' },
        },
      },
    },
  },
  paths: {
    ...ACCOUNT_PATHS,
    ...WORKFLOW_PATHS,
    ...RUN_PATHS,
    ...APPROVAL_PATHS,
    ...SCHEDULE_PATHS,
    ...CHAT_PATHS,
    ...USERS_PATHS,
    ...VAULT_PATHS,
    ...MCP_PATHS,
    ...TEMPLATE_PATHS,
    ...TOKEN_PATHS,
    '/api/health': { get: { ...open(), summary: 'Liveness', responses: { '200': json('ok') } } },
    '/api/openapi.json': {
      get: { ...open(), summary: 'This document', responses: { '200': json('OpenAPI') } },
    },
  },
} as const;
